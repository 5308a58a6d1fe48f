"""Hidden tests for lora-linear.

Expected values come from the float64 oracle in lora_oracle.py (checker side). The layer lives
in the worker: the driver builds the nn.Linear from plain tensors (`make`), overwrites A and B
(`set_adapter`), reads the attributes back (`state`) and runs autograd (`forward_backward`).
"""

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from lora_oracle import delta_weight, linear_oracle, lora_oracle, merged_weight, scaling

from judge_harness import assert_close, expect_raises

DTYPES = {"float32": torch.float32, "float64": torch.float64, "float16": torch.float16, "bfloat16": torch.bfloat16}


def name_of(dtype: torch.dtype) -> str:
    return str(dtype).removeprefix("torch.")


def random_layer(seed: int, C: int, F: int, dtype=torch.float32, bias: bool = True, r: int = 2, scale: float = 1.0):
    """W (F, C), b (F,) or None, A (r, C), B (F, r), all in `dtype`."""
    g = torch.Generator().manual_seed(seed)
    W = (torch.rand(F, C, generator=g, dtype=torch.float64) * 2 - 1).to(dtype)
    b = (torch.rand(F, generator=g, dtype=torch.float64) - 0.5).to(dtype) if bias else None
    A = ((torch.rand(r, C, generator=g, dtype=torch.float64) * 2 - 1) * scale).to(dtype)
    B = ((torch.rand(F, r, generator=g, dtype=torch.float64) * 2 - 1) * scale).to(dtype)
    return W, b, A, B


def build(candidate, W, b, r, alpha, kwargs=None, A=None, B=None):
    lora, base = candidate.driver.make(W, b, r, alpha, kwargs or {})
    if A is not None:
        candidate.driver.set_adapter(lora, A, B)
    return lora, base


def check_forward(candidate, lora, x, mask, W, b, A, B, s, p=0.0, label="", grad_seed=0, layout=None):
    """Output and the gradients of x, A and B against the oracle; none for the base weight and bias.

    `p` and `mask` are the dropout that applies (p=0 / mask None: no dropout expected). layout
    ("transposed") lays x and the mask out non-contiguously in the worker (driver._layout).
    """
    F = W.shape[0]
    g = torch.Generator().manual_seed(grad_seed)
    grad_out = torch.randn(*x.shape[:-1], F, generator=g, dtype=torch.float64).to(x.dtype)
    keep = mask if p > 0 else None
    e = lora_oracle(x, W, b, A, B, s, keep=keep, p=p, grad_out=grad_out)
    got = candidate.driver.forward_backward(lora, x, mask, grad_out, layout)
    assert layout is None or got["non_contiguous"], f"test bug: the {layout} layout is contiguous"
    where = f"{label}; x {tuple(x.shape)} {name_of(x.dtype)}, W {tuple(W.shape)}, r={A.shape[0]}, scaling={s:g}, p={p}"
    assert_close(got["y"], e.y.to(x.dtype), name=f"output ({where})")
    assert got["has_grad_fn"], f"the output has no grad_fn ({where}): it must be differentiable"
    assert got["grad_weight"] is None, f"the base weight got a gradient ({where}): it must be frozen"
    assert got["grad_bias"] is None, f"the base bias got a gradient ({where}): it must be frozen"
    assert got["grad_x"] is not None, f"no gradient reached x ({where})"
    assert got["grad_A"] is not None and got["grad_B"] is not None, f"no gradient reached lora_A / lora_B ({where})"
    assert_close(got["grad_x"], e.grad_x.to(x.dtype), name=f"d y / d x ({where})")
    assert_close(got["grad_A"], e.grad_A.to(A.dtype), name=f"d y / d lora_A ({where})")
    assert_close(got["grad_B"], e.grad_B.to(B.dtype), name=f"d y / d lora_B ({where})")


