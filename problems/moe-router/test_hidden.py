"""Hidden tests for moe-router.

Expected values come from the float64 pure-Python oracle in moe_oracle.py (checker side).
Gradients of the load-balancing loss are computed in the worker by the problem's driver.
Random cases put x and w_gate (or the logits) on a grid of multiples of 1/4 (1/16), so every
logit is exact in any float format: ties are frequent and exact, and there are no near ties.
"""

import math

import pytest
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from moe_oracle import balance_oracle, capacity_of, grid_case, route_oracle

from judge_harness import assert_close, expect_raises

DTYPES = {"float32": torch.float32, "float64": torch.float64, "float16": torch.float16, "bfloat16": torch.bfloat16}
CAPACITY_FACTORS = [0.25, 0.5, 0.75, 1, 1.0, 1.25, 1.5, 2.0, 4]


def exact(actual, expected, name):
    assert_close(actual, expected, name=name, atol=0, rtol=0)


def describe(x, w_gate, kwargs) -> str:
    return f"x {tuple(x.shape)}, w_gate {tuple(w_gate.shape)}, {str(x.dtype).removeprefix('torch.')}, {kwargs}"


def check_route(candidate, x, w_gate, label="", layout=None, **kwargs):
    """All three outputs against the oracle (exact index and dropped, combine_weight within tolerance).

    layout ("transposed", "strided") lays x and w_gate out non-contiguously in the worker.
    """
    expected = route_oracle(x, w_gate, **kwargs)
    if layout is None:
        out = candidate.route(x, w_gate, **kwargs)
    else:
        out, non_contiguous = candidate.driver.route_in_layout(x, w_gate, kwargs, layout)
        assert non_contiguous, f"test bug: the {layout} layout is contiguous"
    assert isinstance(out, tuple) and len(out) == 3, f"route must return a 3-tuple, got {type(out).__name__}"
    index, weight, dropped = out
    where = (label + "; " if label else "") + describe(x, w_gate, kwargs) + f"; capacity {expected.capacity}"
    exact(index, expected.expert_index, f"expert_index ({where})")
    exact(dropped, expected.dropped, f"dropped ({where})")
    assert_close(weight, expected.combine_weight.to(x.dtype), name=f"combine_weight ({where})")
    return out


def check_loss(candidate, logits, k, mask=None, label="", grad=True, layout=None):
    """The loss and (float32 / float64) its gradient against the oracle; layout as in check_route."""
    expected = balance_oracle(logits, k, mask)
    mask_text = "no mask" if mask is None else f"mask {tuple(mask.shape)} {str(mask.dtype).removeprefix('torch.')}"
    where = (label + "; " if label else "") + f"router_logits {tuple(logits.shape)} {logits.dtype}, k={k}, {mask_text}"
    if not grad:
        loss = candidate.load_balancing_loss(logits, k, mask)
        assert_close(loss, expected.loss.to(logits.dtype), name=f"loss ({where})")
        return
    loss, g, has_grad_fn = candidate.driver.loss_and_grad(logits, k, mask, layout)
    assert_close(loss, expected.loss.to(logits.dtype), name=f"loss ({where})")
    assert has_grad_fn and g is not None, f"the loss is not differentiable with respect to router_logits ({where})"
    assert_close(g, expected.grad.to(logits.dtype), name=f"d loss / d router_logits ({where})")


# -- the statement's examples ---------------------------------------------------------------------


def test_statement_examples(candidate):
    x = torch.tensor([[2.0, 0.0], [1.0, 0.0], [3.0, 0.0], [0.0, 1.0]])
    s1, s2 = 1 / (1 + math.exp(-2.0)), 1 / (1 + math.exp(-1.0))
    index, weight, dropped = check_route(
        candidate, x, torch.eye(2), "example 1", k=1, capacity_factor=1.0, renormalize=False
    )
    assert_close(weight, torch.tensor([[s1], [s2], [0.0], [s2]]), name="combine_weight, example 1")
    _, weight, _ = check_route(candidate, x, torch.eye(2), "example 1, renormalized", k=1, capacity_factor=1.0)
    assert_close(weight, torch.tensor([[1.0], [1.0], [0.0], [1.0]]), name="combine_weight, example 1, renormalized")

    x = torch.tensor([[2.0, 1.0, 0.0], [0.0, 2.0, 1.0], [1.0, 2.0, 0.0]])
    _, weight, dropped = check_route(candidate, x, torch.eye(3), "example 2", k=2, capacity_factor=1.0)
    assert dropped.tolist() == [[False, True], [False, False], [False, False]], (
        f"dropped, example 2: {dropped.tolist()}"
    )

    logits = torch.tensor([[2.0, 0.0], [0.0, 0.0], [1.0, 0.0], [5.0, 9.0]])
    check_loss(candidate, logits, 1, torch.tensor([[1, 1], [1, 0]]), "example 3")
    check_loss(candidate, logits, 1, None, "example 3 without the mask")
    loss = candidate.load_balancing_loss(logits, 1, torch.tensor([[1, 1], [1, 0]]))
    assert_close(loss, torch.tensor(2 * (s1 + 0.5 + s2) / 3), name="loss, example 3")


