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
