"""Hidden tests for grpo-loss.

Expected values come from the float64 oracle in grpo_oracle.py (checker side). The gradient is
computed in the worker by the problem's driver (logp as a leaf, backward on the loss).
"""

import math

import pytest
import torch
from grpo_oracle import advantages_oracle, loss_oracle, random_case
from hypothesis import given, settings
from hypothesis import strategies as st

from judge_harness import assert_close, expect_raises

DTYPES = {"float32": torch.float32, "float64": torch.float64, "float16": torch.float16, "bfloat16": torch.bfloat16}


def check_loss(candidate, tolerances, tensors, adv, mask, kwargs, label="", transposed=False, same=None):
    """Loss and d loss / d logp against the oracle.

    transposed=True: the driver lays the inputs out column-major in the worker. same="old" /
    "both" / "none": the constants require grad (old_logp, or old_logp and ref_logp, are logp
    itself) and no gradient may reach them.
    """
    dtype = tensors[0].dtype
    atol, _ = tolerances[str(dtype).removeprefix("torch.")]
    kw = {"aggregation": "token", **kwargs}
    if same in ("old", "both"):
        tensors = [tensors[0], tensors[0], tensors[0] if same == "both" else tensors[2]]
    expected, expected_grad = loss_oracle(*tensors, adv, mask, kw["clip_eps"], kw["kl_beta"], kw["aggregation"])
    if same is None:
        loss, grad = candidate.driver.loss_and_grad(*tensors, adv, mask, kwargs, transposed=transposed)
        leaked = {}
    else:
        loss, grad, leaked = candidate.driver.constants_get_no_grad(*tensors, adv, mask, kwargs, same)
    B, T = mask.shape
    where = (label + "; " if label else "") + f"B={B}, T={T}, {str(dtype).removeprefix('torch.')}, {kwargs}"
    assert_close(loss, expected.to(dtype), name=f"loss ({where})")
    assert grad is not None, f"no gradient reached logp ({where})"
    assert_close(grad, expected_grad.to(dtype), name=f"d loss / d logp ({where})", atol=atol)
    for name, got_grad in leaked.items():
        assert not got_grad, f"a gradient reached {name} ({where}): it is a constant, even if it requires grad"


def check_adv(candidate, rewards, group_size, **kwargs):
    expected = advantages_oracle(rewards, group_size, **kwargs).to(rewards.dtype)
    got = candidate.group_advantages(rewards, group_size, **kwargs)
    assert_close(got, expected, name=f"advantages (B={rewards.numel()}, group_size={group_size}, {kwargs})")


def example():
    logp = torch.log(torch.tensor([[0.5, 0.9]]))
    old = torch.log(torch.tensor([[0.25, 0.9]]))
    ref = torch.log(torch.tensor([[0.5, 0.45]]))
    return [logp, old, ref], torch.tensor([[True, True]])


# -- advantages ------------------------------------------------------------------------------


def test_advantages_sample_std_and_zero_std_group(candidate):
    check_adv(candidate, torch.tensor([1.0, 0.0, 0.0, 1.0, 2.0, 2.0, 2.0, 2.0]), 4)
    check_adv(candidate, torch.tensor([3.0, 1.0, 0.5, 0.5, 7.0, -2.0], dtype=torch.float64), 2)
    check_adv(candidate, torch.tensor([3.0, 1.0, 0.5, 0.5, 7.0, -2.0], dtype=torch.float64), 3)


def test_advantages_without_std(candidate):
    check_adv(candidate, torch.tensor([1.0, 0.0, 0.0, 1.0, 5.0, 5.0], dtype=torch.float64), 2, normalize_std=False)
    check_adv(candidate, torch.tensor([1.0, 4.0, 4.0, 4.0], dtype=torch.float64), 4, normalize_std=False)


