"""Hidden tests for dpo-loss.

Expected values come from the float64 oracle in dpo_oracle.py (checker side). Gradients are
computed in the worker by the problem's driver, which makes the policy log-probabilities leaves,
calls dpo_loss and backward on the loss, and returns plain tensors.
"""

import math

import pytest
import torch
from dpo_oracle import dpo_oracle, random_case
from hypothesis import given, settings
from hypothesis import strategies as st

from judge_harness import assert_close, expect_raises

DTYPES = {"float32": torch.float32, "float64": torch.float64, "float16": torch.float16, "bfloat16": torch.bfloat16}


def describe(logps, kwargs) -> str:
    B, T = logps[0].shape
    return f"B={B}, T={T}, {str(logps[0].dtype).removeprefix('torch.')}, {kwargs}"


def check(candidate, tolerances, logps, masks, kwargs, label="", grad_atol=None, **layout):
    """Loss, rewards and both gradients against the oracle; the rewards must be detached.

    layout goes to the driver: transposed=True (column-major inputs), ref_grad=True (reference
    log-probs that require grad: none may reach them).
    """
    dtype = logps[0].dtype
    atol, rtol = tolerances[str(dtype).removeprefix("torch.")]
    expected = dpo_oracle(*logps, *masks, **kwargs)
    loss, cr, rj, g_pc, g_pr, flags = candidate.driver.forward_backward(*logps, *masks, kwargs, **layout)
    where = (label + "; " if label else "") + describe(logps, kwargs)
    assert_close(loss, expected.loss.to(dtype), name=f"loss ({where})")
    assert_close(cr, expected.chosen_rewards.to(dtype), name=f"chosen_rewards ({where})")
    assert_close(rj, expected.rejected_rewards.to(dtype), name=f"rejected_rewards ({where})")
    assert flags["loss_has_grad_fn"], f"the loss has no grad_fn ({where}): it must be differentiable"
    assert not flags["rewards_require_grad"], f"the rewards require grad ({where}): they must be detached"
    assert g_pc is not None and g_pr is not None, f"no gradient reached the policy log-probabilities ({where})"
    assert not flags["ref_got_grad"], (
        f"a gradient reached the reference log-probabilities ({where}): they are constants, even if they require grad"
    )
    ga = atol if grad_atol is None else grad_atol
    assert_close(g_pc, expected.grad_policy_chosen.to(dtype), name=f"d loss / d policy_chosen_logps ({where})", atol=ga)
    assert_close(
        g_pr, expected.grad_policy_rejected.to(dtype), name=f"d loss / d policy_rejected_logps ({where})", atol=ga
    )


def example():
    pc = torch.tensor([[-9.0, -1.0, -2.0]])
    pr = torch.tensor([[-9.0, -3.0, -1.0]])
    rc = torch.tensor([[-9.0, -1.5, -2.0]])
    rr = torch.tensor([[-9.0, -2.0, -1.5]])
    mask = torch.tensor([[False, True, True]])
    return [pc, pr, rc, rr], [mask, mask.clone()]


# -- the statement's examples and the basic rules ----------------------------------------------


def test_statement_examples(candidate, tolerances):
    logps, masks = example()
    check(candidate, tolerances, logps, masks, {"beta": 0.5}, "statement example, DPO")
    loss = candidate.dpo_loss(*logps, *masks, beta=0.5)[0]
    assert_close(loss, torch.tensor(math.log1p(math.exp(-0.5)), dtype=torch.float32), name="DPO loss, example")
    check(candidate, tolerances, logps, masks, {"beta": 0.5, "label_smoothing": 0.1}, "statement example, cDPO")
    check(candidate, tolerances, logps, masks, {"beta": 0.5, "loss_type": "ipo"}, "statement example, IPO")


def test_margin_sign_chosen_preferred_gives_small_loss(candidate):
    # the policy raised the chosen response and lowered the rejected one relative to the reference
    ref = torch.full((2, 4), -2.0)
    mask = torch.ones(2, 4, dtype=torch.bool)
    loss, cr, rj = candidate.dpo_loss(ref + 1.0, ref - 1.0, ref, ref, mask, mask, beta=0.1)
    expected = math.log1p(math.exp(-0.1 * 8.0))  # h = 4 - (-4) = 8
    assert_close(loss, torch.tensor(expected), name="loss when the policy prefers the chosen response (h = 8)")
    assert_close(cr, torch.tensor([0.4, 0.4]), name="chosen_rewards (h = 8)")
    assert_close(rj, torch.tensor([-0.4, -0.4]), name="rejected_rewards (h = 8)")


