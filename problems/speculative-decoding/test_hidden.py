"""Hidden tests for speculative-decoding.

Expected tokens come from the pure-Python float64 oracle in spec_oracle.py (checker side). The
distribution tests enumerate every draft sample and a grid of uniforms in one batch, and compare
the weighted frequencies of the emitted sequences with the law of Leviathan et al. in Fractions.
Hand-made cases use dyadic probabilities (multiples of 1/16), exact in every float format.
"""

import math
from fractions import Fraction

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from spec_oracle import (
    cdf_rounding_case,
    empirical_law,
    exact_law,
    grid_batch,
    random_case,
    residual_rounding_case,
    verify_oracle,
)

from judge_harness import assert_close, expect_raises

DTYPES = {"float32": torch.float32, "float64": torch.float64, "float16": torch.float16, "bfloat16": torch.bfloat16}


def exact(actual, expected, name):
    assert_close(actual, expected, name=name, atol=0, rtol=0)


def describe(draft_tokens, q_draft, p_target, uniforms) -> str:
    B, K = draft_tokens.shape
    dtypes = ", ".join(str(t.dtype).removeprefix("torch.") for t in (draft_tokens, q_draft, p_target, uniforms))
    return f"B={B}, K={K}, V={p_target.shape[-1]}, dtypes {dtypes}"


def check(candidate, args, label="", expected=None):
    """tokens and num_tokens exactly as the oracle (or the expected pair given)."""
    out = candidate.verify(*args)
    assert isinstance(out, tuple) and len(out) == 2, (
        f"verify must return (tokens, num_tokens), got {type(out).__name__}"
    )
    want = verify_oracle(*args) if expected is None else tuple(torch.tensor(e, dtype=torch.int64) for e in expected)
    where = (label + "; " if label else "") + describe(*args)
    if expected is not None:
        assert torch.equal(want[0], verify_oracle(*args)[0]), f"test bug: the oracle disagrees ({where})"
    exact(out[1], want[1], f"num_tokens ({where})")
    exact(out[0], want[0], f"tokens ({where})")
    return out


def row(x, q, p, u, dtype=torch.float64):
    """One row (B = 1) from nested lists: x (K,), q (K, V), p (K+1, V), u (K+1,)."""
    V = len(p[0])
    return (
        torch.tensor([x], dtype=torch.int64).reshape(1, len(x)),
        torch.tensor([q], dtype=dtype).reshape(1, len(x), V),
        torch.tensor([p], dtype=dtype),
        torch.tensor([u], dtype=dtype),
    )


def stack(*rows):
    return tuple(torch.cat(parts) for parts in zip(*rows, strict=True))


# -- the statement's examples ---------------------------------------------------------------------

Q_EX = [[0.5, 0.5, 0.0, 0.0], [0.25, 0.25, 0.5, 0.0]]
P_EX = [[0.25, 0.5, 0.25, 0.0], [0.25, 0.25, 0.25, 0.25], [0.0, 0.0, 0.5, 0.5]]


def test_statement_examples(candidate):
    check(candidate, row([1, 2], Q_EX, P_EX, [0.5, 0.5, 0.3]), "example 1", ([[1, 3, -1]], [2]))
    check(candidate, row([1, 2], Q_EX, P_EX, [0.5, 0.25, 0.7]), "example 2", ([[1, 2, 3]], [3]))
    k0 = (
        torch.zeros(1, 0, dtype=torch.long),
        torch.zeros(1, 0, 3),
        torch.tensor([[[0.0, 0.75, 0.25]]]),
        torch.tensor([[0.0]]),
    )
    check(candidate, k0, "example 3, K = 0", ([[1]], [1]))
    zero_residual = row([0], [[0.5, 0.5]], [[0.25, 0.25], [0.5, 0.5]], [0.75, 0.6], torch.float32)
    check(candidate, zero_residual, "the zero-residual example", ([[1, -1]], [1]))


# -- rule 1: acceptance -----------------------------------------------------------------------------


def test_acceptance_is_strict_at_the_boundary(candidate):
    # u * q == p exactly: rejected; one ulp below: accepted
    q, p = [[0.5, 0.5]], [[0.25, 0.75], [0.5, 0.5]]
    check(candidate, row([0], q, p, [0.5, 0.1]), "u * q == p rejects", ([[1, -1]], [1]))
    below = math.nextafter(0.5, 0.0)
    check(candidate, row([0], q, p, [below, 0.1]), "u * q one ulp below p accepts", ([[0, 0]], [2]))


