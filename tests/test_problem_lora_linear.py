"""Project tests for the lora-linear problem that need no judge runner.

The checker-side oracle's closed-form outputs and gradients are checked against torch autograd
of F.linear (float64), the reference against the oracle, and the statement's worked examples
against the reference.
"""

import math
import sys
from pathlib import Path

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from .problem_support import load, load_wrong

REPO = Path(__file__).resolve().parents[1]
PROBLEM = REPO / "problems" / "lora-linear"

reference = load(REPO / "solutions_ref" / "lora_linear.py", "lora_linear_reference")
sys.path.insert(0, str(PROBLEM))
oracle = load(PROBLEM / "lora_oracle.py", "lora_linear_oracle")
sys.path.remove(str(PROBLEM))


def random_case(seed: int, lead=(3,), C=5, F_=4, r=3, p=0.0):
    g = torch.Generator().manual_seed(seed)
    W, b = torch.randn(F_, C, generator=g, dtype=torch.float64), torch.randn(F_, generator=g, dtype=torch.float64)
    A, B = torch.randn(r, C, generator=g, dtype=torch.float64), torch.randn(F_, r, generator=g, dtype=torch.float64)
    x = torch.randn(*lead, C, generator=g, dtype=torch.float64)
    keep = torch.rand(*lead, C, generator=g) >= p
    grad_out = torch.randn(*lead, F_, generator=g, dtype=torch.float64)
    return W, b, A, B, x, keep, grad_out


@pytest.mark.parametrize(("seed", "lead", "p"), [(0, (3,), 0.0), (1, (2, 3), 0.3), (2, (), 0.5)])
def test_oracle_matches_autograd_of_f_linear(seed, lead, p):
    W, b, A, B, x, keep, grad_out = random_case(seed, lead, p=p)
    s = 0.7
    expected = oracle.lora_oracle(x, W, b, A, B, s, keep=keep if p else None, p=p, grad_out=grad_out)
    x_, A_, B_ = (t.clone().requires_grad_() for t in (x, A, B))
    x_a = x_ * keep / (1 - p) if p else x_
    y = F.linear(x_, W, b) + s * F.linear(F.linear(x_a, A_), B_)
    y.backward(grad_out)
    torch.testing.assert_close(expected.y, y.detach(), atol=1e-12, rtol=1e-12)
    torch.testing.assert_close(expected.grad_x, x_.grad, atol=1e-12, rtol=1e-12)
    torch.testing.assert_close(expected.grad_A, A_.grad, atol=1e-12, rtol=1e-12)
    torch.testing.assert_close(expected.grad_B, B_.grad, atol=1e-12, rtol=1e-12)
    no_dropout = oracle.lora_oracle(x, W, b, A, B, s).y
    merged = oracle.merged_weight(W, A, B, s)
    torch.testing.assert_close(oracle.linear_oracle(x, merged, b), no_dropout, atol=1e-12, rtol=1e-12)


def make_reference(W, b, r, alpha, A, B, **kwargs):
    base = nn.Linear(W.shape[1], W.shape[0], dtype=W.dtype)
    with torch.no_grad():
        base.weight.copy_(W)
        base.bias.copy_(b)
    lora = reference.LoRALinear(base, r, alpha, **kwargs)
    with torch.no_grad():
        lora.lora_A.copy_(A)
        lora.lora_B.copy_(B)
    return lora, base


@pytest.mark.parametrize("kwargs", [{}, {"dropout": 0.3}, {"use_rslora": True, "dropout": 0.5}], ids=str)
def test_reference_matches_oracle(kwargs):
    p = kwargs.get("dropout", 0.0)
    W, b, A, B, x, keep, grad_out = random_case(7, (2, 3), p=p)
    lora, base = make_reference(W, b, 3, 6.0, A, B, **kwargs)
    s = oracle.scaling(3, 6.0, kwargs.get("use_rslora", False))
    x_ = x.clone().requires_grad_()
    y = lora(x_, keep)
    y.backward(grad_out)
    expected = oracle.lora_oracle(x, W, b, A, B, s, keep=keep if p else None, p=p, grad_out=grad_out)
    torch.testing.assert_close(y.detach(), expected.y, atol=1e-12, rtol=1e-12)
    torch.testing.assert_close(x_.grad, expected.grad_x, atol=1e-12, rtol=1e-12)
    torch.testing.assert_close(lora.lora_A.grad, expected.grad_A, atol=1e-12, rtol=1e-12)
    torch.testing.assert_close(lora.lora_B.grad, expected.grad_B, atol=1e-12, rtol=1e-12)
    assert base.weight.grad is None and base.bias.grad is None
    lora.merge()
    torch.testing.assert_close(base.weight.detach(), oracle.merged_weight(W, A, B, s), atol=1e-12, rtol=1e-12)
    lora.unmerge()
    torch.testing.assert_close(base.weight.detach(), W, atol=1e-12, rtol=1e-12)