# -- route: capacity, priority, dropping ------------------------------------------------------------


def test_priority_is_rank_major_then_token_order(candidate):
    # expert 0 gets 3 first choices (tokens 1, 2, 4) and 2 second choices (tokens 0, 3); capacity 3.
    # Token order within a rank, rank 0 before rank 1: tokens 0 and 3 lose their second slot.
    # Token-major order would drop token 4's first choice; priority by probability would keep token 0.
    x = torch.tensor(
        [
            [1.0, 3.0, 0.0, -2.0],
            [3.0, 0.0, 1.0, -2.0],
            [2.0, 1.0, 0.0, -2.0],
            [0.5, 0.0, 2.0, -2.0],
            [1.0, -1.0, 0.0, -2.0],
        ]
    )
    w = torch.eye(4)
    index, _, dropped = check_route(candidate, x, w, "priority", k=2, capacity_factor=1.0)  # capacity ceil(2.5) = 3
    assert dropped[:, 1].tolist() == [True, False, False, True, False], f"dropped second choices {dropped.tolist()}"


def test_later_tokens_are_dropped_first_within_a_rank(candidate):
    # 6 tokens all prefer expert 1 (token 5 the most), capacity 2: tokens 0 and 1 keep their slot
    x = torch.tensor([[0.0, 1.0 + 0.25 * n, 0.0] for n in range(6)])
    for renormalize in (True, False):
        check_route(
            candidate, x, torch.eye(3), "all tokens pick expert 1", k=1, capacity_factor=1.0, renormalize=renormalize
        )


def test_dropping_is_per_slot_and_gates_keep_their_value(candidate):
    # token 2's first choice (expert 0) is over capacity, its second choice (expert 2) is kept with
    # the gate renormalized over both selected experts (not over the kept one alone, which gives 1)
    x = torch.tensor([[3.0, 0.0, 0.0, 1.0], [3.0, 1.0, 0.0, 0.0], [3.0, 0.0, 2.0, 0.0], [0.0, 0.0, 0.0, 3.0]])
    w = torch.eye(4, dtype=torch.float64)
    x = x.double()
    for renormalize in (True, False):
        _, weight, dropped = check_route(
            candidate, x, w, "per-slot dropping", k=2, capacity_factor=1.0, renormalize=renormalize
        )
        assert dropped[2].tolist() == [True, False], f"token 2's slots: dropped {dropped[2].tolist()}"
        assert 0 < weight[2, 1].item() < 1, f"token 2's kept gate {weight[2, 1].item()}"


@pytest.mark.parametrize(
    ("N", "E", "k", "capacity_factor", "capacity"),
    [
        (8, 4, 1, 1.0, 2),  # exact integer: not rounded up to 3
        (8, 4, 2, 1.0, 4),  # k enters the capacity
        (6, 4, 1, 1.0, 2),  # 1.5 rounds up
        (5, 4, 2, 0.5, 2),  # 1.25 rounds up
        (8, 4, 1, 1e-3, 1),  # 0.002 rounds up to 1, never 0
        (8, 4, 1, 1, 2),  # an int capacity factor
        (7, 3, 3, 2, 14),  # k = E: every token takes every expert
    ],
)
def test_capacity_rounds_up(candidate, N, E, k, capacity_factor, capacity):
    assert capacity_of(N, E, k, capacity_factor) == capacity
    # every token prefers expert 0 (then 1, 2, ...): expert 0 keeps exactly `capacity` slots
    x = torch.tensor([[float(E - e) for e in range(E)]] * N)
    _, _, dropped = check_route(
        candidate, x, torch.eye(E), f"capacity {capacity}", k=k, capacity_factor=capacity_factor
    )
    kept = int((~dropped[:, 0]).sum())
    assert kept == min(N, capacity), f"expert 0 kept {kept} first choices with capacity {capacity} (N={N})"


