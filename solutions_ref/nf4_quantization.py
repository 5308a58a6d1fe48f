"""Blockwise 4-bit NormalFloat (NF4) quantization with double quantization (reference solution).

QLoRA, Dettmers et al., NeurIPS 2023: https://arxiv.org/abs/2305.14314
The NF4 code values are the 16 values of bitsandbytes' NF4 table.

nf4_quantize, per block of `block_size` consecutive elements of w.flatten():
    absmax = max |w| over the block
    x = w / absmax                         (x = 0 for an all-zero block)
    code = #{k : m_k < x},  m_k = (c_k + c_{k+1}) / 2     (a tie at m_k goes to code k)
    packed byte j = code[2j] << 4 | code[2j + 1]
double_quantize, on the absmax vector a of length n:
    mean = mean(a);  c = a - mean
    scale_j = max |c| over block j / 127
    q = clamp(round_half_even(c / scale_j), -127, 127)   (q = 0 where scale_j == 0)
"""

import math

import torch
import torch.nn.functional as F
from torch import Tensor

NF4 = (
    -1.0,
    -0.6961928009986877,
    -0.5250730514526367,
    -0.39491748809814453,
    -0.28444138169288635,
    -0.18477343022823334,
    -0.09105003625154495,
    0.0,
    0.07958029955625534,
    0.16093020141124725,
    0.24611230194568634,
    0.33791524171829224,
    0.44070982933044434,
    0.5626170039176941,
    0.7229568362236023,
    1.0,
)
INT8_MAX = 127


def _code_values() -> Tensor:
    return torch.tensor(NF4, dtype=torch.float32)  # (16,)


def _midpoints() -> Tensor:
    c = _code_values()
    return (c[:-1] + c[1:]) / 2  # (15,) float32


def _check_block_size(block_size: int) -> None:
    if isinstance(block_size, bool) or not isinstance(block_size, int) or block_size < 1:
        raise ValueError(f"block_size must be an int >= 1, got {block_size!r}")


def _check_float32_vector(t: Tensor, name: str) -> None:
    if not isinstance(t, Tensor) or t.dtype != torch.float32 or t.dim() != 1 or t.numel() == 0:
        got = f"{t.dtype} of shape {tuple(t.shape)}" if isinstance(t, Tensor) else type(t).__name__
        raise ValueError(f"{name} must be a non-empty 1-D float32 tensor, got {got}")
    if not torch.isfinite(t).all():
        raise ValueError(f"{name} must be finite")


def _blocks(flat: Tensor, block_size: int) -> Tensor:
    """(N,) -> (n_blocks, block_size), the last block padded with zeros (they change no block max)."""
    n_blocks = math.ceil(flat.numel() / block_size)
    return F.pad(flat, (0, n_blocks * block_size - flat.numel())).view(n_blocks, block_size)


def nf4_quantize(w: Tensor, block_size: int = 64) -> tuple[Tensor, Tensor]:
    """(packed, absmax): packed (ceil(N / 2),) uint8 codes, absmax (ceil(N / block_size),) float32."""
    if not isinstance(w, Tensor) or not w.is_floating_point():
        raise ValueError(f"w must be a floating-point tensor, got {getattr(w, 'dtype', type(w).__name__)}")
    if w.numel() == 0:
        raise ValueError(f"w must have at least one element, got shape {tuple(w.shape)}")
    if not torch.isfinite(w).all():
        raise ValueError("w must be finite (no inf or NaN)")
    _check_block_size(block_size)

    flat = w.reshape(-1).to(torch.float32)  # (N,) row-major; half and float64 inputs become float32
    N = flat.numel()
    blocks = _blocks(flat, block_size)  # (n_blocks, block_size)
    absmax = blocks.abs().amax(dim=1)  # (n_blocks,)

    # x = w / absmax; an all-zero block keeps x = 0, the code of 0.0
    divisor = torch.where(absmax > 0, absmax, torch.ones_like(absmax))
    x = blocks / divisor[:, None]  # (n_blocks, block_size) in [-1, 1]
    # bucketize(right=False) counts the midpoints strictly below x: a tie at m_k gives code k
    codes = torch.bucketize(x, _midpoints()).reshape(-1)[:N].to(torch.uint8)  # (N,)

    if N % 2:
        codes = F.pad(codes, (0, 1))  # the unused low nibble of the last byte is 0
    packed = (codes[0::2] << 4) | codes[1::2]  # (ceil(N / 2),) element 2j high, 2j + 1 low
    return packed, absmax