def test_target_probability_zero_is_always_rejected(candidate):
    # p(x) = 0 rejects even with u = 0 (0 * q < 0 is false); the residual then draws token 1 or 2
    q, p = [[0.5, 0.25, 0.25]], [[0.0, 0.5, 0.5], [1.0, 0.0, 0.0]]
    check(candidate, row([0], q, p, [0.0, 0.0]), "p(x) = 0, u = 0", ([[1, -1]], [1]))
    check(candidate, row([0], q, p, [0.0, 0.5]), "p(x) = 0, u = 0", ([[2, -1]], [1]))


def test_target_at_least_draft_is_always_accepted(candidate):
    u_max = math.nextafter(1.0, 0.0)
    q, p = [[0.25, 0.75], [0.5, 0.5]], [[0.25, 0.75], [0.5, 0.5], [0.0, 1.0]]
    check(candidate, row([0, 1], q, p, [u_max, u_max, 0.0]), "p == q, u just below 1", ([[0, 1, 1]], [3]))
    q, p = [[0.5, 0.5]], [[0.0625, 0.9375], [0.5, 0.5]]
    check(candidate, row([1], q, p, [u_max, 0.5]), "p > q, u just below 1", ([[1, 1]], [2]))


def test_ratio_is_p_over_q(candidate):
    # min(1, p/q) = 1/4 for draft 0; q/p would be 4 (always accepted)
    q, p = [[0.5, 0.5]], [[0.125, 0.875], [0.75, 0.25]]
    check(candidate, row([0], q, p, [0.5, 0.5]), "p/q = 1/4, u = 0.5", ([[1, -1]], [1]))
    check(candidate, row([0], q, p, [0.2, 0.9]), "p/q = 1/4, u = 0.2", ([[0, 1]], [2]))
    # the other way round: p/q = 2 always accepts, q/p = 1/2 would reject at u = 0.75
    q, p = [[0.25, 0.75]], [[0.5, 0.5], [0.25, 0.75]]
    check(candidate, row([0], q, p, [0.75, 0.5]), "p/q = 2, u = 0.75", ([[0, 1]], [2]))


def test_ratio_uses_the_probabilities_of_the_draft_token(candidate):
    # draft token 2 is not the draft's (or the target's) most likely token
    q = [[0.5, 0.25, 0.25, 0.0]]
    p = [[0.0625, 0.75, 0.125, 0.0625], [0.0, 0.0, 0.0, 1.0]]
    check(candidate, row([2], q, p, [0.4375, 0.5]), "p(2) / q(2) = 1/2, u = 0.4375", ([[2, 3]], [2]))
    check(candidate, row([2], q, p, [0.5625, 0.5]), "p(2) / q(2) = 1/2, u = 0.5625", ([[1, -1]], [1]))


def test_position_i_of_p_target_scores_draft_i(candidate):
    # p_target[0] gives draft 0 probability 1/16, p_target[1] gives it 1: the ratio uses p_target[0]
    q = [[0.5, 0.5], [0.5, 0.5]]
    p = [[0.0625, 0.9375], [1.0, 0.0], [0.5, 0.5]]
    check(candidate, row([0, 0], q, p, [0.5, 0.5, 0.25]), "draft 0 against p_target[0]", ([[1, -1, -1]], [1]))
    check(candidate, row([1, 0], q, p, [0.5, 0.5, 0.25]), "two accepted, bonus from p_target[2]", ([[1, 0, 0]], [3]))


def test_each_draft_uses_its_own_uniform(candidate):
    # p/q = 1/2 at both drafts: u = [0.25, 0.75] accepts 0 and rejects 1; [0.75, 0.25] rejects 0
    q = [[0.5, 0.5], [0.5, 0.5]]
    p = [[0.25, 0.75], [0.25, 0.75], [0.5, 0.5]]
    check(candidate, row([0, 0], q, p, [0.25, 0.75, 0.5]), "u_0 accepts, u_1 rejects", ([[0, 1, -1]], [2]))
    check(candidate, row([0, 0], q, p, [0.75, 0.25, 0.5]), "u_0 rejects", ([[1, -1, -1]], [1]))