def test_nothing_dropped_with_large_capacity(candidate):
    x, w = grid_case(9, 4, 5, torch.float64, seed=3)
    _, weight, dropped = check_route(candidate, x, w, "large capacity", k=3, capacity_factor=4)
    assert not dropped.any()
    assert_close(weight.sum(1), torch.ones(9, dtype=torch.float64), name="renormalized gates sum to 1")


# -- route: top-k and ties ---------------------------------------------------------------------------


@pytest.mark.parametrize("E", [2, 6, 40])
def test_ties_go_to_the_lower_index(candidate, E):
    # all logits equal: rank j is expert j
    x = torch.ones(5, 3)
    w = torch.zeros(3, E)
    for k in sorted({1, 2, min(5, E), E}):
        check_route(candidate, x, w, "all ties", k=k, capacity_factor=8.0, renormalize=False)
    # partial ties: [0.1, 0.3, 0.3, 0.3, 0.0, 0.3]
    if E == 6:
        x = torch.tensor([[0.125, 0.375, 0.375, 0.375, 0.0, 0.375], [0.0, 0.0, 0.5, 0.0, 0.5, 0.0]])
        for k in range(1, 7):
            check_route(candidate, x, torch.eye(6), "partial ties", k=k, capacity_factor=8.0)


def test_k_equals_E_and_a_single_expert(candidate):
    x, w = grid_case(6, 3, 4, torch.float32, seed=5)
    check_route(candidate, x, w, "k = E", k=4, capacity_factor=0.5)
    check_route(candidate, x, w[:, :1], "E = 1", k=1, capacity_factor=0.5)
    check_route(candidate, x, w[:, :1], "E = 1, raw gate", k=1, capacity_factor=2.0, renormalize=False)
    check_route(candidate, x[:1], w, "N = 1", k=2, capacity_factor=0.25)


def test_model_dim_zero_is_allowed(candidate):
    # C = 0 is a legal (if useless) shape: every logit is 0, so every rank is a tie
    x, w = torch.ones(3, 0), torch.ones(0, 4)
    index, _, _ = check_route(candidate, x, w, "C = 0", k=2, capacity_factor=2.0, renormalize=False)
    assert index.tolist() == [[0, 1]] * 3, f"expert_index {index.tolist()} for all-zero logits"


def test_renormalize_false_explicit_vs_default(candidate):
    x, w = grid_case(6, 4, 4, torch.float64, seed=9)
    default = check_route(candidate, x, w, "default", k=2, capacity_factor=1.0)
    explicit_true = check_route(candidate, x, w, "renormalize=True", k=2, capacity_factor=1.0, renormalize=True)
    raw = check_route(candidate, x, w, "renormalize=False", k=2, capacity_factor=1.0, renormalize=False)
    exact(explicit_true[1], default[1], "combine_weight, renormalize=True vs the default")
    assert not torch.equal(raw[1], default[1]), "renormalize=False gave the renormalized gates"


