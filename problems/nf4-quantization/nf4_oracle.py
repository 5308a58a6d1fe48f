"""Checker-side oracle for nf4-quantization, written in float64 with the statement's float32 steps.

Each float32 operation of the statement (one division, one sum, one product) is done in float64
on float32 operands and rounded to float32 once: float64 carries more than 2 * 24 + 2 bits, so
that double rounding gives the correctly rounded float32 result (Figueroa, 1995), the same as a
float32 operation. Codes are then exact, and so are the values the dequantizers return.
"""

import math

import torch
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
CODE = torch.tensor(NF4, dtype=torch.float64)  # (16,), every value exact in float32


def f32(t: Tensor) -> Tensor:
    """Round float64 values to float32 and back: one float32 rounding."""
    return t.to(torch.float32).to(torch.float64)


MIDPOINTS = f32(CODE[:-1] + CODE[1:]) / 2  # (15,) the float32 sum, halved exactly


def block_ids(n: int, block_size: int) -> Tensor:
    return torch.arange(n) // block_size  # (n,)


def block_absmax(values: Tensor, block_size: int) -> Tensor:
    """max |v| per block of consecutive values, the last block holding what is left."""
    n_blocks = math.ceil(values.numel() / block_size)
    return torch.stack([values[j * block_size : (j + 1) * block_size].abs().max() for j in range(n_blocks)])


def nf4_codes(w: Tensor, block_size: int) -> tuple[Tensor, Tensor]:
    """(codes (N,) int64 in 0..15, absmax (n_blocks,) float64 holding float32 values)."""
    flat = w.detach().reshape(-1).to(torch.float32).to(torch.float64)
    absmax = block_absmax(flat, block_size)
    per_element = absmax[block_ids(flat.numel(), block_size)]
    x = torch.where(per_element > 0, f32(flat / torch.where(per_element > 0, per_element, 1.0)), 0.0)
    codes = (x[:, None] > MIDPOINTS[None, :]).sum(dim=1)  # a value equal to m_k is not above it
    return codes, absmax


def pack(codes: Tensor) -> Tensor:
    """Two codes per byte: element 2j times 16 plus element 2j + 1 (0 past the end)."""
    values = [int(c) for c in codes]
    if len(values) % 2:
        values.append(0)
    return torch.tensor([16 * values[i] + values[i + 1] for i in range(0, len(values), 2)], dtype=torch.uint8)


def unpack(packed: Tensor, n: int) -> Tensor:
    codes = []
    for byte in packed.tolist():
        codes += [byte // 16, byte % 16]
    return torch.tensor(codes[:n], dtype=torch.int64)


def nf4_quantize(w: Tensor, block_size: int) -> tuple[Tensor, Tensor]:
    """(packed uint8, absmax float32) as the statement defines them."""
    codes, absmax = nf4_codes(w, block_size)
    return pack(codes), absmax.to(torch.float32)


def nf4_dequantize(packed: Tensor, absmax: Tensor, shape, block_size: int) -> Tensor:
    """float32 w_hat: the float32 product NF4[code] * absmax."""
    n = math.prod(shape)
    codes = unpack(packed, n)
    values = f32(CODE[codes] * absmax.double()[block_ids(n, block_size)])
    return values.to(torch.float32).reshape(tuple(shape))


def double_quantize_given_mean(absmax: Tensor, mean: Tensor, block_size: int) -> tuple[Tensor, Tensor]:
    """(codes int8, scales float32) for a float32 mean: every later step is exact float32 arithmetic."""
    a, m = absmax.double(), float(mean)
    centred = f32(a - m)
    scales = f32(block_absmax(centred, block_size) / 127)
    per_element = scales[block_ids(a.numel(), block_size)]
    ratio = torch.where(per_element > 0, f32(centred / torch.where(per_element > 0, per_element, 1.0)), 0.0)
    codes = torch.round(ratio).clamp(-127, 127)  # torch.round: half to even
    return codes.to(torch.int8), scales.to(torch.float32)


def exact_mean(absmax: Tensor) -> Tensor:
    """The mean in float64 (the candidate's float32 mean is compared to it with a tolerance)."""
    return absmax.double().sum() / absmax.numel()


def double_dequantize(codes: Tensor, scales: Tensor, mean: Tensor, block_size: int) -> Tensor:
    """float32 (q * scale) + mean, each step rounded to float32."""
    per_element = scales.double()[block_ids(codes.numel(), block_size)]
    return f32(f32(codes.double() * per_element) + float(mean)).to(torch.float32)


def random_weight(shape, dtype: torch.dtype, seed: int, spread: float = 1.0) -> Tensor:
    """Gaussian weights with a per-row magnitude between 1/spread and spread (blocks differ in absmax)."""
    g = torch.Generator().manual_seed(seed)
    w = torch.randn(*shape, generator=g, dtype=torch.float64)
    if w.dim() >= 1 and spread != 1.0:
        rows = torch.exp(math.log(spread) * (2 * torch.rand(w.shape[0], generator=g, dtype=torch.float64) - 1))
        w = w * rows.reshape(-1, *([1] * (w.dim() - 1)))
    return w.to(dtype)