# -- rules 2 and 3: stop at the first rejection, the residual, the bonus ----------------------------


def test_stops_at_the_first_rejection(candidate):
    # draft 1 is rejected; drafts 2 and 3 would pass their tests but are never examined
    q = [[0.5, 0.5]] * 4
    p = [[0.5, 0.5], [0.125, 0.875], [0.5, 0.5], [0.5, 0.5], [1.0, 0.0]]
    args = row([0, 0, 0, 0], q, p, [0.1, 0.9, 0.1, 0.1, 0.5])
    check(candidate, args, "reject at 1, later drafts acceptable", ([[0, 1, -1, -1, -1]], [2]))
    args = row([0, 0, 0, 0], q, p, [0.9, 0.9, 0.1, 0.1, 0.5])
    check(candidate, args, "draft 0 passes, draft 1 rejected", ([[0, 1, -1, -1, -1]], [2]))


def test_rejection_draws_from_the_residual_not_p(candidate):
    # residual max(0, p - q) = [0, 0, 0.25, 0.125]: u = 0.1 gives token 2; sampling p would give 0
    q = [[0.5, 0.25, 0.125, 0.125]]
    p = [[0.125, 0.25, 0.375, 0.25], [0.25, 0.25, 0.25, 0.25]]
    check(candidate, row([0], q, p, [0.5, 0.1]), "residual, u = 0.1", ([[2, -1]], [1]))
    check(candidate, row([0], q, p, [0.5, 0.7]), "residual, u = 0.7", ([[3, -1]], [1]))


def test_residual_is_clamped_at_zero(candidate):
    # p - q = [-0.375, 0.25, 0.125]: without max(0, .) the cumulative sum is negative at token 0
    q = [[0.5, 0.25, 0.25]]
    p = [[0.125, 0.5, 0.375], [1.0, 0.0, 0.0]]
    for u, token in ((0.0, 1), (0.5, 1), (0.6875, 2), (0.9, 2)):
        check(candidate, row([0], q, p, [0.5, u]), f"residual [0, 1/4, 1/8], u = {u}", ([[token, -1]], [1]))


def test_zero_residual_falls_back_to_p(candidate):
    # normalized up to rounding: p(1) is 2^-30 below q(1) and u_0 is just below 1, so draft 1 is
    # rejected with max(0, p - q) all zero; the token is drawn from p (u = 0.3 gives token 1)
    tiny = 2.0**-30
    q = [[0.25, 0.5, 0.25]]
    p = [[0.25, 0.5 - tiny, 0.25], [1.0, 0.0, 0.0]]
    check(candidate, row([1], q, p, [1 - 2.0**-40, 0.3]), "p(1) = q(1) - 2^-30", ([[1, -1]], [1]))
    check(candidate, row([1], q, p, [1 - 2.0**-40, 0.8]), "p(1) = q(1) - 2^-30", ([[2, -1]], [1]))
    # not normalized: p <= q everywhere
    q, p = [[0.25, 0.5, 0.25]], [[0.125, 0.25, 0.125], [1.0, 0.0, 0.0]]
    check(candidate, row([0], q, p, [0.5, 0.4]), "p <= q everywhere", ([[1, -1]], [1]))
    check(candidate, row([0], q, p, [0.5, 0.8]), "p <= q everywhere", ([[2, -1]], [1]))
    # in a batch: each row falls back to its own p (row 0 accepts, rows 1 and 2 fall back)
    rows = [
        row([1], [[0.25, 0.5, 0.25]], [[0.25, 0.5, 0.25], [1.0, 0.0, 0.0]], [0.5, 0.9]),
        row([0], q, p, [0.5, 0.8]),
        row([1], [[0.25, 0.5, 0.25]], [[0.0, 0.25, 0.25], [1.0, 0.0, 0.0]], [0.75, 0.1]),
    ]
    check(candidate, stack(*rows), "three rows", ([[1, 0], [2, -1], [1, -1]], [2, 1, 1]))