# -- route: numerics, dtypes, layouts ------------------------------------------------------------------


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_route_large_logits(candidate, dtype):
    # every selected probability is > 0 in float32, so no tie comes from underflow
    t = DTYPES[dtype]
    x = torch.tensor(
        [[1e4, 1e4 - 0.5, 1e4 - 1.0, -1e4], [-1e4, 1e4 - 3.0, 1e4, 1e4 - 2.0], [1e4, 1e4, -1e4, 1e4 - 1.0]], dtype=t
    )
    for k in (1, 2, 3):
        for renormalize in (True, False):
            check_route(
                candidate, x, torch.eye(4, dtype=t), "logits ~1e4", k=k, capacity_factor=1.0, renormalize=renormalize
            )


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_route_tokens_of_very_different_logit_sizes(candidate, dtype):
    # the softmax is stable per token: a shift by the batch's largest logit (not each token's)
    # underflows every exp of the tokens far below it, giving 0 / 0 = NaN gates
    t = DTYPES[dtype]
    x = torch.tensor(
        [[1e4, 1e4 - 0.5, 1e4 - 1.0, 1e4 - 2.0], [0.0, 1.0, -0.5, 0.25], [-1e4, -1e4 + 2.0, -1e4 + 0.5, -1e4 - 1.0]],
        dtype=t,
    )
    for renormalize in (True, False):
        check_route(
            candidate,
            x,
            torch.eye(4, dtype=t),
            "token logits ~1e4, ~1 and ~-1e4 in one batch",
            k=2,
            capacity_factor=2.0,
            renormalize=renormalize,
        )


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_half_inputs_route_in_float32(candidate, dtype):
    # logits = 512 + s * v: the differences vanish if the logits are rounded to half precision
    t = DTYPES[dtype]
    s = torch.tensor([1.0, -0.5, 0.25, 0.75, -1.0, 0.125])
    x = torch.stack([torch.ones(6), s], dim=1).to(t)  # (N, 2)
    w = torch.tensor([[512.0] * 4, [1.0, -0.75, 0.5, -0.25]]).to(t)  # (2, E)
    for k in (1, 2):
        check_route(candidate, x, w, "logits 512 + O(1)", k=k, capacity_factor=1.0, renormalize=False)
    # a near tie that float32 probabilities resolve and half-precision probabilities do not
    step = 2.0**-13 if dtype == "float16" else 2.0**-10
    x = torch.tensor([[0.125, 0.125 + step], [0.125 + step, 0.125]], dtype=t)
    check_route(candidate, x, torch.eye(2, dtype=t), "near tie in half precision", k=1, capacity_factor=1.0)


def test_float64_is_not_downcast(candidate):
    x = torch.tensor([[1.0], [1.0]], dtype=torch.float64)
    w = torch.tensor([[1.0, 1.0 + 1e-10, 1.0 - 1e-10]], dtype=torch.float64)  # float32: a three-way tie
    index, weight, _ = check_route(candidate, x, w, "logits 1e-10 apart", k=2, capacity_factor=2.0, renormalize=False)
    assert index.tolist() == [[1, 0], [1, 0]], f"expert_index {index.tolist()}: the logits were rounded"


def test_output_dtypes(candidate):
    for dtype in DTYPES.values():
        x, w = grid_case(4, 3, 3, dtype, seed=2)
        index, weight, dropped = candidate.route(x, w, k=2, capacity_factor=1.0)
        assert index.dtype == torch.int64, f"expert_index dtype {index.dtype} for {dtype} inputs"
        assert weight.dtype == dtype, f"combine_weight dtype {weight.dtype} for {dtype} inputs"
        assert dropped.dtype == torch.bool, f"dropped dtype {dropped.dtype} for {dtype} inputs"


def test_route_non_contiguous_inputs(candidate):
    # tensors cross to the worker contiguous: the driver lays them out there
    x, w = grid_case(7, 5, 6, torch.float32, seed=4)
    check_route(candidate, x, w, "column-major x and w_gate", layout="transposed", k=2, capacity_factor=0.75)
    check_route(candidate, x, w, "x and w_gate with column stride 2", layout="strided", k=2, capacity_factor=1.0)


def test_inputs_unchanged_and_calls_independent(candidate):
    x, w = grid_case(8, 4, 4, torch.float32, seed=6)
    logits = (x.double() @ w.double()).float()
    mask = torch.tensor([[1, 1, 0, 1], [1, 0, 1, 1]])
    before = [t.clone() for t in (x, w, logits, mask)]
    for kwargs in (
        {"k": 1, "capacity_factor": 0.5},
        {"k": 3, "capacity_factor": 2.0, "renormalize": False},
        {"k": 2, "capacity_factor": 1.0},
        {"k": 1, "capacity_factor": 0.5},
    ):
        check_route(candidate, x, w, "calls in sequence", **kwargs)
        check_route(candidate, x[:3], w[:, :3], "calls in sequence, smaller", **kwargs)
        check_loss(candidate, logits, kwargs["k"], mask, "calls in sequence")
        check_loss(candidate, logits[:5], kwargs["k"], None, "calls in sequence, N = 5")
    for t, b in zip((x, w, logits, mask), before, strict=True):
        assert torch.equal(t, b), "an input changed"


# -- load_balancing_loss -------------------------------------------------------------------------


def grid_logits(N, E, dtype, seed, scale=4.0):
    g = torch.Generator().manual_seed(seed)
    return (torch.randint(-int(16 * scale), int(16 * scale) + 1, (N, E), generator=g).double() / 16).to(dtype)


