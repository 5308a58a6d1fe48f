"""Hidden tests for decoding-sampler.

Expected tokens come from the pure-Python float64 oracle in sampler_oracle.py (checker side) or
are worked out by hand in the comments. Random cases keep every decision at least 1e-6 from its
boundary (the statement says so), so a correct solution's summation order cannot matter.
"""

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from sampler_oracle import random_case, sample_oracle

from judge_harness import assert_close, expect_raises

JUST_BELOW_ONE = math.nextafter(1.0, 0.0)


def tokens(values: list[int]) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.int64)


def check(candidate, logits, uniforms, expected, label, **kwargs):
    """The candidate's tokens against `expected` (a list or an int64 tensor), exactly."""
    expected = expected if isinstance(expected, torch.Tensor) else tokens(expected)
    got = candidate.sample(logits, uniforms, **kwargs)
    B, V = logits.shape
    shown = {k: v for k, v in kwargs.items() if k != "prev_tokens"}
    if kwargs.get("prev_tokens") is not None:
        shown["prev_tokens"] = kwargs["prev_tokens"].tolist() if kwargs["prev_tokens"].numel() <= 16 else "..."
    where = f"{label}; B={B}, V={V}, {str(logits.dtype).removeprefix('torch.')}, {shown}"
    if uniforms.numel() <= 8:
        where += f", uniforms={uniforms.tolist()}"
    assert_close(got, expected, name=f"tokens ({where})", atol=0, rtol=0)


def check_oracle(candidate, logits, uniforms, label, **kwargs):
    expected = sample_oracle(logits, uniforms, kwargs.get("prev_tokens"), **_without_prev(kwargs))
    check(candidate, logits, uniforms, expected, label, **kwargs)


def _without_prev(kwargs: dict) -> dict:
    return {k: v for k, v in kwargs.items() if k != "prev_tokens"}


def u(*values: float, dtype=torch.float64) -> torch.Tensor:
    return torch.tensor(values, dtype=dtype)


FOUR = torch.tensor([[2.0, 1.0, 0.0, -1.0]])  # p = [0.6439, 0.2369, 0.0871, 0.0321]


# -- the statement's examples ------------------------------------------------------------------


def test_statement_examples(candidate):
    check(candidate, FOUR, u(0.70), [0], "example 1", top_p=0.8)
    check(candidate, FOUR, u(0.75), [1], "example 1", top_p=0.8)
    check(candidate, FOUR, u(0.75), [0], "example 1, tiny top_p", top_p=0.01)
    logits = torch.tensor([[1.0, 1.8, -0.5, 0.5]])
    prev = torch.tensor([[1, 2, 1, -1]])
    kw = {"repetition_penalty": 2.0, "prev_tokens": prev}
    check(candidate, logits, u(0.9), [0], "example 2, greedy with the penalty", temperature=0, **kw)
    check(candidate, logits, u(0.9), [1], "example 2, greedy", temperature=0)
    check(candidate, logits, u(0.5), [0], "example 2", temperature=0.5, top_k=2, **kw)
    check(candidate, logits, u(0.6), [1], "example 2", temperature=0.5, top_k=2, **kw)
    logits = torch.tensor([[0.0, 1.0, 1.0, -math.inf]])
    check(candidate, logits, u(0.25), [1], "example 3", min_p=0.5)
    check(candidate, logits, u(0.5), [2], "example 3, u on C_1", min_p=0.5)


# -- greedy and temperature ------------------------------------------------------------------------


def test_greedy_is_the_first_maximum_whatever_the_filters(candidate):
    logits = torch.tensor([[0.5, 2.0, 2.0, -1.0], [-3.0, -1.0, -2.0, -math.inf], [-math.inf, -5.0, -math.inf, -5.0]])
    uniforms = u(JUST_BELOW_ONE, 0.0, 0.7)
    for temperature in (0, 0.0):
        check(candidate, logits, uniforms, [1, 1, 1], "greedy, ties to the smaller id", temperature=temperature)
    filters = {"top_k": 1, "top_p": 0.1, "min_p": 0.9}
    check(candidate, logits, uniforms, [1, 1, 1], "greedy with filters", temperature=0, **filters)


def test_temperature_is_applied_before_the_filters(candidate):
    # T = 2: z = [1, 0.5, 0, -0.5], p = [0.4551, 0.2760, 0.1674, 0.1015]; top_p 0.75 and min_p 0.3
    # both keep tokens 0, 1, 2 (q = [0.5065, 0.3072, 0.1863]); at T = 1 they keep only 0 and 1
    check(candidate, FOUR, u(0.95), [2], "top_p after the temperature", temperature=2.0, top_p=0.75)
    check(candidate, FOUR, u(0.95), [2], "min_p after the temperature", temperature=2.0, min_p=0.3)
    check(candidate, FOUR, u(0.95), [2], "int temperature", temperature=2, top_p=0.75)
    check_oracle(candidate, FOUR.repeat(4, 1), u(0.3, 0.5, 0.8, 0.97), "temperature 0.5", temperature=0.5)