def test_tiny_positive_residual_is_drawn_from(candidate):
    # the residual is [1e-13, 0] (rounded): positive, so it is drawn from (token 0), not p (token 1 at u = 0.9)
    q, p = [[0.5, 0.5]], [[0.5 + 1e-13, 0.5 - 1e-13], [0.5, 0.5]]
    check(candidate, row([1], q, p, [0.9999999999999, 0.9]), "residual about [1e-13, 0]", ([[0, -1]], [1]))
    # 2^-50 and 2^-1000, exact in float64
    q, p = [[0.25, 0.5, 0.25]], [[0.25 + 2.0**-50, 0.5, 0.25 - 2.0**-50], [1.0, 0.0, 0.0]]
    check(candidate, row([2], q, p, [1 - 2.0**-53, 0.99]), "residual [2^-50, 0, 0]", ([[0, -1]], [1]))
    q, p = [[0.5, 0.5, 0.0]], [[0.5, 0.25, 2.0**-1000], [1.0, 0.0, 0.0]]
    check(candidate, row([1], q, p, [0.75, 0.0]), "residual [0, 0, 2^-1000]", ([[2, -1]], [1]))


def test_bonus_token_from_the_last_target_position(candidate):
    q = [[0.5, 0.5, 0.0], [0.0, 0.5, 0.5]]
    p = [[0.5, 0.5, 0.0], [0.0, 0.5, 0.5], [0.25, 0.0, 0.75]]
    check(candidate, row([0, 2], q, p, [0.9, 0.9, 0.2]), "all accepted, bonus from p_2", ([[0, 2, 0]], [3]))
    check(candidate, row([1, 1], q, p, [0.0, 0.0, 0.5]), "all accepted, bonus from p_2", ([[1, 1, 2]], [3]))


def test_the_last_token_uses_the_last_uniform(candidate):
    # rejected at 0 with u_0 = 0.9: the residual draw uses u_K, not u_0 (u_0 would give token 2)
    q = [[0.5, 0.25, 0.25], [1.0, 0.0, 0.0]]
    p = [[0.25, 0.375, 0.375], [0.5, 0.5, 0.0], [1.0, 0.0, 0.0]]
    check(candidate, row([0, 0], q, p, [0.9, 0.5, 0.1]), "u_K = 0.1 draws the residual", ([[1, -1, -1]], [1]))
    check(candidate, row([0, 0], q, p, [0.95, 0.5, 0.4]), "u_K = 0.4 draws the residual", ([[1, -1, -1]], [1]))


# -- rule 4: the inverse CDF ----------------------------------------------------------------------------


def test_inverse_cdf_boundaries_and_zero_weights(candidate):
    # K = 0, p = [0, 1/4, 0, 1/2, 1/4]: c = [0, 1/4, 1/4, 3/4, 1]; u * S == c[t] moves on to the next token
    p = [[0.0, 0.25, 0.0, 0.5, 0.25]]
    for u, token in ((0.0, 1), (0.125, 1), (0.25, 3), (0.5, 3), (0.75, 4), (1 - 2.0**-53, 4)):
        check(candidate, row([], [], p, [u]), f"inverse CDF at u = {u}", ([[token]], [1]))


def test_inverse_cdf_divides_by_the_sum(candidate):
    # weights not normalized: S = 1/2, u * S compared with the running sum
    p = [[0.125, 0.125, 0.25]]
    for u, token in ((0.2, 0), (0.25, 1), (0.49, 1), (0.5, 2)):
        check(candidate, row([], [], p, [u]), f"p sums to 1/2, u = {u}", ([[token]], [1]))


def test_inverse_cdf_compares_u_times_the_sum(candidate):
    # u = c[t] / S rounded, and its two float64 neighbours: u * S < c[t] in float64 decides, and
    # u < c[t] / S or u < cumsum(w / S)[t] differ from it on some of these rows
    w = [0.35526675833930643, 0.6219052486795277, 0.48184840078170854]
    check(candidate, row([], [], [w], [0.24349677114857302]), "u = c[0] / S rounded", ([[1]], [1]))
    g = torch.Generator().manual_seed(11)
    weights = torch.rand(40, 4, generator=g, dtype=torch.float64) + 2.0**-8
    c = weights.cumsum(1)
    S = c[:, -1:]
    t = torch.arange(40) % 3
    u = (c / S).gather(1, t[:, None])  # (40, 1)
    rows = torch.cat([u, u.nextafter(torch.zeros(())), u.nextafter(torch.ones(()))]).clamp_max(1 - 2.0**-53)
    w3 = weights.repeat(3, 1)
    args = (torch.zeros(120, 0, dtype=torch.long), torch.zeros(120, 0, 4, dtype=torch.float64), w3[:, None], rows)
    expected = verify_oracle(*args)[0][:, 0]
    for other in (torch.cumsum(w3 / w3.sum(1, keepdim=True), 1), w3.cumsum(1) / w3.cumsum(1)[:, -1:]):
        assert bool((expected != (rows >= other).sum(1)).any()), "test bug: no row tells the forms apart"
    check(candidate, args, "u within rounding of c[t] / S")