@pytest.mark.parametrize("eps", [0.0, 1e-2])
def test_advantages_explicit_eps(candidate, eps):
    rewards = torch.tensor([1.0, 0.0, 1.0, 1.0, 1.0, 1.0, 0.25, 0.75, 0.5], dtype=torch.float64)
    check_adv(candidate, rewards, 3, eps=eps)
    out = candidate.group_advantages(rewards, 3, eps=eps)
    assert torch.isfinite(out).all(), f"advantages with eps={eps} are not finite: {out.tolist()}"


@settings(max_examples=15, report_multiple_bugs=False)
@given(groups=st.integers(1, 4), group_size=st.integers(2, 6), seed=st.integers(0, 2**16), ties=st.booleans())
def test_advantages_random(candidate, groups, group_size, seed, ties):
    g = torch.Generator().manual_seed(seed)
    rewards = torch.rand(groups * group_size, generator=g, dtype=torch.float64)
    if ties:
        rewards = (rewards * 2).round()  # binary rewards: many ties, some all-equal groups
    check_adv(candidate, rewards, group_size)
    check_adv(candidate, rewards.float(), group_size, normalize_std=False)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_advantages_half_precision(candidate, dtype):
    rewards = (torch.arange(16, dtype=torch.float64) * 0.37 % 1.0).to(DTYPES[dtype])
    check_adv(candidate, rewards, 8)
    # a large offset: a half-precision mean or std of these groups is off by whole steps
    offset = {"float16": [1000.0, 1000.5, 1001.0, 1001.5], "bfloat16": [64.0, 64.5, 65.0, 65.5]}[dtype]
    check_adv(candidate, torch.tensor(offset * 2, dtype=DTYPES[dtype]), 4)
    check_adv(candidate, torch.tensor(offset * 2, dtype=DTYPES[dtype]), 4, normalize_std=False)


def test_advantages_tiny_nonzero_std_is_not_zero(candidate):
    # std = 7.07e-8 is not exactly 0: the group is standardized, eps=0 included
    rewards = torch.tensor([0.0, 1e-7, 5.0, 5.0 + 3e-9], dtype=torch.float64)
    check_adv(candidate, rewards, 2, eps=0.0)
    check_adv(candidate, rewards, 2, eps=0)


@pytest.mark.parametrize("dtype", ["float32", "float16"])
def test_advantages_of_no_groups_are_empty(candidate, dtype):
    for normalize_std in (True, False):
        got = candidate.group_advantages(torch.zeros(0, dtype=DTYPES[dtype]), 4, normalize_std=normalize_std)
        assert tuple(got.shape) == (0,) and got.dtype == DTYPES[dtype], (
            f"advantages of B = 0 rewards ({dtype}, normalize_std={normalize_std}): "
            f"got shape {tuple(got.shape)} {got.dtype}, expected (0,) {dtype}"
        )


def test_advantages_non_contiguous_rewards(candidate):
    rewards = torch.tensor([1.0, 0.0, 0.0, 1.0, 2.0, 2.0, 0.5, 3.0])
    got = candidate.driver.advantages_strided(rewards, 4, {})
    assert_close(got, advantages_oracle(rewards, 4).float(), name="advantages of rewards with stride 2 (B=8, G=4)")


# -- the loss, explicit -------------------------------------------------------------------------


@pytest.mark.parametrize("advantage", [1.0, -1.0, 0.0])
def test_loss_statement_example(candidate, tolerances, advantage):
    tensors, mask = example()
    check_loss(candidate, tolerances, tensors, torch.tensor([advantage]), mask, {"clip_eps": 0.2, "kl_beta": 0.1})


@pytest.mark.parametrize("advantage", [2.0, -2.0])
@pytest.mark.parametrize("ratio", [0.5, 0.85, 1.0, 1.15, 1.6])
def test_ratio_clipping_both_signs(candidate, tolerances, advantage, ratio):
    # ratios below, inside and above the band [0.8, 1.2], no KL
    old = torch.tensor([[-1.0, -2.0]], dtype=torch.float64)
    logp = old + math.log(ratio)
    mask = torch.ones(1, 2, dtype=torch.bool)
    adv = torch.tensor([advantage], dtype=torch.float64)
    check_loss(candidate, tolerances, [logp, old, old], adv, mask, {"clip_eps": 0.2, "kl_beta": 0.0}, f"ratio {ratio}")