def test_loss_is_k_for_perfectly_balanced_routing(candidate):
    # E tokens, token n prefers experts n, n+1, ... cyclically; the logits are tiny, so P ~ 1/E
    E = 4
    logits = torch.tensor([[1e-7 * ((e - n) % E == 0) + 5e-8 * ((e - n) % E == 1) for e in range(E)] for n in range(E)])
    logits = logits.double()
    for k in (1, 2, 3, 4):
        check_loss(candidate, logits, k, None, "balanced")
        loss = candidate.load_balancing_loss(logits, k)
        assert abs(loss.item() - k) < 1e-6, f"balanced routing with k={k}: loss {loss.item()}, expected {k}"


def test_loss_uses_the_full_softmax_and_the_factor_E(candidate):
    logits = grid_logits(6, 5, torch.float64, seed=1)
    for k in (1, 2, 4):
        check_loss(candidate, logits, k, None, "full softmax")


def test_loss_ties_go_to_the_lower_index(candidate):
    logits = torch.zeros(3, 40)
    logits[1, 7] = 1.0
    for k in (1, 3):
        check_loss(candidate, logits, k, None, "ties")
    logits = torch.tensor([[0.5, 0.5, 0.0], [0.0, 1.0, 1.0], [2.0, 0.0, 0.0]])
    check_loss(candidate, logits, 1, None, "partial ties")


@pytest.mark.parametrize("mask_dtype", ["bool", "int64", "int32", "uint8"])
def test_padding_tokens_count_nowhere(candidate, mask_dtype):
    # the padded tokens hold large logits for experts the valid tokens avoid
    valid = grid_logits(5, 4, torch.float64, seed=2, scale=1.0)
    logits = torch.cat([valid[:3], torch.tensor([[-50.0, -50.0, 100.0, 90.0]] * 3), valid[3:]]).double()
    mask = torch.tensor([[1, 1, 1, 0], [0, 0, 1, 1]]).to(getattr(torch, mask_dtype))
    check_loss(candidate, logits, 2, mask, "padding in the middle")
    check_loss(candidate, logits, 1, mask, "padding in the middle")
    masked = candidate.load_balancing_loss(logits, 2, mask)
    unpadded = candidate.load_balancing_loss(valid, 2)
    assert_close(masked, unpadded, name="loss with padding vs the valid tokens alone")


def test_mask_of_ones_equals_no_mask(candidate):
    logits = grid_logits(6, 3, torch.float64, seed=3)
    ones = candidate.load_balancing_loss(logits, 2, torch.ones(2, 3, dtype=torch.int64))
    none = candidate.load_balancing_loss(logits, 2, None)
    default = candidate.load_balancing_loss(logits, 2)
    exact(none, default, "loss with attention_mask=None vs omitted")
    assert_close(ones, none, name="loss with an all-ones mask vs no mask")
    check_loss(candidate, logits[:1], 1, torch.ones(1, 1, dtype=torch.bool), "N = 1, mask (1, 1)")
    check_loss(candidate, logits, 1, torch.tensor([[False, False, False], [False, True, False]]), "one valid token")
    check_loss(candidate, logits, 2, torch.ones(6, 1, dtype=torch.bool), "mask (6, 1)")


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_loss_large_logits(candidate, dtype):
    logits = torch.tensor([[1e4, 1e4 - 1.0, -1e4], [-1e4, 1e4, 1e4 - 0.5], [1e4 - 2.0, -1e4, 1e4]], dtype=DTYPES[dtype])
    for k in (1, 2):
        check_loss(candidate, logits, k, None, "logits ~1e4")
        check_loss(candidate, logits, k, torch.tensor([[True, False, True]]), "logits ~1e4, masked")


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_loss_tokens_of_very_different_logit_sizes(candidate, dtype):
    # per-token stable softmax: a shift by the batch's largest logit gives NaN for the tokens far
    # below it, and padding tokens (whose logits may be anything) must not do that to valid ones
    logits = torch.tensor(
        [[0.0, 1.0, -0.5], [1e4, 1e4 - 1.0, 1e4 - 0.5], [0.5, 0.0, 0.25], [-1e4, -1e4 + 1.0, -1e4 + 3.0]],
        dtype=DTYPES[dtype],
    )
    check_loss(candidate, logits, 2, None, "token logits ~1, ~1e4 and ~-1e4 in one batch")
    check_loss(candidate, logits, 2, torch.tensor([[1, 0], [1, 1]]), "padding token at ~1e4, valid ones ~1 and ~-1e4")
    check_loss(candidate, logits, 1, torch.tensor([[1, 0], [1, 0]]), "padding tokens at ~1e4 and ~-1e4")


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_loss_half_precision_softmax_in_float32(candidate, dtype):
    # token 0 is a near tie that only float32 probabilities resolve (expert 1); the others pick expert 0
    step = 2.0**-13 if dtype == "float16" else 2.0**-10
    logits = torch.tensor([[0.125, 0.125 + step, -8.0]] + [[4.0, -4.0, -4.0]] * 3, dtype=DTYPES[dtype])
    check_loss(candidate, logits, 1, None, "near tie in half precision", grad=False)
    loss = candidate.load_balancing_loss(logits, 1)
    assert loss.dtype == DTYPES[dtype], f"loss dtype {loss.dtype} for {dtype} logits"