def check_merged_forward(candidate, lora, x, mask, W_merged, b, label="", layout=None):
    """While merged: x W'^T + b, no dropout, no gradient to A, B or the base; layout as in check_forward."""
    grad_out = torch.ones(*x.shape[:-1], W_merged.shape[0], dtype=x.dtype)
    got = candidate.driver.forward_backward(lora, x, mask, grad_out, layout)
    assert layout is None or got["non_contiguous"], f"test bug: the {layout} layout is contiguous"
    where = f"{label}; merged, x {tuple(x.shape)} {name_of(x.dtype)}"
    assert_close(got["y"], linear_oracle(x, W_merged, b).to(x.dtype), name=f"output ({where})")
    assert got["grad_A"] is None and got["grad_B"] is None, f"lora_A / lora_B got a gradient ({where})"
    assert got["grad_weight"] is None, f"the base weight got a gradient ({where})"


def assert_restored(actual, W, delta, label=""):
    """|W_restored - W| <= atol + rtol * (|W| + |delta|), the statement's rule after unmerge()."""
    from judge_harness.checks import tolerance_for

    assert actual.dtype == W.dtype and actual.shape == W.shape, (
        f"weight after unmerge ({label}): {actual.dtype} {tuple(actual.shape)}, expected {W.dtype} {tuple(W.shape)}"
    )
    atol, rtol = tolerance_for(name_of(W.dtype))
    err = (actual.double() - W.double()).abs()
    bound = atol + rtol * (W.double().abs() + delta.abs())
    bad = err > bound
    if bad.any():
        idx = tuple(int(i) for i in bad.nonzero()[0])
        raise AssertionError(
            f"weight after unmerge ({label}, shape {tuple(W.shape)}): {int(bad.sum())} elements not restored; "
            f"first at {idx}: got {actual[idx].item():.6g}, original {W[idx].item():.6g}, max error {err.max().item():.3g}"
        )


# -- construction -------------------------------------------------------------------------------


@pytest.mark.parametrize("bias", [True, False])
def test_construction_state(candidate, bias):
    C, F, r = 32, 24, 16  # 512 elements of A
    W, b, _, _ = random_layer(1, C, F, bias=bias)
    lora, base = build(candidate, W, b, r, 8.0)
    st_ = candidate.driver.state(lora, base)
    assert st_["base_is_original"], "lora.base is not the nn.Linear passed to the constructor"
    assert_close(st_["weight"], W, name="base weight after construction", atol=0, rtol=0)
    if bias:
        assert_close(st_["bias"], b, name="base bias after construction", atol=0, rtol=0)
    assert st_["weight_requires_grad"] is False, "base.weight.requires_grad is True: the base must be frozen"
    assert st_["bias_requires_grad"] is (False if bias else None), "base.bias.requires_grad is True: it must be frozen"
    assert st_["A_is_parameter"] and st_["B_is_parameter"], "lora_A and lora_B must be nn.Parameter attributes"
    A, B = st_["A"], st_["B"]
    assert tuple(A.shape) == (r, C), f"lora_A has shape {tuple(A.shape)}, expected (r, C) = {(r, C)}"
    assert tuple(B.shape) == (F, r), f"lora_B has shape {tuple(B.shape)}, expected (F, r) = {(F, r)}"
    assert A.dtype == torch.float32 and B.dtype == torch.float32, (
        f"adapter dtypes {A.dtype}, {B.dtype}, expected float32"
    )
    assert st_["A_requires_grad"] and st_["B_requires_grad"], "lora_A and lora_B must require grad"
    assert st_["trainable"] == ["lora_A", "lora_B"], f"trainable parameters {st_['trainable']}, expected lora_A, lora_B"
    assert st_["merged"] is False, f"merged is {st_['merged']!r} after construction, expected False"
    assert torch.equal(B, torch.zeros_like(B)), f"lora_B must start at exactly zero, max |B| = {B.abs().max():.3g}"
    bound = 1 / math.sqrt(C)
    assert A.abs().max() <= bound * (1 + 1e-6), f"max |A| = {A.abs().max():.4g} > 1/sqrt(C) = {bound:.4g}"
    assert A.abs().max() >= 0.97 * bound, f"max |A| = {A.abs().max():.4g}: not spread over [-1/sqrt(C), 1/sqrt(C)]"
    std = A.double().std().item()
    assert 0.45 * bound <= std <= 0.7 * bound, f"std of A = {std:.4g}, a uniform draw gives {bound / math.sqrt(3):.4g}"


