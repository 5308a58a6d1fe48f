"""Worker-side helpers for nf4-quantization: what cannot cross the boundary as plain data.

Tensors cross as contiguous copies and a torch.dtype cannot cross at all, so non-contiguous
inputs are made here and dtypes travel by name.
"""

import torch


def quantize_transposed(module, w, block_size: int):
    """nf4_quantize of w.T (a non-contiguous view); returns (packed, absmax, w.T.is_contiguous())."""
    view = w.T
    packed, absmax = module.nf4_quantize(view, block_size)
    return packed, absmax, view.is_contiguous()


def quantize_strided(module, w, block_size: int):
    """nf4_quantize of w[:, ::2] (a non-contiguous slice)."""
    return module.nf4_quantize(w[:, ::2], block_size)


def dequantize(module, packed, absmax, shape, block_size: int, dtype_name: str, size: bool = False):
    """nf4_dequantize with dtype=getattr(torch, dtype_name); shape as a torch.Size when size is True."""
    dtype = getattr(torch, dtype_name)
    return module.nf4_dequantize(packed, absmax, torch.Size(shape) if size else shape, block_size, dtype)


def dequantize_default_dtype(module, packed, absmax, shape, block_size: int):
    """nf4_dequantize with dtype omitted and with dtype=torch.float32 given: (omitted, explicit)."""
    omitted = module.nf4_dequantize(packed, absmax, shape, block_size)
    explicit = module.nf4_dequantize(packed, absmax, shape, block_size, dtype=torch.float32)
    return omitted, explicit


def timing_run(module, seed: int, shape: list[int], block_size: int, rounds: int) -> float:
    """The timing workload, built here so no big tensor crosses the wire.

    `rounds` times: a seeded weight of `shape` quantized, its absmax double-quantized and
    dequantized, the weight dequantized to bfloat16; returns the last round's mean absolute error.
    """
    g = torch.Generator().manual_seed(seed)
    error = 0.0
    for _ in range(rounds):
        w = torch.randn(*shape, generator=g) * 0.02
        packed, absmax = module.nf4_quantize(w, block_size)
        codes, scales, mean = module.double_quantize(absmax, 256)
        absmax_hat = module.double_dequantize(codes, scales, mean, 256)
        w_hat = module.nf4_dequantize(packed, absmax_hat, tuple(shape), block_size, torch.bfloat16)
        error = float((w_hat.float() - w).abs().mean())
    return error