def test_loss_non_contiguous(candidate):
    # tensors cross to the worker contiguous: the driver lays logits and mask out there, with the
    # same values (row-major [1, 0, 1, 1, 0, 1]); a mask the worker stores column-major refuses .view(-1)
    logits = grid_logits(6, 5, torch.float32, seed=8)
    for mask_dtype, layout in ((torch.int64, "transposed"), (torch.bool, "strided")):
        mask = torch.tensor([[1, 0], [1, 1], [0, 1]]).to(mask_dtype)
        check_loss(candidate, logits, 2, mask, f"{layout} logits and mask (3, 2) {mask_dtype}", layout=layout)
    check_loss(candidate, logits, 1, None, "transposed logits, no mask", layout="transposed")


def test_two_losses_in_one_graph(candidate):
    logits = grid_logits(6, 4, torch.float64, seed=10)
    mask = torch.tensor([[1, 1, 0], [1, 0, 1]])
    ka, kb = {"k": 1}, {"k": 3, "attention_mask": mask}
    ea, eb = balance_oracle(logits, 1), balance_oracle(logits, 3, mask)
    la, lb, g = candidate.driver.two_losses_one_graph(logits, ka, kb)
    assert_close(la, ea.loss, name="first loss (k=1, no mask)")
    assert_close(lb, eb.loss, name="second loss (k=3, masked)")
    assert_close(g, ea.grad + eb.grad, name="summed d loss / d router_logits")


# -- errors ----------------------------------------------------------------------------------------


def call_route(candidate, x=None, w=None, **kwargs):
    kwargs.setdefault("k", 2)
    kwargs.setdefault("capacity_factor", 1.0)
    candidate.route(torch.ones(4, 3) if x is None else x, torch.ones(3, 5) if w is None else w, **kwargs)


@pytest.mark.parametrize("k", [0, -1, 6, 2.0, True, "2", None])
def test_bad_k_raises(candidate, k):
    with expect_raises("ValueError"):
        call_route(candidate, k=k)
    with expect_raises("ValueError"):
        candidate.load_balancing_loss(torch.zeros(4, 5), k)


@pytest.mark.parametrize("capacity_factor", [0, 0.0, -1.0, math.inf, math.nan, "1.0", True, None])
def test_bad_capacity_factor_raises(candidate, capacity_factor):
    with expect_raises("ValueError"):
        call_route(candidate, capacity_factor=capacity_factor)


@pytest.mark.parametrize("renormalize", [1, 0, "yes", None])
def test_bad_renormalize_raises(candidate, renormalize):
    with expect_raises("ValueError"):
        call_route(candidate, renormalize=renormalize)


ROUTE_SHAPES = {
    "x 1-D": (torch.ones(3), torch.ones(3, 5)),
    "x 3-D": (torch.ones(2, 4, 3), torch.ones(3, 5)),
    "N == 0": (torch.ones(0, 3), torch.ones(3, 5)),
    "C differs": (torch.ones(4, 3), torch.ones(4, 5)),
    "w_gate 1-D": (torch.ones(4, 3), torch.ones(3)),
    "w_gate 3-D": (torch.ones(4, 3), torch.ones(1, 3, 5)),
    "E == 0": (torch.ones(4, 3), torch.ones(3, 0)),
}


@pytest.mark.parametrize("case", list(ROUTE_SHAPES))
def test_bad_route_shapes_raise(candidate, case):
    x, w = ROUTE_SHAPES[case]
    with expect_raises("ValueError"):
        call_route(candidate, x, w, k=1)