# -- top-k -------------------------------------------------------------------------------------------


def test_top_k_keeps_exactly_k_with_ties_to_the_smaller_id(candidate):
    logits = torch.tensor([[1.0, 2.0, 1.0, 1.0, 0.0]])  # pi = [1, 0, 2, 3, 4]
    # top_k=2 keeps 1 and 0: q = [0.7311, 0.2689]; keeping every tie would give token 3 at 0.9
    check(candidate, logits, u(0.9), [0], "top_k=2 with a three-way tie at the boundary", top_k=2)
    # top_k=3 keeps 1, 0, 2: q = [0.5761, 0.2119, 0.2119]
    check(candidate, logits, u(0.99), [2], "top_k=3 with a three-way tie at the boundary", top_k=3)
    check(candidate, logits.repeat(4, 1), u(0.1, 0.5, 0.9, 0.99), [1, 1, 0, 0], "top_k=2", top_k=2)


@pytest.mark.parametrize("top_k", [4, 5, 100])
def test_top_k_at_least_the_vocabulary_keeps_everything(candidate, top_k):
    uniforms = u(0.3, 0.7, 0.9, 0.99)
    check(candidate, FOUR.repeat(4, 1), uniforms, [0, 1, 2, 3], f"top_k={top_k} >= V=4", top_k=top_k)
    # more than the finite tokens: the -inf ones are still never kept
    logits = torch.tensor([[0.0, -math.inf, 0.0, -math.inf]])
    check(candidate, logits, u(JUST_BELOW_ONE), [2], f"top_k={top_k}, two finite tokens", top_k=top_k)


def test_top_k_zero_is_no_filter(candidate):
    uniforms = u(0.3, 0.7, 0.9, 0.99)
    check(candidate, FOUR.repeat(4, 1), uniforms, [0, 1, 2, 3], "top_k=0 explicit", top_k=0)
    check(candidate, FOUR.repeat(4, 1), uniforms, [0, 1, 2, 3], "top_k default")


# -- top-p -------------------------------------------------------------------------------------------


def test_top_p_keeps_the_token_that_crosses_the_threshold(candidate):
    # mass before tokens 0, 1, 2 = 0, 0.6439, 0.8808: top_p 0.65 keeps 0 and 1, q = [0.7311, 0.2689]
    check(candidate, FOUR, u(0.9), [1], "top_p=0.65", top_p=0.65)
    check(candidate, FOUR, u(0.99), [2], "top_p=0.9", top_p=0.9)
    check(candidate, FOUR.repeat(3, 1), u(0.5, 0.74, 0.99), [0, 1, 2], "top_p=0.95", top_p=0.95)


def test_tiny_top_p_keeps_the_top_token(candidate):
    logits = torch.tensor([[2.0, 1.0, 0.0, -1.0], [0.0, 0.0, 3.0, 1.0], [0.0, -1.0, -1.0, -math.inf]])
    for top_p in (1e-9, 0.01, 0.3):
        check(candidate, logits, u(0.999, 0.0, 0.5), [0, 2, 0], f"top_p={top_p} below p_max", top_p=top_p)


def test_top_p_one_keeps_everything(candidate):
    logits = torch.tensor([[0.0, 0.0, -3.0]])  # q = [0.4763, 0.4763, 0.0474]
    for kwargs in ({"top_p": 1}, {"top_p": 1.0}, {}):
        check(candidate, logits, u(0.99), [2], "no top-p filter", **kwargs)
    ten = torch.zeros(1, 10)
    check(candidate, ten, u(0.95), [9], "top_p=1, ten equal tokens", top_p=1.0)


def test_top_p_exactly_on_the_mass_before_a_token(candidate):
    # four tied tokens: p = 0.25 each and the masses before them 0, 0.25, 0.5, 0.75 are exact;
    # a token whose mass before equals top_p is dropped (the prefix already has mass >= top_p)
    four = torch.zeros(4, 4, dtype=torch.float64)
    uniforms = u(0.1, 0.4, 0.6, 0.9)
    check(candidate, four, uniforms, [0, 0, 0, 0], "top_p=0.25 keeps one token", top_p=0.25)
    check(candidate, four, uniforms, [0, 0, 1, 1], "top_p=0.5 keeps two tokens", top_p=0.5)
    check(candidate, four, uniforms, [0, 1, 1, 2], "top_p=0.75 keeps three tokens", top_p=0.75)


