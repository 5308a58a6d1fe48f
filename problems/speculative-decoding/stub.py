"""Speculative decoding: verify a draft model's tokens against the target model.

Leviathan et al., ICML 2023: https://arxiv.org/abs/2211.17192
Chen et al., 2023: https://arxiv.org/abs/2302.01318
"""

from torch import Tensor


def verify(draft_tokens: Tensor, q_draft: Tensor, p_target: Tensor, uniforms: Tensor) -> tuple[Tensor, Tensor]:
    """(tokens, num_tokens) for a batch of B rows with K drafts each.

    draft_tokens: (B, K) integer; q_draft: (B, K, V); p_target: (B, K + 1, V); uniforms: (B, K + 1)
    in [0, 1). tokens: (B, K + 1) int64, the accepted drafts then one drawn token, padded with -1;
    num_tokens: (B,) int64, the number of tokens each row emits (1 to K + 1).
    """
    raise NotImplementedError