# -- rule 5, 7: the batch, padding, K = 0, V = 1, integer dtypes ---------------------------------------


def test_rows_are_independent_with_padding_and_counts(candidate):
    q = [[0.5, 0.5], [0.5, 0.5]]
    p = [[0.25, 0.75], [0.25, 0.75], [0.5, 0.5]]
    rows = [
        row([0, 0], q, p, [0.75, 0.1, 0.1]),  # rejected at 0
        row([0, 0], q, p, [0.1, 0.75, 0.9]),  # rejected at 1
        row([1, 0], q, p, [0.9, 0.1, 0.25]),  # all accepted
        row([1, 1], q, p, [0.0, 0.0, 0.75]),  # all accepted
    ]
    check(candidate, stack(*rows), "four rows", ([[1, -1, -1], [0, 1, -1], [1, 0, 0], [1, 1, 1]], [1, 2, 3, 3]))


@pytest.mark.parametrize("B", [1, 3])
def test_no_drafts(candidate, B):
    draft_tokens, q, p, u = random_case(B, 0, 6, seed=B)
    check(candidate, (draft_tokens, q, p, u), "K = 0")


def test_vocabulary_of_one(candidate):
    args = (torch.zeros(2, 3, dtype=torch.long), torch.ones(2, 3, 1), torch.ones(2, 4, 1), torch.rand(2, 4))
    check(candidate, args, "V = 1", ([[0, 0, 0, 0]] * 2, [4, 4]))


@pytest.mark.parametrize("dtype", ["uint8", "int8", "int16", "int32"])
def test_integer_dtypes_of_draft_tokens(candidate, dtype):
    draft_tokens, q, p, u = random_case(4, 3, 9, seed=3)
    args = (draft_tokens.to(getattr(torch, dtype)), q, p, u)
    out = check(candidate, args, f"draft_tokens {dtype}")
    assert out[0].dtype == torch.int64 and out[1].dtype == torch.int64


def test_non_contiguous_inputs(candidate):
    args = random_case(5, 3, 7, seed=41)
    tokens, counts, strided = candidate.driver.verify_strided(*args)
    assert strided, "test bug: the driver did not make non-contiguous inputs"
    expected = verify_oracle(*args)
    exact(counts, expected[1], "num_tokens (column-major inputs)")
    exact(tokens, expected[0], "tokens (column-major inputs)")


def test_a_result_survives_later_calls(candidate):
    # three calls of the same shape in one worker, every result read after the third: the tensors
    # returned by a call must not be reused (overwritten) by the next
    calls = [
        (row([1, 2], Q_EX, P_EX, [0.5, 0.5, 0.3]), ([[1, 3, -1]], [2])),
        (row([1, 2], Q_EX, P_EX, [0.5, 0.25, 0.7]), ([[1, 2, 3]], [3])),
        (row([1, 2], Q_EX, P_EX, [0.5, 0.25, 0.2]), ([[1, 2, 2]], [3])),
    ]
    results = candidate.driver.verify_in_sequence([args for args, _ in calls])
    for k, ((tokens, counts), (_, (want_tokens, want_counts))) in enumerate(zip(results, calls, strict=True)):
        exact(counts, torch.tensor(want_counts), f"num_tokens of call {k + 1} of 3, read after the third")
        exact(tokens, torch.tensor(want_tokens), f"tokens of call {k + 1} of 3, read after the third")


def test_inputs_unchanged_and_calls_independent(candidate):
    # the same shapes and drafts with different probabilities, call after call
    for seed in range(4):
        for dtype in (torch.float64, torch.float32):
            draft_tokens, q, p, u = random_case(6, 3, 5, seed=100 + seed)
            draft_tokens = torch.tensor([[0, 1, 2]] * 6)
            q = (q + 0.01).to(dtype)
            p, u = p.to(dtype), u.to(dtype)
            before = [t.clone() for t in (draft_tokens, q, p, u)]
            check(candidate, (draft_tokens, q, p, u), f"call {seed}, {str(dtype).removeprefix('torch.')}")
            for t, b in zip((draft_tokens, q, p, u), before, strict=True):
                assert torch.equal(t, b), "an input changed"