# -- min-p -------------------------------------------------------------------------------------------


def test_min_p_is_relative_to_the_top_probability(candidate):
    # p / p_max = [1, 0.368, 0.135, 0.050]: min_p 0.3 keeps 0 and 1 (an absolute 0.3 keeps only 0)
    check(candidate, FOUR, u(0.9), [1], "min_p=0.3", min_p=0.3)
    check(candidate, FOUR, u(0.99), [2], "min_p=0.1", min_p=0.1)
    ties = torch.tensor([[1.0, 3.0, 3.0, 2.0]])
    check(candidate, ties.repeat(2, 1), u(0.4, 0.6), [1, 2], "min_p=1 keeps the tokens tied with the top", min_p=1.0)
    check(candidate, ties.repeat(2, 1), u(0.4, 0.6), [1, 2], "min_p=1 (int)", min_p=1)


def test_min_p_zero_is_no_filter(candidate):
    uniforms = u(0.3, 0.7, 0.9, 0.99)
    for kwargs in ({"min_p": 0.0}, {"min_p": 0}, {}):
        check(candidate, FOUR.repeat(4, 1), uniforms, [0, 1, 2, 3], "no min-p filter", **kwargs)


# -- the order of the filters and the renormalisation -----------------------------------------------------


def test_the_kept_distribution_is_renormalised(candidate):
    # top_k=2 keeps 0 and 1: q = [0.7311, 0.2689]; unnormalised p would put 0.7 on token 1
    check(candidate, FOUR, u(0.7), [0], "top_k=2", top_k=2)
    check(candidate, FOUR, u(0.7), [0], "top_p=0.65", top_p=0.65)
    check(candidate, FOUR, u(0.7), [0], "min_p=0.3", min_p=0.3)
    check(candidate, FOUR, u(0.95), [2], "top_k=3", top_k=3)


def test_filters_apply_in_order_each_on_the_renormalised_distribution(candidate):
    # top_k=3 renormalises to [0.6652, 0.2447, 0.0900]: top_p 0.655 keeps token 0 only
    # (on the unfiltered p the mass before token 1 is 0.6439 < 0.655 and token 1 would stay)
    check(candidate, FOUR, u(0.9), [0], "top_k=3 then top_p=0.655", top_k=3, top_p=0.655)
    # top_p 0.7 keeps 0 and 1, then min_p 0.3 keeps both; min_p first and top_p on its
    # renormalised [0.7311, 0.2689] would keep token 0 only
    check(candidate, FOUR, u(0.9), [1], "top_p=0.7 then min_p=0.3", top_p=0.7, min_p=0.3)
    # top_k=3 then min_p=0.1: tokens 0, 1, 2 (q = [0.6652, 0.2447, 0.0900])
    check(candidate, FOUR, u(0.95), [2], "top_k=3 then min_p=0.1", top_k=3, min_p=0.1)
    kwargs = {"top_k": 3, "top_p": 0.9, "min_p": 0.1, "temperature": 1.5}
    check_oracle(candidate, FOUR.repeat(4, 1), u(0.2, 0.6, 0.85, 0.97), "all three filters", **kwargs)


# -- the inverse CDF ---------------------------------------------------------------------------------


def test_inverse_cdf_runs_along_the_sorted_order(candidate):
    logits = torch.tensor([[0.0, 2.0, 1.0]])  # q = [0.0900, 0.6652, 0.2447]; pi = [1, 2, 0], C = [0.665, 0.910, 1]
    check(candidate, logits.repeat(3, 1), u(0.05, 0.7, 0.95), [1, 2, 0], "C along pi, not along token ids")


def test_uniform_on_a_boundary_at_zero_and_just_below_one(candidate):
    two = torch.tensor([[1.0, 1.0]])  # q = [0.5, 0.5] exactly
    check(candidate, two.repeat(4, 1), u(0.0, 0.25, 0.5, 0.75), [0, 0, 1, 1], "u on C_1 = 0.5 picks the next token")
    check(candidate, two, u(0.5, dtype=torch.float32), [1], "float32 u on C_1 = 0.5")
    # ten tokens of 0.1: C_10 sums to 1 - 2^-53, which is not > u = 1 - 2^-53: the last kept token
    ten = torch.zeros(1, 10, dtype=torch.float64)
    check(candidate, ten, u(JUST_BELOW_ONE), [9], "u = 1 - 2^-53")
    check(candidate, ten, u(JUST_BELOW_ONE), [2], "u = 1 - 2^-53, top_k=3", top_k=3)
    check(candidate, ten, u(0.0), [0], "u = 0")


