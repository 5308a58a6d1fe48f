"""A LoRA adapter around a frozen nn.Linear, with merge and unmerge (reference solution).

LoRA, Hu et al., ICLR 2022: https://arxiv.org/abs/2106.09685
rsLoRA, Kalajdzievski, 2023: https://arxiv.org/abs/2312.03732

The base weight W (F, C) is frozen; the update is a product of two small matrices:
    h = W x + b + scaling * B (A dropout(x))      A: (r, C), B: (F, r), B = 0 at init
    scaling = alpha / r                            (alpha / sqrt(r) with rsLoRA)
merge():   W <- W + scaling * B A   (inference: one matmul, no adapter path)
unmerge(): W <- W - scaling * B A
"""

import math

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor


class LoRALinear(nn.Module):
    def __init__(self, base: nn.Linear, r: int, alpha: float, dropout: float = 0.0, use_rslora: bool = False) -> None:
        super().__init__()
        if not isinstance(base, nn.Linear):
            raise TypeError(f"base must be an nn.Linear, got {type(base).__name__}")
        if not isinstance(r, int) or isinstance(r, bool) or r < 1:
            raise ValueError(f"r must be an int >= 1, got {r!r}")
        if not isinstance(alpha, int | float) or not (math.isfinite(alpha) and alpha > 0):
            raise ValueError(f"alpha must be a finite number > 0, got {alpha!r}")
        if not isinstance(dropout, int | float) or not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout!r}")

        self.base = base
        self.base.weight.requires_grad_(False)  # frozen: only A and B train
        if self.base.bias is not None:
            self.base.bias.requires_grad_(False)
        self.dropout = float(dropout)
        self.scaling = alpha / math.sqrt(r) if use_rslora else alpha / r
        self.merged = False

        out_features, in_features = base.weight.shape  # (F, C)
        # float32 adapters on a half-precision base, as QLoRA / PEFT keep them
        adapter_dtype = torch.promote_types(base.weight.dtype, torch.float32)
        self.lora_A = nn.Parameter(torch.empty(r, in_features, dtype=adapter_dtype))  # (r, C)
        self.lora_B = nn.Parameter(torch.zeros(out_features, r, dtype=adapter_dtype))  # (F, r): the update starts at 0
        # U(-1/sqrt(C), 1/sqrt(C)), as nn.Linear initialises its weight
        nn.init.kaiming_uniform_(self.lora_A, a=math.sqrt(5))

    def _delta_weight(self) -> Tensor:
        return self.scaling * (self.lora_B @ self.lora_A)  # (F, C), adapter dtype

    def forward(self, x: Tensor, dropout_mask: Tensor | None = None) -> Tensor:
        W, b = self.base.weight, self.base.bias
        if x.dim() < 1 or x.shape[-1] != W.shape[1] or x.dtype != W.dtype:
            raise ValueError(
                f"x must be (..., C={W.shape[1]}) of dtype {W.dtype}, got {tuple(x.shape)} of dtype {x.dtype}"
            )
        if dropout_mask is not None and (dropout_mask.dtype != torch.bool or dropout_mask.shape != x.shape):
            raise ValueError(
                f"dropout_mask must be bool of x's shape {tuple(x.shape)}, "
                f"got {tuple(dropout_mask.shape)} of dtype {dropout_mask.dtype}"
            )
        if self.merged:
            return F.linear(x, W, b)  # the adapter lives in W now; no dropout at inference

        compute_dtype = self.lora_A.dtype  # float32 for half inputs
        x_c = x.to(compute_dtype)
        x_adapter = x_c
        if self.training and self.dropout > 0:
            if dropout_mask is None:
                raise ValueError("training with dropout > 0 needs a dropout_mask (True = keep)")
            x_adapter = x_c * dropout_mask / (1.0 - self.dropout)  # inverted dropout, adapter path only

        b_c = None if b is None else b.to(compute_dtype)
        h = F.linear(x_c, W.to(compute_dtype), b_c)  # (..., F)
        h = h + self.scaling * (x_adapter @ self.lora_A.T) @ self.lora_B.T  # (..., r) -> (..., F)
        return h.to(x.dtype)

    @torch.no_grad()
    def merge(self) -> None:
        if self.merged:
            return
        W = self.base.weight
        W.copy_(W.to(self.lora_A.dtype) + self._delta_weight())
        self.merged = True

    @torch.no_grad()
    def unmerge(self) -> None:
        if not self.merged:
            return
        W = self.base.weight
        W.copy_(W.to(self.lora_A.dtype) - self._delta_weight())
        self.merged = False
