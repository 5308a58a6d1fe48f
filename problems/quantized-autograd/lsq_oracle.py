"""Checker-side float64 oracle and input builders for quantized-autograd (never in the worker).

The oracle follows the statement literally: v = x / s in float64, round half to even, strict
inside test, the LSQ d and g. Random inputs are made unambiguous first (`make_unambiguous`): an
element whose v lies within a hair of a rounding tie or of qmin / qmax is set to 0, so that any
correct way of computing x / s (fp32, fp64, x * (1 / s)) rounds it the same way. Ties and clamp
edges are tested separately with power-of-two scales, where x / s is exact.
"""

import math
from dataclasses import dataclass

import torch
from torch import Tensor

# |v - tie| or |v - bound| below this (relative to max(1, |v|)) counts as ambiguous
AMBIGUOUS = 1e-4


def quant_range(bits: int, signed: bool) -> tuple[int, int]:
    if signed:
        return -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
    return 0, 2**bits - 1


def scale_view(scale: Tensor, ndim: int, axis: int | None) -> Tensor:
    if axis is None:
        return scale.reshape(())
    shape = [1] * ndim
    shape[axis] = -1
    return scale.reshape(shape)


@dataclass
class Expected:
    y: Tensor  # dtype of x
    grad_x: Tensor  # dtype of x
    grad_s: Tensor  # dtype and shape of scale
    grad_s_atol: Tensor  # per element of grad_s: tolerance scaled by the summed terms


def lsq_oracle(
    x: Tensor,
    scale: Tensor,
    grad_out: Tensor,
    bits: int,
    signed: bool,
    axis: int | None,
    rtol: float,
) -> Expected:
    """y, grad_x, grad_s in float64, cast to the dtypes the submission must return.

    grad_s_atol = rtol * g * sum(|grad_out| * max(1, |clamp(v, qmin, qmax)|)) over each scale's
    elements: grad_s sums terms of size |grad_out * v| (round(v) - v loses the low bits of v),
    and their rounding errors need not cancel the way the terms themselves do.
    """
    qmin, qmax = quant_range(bits, signed)
    x64, g64 = x.double(), grad_out.double()
    s = scale_view(scale.double(), x.dim(), axis)
    v = x64 / s
    below, above = v <= qmin, v >= qmax
    inside = ~(below | above)
    y = torch.round(v).clamp(qmin, qmax) * s
    grad_x = torch.where(inside, g64, 0.0)
    d = torch.where(inside, torch.round(v) - v, 0.0)
    d = d.masked_fill(below, qmin).masked_fill(above, qmax)
    n = x.numel() // max(scale.numel(), 1)
    g = 1.0 / math.sqrt(n * qmax) if n else 0.0  # empty x: grad_s = 0
    magnitude = g64.abs() * v.clamp(qmin, qmax).abs().clamp_min(1.0)
    terms = g64 * d
    if axis is None:
        grad_s, size = terms.sum(), magnitude.sum()
    else:
        dims = [i for i in range(x.dim()) if i != axis % x.dim()]
        grad_s = terms.sum(dim=dims) if dims else terms
        size = magnitude.sum(dim=dims) if dims else magnitude
    return Expected(
        y=y.to(x.dtype),
        grad_x=grad_x.to(x.dtype),
        grad_s=(g * grad_s).reshape(scale.shape).to(scale.dtype),
        grad_s_atol=(rtol * g * size).reshape(scale.shape),
    )


def make_unambiguous(x: Tensor, scale: Tensor, bits: int, signed: bool, axis: int | None) -> Tensor:
    """x with every element whose x / s sits on a knife edge (tie or clamp bound) set to 0."""
    qmin, qmax = quant_range(bits, signed)
    v = x.double() / scale_view(scale.double(), x.dim(), axis)
    slack = AMBIGUOUS * v.abs().clamp_min(1.0)
    near_tie = ((v - torch.floor(v)) - 0.5).abs() < slack
    near_bound = ((v - qmin).abs() < slack) | ((v - qmax).abs() < slack)
    return x.masked_fill(near_tie | near_bound, 0.0)


def random_case(
    shape: tuple[int, ...],
    bits: int,
    signed: bool,
    axis: int | None,
    dtype: torch.dtype,
    seed: int,
    reach: float = 1.5,
) -> tuple[Tensor, Tensor, Tensor]:
    """(x, scale, grad_out): x ~ N(0, 1) per channel with its own spread, scales such that a
    fraction of x falls outside [qmin * s, qmax * s] (reach = max|x| / (qmax * s) roughly)."""
    generator = torch.Generator().manual_seed(seed)
    qmin, qmax = quant_range(bits, signed)
    channels = 1 if axis is None else shape[axis]
    spread = torch.rand(channels, generator=generator, dtype=torch.float64) * 3 + 0.25
    s = spread * 2.5 / (reach * qmax)  # (C,)
    x = torch.randn(shape, generator=generator, dtype=torch.float64)
    x = x * scale_view(spread, len(shape), axis)
    if not signed:
        x = x + 0.3 * scale_view(spread, len(shape), axis)  # mostly positive, some below 0
    scale = s.reshape(()) if axis is None else s
    scale = scale.to(dtype)
    x = make_unambiguous(x.to(dtype), scale, bits, signed, axis)
    grad_out = torch.randn(shape, generator=generator, dtype=torch.float64).to(dtype)
    return x, scale, grad_out