@pytest.mark.parametrize("case", ["float32 and float64", "float32 and float16", "int64", "bool"])
def test_bad_route_dtypes_raise(candidate, case):
    x, w = torch.ones(4, 3), torch.ones(3, 5)
    if case == "float32 and float64":
        w = w.double()
    elif case == "float32 and float16":
        x = x.half()
    elif case == "int64":
        x, w = x.long(), w.long()
    else:
        x, w = x.bool(), w.bool()
    with expect_raises("ValueError"):
        call_route(candidate, x, w)


@pytest.mark.parametrize("case", ["1-D", "3-D", "N == 0", "E == 0", "int64"])
def test_bad_router_logits_raise(candidate, case):
    logits = {
        "1-D": torch.zeros(5),
        "3-D": torch.zeros(2, 2, 5),
        "N == 0": torch.zeros(0, 5),
        "E == 0": torch.zeros(4, 0),
        "int64": torch.zeros(4, 5, dtype=torch.int64),
    }[case]
    with expect_raises("ValueError"):
        candidate.load_balancing_loss(logits, 1)


@pytest.mark.parametrize("case", ["1-D", "3-D", "B*T != N", "float", "value 2", "value -1"])
def test_bad_attention_mask_raises(candidate, case):
    mask = {
        "1-D": torch.ones(4, dtype=torch.bool),
        "3-D": torch.ones(1, 2, 2, dtype=torch.bool),
        "B*T != N": torch.ones(2, 3, dtype=torch.bool),
        "float": torch.ones(2, 2),
        "value 2": torch.tensor([[1, 2], [1, 1]]),
        "value -1": torch.tensor([[1, -1], [1, 1]]),
    }[case]
    with expect_raises("ValueError"):
        candidate.load_balancing_loss(torch.zeros(4, 5), 1, mask)


@pytest.mark.parametrize("mask_dtype", ["bool", "int64"])
def test_mask_without_valid_tokens_raises(candidate, mask_dtype):
    with expect_raises("ValueError"):
        candidate.load_balancing_loss(torch.zeros(4, 5), 1, torch.zeros(2, 2).to(getattr(torch, mask_dtype)))


# -- property-based against the oracle (last: the explicit tests above fail faster) -----------------


@st.composite
def route_cases(draw):
    N, C, E = draw(st.integers(1, 12)), draw(st.integers(1, 6)), draw(st.integers(1, 8))
    k = draw(st.integers(1, E))
    capacity_factor = draw(st.sampled_from(CAPACITY_FACTORS))
    return (
        N,
        C,
        E,
        k,
        capacity_factor,
        draw(st.sampled_from(list(DTYPES))),
        draw(st.booleans()),
        draw(st.integers(0, 2**16)),
    )


def orders_agree(N, E, k, capacity_factor) -> bool:
    try:
        capacity_of(N, E, k, capacity_factor)
    except AssertionError:
        return False
    return True


@settings(max_examples=30, report_multiple_bugs=False)
@given(case=route_cases())
def test_route_random_matches_oracle(candidate, case):
    N, C, E, k, capacity_factor, dtype, renormalize, seed = case
    assume(orders_agree(N, E, k, capacity_factor))
    x, w = grid_case(N, C, E, DTYPES[dtype], seed)
    check_route(candidate, x, w, f"seed {seed}", k=k, capacity_factor=capacity_factor, renormalize=renormalize)


@st.composite
def loss_cases(draw):
    B, T, E = draw(st.integers(1, 3)), draw(st.integers(1, 5)), draw(st.integers(1, 8))
    k = draw(st.integers(1, E))
    mask_kind = draw(st.sampled_from(["none", "bool", "int64"]))
    valid = draw(st.lists(st.booleans(), min_size=B * T, max_size=B * T).filter(any))
    return B, T, E, k, mask_kind, valid, draw(st.sampled_from(list(DTYPES))), draw(st.integers(0, 2**16))


@settings(max_examples=25, report_multiple_bugs=False)
@given(case=loss_cases())
def test_loss_random_matches_oracle(candidate, case):
    B, T, E, k, mask_kind, valid, dtype, seed = case
    logits = grid_logits(B * T, E, DTYPES[dtype], seed)
    mask = None if mask_kind == "none" else torch.tensor(valid).reshape(B, T).to(getattr(torch, mask_kind))
    check_loss(candidate, logits, k, mask, f"seed {seed}", grad=dtype in ("float32", "float64"))