def test_new_layer_is_base_and_B_gets_gradient(candidate):
    W, b, _, _ = random_layer(2, 6, 5)
    lora, base = build(candidate, W, b, 3, 6.0)
    st_ = candidate.driver.state(lora, base)
    x = torch.randn(4, 6, generator=torch.Generator().manual_seed(3))
    check_forward(candidate, lora, x, None, W, b, st_["A"], st_["B"], 2.0, label="new layer, B = 0")


def test_statement_examples(candidate):
    W = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    b = torch.tensor([0.5, -0.5])
    A, B, x = torch.tensor([[1.0, 1.0]]), torch.tensor([[1.0], [0.0]]), torch.tensor([1.0, 2.0])
    lora, base = build(candidate, W, b, 1, 2.0, A=A, B=B)
    assert_close(lora(x), torch.tensor([7.5, 1.5]), name="example output")
    lora.merge()
    assert_close(candidate.driver.state(lora, base)["weight"], torch.tensor([[3.0, 2.0], [0.0, 1.0]]), name="merged W")
    assert_close(lora(x), torch.tensor([7.5, 1.5]), name="example merged output")
    lora.unmerge()
    assert_close(candidate.driver.state(lora, base)["weight"], W, name="example unmerged W")
    lora, _ = build(candidate, W, b, 1, 2.0, {"dropout": 0.5}, A=A, B=B)
    assert_close(lora(x, torch.tensor([True, False])), torch.tensor([5.5, 1.5]), name="example output, dropout")
    lora.eval()
    assert_close(lora(x, torch.tensor([True, False])), torch.tensor([7.5, 1.5]), name="example output, eval")


def test_merge_twice_and_unmerge_twice_do_nothing(candidate):
    W, b, A, B = random_layer(12, 5, 4, r=2)
    lora, base = build(candidate, W, b, 2, 4.0, A=A, B=B)
    lora.unmerge()
    after = candidate.driver.state(lora, base)
    assert after["merged"] is False, "unmerge() before any merge set merged"
    assert_close(after["weight"], W, name="weight after unmerge() on an unmerged layer", atol=0, rtol=0)
    W_merged = merged_weight(W, A, B, 2.0)
    for _ in range(2):
        lora.merge()
        after = candidate.driver.state(lora, base)
        assert after["merged"] is True, "merged is not True after merge()"
        assert_close(after["weight"], W_merged.float(), name="weight after merge() called twice")
        assert_close(after["bias"], b, name="bias after merge()", atol=0, rtol=0)
        assert_close(after["A"], A, name="lora_A after merge()", atol=0, rtol=0)
        assert_close(after["B"], B, name="lora_B after merge()", atol=0, rtol=0)
    for _ in range(2):
        lora.unmerge()
        after = candidate.driver.state(lora, base)
        assert after["merged"] is False, "merged is not False after unmerge()"
        assert_restored(after["weight"], W, delta_weight(A, B, 2.0), label="unmerge() called twice")


@pytest.mark.parametrize(
    ("r", "alpha", "use_rslora"), [(4, 8.0, False), (4, 8.0, True), (3, 1.5, True), (1, 2.0, True), (16, 16, False)]
)
def test_scaling(candidate, r, alpha, use_rslora):
    W, b, A, B = random_layer(4, 5, 3, r=r)
    lora, _ = build(candidate, W, b, r, alpha, {"use_rslora": use_rslora}, A=A, B=B)
    x = torch.randn(3, 5, generator=torch.Generator().manual_seed(5))
    check_forward(candidate, lora, x, None, W, b, A, B, scaling(r, alpha, use_rslora), label="scaling")


def test_rslora_false_explicit_is_the_default(candidate):
    W, b, A, B = random_layer(6, 4, 4, r=4)
    x = torch.randn(2, 4, generator=torch.Generator().manual_seed(6))
    explicit, _ = build(candidate, W, b, 4, 8.0, {"use_rslora": False, "dropout": 0.0}, A=A, B=B)
    default, _ = build(candidate, W, b, 4, 8.0, A=A, B=B)
    assert_close(explicit(x), default(x), name="use_rslora=False, dropout=0.0 explicit vs the defaults", atol=0, rtol=0)
    check_forward(candidate, explicit, x, None, W, b, A, B, 2.0, label="use_rslora=False explicit")


# -- property-based against the oracle ----------------------------------------------------------


