"""WRONG: per channel, g uses n = x.numel() instead of the number of elements per scale."""

import math

import torch
from torch import Tensor


def _qrange(bits: int, signed: bool) -> tuple[int, int]:
    if signed:
        return -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
    return 0, 2**bits - 1


def _validate(x: Tensor, scale: Tensor, bits: int, axis: int | None) -> None:
    if not isinstance(bits, int) or not 2 <= bits <= 8:
        raise ValueError(f"bits must be in 2..8, got {bits}")
    if axis is None:
        if scale.numel() != 1:
            raise ValueError(f"per-tensor scale must have one element, got {tuple(scale.shape)}")
    else:
        if not -x.dim() <= axis < x.dim():
            raise ValueError(f"axis {axis} out of range for {x.dim()}-d x")
        if tuple(scale.shape) != (x.shape[axis],):
            raise ValueError(f"scale shape {tuple(scale.shape)} != ({x.shape[axis]},)")
    if not bool((scale > 0).all()):
        raise ValueError("scale must be > 0")


def _broadcast(scale: Tensor, x: Tensor, axis: int | None) -> Tensor:
    if axis is None:
        return scale.reshape(())
    shape = [1] * x.dim()
    shape[axis] = -1
    return scale.reshape(shape)


def _reduce(t: Tensor, scale: Tensor, axis: int | None) -> Tensor:
    if axis is None:
        return t.sum().reshape(scale.shape)
    axis = axis % t.dim()
    dims = [d for d in range(t.dim()) if d != axis]
    return (t.sum(dim=dims) if dims else t).reshape(scale.shape)


class LSQFakeQuantize(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, scale, bits, signed, axis):
        _validate(x, scale, bits, axis)
        qmin, qmax = _qrange(bits, signed)
        dtype = torch.promote_types(torch.promote_types(x.dtype, scale.dtype), torch.float32)
        s = _broadcast(scale, x, axis).to(dtype)
        v = x.to(dtype) / s
        y = torch.clamp(torch.round(v), qmin, qmax) * s
        ctx.save_for_backward(x, scale)
        ctx.qmin, ctx.qmax, ctx.axis = qmin, qmax, axis
        return y.to(x.dtype)

    @staticmethod
    def backward(ctx, grad_out):
        x, scale = ctx.saved_tensors
        qmin, qmax, axis = ctx.qmin, ctx.qmax, ctx.axis
        dtype = torch.promote_types(torch.promote_types(x.dtype, scale.dtype), torch.float32)
        s = _broadcast(scale, x, axis).to(dtype)
        v = x.to(dtype) / s
        below = v <= qmin
        above = v >= qmax
        inside = ~below & ~above
        grad_x = torch.where(inside, grad_out, torch.zeros_like(grad_out))
        d = torch.where(inside, torch.round(v) - v, torch.zeros_like(v))
        d = torch.where(below, torch.full_like(v, qmin), d)
        d = torch.where(above, torch.full_like(v, qmax), d)
        n = x.numel()
        g = 1.0 / math.sqrt(n * qmax)
        grad_s = g * _reduce(grad_out.to(dtype) * d, scale, axis)
        return grad_x, grad_s.to(scale.dtype), None, None, None


def lsq_fake_quantize(x, scale, *, bits=8, signed=True, axis=None):
    return LSQFakeQuantize.apply(x, scale, bits, signed, axis)