def test_the_given_uniforms_decide(candidate):
    # 32 rows, one distribution: a sampler with its own random numbers cannot match them all
    logits = torch.tensor([[0.3, -0.2, 1.1, 0.0, 0.6]]).repeat(32, 1)
    uniforms = torch.linspace(0.01, 0.99, 32, dtype=torch.float64)
    check_oracle(candidate, logits, uniforms, "one uniform per row")
    check_oracle(candidate, logits, uniforms.flip(0), "the same uniforms reversed")
    check_oracle(candidate, logits, uniforms, "top_k=3", top_k=3)


def test_inverse_cdf_is_summed_in_float64(candidate):
    # q = [0.7, 0.3] along pi = [1, 0]: C_1 = 0.7 in float64 (0.69999999 in float32), above u = 0.7 - 1e-8
    logits = torch.tensor([[math.log(0.3), math.log(0.7)]], dtype=torch.float64)
    check(candidate, logits, u(0.7 - 1e-8), [1], "C_1 = 0.7, u = 0.7 - 1e-8")
    check(candidate, logits, u(0.7 + 1e-8), [0], "C_1 = 0.7, u = 0.7 + 1e-8")


def test_small_positive_temperature_is_not_greedy(candidate):
    # only temperature == 0 is greedy: at 1e-6 two tied logits still share the mass (q = [0.5, 0.5])
    check(candidate, torch.tensor([[1.0, 1.0]]), u(0.75), [1], "tied logits, temperature 1e-6", temperature=1e-6)
    # logits 1e-6 apart at temperature 5e-7: z = [0, 2], q = [0.8808, 0.1192] along pi = [1, 0]
    close = torch.tensor([[0.0, 1e-6]], dtype=torch.float64)
    check(candidate, close.repeat(2, 1), u(0.5, 0.95), [1, 0], "logits 1e-6 apart, temperature 5e-7", temperature=5e-7)


def test_rows_of_very_different_scale(candidate):
    # the softmax's maximum is per row: a batch-wide maximum of 1000 underflows the second row
    logits = torch.tensor([[1000.0, 0.0], [0.0, 0.0], [-2000.0, -2000.5]])
    # (and NaN rows, whatever token a NaN CDF falls back to, miss one of the two uniforms)
    check_oracle(candidate, logits, u(0.75, 0.75, 0.75), "rows 1000 apart")
    check(candidate, logits, u(0.75, 0.75, 0.75), [0, 1, 1], "rows 1000 apart")
    check(candidate, logits, u(0.75, 0.25, 0.25), [0, 0, 0], "rows 1000 apart")
    check(candidate, logits, u(0.5, 0.75, 0.25), [0, 1, 0], "rows 1000 apart, top_p", top_p=0.99, min_p=0.01)


# -- the repetition penalty ------------------------------------------------------------------------


def test_penalty_divides_positive_and_multiplies_negative_logits(candidate):
    # [-1, -2] with token 0 penalised by 4: -4 < -2, so greedy picks token 1 (dividing gives -0.25)
    check(
        candidate,
        torch.tensor([[-1.0, -2.0]]),
        u(0.5),
        [1],
        "negative logit penalised",
        temperature=0,
        repetition_penalty=4.0,
        prev_tokens=tokens([[0]]),
    )
    # [2, -2, 0, 1] with 0, 1, 2 penalised by 4: x = [0.5, -8, 0, 1]
    logits = torch.tensor([[2.0, -2.0, 0.0, 1.0]])
    kwargs = {"repetition_penalty": 4.0, "prev_tokens": tokens([[0, 1, 2]])}
    check(candidate, logits, u(0.5), [3], "greedy", temperature=0, **kwargs)
    kwargs["prev_tokens"] = kwargs["prev_tokens"].repeat(4, 1)
    check_oracle(candidate, logits.repeat(4, 1), u(0.2, 0.5, 0.75, 0.9), "sampled", **kwargs)
    check_oracle(
        candidate,
        logits.repeat(4, 1),
        u(0.2, 0.5, 0.75, 0.9),
        "int penalty",
        repetition_penalty=4,
        prev_tokens=kwargs["prev_tokens"],
    )