def test_kl_direction_is_ref_over_theta(candidate, tolerances):
    # advantage 0: the loss is kl_beta * mean k3; r = pi_ref / pi_theta and its inverse differ
    logp = torch.tensor([[-0.2, -3.0, -1.0]], dtype=torch.float64)
    ref = torch.tensor([[-2.0, -0.5, -1.0]], dtype=torch.float64)
    mask = torch.ones(1, 3, dtype=torch.bool)
    adv = torch.zeros(1, dtype=torch.float64)
    check_loss(candidate, tolerances, [logp, logp, ref], adv, mask, {"clip_eps": 0.2, "kl_beta": 0.5}, "k3 only")


@pytest.mark.parametrize("aggregation", ["token", "sequence"])
def test_rows_of_different_lengths(candidate, tolerances, aggregation):
    tensors, adv, mask = random_case(3, 6, torch.float64, seed=4)
    mask = torch.tensor([[True] + [False] * 5, [False, True, True, True, False, False], [True] * 6])
    tensors = [t.nan_to_num(-1.0) for t in tensors]
    check_loss(
        candidate, tolerances, tensors, adv, mask, {"clip_eps": 0.2, "kl_beta": 0.05, "aggregation": aggregation}
    )


def test_padding_holds_nan_and_inf(candidate, tolerances):
    tensors, adv, mask = random_case(3, 5, torch.float64, seed=8)
    tensors[0][~mask] = -math.inf
    for agg in ("token", "sequence"):
        kwargs = {"clip_eps": 0.2, "kl_beta": 0.1, "aggregation": agg}
        check_loss(candidate, tolerances, tensors, adv, mask, kwargs, "padding: -inf in logp, NaN elsewhere")


def test_default_aggregation_is_token(candidate, tolerances):
    tensors, adv, mask = random_case(3, 6, torch.float64, seed=21)
    mask = torch.tensor([[True] * 6, [True] + [False] * 5, [True, True] + [False] * 4])
    check_loss(candidate, tolerances, tensors, adv, mask, {"clip_eps": 0.2, "kl_beta": 0.1}, "default aggregation")


@pytest.mark.parametrize("kwargs", [{"clip_eps": 0.0, "kl_beta": 0.1}, {"clip_eps": 0.2, "kl_beta": 0.0}])
def test_zero_clip_eps_and_zero_kl_beta_are_values(candidate, tolerances, kwargs):
    tensors, adv, mask = random_case(2, 5, torch.float64, seed=6)
    check_loss(candidate, tolerances, tensors, adv, mask, kwargs, "explicit zero")


# -- property-based against the oracle ----------------------------------------------------------


@st.composite
def cases(draw):
    B, T = draw(st.integers(1, 4)), draw(st.integers(1, 7))
    dtype = draw(st.sampled_from(["float32", "float64"]))
    kwargs = {
        "clip_eps": draw(st.sampled_from([0.1, 0.2, 0.28])),
        "kl_beta": draw(st.sampled_from([0.0, 0.04, 0.5])),
        "aggregation": draw(st.sampled_from(["token", "sequence"])),
    }
    return B, T, dtype, kwargs, draw(st.sampled_from([0.05, 0.3, 1.0])), draw(st.integers(0, 2**16))


@settings(max_examples=20, report_multiple_bugs=False)
@given(case=cases())
def test_loss_random_matches_oracle(candidate, tolerances, case):
    B, T, dtype, kwargs, spread, seed = case
    tensors, adv, mask = random_case(B, T, DTYPES[dtype], seed, spread)
    check_loss(candidate, tolerances, tensors, adv, mask, kwargs, f"seed {seed}, spread {spread}")