@st.composite
def cases(draw):
    lead = draw(st.sampled_from([(), (1,), (3,), (2, 3)]))
    C, F, r = draw(st.integers(1, 7)), draw(st.integers(1, 7)), draw(st.integers(1, 9))
    dtype = draw(st.sampled_from(["float32", "float64"]))
    kwargs = {"dropout": draw(st.sampled_from([0.0, 0.1, 0.5])), "use_rslora": draw(st.booleans())}
    alpha = draw(st.sampled_from([0.5, 1, 8.0, 32.0]))
    return lead, C, F, r, dtype, alpha, kwargs, draw(st.booleans()), draw(st.booleans()), draw(st.integers(0, 2**16))


@settings(max_examples=20, report_multiple_bugs=False)
@given(case=cases())
def test_random_matches_oracle(candidate, case):
    lead, C, F, r, dtype, alpha, kwargs, bias, train, seed = case
    t = DTYPES[dtype]
    W, b, A, B = random_layer(seed, C, F, t, bias, r)
    s, p = scaling(r, alpha, kwargs["use_rslora"]), kwargs["dropout"]
    lora, base = build(candidate, W, b, r, alpha, kwargs, A=A, B=B)
    g = torch.Generator().manual_seed(seed + 1)
    x = torch.randn(*lead, C, generator=g, dtype=torch.float64).to(t)
    mask = torch.rand(*lead, C, generator=g) >= p
    label = f"seed {seed}, {kwargs}, bias={bias}, {'train' if train else 'eval'}"
    if not train:
        lora.eval()
    check_forward(candidate, lora, x, mask, W, b, A, B, s, p if train else 0.0, label=label, grad_seed=seed)
    lora.merge()
    W_merged = merged_weight(W, A, B, s)
    assert_close(candidate.driver.state(lora, base)["weight"], W_merged.to(t), name=f"merged weight ({label})")
    check_merged_forward(candidate, lora, x, mask, W_merged, b, label=label)
    lora.unmerge()
    assert_restored(candidate.driver.state(lora, base)["weight"], W, delta_weight(A, B, s), label=label)
    check_forward(candidate, lora, x, mask, W, b, A, B, s, p if train else 0.0, label=f"{label}, after unmerge")


# -- dropout ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("p", [0.25, 0.5, 0.9])
def test_dropout_on_adapter_input_only(candidate, p):
    W, b, A, B = random_layer(7, 6, 4, r=3)
    lora, _ = build(candidate, W, b, 3, 6.0, {"dropout": p}, A=A, B=B)
    g = torch.Generator().manual_seed(8)
    x = torch.randn(5, 6, generator=g)
    mask = torch.rand(5, 6, generator=g) >= 0.5
    check_forward(candidate, lora, x, mask, W, b, A, B, 2.0, p, label="training, dropout")
    check_forward(candidate, lora, x, torch.zeros_like(mask), W, b, A, B, 2.0, p, label="training, mask all False")


def test_dropout_ignored_in_eval_mode(candidate):
    W, b, A, B = random_layer(9, 4, 3, r=2)
    lora, base = build(candidate, W, b, 2, 4.0, {"dropout": 0.5}, A=A, B=B)
    x = torch.randn(3, 4, generator=torch.Generator().manual_seed(9))
    lora.eval()
    assert candidate.driver.state(lora, base)["training"] is False
    check_forward(candidate, lora, x, torch.zeros(3, 4, dtype=torch.bool), W, b, A, B, 2.0, label="eval, mask ignored")
    check_forward(candidate, lora, x, None, W, b, A, B, 2.0, label="eval, no mask")
    lora.train()
    mask = torch.tensor([[True, False, True, False]] * 3)
    check_forward(candidate, lora, x, mask, W, b, A, B, 2.0, 0.5, label="back in training mode")


def test_dropout_zero_explicit_ignores_the_mask(candidate):
    W, b, A, B = random_layer(10, 4, 3, r=2)
    lora, _ = build(candidate, W, b, 2, 4.0, {"dropout": 0.0}, A=A, B=B)
    x = torch.randn(3, 4, generator=torch.Generator().manual_seed(10))
    check_forward(candidate, lora, x, torch.zeros(3, 4, dtype=torch.bool), W, b, A, B, 2.0, label="dropout=0.0, mask")
    check_forward(candidate, lora, x, None, W, b, A, B, 2.0, label="dropout=0.0, training, no mask")