def test_reference_log_probs_enter_the_margin(candidate, tolerances):
    g = torch.Generator().manual_seed(1)
    pc, pr = -torch.rand(3, 5, generator=g).double(), -torch.rand(3, 5, generator=g).double()
    rc, rr = -torch.rand(3, 5, generator=g).double() * 2, -torch.rand(3, 5, generator=g).double() * 0.5
    mask = torch.ones(3, 5, dtype=torch.bool)
    check(candidate, tolerances, [pc, pr, rc, rr], [mask, mask], {"beta": 1.0}, "a reference far from the policy")


def test_sum_over_tokens_not_mean(candidate, tolerances):
    # rows with 1, 3 and 6 response tokens: a mean per row gives different margins
    pc = torch.full((3, 6), -1.0, dtype=torch.float64)
    pr = torch.full((3, 6), -1.5, dtype=torch.float64)
    rc = torch.full((3, 6), -1.2, dtype=torch.float64)
    rr = torch.full((3, 6), -1.2, dtype=torch.float64)
    mc = torch.tensor([[True] + [False] * 5, [True] * 3 + [False] * 3, [True] * 6])
    mr = torch.tensor([[True] * 6, [True] * 2 + [False] * 4, [True] * 4 + [False] * 2])
    check(candidate, tolerances, [pc, pr, rc, rr], [mc, mr], {"beta": 0.2}, "rows of different lengths")


def test_prompt_and_padding_hold_nan_and_inf(candidate, tolerances):
    logps, masks = example()
    for t in logps:
        t[0, 0] = -math.inf
    logps[0][0, 0], logps[3][0, 0] = math.nan, math.nan
    pad = [torch.cat([t, torch.tensor([[-math.inf, math.nan]])], dim=1) for t in logps]
    pad_masks = [torch.cat([m, torch.zeros(1, 2, dtype=torch.bool)], dim=1) for m in masks]
    check(candidate, tolerances, logps, masks, {"beta": 0.5}, "prompt positions hold -inf and NaN")
    check(candidate, tolerances, pad, pad_masks, {"beta": 0.5}, "prompt and padding hold -inf and NaN")
    check(candidate, tolerances, pad, pad_masks, {"beta": 0.5, "loss_type": "ipo"}, "IPO, -inf and NaN padding")


def test_ipo_constant_is_one_over_two_beta(candidate, tolerances):
    # h = 2.5 exactly; beta = 0.2 puts the IPO target 1 / (2 beta) on h (zero loss and gradient)
    mask = torch.ones(1, 2, dtype=torch.bool)
    pc = torch.tensor([[-0.5, -0.5]], dtype=torch.float64)
    pr = torch.tensor([[-1.75, -1.75]], dtype=torch.float64)
    z = torch.zeros(1, 2, dtype=torch.float64)
    for beta in (0.2, 0.1, 1.0):
        check(candidate, tolerances, [pc, pr, z, z], [mask, mask], {"beta": beta, "loss_type": "ipo"}, "h = 2.5")


@pytest.mark.parametrize("label_smoothing", [0.0, 0.1, 0.25, 0.5])
def test_label_smoothing_formula(candidate, tolerances, label_smoothing):
    logps, masks = random_case(3, 4, torch.float64, seed=7)
    check(candidate, tolerances, logps, masks, {"beta": 0.7, "label_smoothing": label_smoothing}, "cDPO")


def test_label_smoothing_explicit_zero_is_plain_dpo(candidate, tolerances):
    logps, masks = random_case(2, 5, torch.float64, seed=3)
    explicit = candidate.dpo_loss(*logps, *masks, beta=0.3, label_smoothing=0.0, loss_type="sigmoid")[0]
    default = candidate.dpo_loss(*logps, *masks, beta=0.3)[0]
    assert_close(explicit, default, name="loss with label_smoothing=0.0 explicit vs the default", atol=0, rtol=0)
    check(candidate, tolerances, logps, masks, {"beta": 0.3, "label_smoothing": 0.0}, "explicit 0.0")


# -- property-based against the oracle -----------------------------------------------------------


@st.composite
def cases(draw):
    B, T = draw(st.integers(1, 4)), draw(st.integers(1, 7))
    dtype = draw(st.sampled_from(["float32", "float64"]))
    loss_type = draw(st.sampled_from(["sigmoid", "ipo"]))
    beta = draw(st.sampled_from([0.01, 0.1, 0.5, 2.0]))
    ls = 0.0 if loss_type == "ipo" else draw(st.sampled_from([0.0, 0.05, 0.3]))
    return B, T, dtype, {"beta": beta, "label_smoothing": ls, "loss_type": loss_type}, draw(st.integers(0, 2**16))


@settings(max_examples=20, report_multiple_bugs=False)
@given(case=cases())
def test_random_matches_oracle(candidate, tolerances, case):
    B, T, dtype, kwargs, seed = case
    logps, masks = random_case(B, T, DTYPES[dtype], seed)
    check(candidate, tolerances, logps, masks, kwargs, f"seed {seed}")


