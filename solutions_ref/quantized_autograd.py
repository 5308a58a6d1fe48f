"""LSQ fake quantization as a custom autograd function (reference solution).

Learned Step Size Quantization, Esser et al., ICLR 2020: https://arxiv.org/abs/1902.08153

Forward: v = x / s, y = clamp(round_half_to_even(v), qmin, qmax) * s.
Backward (paper, eq. 3 and section 2.2):
    grad_x = grad_out where qmin < v < qmax, else 0     (straight-through estimator, clipped)
    grad_s = g * sum(grad_out * d) over the elements sharing s, with
        d = round(v) - v inside, qmin where v <= qmin, qmax where v >= qmax,
        g = 1 / sqrt(n * qmax), n = elements per scale.
Only x and scale are saved; v and the clip regions are recomputed in backward, which costs one
division and keeps the saved bytes at the size of the inputs.
"""

import math

import torch
from torch import Tensor


def _quant_range(bits: int, signed: bool) -> tuple[int, int]:
    """(qmin, qmax) of a `bits`-bit integer grid."""
    if signed:
        return -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
    return 0, 2**bits - 1


def _compute_dtype(x: Tensor, scale: Tensor) -> torch.dtype:
    """fp32 for half-precision inputs, fp64 when either input is fp64."""
    return torch.promote_types(torch.promote_types(x.dtype, scale.dtype), torch.float32)


def _scale_view(scale: Tensor, ndim: int, axis: int | None) -> Tensor:
    """A view of `scale` that broadcasts against x: 0-d per tensor, (1, .., C, .., 1) per channel."""
    if axis is None:
        return scale.reshape(())
    shape = [1] * ndim
    shape[axis] = -1
    return scale.reshape(shape)  # (1, .., C, .., 1)


def _check_inputs(x: Tensor, scale: Tensor, bits: int, signed: bool, axis: int | None) -> None:
    if isinstance(bits, bool) or not isinstance(bits, int) or not 2 <= bits <= 8:
        raise ValueError(f"bits must be an int in 2..8, got {bits!r}")
    if axis is None:
        if scale.numel() != 1:
            raise ValueError(f"per-tensor scale (axis=None) must have one element, got shape {tuple(scale.shape)}")
    else:
        if not -x.dim() <= axis < x.dim():
            raise ValueError(f"axis {axis} out of range for x of shape {tuple(x.shape)}")
        if tuple(scale.shape) != (x.shape[axis],):
            raise ValueError(
                f"per-channel scale must have shape (x.shape[{axis}],) = ({x.shape[axis]},), "
                f"got {tuple(scale.shape)} for x of shape {tuple(x.shape)}"
            )
    if not bool(((scale > 0) & scale.isfinite()).all()):
        raise ValueError(f"every scale must be finite and > 0, got {scale.flatten()[:8].tolist()}")


class LSQFakeQuantize(torch.autograd.Function):
    """y = clamp(round(x / s), qmin, qmax) * s with the LSQ gradients for x and s."""

    @staticmethod
    def forward(ctx, x: Tensor, scale: Tensor, bits: int, signed: bool, axis: int | None) -> Tensor:
        _check_inputs(x, scale, bits, signed, axis)
        qmin, qmax = _quant_range(bits, signed)
        cdt = _compute_dtype(x, scale)
        s = _scale_view(scale, x.dim(), axis).to(cdt)
        v = x.to(cdt) / s
        # torch.round rounds half to even; round in place to avoid a second full-size buffer
        y = v.round_().clamp_(qmin, qmax).mul_(s)
        ctx.save_for_backward(x, scale)
        ctx.bits, ctx.signed, ctx.axis = bits, signed, axis
        return y.to(x.dtype)

    @staticmethod
    def backward(ctx, grad_out: Tensor) -> tuple[Tensor | None, Tensor | None, None, None, None]:
        x, scale = ctx.saved_tensors
        qmin, qmax = _quant_range(ctx.bits, ctx.signed)
        cdt = _compute_dtype(x, scale)
        s = _scale_view(scale, x.dim(), ctx.axis).to(cdt)
        v = x.to(cdt) / s
        below, above = v <= qmin, v >= qmax
        inside = ~(below | above)

        grad_x = None
        if ctx.needs_input_grad[0]:
            # straight-through estimator, zero where the clamp is active
            grad_x = torch.where(inside, grad_out, 0).to(x.dtype)

        grad_s = None
        if ctx.needs_input_grad[1]:
            # d = round(v) - v inside, the clamp bound outside; masked_fill also replaces the
            # nan of inf - inf where x / s overflowed
            d = torch.round(v).sub_(v).masked_fill_(below, qmin).masked_fill_(above, qmax)
            n = x.numel() // max(scale.numel(), 1)  # elements per scale
            # gradient scale, paper section 2.2 (an empty x has n = 0 and nothing to sum)
            g = 1.0 / math.sqrt(max(n, 1) * qmax)
            terms = d.mul_(grad_out)
            if ctx.axis is None:
                grad_s = terms.sum()
            else:
                dims = [i for i in range(x.dim()) if i != ctx.axis % x.dim()]
                grad_s = terms.sum(dim=dims) if dims else terms  # (C,)
            grad_s = (g * grad_s).reshape(scale.shape).to(scale.dtype)
        return grad_x, grad_s, None, None, None


def lsq_fake_quantize(
    x: Tensor,
    scale: Tensor,
    *,
    bits: int = 8,
    signed: bool = True,
    axis: int | None = None,
) -> Tensor:
    """Fake-quantize x with step size `scale` (per tensor if axis is None, else per channel).

    x: any shape, floating point. scale: 0-d or one element (axis=None), or (x.shape[axis],).
    Returns y with the shape and dtype of x; gradients flow to x and scale (LSQ).
    """
    return LSQFakeQuantize.apply(x, scale, bits, signed, axis)
