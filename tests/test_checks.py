"""judge_harness.checks: the assertions hidden tests use, and the messages a candidate reads."""

from __future__ import annotations

import pytest
import torch

from judge_harness import checks
from judge_harness.remote import CandidateError


@pytest.fixture(autouse=True)
def tolerances(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(checks, "TOLERANCES", {"float32": (1e-5, 1e-4), "float64": (1e-9, 1e-7)})


def failure(actual: object, expected: torch.Tensor, **kwargs: object) -> str:
    with pytest.raises(AssertionError) as info:
        checks.assert_close(actual, expected, **kwargs)
    return str(info.value)


def test_type_shape_and_dtype_are_checked_before_values() -> None:
    expected = torch.zeros(2, 3)
    assert failure([0.0] * 6, expected, name="out") == "out: expected a tensor of shape (2, 3), got list"
    assert failure(torch.zeros(3, 2), expected, name="out") == "out: shape (3, 2), expected (2, 3)"
    message = failure(torch.zeros(2, 3, dtype=torch.float64), expected, name="out")
    assert message == "out: dtype torch.float64, expected torch.float32 (shape (2, 3))"


def test_values_within_the_dtype_tolerance_pass_and_outside_fail_with_the_numbers() -> None:
    expected = torch.tensor([1.0, 2.0, 3.0])
    checks.assert_close(expected + 5e-6, expected)  # within atol + rtol * |e|
    message = failure(expected + torch.tensor([0.0, 0.5, 0.0]), expected, name="y")
    assert message.startswith("y: 1 of 3 elements outside atol=1e-05, rtol=0.0001 (float32, shape (3,))")
    assert "max abs error 0.5" in message and "first mismatches (1,): got 2.5, expected 2" in message


def test_explicit_tolerances_override_the_problem_s() -> None:
    expected = torch.tensor([1.0])
    checks.assert_close(expected + 0.05, expected, atol=0.1, rtol=0.0)
    assert "atol=0.01" in failure(expected + 0.05, expected, atol=0.01, rtol=0.0)


def test_non_finite_values_must_match_exactly() -> None:
    expected = torch.tensor([1.0, float("inf"), float("nan")], dtype=torch.float64)
    checks.assert_close(expected.clone(), expected)  # the same inf and nan: equal
    assert "1 non-finite values" not in failure(
        torch.tensor([1.0, -float("inf"), float("nan")], dtype=torch.float64), expected
    )
    message = failure(torch.tensor([float("nan"), float("inf"), float("nan")], dtype=torch.float64), expected)
    assert message.startswith("output: 1 of 3 elements outside") and "non-finite values in output" in message


def test_integer_and_bool_tensors_compare_exactly() -> None:
    # (the dtype's tolerance is looked up first, so without one stated a test passes atol/rtol)
    expected = torch.tensor([[1, 2], [3, 4]])
    checks.assert_close(expected.clone(), expected, atol=0, rtol=0)
    message = failure(torch.tensor([[1, 2], [3, 5]]), expected, name="ids", atol=0, rtol=0)
    assert message == "ids: 1 of 4 elements differ (shape (2, 2)); first at (1, 1): got 5, expected 4"


def test_a_dtype_without_a_stated_tolerance_is_the_problem_s_fault() -> None:
    expected = torch.zeros(2, dtype=torch.float16)
    assert failure(expected, expected) == "problem.toml states no tolerance for float16"
    checks.assert_close(torch.zeros(0), torch.zeros(0))  # empty: nothing to compare


def test_expect_raises_names_what_was_raised_instead() -> None:
    with checks.expect_raises("ValueError", match="shape"):
        raise CandidateError("ValueError", "q has shape (2, 3), expected 4 dims")
    with pytest.raises(AssertionError, match=r"expected ValueError, the submission raised TypeError: bad"):
        with checks.expect_raises("ValueError"):
            raise CandidateError("TypeError", "bad")
    with pytest.raises(AssertionError, match=r"expected ValueError mentioning 'window'"):
        with checks.expect_raises("ValueError", match="window"):
            raise CandidateError("ValueError", "q has the wrong shape")
    with pytest.raises(AssertionError, match="it returned normally"):
        with checks.expect_raises("ValueError", "IndexError"):
            pass