def test_penalty_once_per_distinct_token(candidate):
    # token 0 three times: 3 / 2 = 1.5 > 1 (not 3 / 8)
    prev = tokens([[0, 0, 0]])
    check(
        candidate,
        torch.tensor([[3.0, 1.0]]),
        u(0.5),
        [0],
        "repeated token",
        temperature=0,
        repetition_penalty=2.0,
        prev_tokens=prev,
    )
    check(
        candidate,
        torch.tensor([[-1.0, -1.5]]),
        u(0.5),
        [0],
        "repeated negative token",
        temperature=0,
        repetition_penalty=1.2,
        prev_tokens=prev,
    )


def test_penalty_padding_and_rows(candidate):
    # -1 is padding: it must not reach token V - 1
    logits = torch.tensor([[1.0, 2.0, 3.0], [1.0, 2.0, 3.0]])
    prev = tokens([[0, -1, -1], [-1, -1, -1]])
    check(
        candidate, logits, u(0.5, 0.5), [2, 2], "-1 padding", temperature=0, repetition_penalty=10.0, prev_tokens=prev
    )
    # each row penalises its own previous tokens
    logits = torch.tensor([[2.0, 1.5], [2.0, 1.5]])
    prev = tokens([[0, -1], [1, -1]])
    check(
        candidate,
        logits,
        u(0.5, 0.5),
        [1, 0],
        "per-row previous tokens",
        temperature=0,
        repetition_penalty=2.0,
        prev_tokens=prev,
    )
    check_oracle(
        candidate, logits, u(0.3, 0.8), "per-row previous tokens, sampled", repetition_penalty=2.0, prev_tokens=prev
    )


def test_penalty_below_one_neutral_and_empty(candidate):
    prev = tokens([[0]])
    check(
        candidate,
        torch.tensor([[1.0, 1.5]]),
        u(0.5),
        [0],
        "penalty 0.5 doubles a positive logit",
        temperature=0,
        repetition_penalty=0.5,
        prev_tokens=prev,
    )
    check(
        candidate,
        torch.tensor([[-1.5, -1.0]]),
        u(0.5),
        [0],
        "penalty 0.5 halves a negative logit",
        temperature=0,
        repetition_penalty=0.5,
        prev_tokens=prev,
    )
    for penalty in (1.0, 1):
        check(
            candidate,
            FOUR.repeat(4, 1),
            u(0.3, 0.7, 0.9, 0.99),
            [0, 1, 2, 3],
            f"penalty {penalty!r}",
            repetition_penalty=penalty,
            prev_tokens=tokens([[0, 1]] * 4),
        )
    empty = torch.zeros(4, 0, dtype=torch.int64)
    check(
        candidate,
        FOUR.repeat(4, 1),
        u(0.3, 0.7, 0.9, 0.99),
        [0, 1, 2, 3],
        "L = 0",
        repetition_penalty=3.0,
        prev_tokens=empty,
    )
    check(
        candidate, FOUR.repeat(4, 1), u(0.3, 0.7, 0.9, 0.99), [0, 1, 2, 3], "prev_tokens None", repetition_penalty=3.0
    )
    # prev_tokens without a penalty: the default 1.0 changes nothing (3 stays above 2)
    check(
        candidate, torch.tensor([[3.0, 2.0]]), u(0.5), [0], "default penalty", temperature=0, prev_tokens=tokens([[0]])
    )
    for dtype in (torch.int32, torch.int16, torch.int8, torch.uint8):
        name = str(dtype).removeprefix("torch.")
        prev = torch.tensor([[0, 3], [3, 0]], dtype=dtype)  # uint8 has no -1: no padding here
        check(
            candidate,
            torch.tensor([[3.0, 2.0, 1.0, 0.5]] * 2),
            u(0.5, 0.5),
            [1, 1],
            f"{name} prev_tokens",
            temperature=0,
            repetition_penalty=2.0,
            prev_tokens=prev,
        )
        check_oracle(
            candidate,
            torch.tensor([[3.0, 2.0, 1.0, 0.5]] * 2),
            u(0.3, 0.8),
            f"{name} prev_tokens, sampled",
            repetition_penalty=2.0,
            prev_tokens=prev,
        )


# -- -inf, extremes, dtypes ----------------------------------------------------------------------------


