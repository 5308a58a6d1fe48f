"""Worker-side helpers for lora-linear: build modules and run autograd next to the submission.

Tests call these as `candidate.driver.<name>(...)`; each gets the submission module first. An
nn.Linear cannot cross the process boundary, so `make` builds it here from plain tensors and
returns handles to the LoRALinear and to the base layer; the other helpers take those handles
back and return plain tensors and flags. Tensors arrive contiguous from the wire, so a
non-contiguous layout is built here, in the worker.
"""

import torch
import torch.nn as nn
from torch import Tensor


def _clone(t: Tensor | None) -> Tensor | None:
    return None if t is None else t.detach().clone()


def make(module, weight: Tensor, bias: Tensor | None, r, alpha, kwargs: dict, seed: int = 0):
    """(lora, base): base = nn.Linear holding copies of weight (F, C) and bias (F,) or no bias."""
    out_features, in_features = weight.shape
    base = nn.Linear(in_features, out_features, bias=bias is not None, dtype=weight.dtype)
    with torch.no_grad():
        base.weight.copy_(weight)
        if bias is not None:
            base.bias.copy_(bias)
    torch.manual_seed(seed)  # A's draw comes from the global generator: a fixed seed per test
    lora = module.LoRALinear(base, r, alpha, **kwargs)
    return lora, base


def make_with_base(module, kind: str):
    """LoRALinear around something that is not an nn.Linear (expected to raise TypeError)."""
    bases = {
        "conv1d": lambda: nn.Conv1d(4, 3, 1),
        "identity": lambda: nn.Identity(),
        "sequential": lambda: nn.Sequential(nn.Linear(4, 3)),
    }
    return module.LoRALinear(bases[kind](), 2, 4.0)


def state(module, lora, base) -> dict:
    """Everything the statement fixes about a LoRALinear's attributes, as plain data."""
    A, B = getattr(lora, "lora_A", None), getattr(lora, "lora_B", None)
    trainable = sorted(name for name, p in lora.named_parameters() if p.requires_grad)
    return {
        "base_is_original": getattr(lora, "base", None) is base,
        "weight": _clone(base.weight),
        "bias": _clone(base.bias),
        "weight_requires_grad": bool(base.weight.requires_grad),
        "bias_requires_grad": None if base.bias is None else bool(base.bias.requires_grad),
        "A_is_parameter": isinstance(A, nn.Parameter),
        "B_is_parameter": isinstance(B, nn.Parameter),
        "A": _clone(A) if isinstance(A, Tensor) else None,
        "B": _clone(B) if isinstance(B, Tensor) else None,
        "A_requires_grad": bool(isinstance(A, Tensor) and A.requires_grad),
        "B_requires_grad": bool(isinstance(B, Tensor) and B.requires_grad),
        "trainable": trainable,
        "merged": getattr(lora, "merged", None),
        "training": bool(lora.training),
    }


def set_adapter(module, lora, A: Tensor, B: Tensor) -> None:
    """Overwrite lora_A (r, C) and lora_B (F, r) in place, as an optimizer step would."""
    for name, value in (("lora_A", A), ("lora_B", B)):
        param = getattr(lora, name)
        if tuple(param.shape) != tuple(value.shape):
            raise ValueError(f"{name} has shape {tuple(param.shape)}, expected {tuple(value.shape)}")
        with torch.no_grad():
            param.copy_(value)


def _layout(t: Tensor, layout: str | None) -> Tensor:
    """The same values as t in another memory layout.

    "transposed": the axes' storage order reversed (column-major for 2-D, as .T.contiguous().T;
    a (B, T, C) tensor stored (C, T, B)), a transposed view that .view(-1, C) refuses for 3-D.
    """
    if layout is None:
        return t
    if layout == "transposed":
        dims = list(range(t.dim()))[::-1]
        return t.permute(*dims).contiguous().permute(*dims)
    raise ValueError(f"unknown layout {layout!r}")


def forward_backward(
    module, lora, x: Tensor, dropout_mask: Tensor | None, grad_out: Tensor, layout: str | None = None
) -> dict:
    """y = lora(x, dropout_mask) with x a fresh leaf, then y.backward(grad_out).

    Returns y and the gradients of x, lora_A, lora_B, the base weight and bias (None where none
    arrived); the parameters' .grad are cleared first, so each call sees its own gradients.
    layout lays x and dropout_mask out non-contiguously here (see _layout); "non_contiguous"
    says whether both (x alone without a mask) arrived at the submission so.
    """
    for p in lora.parameters():
        p.grad = None
    x = _layout(x.detach().clone(), layout).requires_grad_(True)
    if dropout_mask is not None:
        dropout_mask = _layout(dropout_mask, layout)
    non_contiguous = not x.is_contiguous() and (dropout_mask is None or not dropout_mask.is_contiguous())
    y = lora(x) if dropout_mask is None else lora(x, dropout_mask)
    has_grad_fn = y.grad_fn is not None
    if has_grad_fn:
        y.backward(grad_out.to(y.dtype))
    base = lora.base
    return {
        "y": y.detach().clone(),
        "has_grad_fn": has_grad_fn,
        "grad_x": _clone(x.grad),
        "grad_A": _clone(lora.lora_A.grad),
        "grad_B": _clone(lora.lora_B.grad),
        "grad_weight": _clone(base.weight.grad),
        "grad_bias": None if base.bias is None else _clone(base.bias.grad),
        "non_contiguous": non_contiguous,
    }


def two_in_one_graph(module, first, second, x: Tensor, grad_out: Tensor) -> dict:
    """y = second(first(x)) + first(x) in one graph, one backward; the four adapter gradients."""
    for lora in (first, second):
        for p in lora.parameters():
            p.grad = None
    x = x.detach().clone().requires_grad_(True)
    h = first(x)
    y = second(h) + h
    y.backward(grad_out.to(y.dtype))
    return {
        "y": y.detach().clone(),
        "grad_x": _clone(x.grad),
        "grad_A1": _clone(first.lora_A.grad),
        "grad_B1": _clone(first.lora_B.grad),
        "grad_A2": _clone(second.lora_A.grad),
        "grad_B2": _clone(second.lora_B.grad),
    }


def timing_run(module, seed: int, features: int, r: int, tokens: int, steps: int) -> float:
    """The timing workload, built here so no big tensor crosses the wire.

    A LoRALinear (dropout 0.1, train mode) around a seeded (features, features) base; `steps`
    forward and backward passes over (tokens, features) inputs and dropout masks with the base frozen, then
    merge, an eval forward, unmerge; returns the merged forward's sum.
    """
    g = torch.Generator().manual_seed(seed)
    base = nn.Linear(features, features)
    with torch.no_grad():
        base.weight.copy_(torch.randn(features, features, generator=g) / features**0.5)
    torch.manual_seed(seed)
    lora = module.LoRALinear(base, r, 2.0 * r, dropout=0.1)
    with torch.no_grad():
        lora.lora_B.copy_(torch.randn(lora.lora_B.shape, generator=g) * 0.01)
    lora.train()
    for _ in range(steps):
        x = torch.randn(tokens, features, generator=g).requires_grad_(True)
        keep = torch.rand(tokens, features, generator=g) >= 0.1
        lora(x, keep).square().mean().backward()
    lora.eval()
    lora.merge()
    with torch.no_grad():
        out = float(lora(torch.randn(tokens, features, generator=g)).sum())
    lora.unmerge()
    return out