def test_merged_forward_ignores_dropout(candidate):
    W, b, A, B = random_layer(11, 4, 5, r=2)
    lora, _ = build(candidate, W, b, 2, 2.0, {"dropout": 0.5}, A=A, B=B)
    x = torch.randn(2, 4, generator=torch.Generator().manual_seed(11))
    lora.merge()
    W_merged = merged_weight(W, A, B, 1.0)
    check_merged_forward(candidate, lora, x, torch.zeros(2, 4, dtype=torch.bool), W_merged, b, "training, mask")
    check_merged_forward(candidate, lora, x, None, W_merged, b, "training, no mask")
    lora.eval()
    check_merged_forward(candidate, lora, x, None, W_merged, b, "eval")


# -- merge / unmerge state ----------------------------------------------------------------------


def test_merge_unmerge_cycles_with_adapter_updates(candidate):
    C, F, r, alpha = 6, 6, 3, 3.0
    W, b, A, B = random_layer(13, C, F, r=r)
    lora, base = build(candidate, W, b, r, alpha, {"dropout": 0.2}, A=A, B=B)
    g = torch.Generator().manual_seed(14)
    s, W_now = 1.0, W
    for step in range(4):
        x = torch.randn(3, C, generator=g)
        mask = torch.rand(3, C, generator=g) >= 0.2
        check_forward(candidate, lora, x, mask, W_now, b, A, B, s, 0.2, label=f"cycle {step}, training")
        (lora.eval() if step % 2 else lora.train())
        lora.merge()
        W_merged = merged_weight(W_now, A, B, s)
        st_ = candidate.driver.state(lora, base)
        assert st_["merged"] is True, f"cycle {step}: merged is not True after merge()"
        assert_close(st_["weight"], W_merged.float(), name=f"cycle {step}: merged weight (caller's layer)")
        check_merged_forward(candidate, lora, x, mask, W_merged, b, label=f"cycle {step}")
        lora.unmerge()
        st_ = candidate.driver.state(lora, base)
        assert_restored(st_["weight"], W_now, delta_weight(A, B, s), label=f"cycle {step}")
        W_now = st_["weight"]
        lora.train()
        _, _, A, B = random_layer(100 + step, C, F, r=r)  # an optimizer step between cycles
        candidate.driver.set_adapter(lora, A, B)


def test_two_layers_side_by_side(candidate):
    W1, b1, A1, B1 = random_layer(15, 4, 3, r=2)
    W2, b2, A2, B2 = random_layer(16, 5, 6, bias=False, r=4)
    first, base1 = build(candidate, W1, b1, 2, 4.0, {"dropout": 0.5}, A=A1, B=B1)
    second, base2 = build(candidate, W2, b2, 4, 8.0, {"use_rslora": True}, A=A2, B=B2)
    g = torch.Generator().manual_seed(17)
    x1, x2 = torch.randn(2, 4, generator=g), torch.randn(2, 5, generator=g)
    m1 = torch.rand(2, 4, generator=g) >= 0.5
    first.merge()
    check_forward(candidate, second, x2, None, W2, b2, A2, B2, 4.0, label="second layer while the first is merged")
    second.eval()
    check_merged_forward(candidate, first, x1, m1, merged_weight(W1, A1, B1, 2.0), b1, label="first layer")
    first.unmerge()
    check_forward(candidate, first, x1, m1, W1, b1, A1, B1, 2.0, 0.5, label="first layer, training")
    assert_close(candidate.driver.state(second, base2)["weight"], W2, name="second layer's weight", atol=0, rtol=0)
    second.merge()
    assert candidate.driver.state(first, base1)["merged"] is False, "merging one layer merged the other"


