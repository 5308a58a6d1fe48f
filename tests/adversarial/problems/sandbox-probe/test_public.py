def test_small(candidate):
    assert candidate.add(2, 3) == 5