def test_minus_inf_logits_are_never_returned(candidate):
    logits = torch.tensor([[-math.inf, 0.0, -math.inf, 0.0, -math.inf]])
    for kwargs in ({}, {"top_k": 5}, {"top_p": 0.99}, {"min_p": 0.5}, {"temperature": 3.0}):
        check(candidate, logits, u(JUST_BELOW_ONE), [3], "-inf tokens, u just below 1", **kwargs)
        check(candidate, logits, u(0.3), [1], "-inf tokens", **kwargs)
    check(
        candidate,
        logits,
        u(0.3),
        [1],
        "-inf token in prev_tokens",
        repetition_penalty=2.0,
        prev_tokens=tokens([[0, 2, 4]]),
    )
    # ten tokens of 0.1 sum to 1 - 2^-53: the fallback must land on token 9, not on a -inf token
    ten = torch.tensor([[0.0] * 10 + [-math.inf] * 3], dtype=torch.float64)
    check(candidate, ten, u(JUST_BELOW_ONE), [9], "-inf tokens after ten equal ones, u = 1 - 2^-53")
    check(candidate, ten, u(JUST_BELOW_ONE), [9], "the same, top_k=13", top_k=13)
    one = torch.tensor([[-math.inf, -math.inf, 5.0]])
    check(candidate, one, u(0.9), [2], "one finite token")


def test_extreme_logits_are_stable(candidate):
    # logits 1e4 at temperature 1e-4: z ~ 1e8, one unit apart (q = [0.7311, 0.2689, 0])
    logits = torch.tensor([[1e4, 1e4 - 1e-4, -1e4]], dtype=torch.float64)
    check_oracle(candidate, logits.repeat(2, 1), u(0.5, 0.8), "|z| ~ 1e8", temperature=1e-4)
    low = torch.tensor([[-1e4, -1e4 - 1.0, -2e4]], dtype=torch.float64)
    check(candidate, low.repeat(2, 1), u(0.5, 0.8), [0, 1], "logits near -1e4")
    wide = torch.tensor([[1e4, 0.0, -1e4]])
    check(candidate, wide.repeat(2, 1), u(0.0, JUST_BELOW_ONE), [0, 0], "logits 1e4 apart, float32")
    check(candidate, wide, u(0.5), [0], "logits 1e4 apart, top_p", top_p=0.5, min_p=0.5)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "float32"])
def test_half_precision_logits_are_read_exactly(candidate, dtype):
    # grid values are exact in every dtype: the float64 answer of those values is expected
    kwargs = {"temperature": 0.8, "top_p": 0.9, "min_p": 0.02}
    case = random_case(
        31, 12, 24, kwargs, dtype=getattr(torch, dtype), grid=0.25, scale=2.0, uniform_dtype=torch.float32
    )
    check(candidate, case.logits, case.uniforms, case.expected, "float32 uniforms", **kwargs)
    case = random_case(32, 12, 40, {}, dtype=getattr(torch, dtype), grid=0.125)
    check(candidate, case.logits, case.uniforms, case.expected, "no filters")


def test_half_precision_logits_are_penalised_in_float64(candidate):
    # float16 0.333251953125 is float16(1 / 3): penalised in float16, token 1's 1 / 3 would tie it
    # (greedy then picks 0); in float64 1 / 3 = 0.33333 is larger
    half = torch.tensor([[0.333251953125, 1.0]], dtype=torch.float16)
    kwargs = {"repetition_penalty": 3.0, "prev_tokens": tokens([[1]])}
    check(candidate, half, u(0.5), [1], "float16, penalty 3, greedy", temperature=0, **kwargs)
    check(
        candidate,
        half,
        u(0.5),
        [1],
        "float16, penalty 3, int penalty",
        temperature=0,
        repetition_penalty=3,
        prev_tokens=kwargs["prev_tokens"],
    )
    # bfloat16 0.333984375 is bfloat16(1 / 3): token 0's 1 / 3 in float64 is smaller than it
    brain = torch.tensor([[1.0, 0.333984375]], dtype=torch.bfloat16)
    kwargs = {"repetition_penalty": 3.0, "prev_tokens": tokens([[0]])}
    check(candidate, brain, u(0.5), [1], "bfloat16, penalty 3, greedy", temperature=0, **kwargs)
    check(candidate, brain, u(0.5), [1], "bfloat16, penalty 3, top_k=1", top_k=1, **kwargs)
    # random float16 rows with penalised tokens of both signs, against the oracle
    case = random_case(33, 6, 24, {"repetition_penalty": 1.3}, dtype=torch.float16, prev_len=6, grid=None, scale=2.0)
    check(
        candidate,
        case.logits,
        case.uniforms,
        case.expected,
        "float16 random, penalty 1.3",
        repetition_penalty=1.3,
        prev_tokens=case.prev_tokens,
    )


def test_float64_logits_are_not_downcast(candidate):
    close = torch.tensor([[1.0, 1.0 + 1e-10]], dtype=torch.float64)  # a float32 copy ties them
    check(candidate, close, u(0.5), [1], "1e-10 apart, greedy", temperature=0)
    check(candidate, close, u(0.5), [1], "1e-10 apart, top_k=1", top_k=1)
    check(candidate, close, u(0.4), [1], "1e-10 apart, pi = [1, 0]")