# -- numerics and dtypes ----------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_extreme_margins_are_finite(candidate, tolerances, dtype, sign):
    # beta * h = +-1e4: log(sigmoid(-1e4)) is -inf in any float format
    t = DTYPES[dtype]
    mask = torch.ones(2, 2, dtype=torch.bool)
    pc = torch.tensor([[-1.0, -1.0], [-1.0, -1.0]], dtype=t)
    pr = pc - sign * 5000.0
    z = torch.zeros(2, 2, dtype=t)
    for ls in (0.0, 0.1):
        check(
            candidate, tolerances, [pc, pr, z, z], [mask, mask], {"beta": 1.0, "label_smoothing": ls}, "|beta h| = 1e4"
        )


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_half_precision_accumulates_in_fp32(candidate, tolerances, dtype):
    # 512 tokens of about -1.1 each: a half-precision running sum drifts by whole units
    g = torch.Generator().manual_seed(5)
    logps = [(-1.0 - 0.2 * torch.rand(2, 512, generator=g, dtype=torch.float64)).to(DTYPES[dtype]) for _ in range(4)]
    logps[1] = logps[1] - 0.01
    mask = torch.ones(2, 512, dtype=torch.bool)
    # rewards are beta * ~560: the half-precision rounding of the output is rtol-sized
    check(candidate, tolerances, logps, [mask, mask], {"beta": 0.01}, "long responses in half precision")


def test_float64_is_not_downcast(candidate):
    # margins 1e-9 apart: float32 cannot tell them apart
    mask = torch.ones(1, 1, dtype=torch.bool)
    z = torch.zeros(1, 1, dtype=torch.float64)
    pc = torch.tensor([[1e-9]], dtype=torch.float64) - 1.0
    loss, cr, _ = candidate.dpo_loss(pc, z - 1.0, z, z, mask, mask, beta=1.0, loss_type="ipo")
    assert loss.dtype == torch.float64 and cr.dtype == torch.float64, (
        f"outputs {loss.dtype}, {cr.dtype} for float64 inputs"
    )
    expected = (1e-9 - 0.5) ** 2  # h = 1e-9, 1 / (2 beta) = 0.5
    assert_close(
        loss, torch.tensor(expected, dtype=torch.float64), name="IPO loss at h = 1e-9 (float64)", atol=1e-15, rtol=1e-12
    )
    assert_close(
        cr, torch.tensor([1e-9 - 1.0], dtype=torch.float64), name="chosen_rewards (float64)", atol=1e-15, rtol=1e-12
    )


# -- interface: layouts, caller data, one graph ------------------------------------------------------


def test_single_pair_single_token(candidate, tolerances):
    t = [torch.tensor([[v]]) for v in (-0.5, -2.0, -1.0, -1.0)]
    mask = torch.ones(1, 1, dtype=torch.bool)
    check(candidate, tolerances, t, [mask, mask], {"beta": 0.1}, "B = T = 1")


def test_non_contiguous_inputs(candidate, tolerances):
    # the driver lays the six inputs out column-major in the worker (a transposed view)
    logps, masks = random_case(5, 3, torch.float32, seed=11)
    check(candidate, tolerances, logps, masks, {"beta": 0.5}, "column-major (transposed) inputs", transposed=True)
    logps, masks = random_case(4, 6, torch.float64, seed=12)
    kwargs = {"beta": 0.3, "loss_type": "ipo"}
    check(candidate, tolerances, logps, masks, kwargs, "column-major (transposed) inputs", transposed=True)


def test_reference_log_probs_get_no_gradient(candidate, tolerances):
    # reference log-probs that require grad (say, from a model that was not put in no_grad)
    logps, masks = random_case(3, 5, torch.float64, seed=19)
    for kwargs in ({"beta": 0.5}, {"beta": 0.5, "label_smoothing": 0.2}, {"beta": 2.0, "loss_type": "ipo"}):
        check(candidate, tolerances, logps, masks, kwargs, "reference log-probs require grad", ref_grad=True)


def test_int_beta_and_label_smoothing_are_numbers(candidate, tolerances):
    logps, masks = random_case(3, 4, torch.float64, seed=23)
    check(candidate, tolerances, logps, masks, {"beta": 1}, "int beta")
    check(candidate, tolerances, logps, masks, {"beta": 2, "label_smoothing": 0}, "int beta and label_smoothing")
    check(candidate, tolerances, logps, masks, {"beta": 1, "label_smoothing": 0, "loss_type": "ipo"}, "int, IPO")


