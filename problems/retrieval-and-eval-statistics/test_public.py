"""Public tests for retrieval-and-eval-statistics: the statement's examples, runnable with `judge test`."""

from judge_harness import expect_raises

RANKED = ["d3", "d1", "d3", "d7", "d2"]
GRADES = {"d1": 3, "d2": 1, "d9": 2, "d5": 0}


def close(got, want):
    return abs(got - want) <= 1e-12 + 1e-12 * abs(want)


def test_example_one_graded_query(candidate):
    assert close(candidate.recall_at_k([RANKED], [GRADES], 3), 1 / 3)
    assert close(candidate.recall_at_k([RANKED], [GRADES], 5), 2 / 3)
    assert candidate.mrr([RANKED], [GRADES]) == 0.5
    assert candidate.mrr([RANKED], [GRADES], k=1) == 0.0
    assert close(candidate.ndcg_at_k([RANKED], [GRADES], 5), 0.5113881456198478)
    assert close(candidate.ndcg_at_k([RANKED], [GRADES], 3), 0.47020199776783905)


def test_example_two_queries(candidate):
    rankings, relevance = [RANKED, ["x", "y"]], [GRADES, {"y": 1}]  # {"y": 1} judges like the set {"y"}
    assert candidate.recall_at_k(rankings, relevance, 1) == 0.0
    assert close(candidate.mrr(rankings, relevance), 0.5)
    assert close(candidate.ndcg_at_k(rankings, relevance, 2), 0.5637845066295949)


def test_example_pass_at_k(candidate):
    assert close(candidate.pass_at_k(10, 3, 2), 24 / 45)
    assert candidate.pass_at_k(5, 3, 3) == 1.0
    assert candidate.pass_at_k(200, 0, 10) == 0.0


def test_example_paired_bootstrap(candidate):
    resamples = [[0, 1, 2, 3], [0, 0, 2, 3], [1, 1, 1, 1], [3, 2, 3, 0]]
    assert candidate.paired_bootstrap([1, 0, 1, 0], [1, 1, 1, 0], resamples) == (0.25, 0.5)


def test_pass_at_k_with_k_above_n_raises(candidate):
    with expect_raises("ValueError"):
        candidate.pass_at_k(5, 1, 6)
