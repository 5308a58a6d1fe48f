"""A LoRA adapter around a frozen nn.Linear, with merge and unmerge.

LoRA, Hu et al., ICLR 2022: https://arxiv.org/abs/2106.09685
rsLoRA, Kalajdzievski, 2023: https://arxiv.org/abs/2312.03732
"""

import torch.nn as nn
from torch import Tensor


class LoRALinear(nn.Module):
    def __init__(self, base: nn.Linear, r: int, alpha: float, dropout: float = 0.0, use_rslora: bool = False) -> None:
        """Wrap `base` (weight (F, C)): freeze it, add lora_A (r, C) and lora_B (F, r, zeros)."""
        super().__init__()
        raise NotImplementedError

    def forward(self, x: Tensor, dropout_mask: Tensor | None = None) -> Tensor:
        """(..., C) -> (..., F): base(x) + scaling * B A x_a, x_a the (dropped-out) adapter input."""
        raise NotImplementedError

    def merge(self) -> None:
        """W <- W + scaling * B A, once."""
        raise NotImplementedError

    def unmerge(self) -> None:
        """W <- W - scaling * B A, once."""
        raise NotImplementedError