# -- rule 6: float64 computation --------------------------------------------------------------------------


def rounding_triple(dtype: torch.dtype, seed: int) -> tuple[float, float, float]:
    """u, q, p representable in dtype with u * q < p exactly but round(u * q) == p in dtype."""
    g = torch.Generator().manual_seed(seed)
    u = (torch.rand(4096, generator=g, dtype=torch.float64) * 0.5 + 0.25).to(dtype)
    q = (torch.rand(4096, generator=g, dtype=torch.float64) * 0.5 + 0.25).to(dtype)
    rounded = u * q  # in dtype
    exact_product = u.double() * q.double()  # exact: twice the mantissa bits fit in float64
    i = int(torch.nonzero(rounded.double() > exact_product)[0])
    return u[i].item(), q[i].item(), rounded[i].item()


@pytest.mark.parametrize("dtype", ["float32", "float16", "bfloat16"])
def test_acceptance_in_float64(candidate, dtype):
    # float64: u * q < p accepts; in the input dtype u * q rounds up to p and rejects
    u, q, p = rounding_triple(DTYPES[dtype], seed=7)
    args = row([0], [[q, 1 - q]], [[p, 1 - p], [0.5, 0.5]], [u, 0.25], DTYPES[dtype])
    check(candidate, args, f"u * q rounds up to p in {dtype}", ([[0, 0]], [2]))


@pytest.mark.parametrize("dtype", ["float32", "float16", "bfloat16"])
def test_residual_in_float64(candidate, dtype):
    # p - q rounds in dtype (q < p / 2 at the residual's entries); u_K lies between the two draws
    args = residual_rounding_case(DTYPES[dtype])
    check(candidate, args, f"residual p - q of {dtype} inputs")
    q, p = args[1], args[2]
    check(candidate, (args[0], q, p.double(), args[3]), f"q {dtype}, p float64")
    check(candidate, (args[0], q.double(), p, args[3]), f"q float64, p {dtype}")


def test_cumulative_sum_in_float64(candidate):
    # float32 probabilities, float64 uniforms with u * S between the float64 and the float32 running sum
    check(candidate, cdf_rounding_case(), "u * S between c[t] in float64 and in float32")


def test_mixed_dtypes(candidate):
    draft_tokens, q, p, u = random_case(5, 4, 8, seed=21)
    check(candidate, (draft_tokens, q.half(), p.float(), u), "q float16, p float32, uniforms float64")
    check(candidate, (draft_tokens, q.bfloat16(), p, u.float()), "q bfloat16, p float64, uniforms float32")


def test_tiny_and_unnormalized_probabilities(candidate):
    # rows scaled by 2^-660 (about 2e-199, exact in float64): the ratio p/q and the draw are scale-free
    draft_tokens, q, p, u = random_case(6, 3, 5, seed=31)
    reference = verify_oracle(draft_tokens, q, p, u)
    scaled = (draft_tokens, q * 2.0**-660, p * 2.0**-660, u)
    check(candidate, scaled, "q and p scaled by 2^-660", (reference[0].tolist(), reference[1].tolist()))
    # a tiny p against a large q rejects; a tiny q against a large p accepts
    q, p = [[0.5, 0.5], [1e-300, 1.0]], [[1e-300, 1.0], [1.0, 1e-300], [0.5, 0.5]]
    check(candidate, row([0, 0], q, p, [0.5, 0.5, 0.5]), "p(x) = 1e-300 vs q(x) = 0.5", ([[1, -1, -1]], [1]))
    check(candidate, row([1, 0], q, p, [0.9, 1 - 2.0**-53, 0.5]), "q(x) = 1e-300", ([[1, 0, 1]], [3]))


def test_zero_uniforms(candidate):
    # u = 0: every draft with p(x) > 0 is accepted, the draw takes the first token of positive weight
    q = [[0.25, 0.75], [0.25, 0.75], [0.5, 0.5]]
    p = [[0.0, 1.0], [2.0**-20, 1.0 - 2.0**-20], [0.0, 1.0], [0.0, 1.0]]
    check(candidate, row([1, 0, 1], q, p, [0.0, 0.0, 0.0, 0.0]), "u = 0 everywhere", ([[1, 0, 1, 1]], [4]))
    check(candidate, row([0, 0, 1], q, p, [0.0, 0.0, 0.0, 0.0]), "u = 0, p(x_0) = 0", ([[1, -1, -1, -1]], [1]))