def test_two_layers_in_one_graph(candidate):
    # y = second(first(x)) + first(x): each layer's A and B get their own gradient
    W1, b1, A1, B1 = random_layer(18, 4, 5, r=2)
    W2, b2, A2, B2 = random_layer(19, 5, 5, r=3)
    first, _ = build(candidate, W1, b1, 2, 2.0, A=A1, B=B1)
    second, _ = build(candidate, W2, b2, 3, 6.0, {"use_rslora": True}, A=A2, B=B2)
    g = torch.Generator().manual_seed(20)
    x, grad_out = torch.randn(3, 4, generator=g, dtype=torch.float64).float(), torch.randn(3, 5, generator=g)
    s1, s2 = 1.0, 6.0 / math.sqrt(3)
    leaves = [t.double().requires_grad_() for t in (x, A1, B1, A2, B2)]
    xl, a1, bb1, a2, bb2 = leaves
    h = xl @ W1.double().T + b1.double() + s1 * (xl @ a1.T) @ bb1.T
    y = h @ W2.double().T + b2.double() + s2 * (h @ a2.T) @ bb2.T + h
    y.backward(grad_out.double())
    got = candidate.driver.two_in_one_graph(first, second, x, grad_out)
    assert_close(got["y"], y.detach().float(), name="second(first(x)) + first(x)")
    for key, leaf in zip(["grad_x", "grad_A1", "grad_B1", "grad_A2", "grad_B2"], leaves, strict=True):
        assert got[key] is not None, f"{key}: no gradient in the two-layer graph"
        assert_close(got[key], leaf.grad.float(), name=f"{key} in the two-layer graph")
    # one layer used twice in a graph: its gradients are the sum over both uses
    x2 = torch.randn(2, 5, generator=g)
    a, bb = A2.double().requires_grad_(), B2.double().requires_grad_()
    f = lambda t: t @ W2.double().T + b2.double() + s2 * (t @ a.T) @ bb.T  # noqa: E731
    h2 = f(x2.double())
    (f(h2) + h2).backward(torch.ones(2, 5, dtype=torch.float64))
    got = candidate.driver.two_in_one_graph(second, second, x2, torch.ones(2, 5))
    assert_close(got["grad_A1"], a.grad.float(), name="lora_A of one layer used twice in a graph")
    assert_close(got["grad_B1"], bb.grad.float(), name="lora_B of one layer used twice in a graph")


# -- shapes, dtypes, numerics ---------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(4,), (0, 4), (2, 1, 3, 4), (1, 4)], ids=str)
def test_input_shapes(candidate, shape):
    W, b, A, B = random_layer(21, 4, 3, r=5)  # r > C and r > F
    lora, _ = build(candidate, W, b, 5, 5.0, A=A, B=B)
    x = torch.randn(*shape, generator=torch.Generator().manual_seed(21))
    check_forward(candidate, lora, x, None, W, b, A, B, 1.0, label="leading dimensions")


def test_non_contiguous_input_and_no_bias(candidate):
    # tensors cross to the worker contiguous: the driver lays x and the mask out there with their
    # axes' storage order reversed (column-major (4, 5); a (2, 3, 5) stored (5, 3, 2), which
    # .view(-1, C) refuses)
    W, _, A, B = random_layer(22, 5, 3, bias=False, r=2)
    lora, base = build(candidate, W, None, 2, 3.0, {"dropout": 0.3}, A=A, B=B)
    g = torch.Generator().manual_seed(22)
    for shape in ((4, 5), (2, 3, 5)):
        x = torch.randn(*shape, generator=g)
        mask = torch.rand(*shape, generator=g) >= 0.3
        label = f"transposed x and mask {shape}, no bias"
        check_forward(candidate, lora, x, mask, W, None, A, B, 1.5, 0.3, label=label, layout="transposed")
    lora.merge()
    label = "no bias, transposed x (2, 3, 5)"
    check_merged_forward(candidate, lora, x, mask, merged_weight(W, A, B, 1.5), None, label=label, layout="transposed")


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_large_inputs(candidate, dtype):
    t = DTYPES[dtype]
    W, b, A, B = random_layer(23, 8, 6, t, r=4)
    lora, base = build(candidate, W, b * 1e4, 4, 4.0, {"dropout": 0.1}, A=A, B=B)
    g = torch.Generator().manual_seed(23)
    x = (torch.randn(3, 8, generator=g, dtype=torch.float64) * 1e4).to(t)
    mask = torch.rand(3, 8, generator=g) >= 0.1
    check_forward(candidate, lora, x, mask, W, b * 1e4, A, B, 1.0, 0.1, label="|x| ~ 1e4")
    lora.merge()
    check_merged_forward(candidate, lora, x, mask, merged_weight(W, A, B, 1.0), b * 1e4, label="|x| ~ 1e4")


