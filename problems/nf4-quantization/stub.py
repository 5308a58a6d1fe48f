"""Blockwise 4-bit NormalFloat (NF4) quantization with double quantization.

QLoRA, Dettmers et al., NeurIPS 2023: https://arxiv.org/abs/2305.14314
"""

import torch
from torch import Tensor

# bitsandbytes' NF4 code values: code k stands for NF4[k]
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


def nf4_quantize(w: Tensor, block_size: int = 64) -> tuple[Tensor, Tensor]:
    """(packed, absmax): packed (ceil(N / 2),) uint8, two codes per byte, element 2j in the high
    nibble; absmax (ceil(N / block_size),) float32, one per block of w.flatten()."""
    raise NotImplementedError


def nf4_dequantize(
    packed: Tensor,
    absmax: Tensor,
    shape: tuple[int, ...],
    block_size: int = 64,
    dtype: torch.dtype = torch.float32,
) -> Tensor:
    """w_hat of `shape` and `dtype`: NF4[code] * absmax of its block, computed in float32."""
    raise NotImplementedError


def double_quantize(absmax: Tensor, block_size: int = 256) -> tuple[Tensor, Tensor, Tensor]:
    """(codes, scales, mean): codes (n,) int8, scales (ceil(n / block_size),) float32, mean 0-d float32."""
    raise NotImplementedError


def double_dequantize(codes: Tensor, scales: Tensor, mean: Tensor, block_size: int = 256) -> Tensor:
    """absmax_hat (n,) float32: codes * scale of the code's block + mean."""
    raise NotImplementedError