# -- errors -------------------------------------------------------------------------------------------


def valid():
    return list(row([1, 2], Q_EX, P_EX, [0.5, 0.5, 0.3]))


def raises(candidate, args):
    with expect_raises("ValueError"):
        candidate.verify(*args)


@pytest.mark.parametrize("case", ["float", "bool", "1-D", "3-D", "B == 0", "complex"])
def test_bad_draft_tokens_raise(candidate, case):
    args = valid()
    x = args[0]
    args[0] = {
        "float": x.double(),
        "bool": x.bool(),
        "1-D": x[0],
        "3-D": x[None],
        "B == 0": x[:0],
        "complex": x.to(torch.complex64),
    }[case]
    if case == "B == 0":
        args[1:] = [t[:0] for t in args[1:]]
    raises(candidate, args)


SHAPE_CASES = {
    "q has K + 1 positions": lambda a: [a[0], a[2], a[2], a[3]],
    "p has K positions": lambda a: [a[0], a[1], a[1], a[3]],
    "p 2-D": lambda a: [a[0], a[1], a[2][0], a[3]],
    "p 4-D": lambda a: [a[0], a[1], a[2][None], a[3]],
    "V differs": lambda a: [a[0], a[1][..., :3], a[2], a[3]],
    "V == 0": lambda a: [a[0], a[1][..., :0], a[2][..., :0], a[3]],
    "uniforms (B, K)": lambda a: [a[0], a[1], a[2], a[3][:, :2]],
    "uniforms 1-D": lambda a: [a[0], a[1], a[2], a[3][0]],
    "batch differs": lambda a: [a[0], a[1].expand(2, -1, -1), a[2], a[3]],
    "batch of p": lambda a: [a[0], a[1], a[2].expand(2, -1, -1), a[3]],
    "batch of uniforms": lambda a: [a[0], a[1], a[2], a[3].expand(2, -1)],
    "K == 0, V of q differs": lambda a: [a[0][:, :0], torch.zeros(1, 0, 5), a[2][:, :1], a[3][:, :1]],
    "K == 0, q 2-D": lambda a: [a[0][:, :0], torch.zeros(1, 0), a[2][:, :1], a[3][:, :1]],
}


@pytest.mark.parametrize("case", list(SHAPE_CASES))
def test_bad_shapes_raise(candidate, case):
    raises(candidate, SHAPE_CASES[case](valid()))


@pytest.mark.parametrize("which", [1, 2, 3])
def test_not_floating_point_raises(candidate, which):
    args = valid()
    args[which] = (args[which] * 4).long()
    raises(candidate, args)


@pytest.mark.parametrize("token", [-1, 4, 100, 2**32 + 1, 2**32 + 2, -(2**32) + 1, 2**63 - 1, -(2**63)])
def test_draft_token_out_of_range_raises(candidate, token):
    args = valid()
    args[0] = torch.tensor([[1, token]])
    raises(candidate, args)


@pytest.mark.parametrize(
    ("which", "index", "value"),
    [
        (1, (0, 0, 3), -0.25),
        (1, (0, 1, 3), math.nan),
        (1, (0, 0, 0), math.inf),
        (2, (0, 2, 0), -1e-9),
        (2, (0, 2, 1), math.nan),
        (2, (0, 1, 0), math.inf),
    ],
    ids=str,
)
def test_bad_probabilities_raise(candidate, which, index, value):
    args = valid()
    args[which] = args[which].clone()
    args[which][index] = value
    raises(candidate, args)


@pytest.mark.parametrize("position", [0, 1, 2])
def test_target_row_summing_to_zero_raises(candidate, position):
    # position 2 is never reached with these uniforms (draft 1 is rejected): it is still validated
    args = valid()
    args[2] = args[2].clone()
    args[2][0, position] = 0.0
    raises(candidate, args)


@pytest.mark.parametrize("position", [0, 1])
def test_draft_token_the_draft_could_not_sample_raises(candidate, position):
    # draft 0 is rejected (0.9 * 0.5 >= 0.25), so position 1 is never examined: it is still validated
    args = list(row([0, 2], Q_EX, P_EX, [0.9, 0.5, 0.3]))
    args[0][0, position] = 3  # q_draft[0, 0, 3] = q_draft[0, 1, 3] = 0
    raises(candidate, args)