# -- interface ---------------------------------------------------------------------------------------


def test_output_is_int64_of_shape_b(candidate):
    got = candidate.sample(FOUR.repeat(3, 1), u(0.1, 0.5, 0.9))
    assert isinstance(got, torch.Tensor) and got.dtype == torch.int64 and tuple(got.shape) == (3,), (
        f"expected a (3,) int64 tensor, got {getattr(got, 'dtype', type(got))} of shape {tuple(getattr(got, 'shape', ()))}"
    )
    got = candidate.sample(FOUR, u(0.5), temperature=0)
    assert got.dtype == torch.int64 and tuple(got.shape) == (1,), f"greedy: {got.dtype} of shape {tuple(got.shape)}"
    single = torch.tensor([[0.3]])
    for kwargs in ({}, {"temperature": 0}, {"top_k": 3, "top_p": 0.1, "min_p": 1.0}):
        check(candidate, single, u(0.99), [0], "V = 1", **kwargs)


def test_non_contiguous_logits(candidate):
    kwargs = {"temperature": 0.7, "top_k": 10, "top_p": 0.95}
    case = random_case(41, 6, 16, kwargs, dtype=torch.float32)
    got = candidate.driver.sample_transposed(case.logits, case.uniforms, kwargs)
    assert_close(got, case.expected, name=f"tokens (column-major logits (6, 16), {kwargs})", atol=0, rtol=0)


def test_inputs_unchanged_and_calls_independent(candidate):
    # float64 logits: .to(torch.float64) returns the caller's tensor itself, so an in-place penalty
    # would write into it (the worker's input guard reports that)
    case = random_case(51, 5, 12, {}, prev_len=4)
    before = (case.logits.clone(), case.uniforms.clone(), case.prev_tokens.clone())
    settings_seq = [
        {"repetition_penalty": 1.5, "prev_tokens": case.prev_tokens},
        {"temperature": 0, "repetition_penalty": 1.5, "prev_tokens": case.prev_tokens},
        {"top_k": 3},
        {},
        {"top_p": 0.5, "repetition_penalty": 0.7, "prev_tokens": case.prev_tokens},
        {"min_p": 0.2},
    ]
    for kwargs in settings_seq:
        check_oracle(candidate, case.logits, case.uniforms, "calls in sequence", **kwargs)
    for now, then, name in zip(
        (case.logits, case.uniforms, case.prev_tokens), before, ("logits", "uniforms", "prev_tokens"), strict=True
    ):
        assert torch.equal(now, then), f"{name} changed"


def test_llama3_vocabulary(candidate):
    # a realistic decoding configuration over a 128,256-token vocabulary
    kwargs = {"temperature": 0.8, "top_k": 50, "top_p": 0.9, "min_p": 0.05, "repetition_penalty": 1.1}
    case = random_case(61, 2, 128_256, kwargs, dtype=torch.float32, prev_len=64, grid=None, scale=2.5)
    check(candidate, case.logits, case.uniforms, case.expected, "V = 128256", prev_tokens=case.prev_tokens, **kwargs)
    kwargs = {"temperature": 1.2, "top_k": 2000, "min_p": 0.01}
    case = random_case(62, 2, 128_256, kwargs, dtype=torch.bfloat16, grid=None, scale=1.5)
    check(candidate, case.logits, case.uniforms, case.expected, "V = 128256, bfloat16", **kwargs)


# -- errors ---------------------------------------------------------------------------------------


def call(candidate, logits=None, uniforms=None, **kwargs):
    candidate.sample(FOUR if logits is None else logits, u(0.5) if uniforms is None else uniforms, **kwargs)


def raises_for_each(candidate, cases: dict, also_greedy: bool = True):
    """ValueError for every case (a dict of sample() arguments), also at temperature 0 where the
    filters and the uniform do not matter: they are validated all the same."""
    for label, kwargs in cases.items():
        for extra in ({}, {"temperature": 0}) if also_greedy else ({},):
            try:
                with expect_raises("ValueError"):
                    call(candidate, **kwargs, **extra)
            except AssertionError as error:
                raise AssertionError(f"{label}{' at temperature 0' if extra else ''}: {error}") from None


def test_bad_temperature_raises(candidate):
    values = [-0.1, math.inf, math.nan, "1.0", True, None]
    raises_for_each(candidate, {f"temperature={v!r}": {"temperature": v} for v in values}, also_greedy=False)


def test_bad_top_k_raises(candidate):
    raises_for_each(candidate, {f"top_k={v!r}": {"top_k": v} for v in [-1, 5.0, True, "3", None]})