def test_float64_is_not_downcast(candidate):
    # A x = 1 - (1 + 2^-30) = -2^-30 in float64, 0 in float32; B = 2^10 makes it -2^-20
    W = torch.tensor([[0.5, 0.5]], dtype=torch.float64)
    A, B = torch.tensor([[1.0, -1.0]], dtype=torch.float64), torch.tensor([[2.0**10]], dtype=torch.float64)
    lora, base = build(candidate, W, None, 1, 1.0, A=A, B=B)
    assert candidate.driver.state(lora, base)["A"].dtype == torch.float64, "float64 base: lora_A must be float64"
    x = torch.tensor([1.0, 1.0 + 2.0**-30], dtype=torch.float64)
    check_forward(candidate, lora, x, None, W, None, A, B, 1.0, label="float64 precision")


HALF_CASES = [(dtype, merged) for dtype in ("float16", "bfloat16") for merged in (False, True)]


@pytest.mark.parametrize(("dtype", "merged"), HALF_CASES)
def test_half_precision_base(candidate, dtype, merged):
    # multiples of 1/8 in [-1, 1] and a power-of-two scaling: float32 computes everything exactly
    t = DTYPES[dtype]
    g = torch.Generator().manual_seed(24)
    grid = lambda *shape: torch.randint(-8, 9, shape, generator=g).double() / 8  # noqa: E731
    W, b, A, B, x = grid(4, 8).to(t), grid(4).to(t), grid(2, 8).float(), grid(4, 2).float(), grid(3, 8).to(t)
    lora, base = build(candidate, W, b, 2, 1.0, {"dropout": 0.5}, A=A, B=B)
    st_ = candidate.driver.state(lora, base)
    assert st_["A"].dtype == torch.float32 and st_["B"].dtype == torch.float32, (
        f"{dtype} base: adapters are {st_['A'].dtype}, {st_['B'].dtype}, expected float32"
    )
    mask = torch.rand(3, 8, generator=g) >= 0.5
    if not merged:
        check_forward(candidate, lora, x, mask, W, b, A, B, 0.5, 0.5, label=f"{dtype} base")
        return
    lora.merge()
    W_merged = merged_weight(W, A, B, 0.5)
    assert_close(candidate.driver.state(lora, base)["weight"], W_merged.to(t), name=f"merged {dtype} weight")
    check_merged_forward(candidate, lora, x, mask, W_merged, b, label=f"{dtype} base")
    lora.unmerge()
    assert_restored(candidate.driver.state(lora, base)["weight"], W, delta_weight(A, B, 0.5), label=dtype)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_half_base_keeps_the_adapter_in_float32(candidate, dtype):
    # A x = (1 + 2^-12) - 1 = 2^-12 in float32, 0 once A is rounded to float16 / bfloat16
    t = DTYPES[dtype]
    W, x = torch.tensor([[0.5, 0.25]], dtype=t), torch.tensor([[1.0, 1.0]], dtype=t)
    A, B = torch.tensor([[1.0 + 2.0**-12, -1.0]]), torch.tensor([[2.0**12]])
    lora, _ = build(candidate, W, None, 1, 1.0, A=A, B=B)
    check_forward(candidate, lora, x, None, W, None, A, B, 1.0, label=f"{dtype} base, float32 adapter")


def test_inputs_unchanged(candidate):
    W, b, A, B = random_layer(25, 4, 4, r=2)
    lora, base = build(candidate, W, b, 2, 2.0, {"dropout": 0.5}, A=A, B=B)
    g = torch.Generator().manual_seed(25)
    x, mask = torch.randn(3, 4, generator=g), torch.rand(3, 4, generator=g) >= 0.5
    x_before, mask_before = x.clone(), mask.clone()
    for _ in range(2):
        lora(x, mask)  # the input guard checks that x and the mask are not written
        lora.merge()
        lora(x, mask)
        lora.unmerge()
    assert torch.equal(x, x_before) and torch.equal(mask, mask_before), "an input changed"
    st_ = candidate.driver.state(lora, base)
    assert_close(st_["A"], A, name="lora_A after forward calls", atol=0, rtol=0)
    assert_close(st_["B"], B, name="lora_B after forward calls", atol=0, rtol=0)
    assert_restored(st_["weight"], W, delta_weight(A, B, 1.0), label="after two merge / unmerge cycles")