def nf4_dequantize(
    packed: Tensor,
    absmax: Tensor,
    shape: tuple[int, ...],
    block_size: int = 64,
    dtype: torch.dtype = torch.float32,
) -> Tensor:
    """w_hat of `shape` and `dtype`: NF4[code] * absmax of the code's block, computed in float32."""
    if not isinstance(packed, Tensor) or packed.dtype != torch.uint8 or packed.dim() != 1:
        raise ValueError(f"packed must be a 1-D uint8 tensor, got {getattr(packed, 'dtype', type(packed).__name__)}")
    _check_float32_vector(absmax, "absmax")
    _check_block_size(block_size)
    if not isinstance(shape, tuple | list | torch.Size) or not all(
        isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape
    ):
        raise ValueError(f"shape must be a tuple of ints >= 0, got {shape!r}")
    N = math.prod(shape)
    if N == 0 or packed.numel() != math.ceil(N / 2) or absmax.numel() != math.ceil(N / block_size):
        raise ValueError(
            f"shape {tuple(shape)} ({N} elements, block_size {block_size}) needs {math.ceil(N / 2)} bytes and "
            f"{math.ceil(N / block_size)} absmax values, got {packed.numel()} and {absmax.numel()}"
        )
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise ValueError(f"dtype must be a floating-point torch.dtype, got {dtype!r}")

    codes = torch.stack([packed >> 4, packed & 0xF], dim=1).reshape(-1)[:N].long()  # (N,)
    values = _blocks(_code_values()[codes], block_size)  # (n_blocks, block_size)
    w_hat = (values * absmax[:, None]).reshape(-1)[:N]  # (N,) float32
    return w_hat.reshape(tuple(shape)).to(dtype)


def double_quantize(absmax: Tensor, block_size: int = 256) -> tuple[Tensor, Tensor, Tensor]:
    """(codes, scales, mean): codes (n,) int8, scales (ceil(n / block_size),) float32, mean 0-d float32."""
    _check_float32_vector(absmax, "absmax")
    _check_block_size(block_size)

    n = absmax.numel()
    mean = absmax.mean()  # () float32, over the n values only
    centred = absmax - mean  # (n,)
    blocks = _blocks(centred, block_size)  # (n_blocks, block_size); padding after centring adds zeros
    scales = blocks.abs().amax(dim=1) / INT8_MAX  # (n_blocks,)

    # scale 0 (a constant block, or an underflowing one): codes 0
    divisor = torch.where(scales > 0, scales, torch.ones_like(scales))
    q = torch.round(blocks / divisor[:, None])  # half to even
    codes = q.clamp(-INT8_MAX, INT8_MAX).to(torch.int8).reshape(-1)[:n]  # (n,)
    return codes, scales, mean


def double_dequantize(codes: Tensor, scales: Tensor, mean: Tensor, block_size: int = 256) -> Tensor:
    """absmax_hat (n,) float32: codes * scale of the code's block + mean."""
    if not isinstance(codes, Tensor) or codes.dtype != torch.int8 or codes.dim() != 1 or codes.numel() == 0:
        raise ValueError(f"codes must be a non-empty 1-D int8 tensor, got {getattr(codes, 'dtype', type(codes))}")
    _check_float32_vector(scales, "scales")
    _check_block_size(block_size)
    if scales.numel() != math.ceil(codes.numel() / block_size):
        raise ValueError(
            f"{codes.numel()} codes with block_size {block_size} need {math.ceil(codes.numel() / block_size)} "
            f"scales, got {scales.numel()}"
        )
    if not isinstance(mean, Tensor) or mean.dtype != torch.float32 or mean.dim() != 0 or not torch.isfinite(mean):
        raise ValueError(f"mean must be a finite 0-d float32 tensor, got {getattr(mean, 'shape', type(mean))}")

    n = codes.numel()
    q = _blocks(codes.to(torch.float32), block_size)  # (n_blocks, block_size)
    return (q * scales[:, None]).reshape(-1)[:n] + mean  # (n,)