def test_bad_top_p_raises(candidate):
    raises_for_each(candidate, {f"top_p={v!r}": {"top_p": v} for v in [0, 0.0, -0.5, 1.0001, math.nan, True, "0.9"]})


def test_bad_min_p_raises(candidate):
    raises_for_each(candidate, {f"min_p={v!r}": {"min_p": v} for v in [-0.01, 1.01, math.nan, False, "0.1"]})


def test_bad_repetition_penalty_raises(candidate):
    values = [0, 0.0, -1.2, math.inf, math.nan, True]
    raises_for_each(candidate, {f"repetition_penalty={v!r}": {"repetition_penalty": v} for v in values})


def bad_logits() -> dict:
    cases = {
        "1-D": torch.zeros(4),
        "3-D": torch.zeros(1, 1, 4),
        "B == 0": torch.zeros(0, 4),
        "V == 0": torch.zeros(1, 0),
        "int": torch.zeros(1, 4, dtype=torch.int64),
        "NaN": torch.tensor([[0.0, math.nan, 1.0]]),
        "+inf": torch.tensor([[0.0, math.inf, 1.0]]),
        "row all -inf": torch.tensor([[-math.inf, -math.inf]]),
        "a row all -inf in a batch": torch.tensor([[0.0, 1.0], [-math.inf, -math.inf]]),
        "a list": [[0.0, 1.0]],
    }
    # uniforms that fit the batch, so that only the logits are wrong
    size = lambda x: len(x) if isinstance(x, list) else x.shape[0]  # noqa: E731
    return {
        f"logits {k}": {"logits": x, "uniforms": torch.full((size(x),), 0.5, dtype=torch.float64)}
        for k, x in cases.items()
    }


def test_bad_logits_raise(candidate):
    raises_for_each(candidate, bad_logits())


def test_bad_uniforms_raise(candidate):
    cases = {
        "(B + 1,)": u(0.5, 0.5),
        "(B, 1)": u(0.5).reshape(1, 1),
        "0-d": torch.tensor(0.5, dtype=torch.float64),
        "int": torch.tensor([0], dtype=torch.int64),
        "1.0": u(1.0),
        "negative": u(-1e-9),
        "NaN": u(math.nan),
        "a float": 0.5,
    }
    raises_for_each(candidate, {f"uniforms {k}": {"uniforms": v} for k, v in cases.items()})


def test_bad_prev_tokens_raise(candidate):
    cases = {
        "1-D": tokens([0, 1]),
        "rows != B": tokens([[0], [1]]),
        "float": torch.tensor([[0.0]]),
        "bool": torch.tensor([[True]]),
        "id == V": tokens([[4]]),
        "id < -1": tokens([[-2]]),
        "uint8 id == V": torch.tensor([[4]], dtype=torch.uint8),
        "int16 id < -1": torch.tensor([[-2]], dtype=torch.int16),
        "a list": [[0, 1]],
    }
    raises_for_each(candidate, {f"prev_tokens {k}": {"prev_tokens": v} for k, v in cases.items()})
    penalised = {
        f"prev_tokens {k}, penalty 1.5": {"prev_tokens": v, "repetition_penalty": 1.5} for k, v in cases.items()
    }
    raises_for_each(candidate, penalised)


# -- property-based against the oracle --------------------------------------------------------------


@st.composite
def cases(draw):
    V = draw(st.integers(1, 40))
    kwargs = {
        "temperature": draw(st.sampled_from([0, 0.25, 0.7, 1.0, 1.6])),
        "top_k": draw(st.sampled_from([0, 1, 2, 5, V, V + 3])),
        "top_p": draw(st.sampled_from([1.0, 0.3, 0.6, 0.9, 0.97])),
        "min_p": draw(st.sampled_from([0.0, 0.02, 0.1, 0.5])),
        "repetition_penalty": draw(st.sampled_from([1.0, 1.3, 2.0, 0.8])),
    }
    layout = {
        "prev_len": draw(st.sampled_from([0, 1, 6])),
        "neg_inf": draw(st.sampled_from([0.0, 0.0, 0.25])),
        "dtype": draw(st.sampled_from([torch.float32, torch.float64])),
    }
    return draw(st.integers(1, 4)), V, kwargs, layout, draw(st.integers(0, 2**16))


@settings(max_examples=40, report_multiple_bugs=False)
@given(case=cases())
def test_random_matches_oracle(candidate, case):
    B, V, kwargs, layout, seed = case
    c = random_case(seed, B, V, kwargs, **layout)
    check(candidate, c.logits, c.uniforms, c.expected, f"seed {seed}", prev_tokens=c.prev_tokens, **kwargs)