# -- errors -----------------------------------------------------------------------------------------


EXAMPLE = (torch.eye(2), torch.tensor([0.5, -0.5]))


@pytest.mark.parametrize("kind", ["conv1d", "identity", "sequential"])
def test_base_not_linear_raises(candidate, kind):
    with expect_raises("TypeError"):
        candidate.driver.make_with_base(kind)


@pytest.mark.parametrize("r", [0, -1, 2.0, True])
def test_bad_r_raises(candidate, r):
    with expect_raises("ValueError"):
        candidate.driver.make(*EXAMPLE, r, 2.0, {})


@pytest.mark.parametrize("alpha", [0, 0.0, -1.0, math.inf, math.nan, "8"])
def test_bad_alpha_raises(candidate, alpha):
    with expect_raises("ValueError"):
        candidate.driver.make(*EXAMPLE, 2, alpha, {})


@pytest.mark.parametrize("dropout", [-0.1, 1.0, 1, 1.5, math.nan, "0.1"])
def test_bad_dropout_raises(candidate, dropout):
    with expect_raises("ValueError"):
        candidate.driver.make(*EXAMPLE, 2, 2.0, {"dropout": dropout})


def test_allowed_extremes_of_the_arguments(candidate):
    for kwargs in ({"dropout": 0.0}, {"dropout": 0.999}, {"dropout": 0}):
        candidate.driver.make(*EXAMPLE, 1, 1e-30, kwargs)
    W, b, A, B = random_layer(26, 3, 3, r=1)
    lora, _ = build(candidate, W, b, 1, 1e-30, A=A, B=B)
    x = torch.randn(2, 3, generator=torch.Generator().manual_seed(26))
    check_forward(candidate, lora, x, None, W, b, A, B, 1e-30, label="alpha = 1e-30")


@pytest.mark.parametrize("case", ["0-d", "wrong C", "float64 x", "float16 x", "int x"])
def test_bad_x_raises(candidate, case):
    lora, _ = candidate.driver.make(*EXAMPLE, 1, 2.0, {})
    x = {
        "0-d": torch.tensor(1.0),
        "wrong C": torch.ones(2, 3),
        "float64 x": torch.ones(2, 2, dtype=torch.float64),
        "float16 x": torch.ones(2, 2, dtype=torch.float16),
        "int x": torch.ones(2, 2, dtype=torch.int64),
    }[case]
    with expect_raises("ValueError"):
        lora(x)


MASK_CASES = ["float mask", "int mask", "shorter", "broadcastable (C,)", "transposed shape"]


@pytest.mark.parametrize("state", ["training, dropout", "eval", "dropout=0", "merged"])
@pytest.mark.parametrize("case", MASK_CASES)
def test_bad_mask_raises(candidate, case, state):
    x = torch.ones(3, 2)
    mask = {
        "float mask": torch.ones(3, 2),
        "int mask": torch.ones(3, 2, dtype=torch.int64),
        "shorter": torch.ones(2, 2, dtype=torch.bool),
        "broadcastable (C,)": torch.ones(2, dtype=torch.bool),
        "transposed shape": torch.ones(2, 3, dtype=torch.bool),
    }[case]
    lora, _ = candidate.driver.make(*EXAMPLE, 1, 2.0, {"dropout": 0.0 if state == "dropout=0" else 0.5})
    if state == "eval":
        lora.eval()
    if state == "merged":
        lora.merge()
    with expect_raises("ValueError"):
        lora(x, mask)


def test_training_without_mask_raises(candidate):
    lora, _ = candidate.driver.make(*EXAMPLE, 1, 2.0, {"dropout": 0.1})
    with expect_raises("ValueError"):
        lora(torch.ones(2))
    lora.merge()
    lora(torch.ones(2))  # merged: no dropout, no mask needed
    lora.unmerge()
    with expect_raises("ValueError"):
        lora(torch.ones(2))
    lora.eval()
    lora(torch.ones(2))
