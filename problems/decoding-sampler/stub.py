"""Token sampling for LLM decoding: repetition penalty, temperature, top-k, top-p, min-p.

Nucleus sampling, Holtzman et al., ICLR 2020: https://arxiv.org/abs/1904.09751
Min-p sampling, Nguyen et al., 2024: https://arxiv.org/abs/2407.01082
"""

from torch import Tensor


def sample(
    logits: Tensor,
    uniforms: Tensor,
    *,
    temperature: float = 1.0,
    top_k: int = 0,
    top_p: float = 1.0,
    min_p: float = 0.0,
    repetition_penalty: float = 1.0,
    prev_tokens: Tensor | None = None,
) -> Tensor:
    """One token id per row: (B,) int64, picked from logits (B, V) by the uniforms (B,) in [0, 1).

    Steps in order: repetition penalty, temperature (0: greedy), top-k, top-p, min-p, then the
    inverse CDF of the renormalised distribution along tokens sorted by logit (ties: smaller id).
    """
    raise NotImplementedError
