"""LSQ fake quantization as a custom autograd function.

Learned Step Size Quantization, Esser et al., ICLR 2020: https://arxiv.org/abs/1902.08153
"""

import torch
from torch import Tensor


class LSQFakeQuantize(torch.autograd.Function):
    """y = clamp(round(x / s), qmin, qmax) * s with the LSQ gradients for x and s."""

    @staticmethod
    def forward(ctx, x: Tensor, scale: Tensor, bits: int, signed: bool, axis: int | None) -> Tensor:
        """Fake-quantize x; save what backward needs (x, scale, at most a 1-byte mask)."""
        raise NotImplementedError

    @staticmethod
    def backward(ctx, grad_out: Tensor) -> tuple[Tensor | None, Tensor | None, None, None, None]:
        """(grad_x, grad_s, None, None, None): clipped straight-through grad_x, LSQ grad_s."""
        raise NotImplementedError


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
    raise NotImplementedError