def test_inputs_unchanged_and_calls_independent(candidate, tolerances):
    logps, masks = random_case(3, 4, torch.float64, seed=13)
    before = [t.clone() for t in logps + masks]
    for kwargs in ({"beta": 0.1}, {"beta": 2.0, "loss_type": "ipo"}, {"beta": 0.5, "label_smoothing": 0.2}):
        check(candidate, tolerances, logps, masks, kwargs, "calls in sequence")
    for t, b in zip(logps + masks, before, strict=True):
        assert torch.equal(t.nan_to_num(0.0), b.nan_to_num(0.0)), "an input changed"


def test_two_losses_in_one_graph(candidate, tolerances):
    logps, masks = random_case(2, 5, torch.float64, seed=17)
    ka, kb = {"beta": 0.1}, {"beta": 1.5, "loss_type": "ipo"}
    ea, eb = dpo_oracle(*logps, *masks, **ka), dpo_oracle(*logps, *masks, **kb)
    la, lb, g_pc, g_pr = candidate.driver.two_losses_one_graph(*logps, *masks, ka, kb)
    assert_close(la, ea.loss, name="first loss (beta=0.1, sigmoid)")
    assert_close(lb, eb.loss, name="second loss (beta=1.5, ipo)")
    assert_close(g_pc, ea.grad_policy_chosen + eb.grad_policy_chosen, name="summed d loss / d policy_chosen_logps")
    assert_close(
        g_pr, ea.grad_policy_rejected + eb.grad_policy_rejected, name="summed d loss / d policy_rejected_logps"
    )


# -- errors ---------------------------------------------------------------------------------------


def call(candidate, logps=None, masks=None, **kwargs):
    ex_logps, ex_masks = example()
    kwargs.setdefault("beta", 0.5)
    candidate.dpo_loss(*(logps or ex_logps), *(masks or ex_masks), **kwargs)


@pytest.mark.parametrize("beta", [0.0, 0, -0.1, math.inf, math.nan, "0.5", True], ids=str)
def test_beta_not_positive_raises(candidate, beta):
    with expect_raises("ValueError"):
        call(candidate, beta=beta)


def test_unknown_loss_type_raises(candidate):
    for loss_type in ("hinge", "IPO", ""):
        with expect_raises("ValueError"):
            call(candidate, loss_type=loss_type)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"label_smoothing": -0.01},
        {"label_smoothing": 0.51},
        {"label_smoothing": "0.1"},
        {"label_smoothing": math.nan},
        {"label_smoothing": False},
        {"label_smoothing": 0.1, "loss_type": "ipo"},
    ],
    ids=str,
)
def test_bad_label_smoothing_raises(candidate, kwargs):
    with expect_raises("ValueError"):
        call(candidate, **kwargs)


def test_label_smoothing_bounds_are_allowed(candidate):
    call(candidate, label_smoothing=0.5)
    call(candidate, label_smoothing=0.0, loss_type="ipo")


SHAPE_CASES = {
    "1-D": lambda lp, m: ([t[0] for t in lp], [x[0] for x in m]),
    "3-D": lambda lp, m: ([t[None] for t in lp], [x[None] for x in m]),
    "rejected longer": lambda lp, m: (lp[:1] + [torch.cat([lp[1], lp[1]], 1)] + lp[2:], m),
    "ref shorter": lambda lp, m: (lp[:2] + [lp[2][:, :2]] + lp[3:], m),
    "mask shape": lambda lp, m: (lp, [m[0][:, :2], m[1]]),
    "B == 0": lambda lp, m: ([t[:0] for t in lp], [x[:0] for x in m]),
    "T == 0": lambda lp, m: ([t[:, :0] for t in lp], [x[:, :0] for x in m]),
}


@pytest.mark.parametrize("case", list(SHAPE_CASES))
def test_bad_shapes_raise(candidate, case):
    logps, masks = SHAPE_CASES[case](*example())
    with expect_raises("ValueError"):
        call(candidate, logps, masks)


@pytest.mark.parametrize("case", ["ref float64", "int logps", "int mask", "float mask"])
def test_bad_dtypes_raise(candidate, case):
    logps, masks = example()
    if case == "ref float64":
        logps[2] = logps[2].double()
    elif case == "int logps":
        logps = [t.long() for t in logps]
    elif case == "int mask":
        masks[0] = masks[0].long()
    else:
        masks[1] = masks[1].float()
    with expect_raises("ValueError"):
        call(candidate, logps, masks)


@pytest.mark.parametrize("which", [0, 1])
def test_empty_response_row_raises(candidate, which):
    logps = [torch.full((2, 3), -1.0) for _ in range(4)]
    masks = [torch.ones(2, 3, dtype=torch.bool), torch.ones(2, 3, dtype=torch.bool)]
    masks[which][1] = False
    with expect_raises("ValueError"):
        call(candidate, logps, masks)