# -- dtypes, layouts, caller data, one graph -----------------------------------------------------


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_loss_half_precision(candidate, tolerances, dtype):
    tensors, adv, mask = random_case(4, 64, DTYPES[dtype], seed=2)
    check_loss(candidate, tolerances, tensors, adv, mask, {"clip_eps": 0.2, "kl_beta": 0.1}, "half precision")
    # advantages +-100 that nearly cancel: rounding ratio * A to half precision shows in the mean
    old = torch.full((2, 8), -1.0, dtype=torch.float64)
    logp = old + torch.tensor([[0.1], [0.05]], dtype=torch.float64)
    t = DTYPES[dtype]
    adv = torch.tensor([100.0, -100.0], dtype=t)
    mask = torch.ones(2, 8, dtype=torch.bool)
    kwargs = {"clip_eps": 0.2, "kl_beta": 0.5}
    check_loss(candidate, tolerances, [logp.to(t), old.to(t), (old - 0.3).to(t)], adv, mask, kwargs, "A = +-100")


def test_float64_kept(candidate):
    # ratio 1 + 1e-9 with advantage 1: float32 rounds the 1e-9 away
    old = torch.zeros(1, 1, dtype=torch.float64)
    logp = old + 1e-9
    loss = candidate.grpo_loss(
        logp,
        old,
        logp,
        torch.ones(1, dtype=torch.float64),
        torch.ones(1, 1, dtype=torch.bool),
        clip_eps=0.2,
        kl_beta=0.0,
    )
    assert loss.dtype == torch.float64, f"loss dtype {loss.dtype} for float64 inputs"
    assert_close(
        loss, torch.tensor(-math.exp(1e-9), dtype=torch.float64), name="loss (float64)", atol=1e-15, rtol=1e-13
    )


def test_non_contiguous_inputs(candidate, tolerances):
    # the driver lays the inputs out column-major (transposed views) in the worker
    tensors, adv, mask = random_case(5, 3, torch.float32, seed=12)
    for agg in ("sequence", "token"):
        kwargs = {"clip_eps": 0.2, "kl_beta": 0.1, "aggregation": agg}
        check_loss(candidate, tolerances, tensors, adv, mask, kwargs, "column-major inputs", transposed=True)


@pytest.mark.parametrize("same", ["old", "both", "none"])
def test_constants_get_no_gradient(candidate, tolerances, same):
    # one gradient step per batch: old_logp (and ref_logp) may be the very tensor logp is;
    # advantages, old_logp and ref_logp that require grad get none
    tensors, adv, mask = random_case(3, 4, torch.float64, seed=27, spread=0.5)
    tensors = [t.nan_to_num(-1.0) for t in tensors]
    kwargs = {"clip_eps": 0.2, "kl_beta": 0.1}
    check_loss(candidate, tolerances, tensors, adv, mask, kwargs, f"constants require grad (same={same})", same=same)


def test_int_hyperparameters_are_numbers(candidate, tolerances):
    tensors, adv, mask = random_case(2, 4, torch.float64, seed=29)
    check_loss(candidate, tolerances, tensors, adv, mask, {"clip_eps": 0, "kl_beta": 1}, "int clip_eps and kl_beta")
    check_adv(candidate, torch.tensor([1.0, 0.0, 3.0, 3.0], dtype=torch.float64), 2, eps=1)


def test_inputs_unchanged_and_calls_independent(candidate, tolerances):
    tensors, adv, mask = random_case(3, 4, torch.float64, seed=13)
    before = [t.clone() for t in tensors + [adv, mask]]
    for kwargs in ({"clip_eps": 0.1, "kl_beta": 0.0}, {"clip_eps": 0.3, "kl_beta": 1.0, "aggregation": "sequence"}):
        check_loss(candidate, tolerances, tensors, adv, mask, kwargs, "calls in sequence")
    for t, b in zip(tensors + [adv, mask], before, strict=True):
        assert torch.equal(t.nan_to_num(0.0), b.nan_to_num(0.0)), "an input changed"