def test_statement_examples():
    base = nn.Linear(2, 2)
    with torch.no_grad():
        base.weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 1.0]]))
        base.bias.copy_(torch.tensor([0.5, -0.5]))
    lora = reference.LoRALinear(base, r=1, alpha=2.0)
    assert lora.scaling == 2.0
    x = torch.tensor([1.0, 2.0])
    assert lora(x).tolist() == [1.5, 1.5]
    with torch.no_grad():
        lora.lora_A.copy_(torch.tensor([[1.0, 1.0]]))
        lora.lora_B.copy_(torch.tensor([[1.0], [0.0]]))
    assert lora(x).tolist() == [7.5, 1.5]
    lora.merge()
    assert base.weight.tolist() == [[3.0, 2.0], [0.0, 1.0]]
    assert lora(x).tolist() == [7.5, 1.5]
    lora.unmerge()
    assert base.weight.tolist() == [[1.0, 0.0], [0.0, 1.0]]

    dropped = reference.LoRALinear(base, r=1, alpha=2.0, dropout=0.5)
    with torch.no_grad():
        dropped.lora_A.copy_(lora.lora_A)
        dropped.lora_B.copy_(lora.lora_B)
    dropped.train()
    assert dropped(x, torch.tensor([True, False])).tolist() == [5.5, 1.5]
    with pytest.raises(ValueError):
        dropped(x)
    dropped.eval()
    assert dropped(x, torch.tensor([True, False])).tolist() == [7.5, 1.5]

    assert reference.LoRALinear(nn.Linear(2, 2), r=4, alpha=8, use_rslora=True).scaling == 4.0
    assert reference.LoRALinear(nn.Linear(2, 2), r=4, alpha=8).scaling == 2.0


def test_initial_A_is_the_uniform_draw_the_statement_names():
    torch.manual_seed(0)
    lora = reference.LoRALinear(nn.Linear(64, 8), r=16, alpha=1.0)
    bound = 1 / math.sqrt(64)
    A = lora.lora_A.detach()
    assert A.abs().max() <= bound and A.abs().max() >= 0.99 * bound
    assert abs(A.std().item() - bound / math.sqrt(3)) < 0.05 * bound
    assert torch.equal(lora.lora_B.detach(), torch.zeros(8, 16))


def test_float32_adapter_case_separates_a_half_adapter():
    # the hidden suite's float32-adapter case: a bfloat16 A loses the 2^-12 that carries the output
    wrong = load_wrong("lora-linear", "adapter_in_base_dtype.patch")
    outputs = []
    for module in (reference, wrong):
        base = nn.Linear(2, 1, bias=False, dtype=torch.bfloat16)
        with torch.no_grad():
            base.weight.copy_(torch.tensor([[0.5, 0.25]]))
        lora = module.LoRALinear(base, 1, 1.0)
        with torch.no_grad():
            lora.lora_A.copy_(torch.tensor([[1.0 + 2.0**-12, -1.0]]))
            lora.lora_B.copy_(torch.tensor([[2.0**12]]))
        outputs.append(lora(torch.tensor([[1.0, 1.0]], dtype=torch.bfloat16)).item())
    assert outputs == [1.75, 0.75]


driver = load(PROBLEM / "driver.py", "lora_linear_driver")


@pytest.mark.parametrize("shape", [(4, 5), (2, 3, 5)], ids=str)
def test_driver_layout_keeps_values_and_breaks_contiguity(shape):
    # the hidden non-contiguous test relies on this: tensors arrive contiguous from the wire
    g = torch.Generator().manual_seed(22)
    x, mask = torch.randn(*shape, generator=g), torch.rand(*shape, generator=g) >= 0.3
    for t in (x, mask):
        laid = driver._layout(t, "transposed")
        assert torch.equal(laid, t) and not laid.is_contiguous()
    base = nn.Linear(5, 3, bias=False)
    lora = reference.LoRALinear(base, 2, 3.0, dropout=0.3)
    grad_out = torch.randn(*shape[:-1], 3, generator=g)
    got = driver.forward_backward(reference, lora, x, mask, grad_out, "transposed")
    plain = driver.forward_backward(reference, lora, x, mask, grad_out)
    assert got["non_contiguous"] and not plain["non_contiguous"]
    for name in ("y", "grad_x", "grad_A", "grad_B"):
        torch.testing.assert_close(got[name], plain[name])


def test_view_wrong_solution_fails_only_on_the_worker_layout():
    # wrong/x_view.patch passes on contiguous (B, T, C) inputs and raises on the driver's layout
    wrong = load_wrong("lora-linear", "x_view.patch")
    torch.manual_seed(0)
    lora = wrong.LoRALinear(nn.Linear(5, 3), 2, 3.0)
    x = torch.randn(2, 3, 5)
    torch.testing.assert_close(lora(x), x @ lora.base.weight.T + lora.base.bias)  # B = 0: the base layer alone
    with pytest.raises(RuntimeError, match="view"):
        lora(driver._layout(x, "transposed"))