@pytest.mark.parametrize("value", [1.0, 1.5, -1e-12, -1.0, math.nan, math.inf], ids=str)
@pytest.mark.parametrize("column", [1, 2])
def test_bad_uniforms_raise(candidate, value, column):
    args = valid()
    args[3] = args[3].clone()
    args[3][0, column] = value
    raises(candidate, args)


# -- the output distribution ------------------------------------------------------------------------


def law_check(candidate, q, p, grid, label):
    draft_tokens, q_t, p_t, u_t, weights = grid_batch(q, p, grid)
    tokens, counts = candidate.verify(draft_tokens, q_t, p_t, u_t)
    got, want = empirical_law(tokens, counts, weights), exact_law(q, p)
    first_got = {}
    for seq, w in got.items():
        first_got[seq[:1]] = first_got.get(seq[:1], Fraction(0)) + w
    first_want = {(a,): v for a, v in enumerate(p[0]) if v}
    assert first_got == first_want, (
        f"{label}: the first emitted token does not follow p_target[0]: got {_show(first_got)}, expected {_show(first_want)}"
    )
    bad = sorted(set(got) | set(want), key=lambda s: (len(s), s))
    bad = [s for s in bad if got.get(s, 0) != want.get(s, 0)]
    assert not bad, (
        f"{label}: P(emitted sequence) differs for {len(bad)} sequences; first {bad[0]}: got {got.get(bad[0], 0)}, "
        f"expected {want.get(bad[0], 0)} ({len(weights)} rows enumerating the draft's samples and a {grid}-point uniform grid)"
    )


def _show(law):
    return {k: str(v) for k, v in sorted(law.items())}


F = Fraction


def test_output_law_one_draft(candidate):
    q = [[F(1, 2), F(1, 4), F(1, 8), F(1, 8)]]
    p = [[F(1, 8), F(1, 4), F(3, 8), F(1, 4)], [F(1, 6), F(1, 3), F(0), F(1, 2)]]
    law_check(candidate, q, p, 12, "K = 1, V = 4")


def test_output_law_two_drafts(candidate):
    q = [[F(1, 2), F(1, 4), F(1, 4)], [F(1, 4), F(1, 4), F(1, 2)]]
    p = [[F(1, 4), F(1, 2), F(1, 4)], [F(1, 2), F(1, 6), F(1, 3)], [F(1, 3), F(0), F(2, 3)]]
    law_check(candidate, q, p, 6, "K = 2, V = 3")


def test_output_law_disjoint_supports(candidate):
    # the draft proposes only tokens the target gives probability 0 to (always rejected) or shares
    q = [[F(1, 2), F(1, 2), F(0), F(0)]]
    p = [[F(0), F(1, 4), F(1, 2), F(1, 4)], [F(1, 4), F(1, 4), F(1, 4), F(1, 4)]]
    law_check(candidate, q, p, 12, "K = 1, disjoint supports")


# -- property-based against the oracle --------------------------------------------------------------


@st.composite
def cases(draw):
    B, K = draw(st.integers(1, 6)), draw(st.integers(0, 5))
    V = draw(st.sampled_from([1, 2, 3, 7, 33]))
    dtype = draw(st.sampled_from(["float32", "float64"]))
    temperature = draw(st.sampled_from([0.05, 0.5, 1.0, 3.0]))
    return B, K, V, dtype, temperature, draw(st.booleans()), draw(st.integers(0, 2**16))


@settings(max_examples=40, report_multiple_bugs=False)
@given(case=cases())
def test_random_matches_oracle(candidate, case):
    B, K, V, dtype, temperature, zeros, seed = case
    draft_tokens, q, p, u = random_case(B, K, V, seed, temperature=temperature, zeros=zeros)
    t = DTYPES[dtype]
    args = (draft_tokens, q.to(t), p.to(t), u.to(t))
    if bool((args[1].gather(2, draft_tokens[..., None]) == 0).any()) or bool((args[3] >= 1).any()):
        return  # a float32 rounding made the case invalid input
    check(candidate, args, f"seed {seed}, temperature {temperature}, zeros {zeros}")