def test_two_losses_in_one_graph(candidate):
    tensors, adv, mask = random_case(2, 5, torch.float64, seed=17)
    ka, kb = {"clip_eps": 0.1, "kl_beta": 0.0}, {"clip_eps": 0.3, "kl_beta": 0.5, "aggregation": "sequence"}
    ea, ga = loss_oracle(*tensors, adv, mask, 0.1, 0.0, "token")
    eb, gb = loss_oracle(*tensors, adv, mask, 0.3, 0.5, "sequence")
    la, lb, grad = candidate.driver.two_losses_one_graph(*tensors, adv, mask, ka, kb)
    assert_close(la, ea, name="first loss")
    assert_close(lb, eb, name="second loss")
    assert_close(grad, ga + gb, name="summed d loss / d logp")


# -- errors ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("rewards", [torch.zeros(2, 2), torch.zeros(4, dtype=torch.long)], ids=["2-D", "int"])
def test_bad_rewards_raise(candidate, rewards):
    with expect_raises("ValueError"):
        candidate.group_advantages(rewards, 2)


@pytest.mark.parametrize("group_size", [0, 1, 3, 2.0])
def test_bad_group_size_raises(candidate, group_size):
    with expect_raises("ValueError"):
        candidate.group_advantages(torch.zeros(4), group_size)


@pytest.mark.parametrize("eps", [-1e-3, math.inf, math.nan, True], ids=str)
def test_bad_eps_raises(candidate, eps):
    with expect_raises("ValueError"):
        candidate.group_advantages(torch.zeros(4), 2, eps=eps)


def call(candidate, tensors=None, adv=None, mask=None, **kwargs):
    ex, ex_mask = example()
    kwargs = {"clip_eps": 0.2, "kl_beta": 0.1, **kwargs}
    tensors = tensors or ex
    if adv is None:
        adv = torch.ones(1, dtype=tensors[0].dtype)
    candidate.grpo_loss(*tensors, adv, ex_mask if mask is None else mask, **kwargs)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"clip_eps": -0.1},
        {"clip_eps": math.nan},
        {"kl_beta": -1.0},
        {"kl_beta": math.inf},
        {"clip_eps": True},
        {"kl_beta": False},
    ],
    ids=str,
)
def test_bad_clip_eps_or_kl_beta_raises(candidate, kwargs):
    with expect_raises("ValueError"):
        call(candidate, **kwargs)


def test_bad_aggregation_raises(candidate):
    for aggregation in ("mean", "Token", ""):
        with expect_raises("ValueError"):
            call(candidate, aggregation=aggregation)


@pytest.mark.parametrize("case", ["1-D", "old shorter", "mask shape", "advantages (B, 1)", "T == 0"])
def test_bad_shapes_raise(candidate, case):
    tensors, mask = example()
    adv = None
    if case == "1-D":
        tensors, mask = [t[0] for t in tensors], mask[0]
    elif case == "old shorter":
        tensors[1] = tensors[1][:, :1]
    elif case == "mask shape":
        mask = mask[:, :1]
    elif case == "advantages (B, 1)":
        adv = torch.ones(1, 1)
    else:
        tensors, mask = [t[:, :0] for t in tensors], mask[:, :0]
    with expect_raises("ValueError"):
        call(candidate, tensors, adv, mask)


@pytest.mark.parametrize("case", ["ref float64", "advantages float64", "int mask"])
def test_bad_dtypes_raise(candidate, case):
    tensors, mask = example()
    adv = None
    if case == "ref float64":
        tensors[2] = tensors[2].double()
    elif case == "advantages float64":
        adv = torch.ones(1, dtype=torch.float64)
    else:
        mask = mask.long()
    with expect_raises("ValueError"):
        call(candidate, tensors, adv, mask)


def test_empty_row_raises(candidate):
    tensors = [torch.full((2, 3), -1.0) for _ in range(3)]
    mask = torch.ones(2, 3, dtype=torch.bool)
    mask[1] = False
    with expect_raises("ValueError"):
        call(candidate, tensors, torch.ones(2), mask)
