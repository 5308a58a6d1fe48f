"""Timing workload (checker side): what a take-home report's time and memory ratios measure.

Not a test of correctness (only Accepted solutions are timed): one realistic verification step,
repeated: a batch of 64 sequences, 5 draft tokens each, a 32000-token vocabulary in float32.
"""

import torch


def test_workload(candidate):
    g = torch.Generator().manual_seed(0)
    B, K, V = 64, 5, 32000
    draft_logits = torch.randn(B, K, V, generator=g) * 3
    q = torch.softmax(draft_logits, dim=-1)
    p = torch.softmax(
        torch.cat([draft_logits, torch.zeros(B, 1, V)], dim=1) + torch.randn(B, K + 1, V, generator=g), dim=-1
    )
    draft_tokens = torch.multinomial(q.reshape(B * K, V), 1, generator=g).reshape(B, K)
    for _ in range(5):
        candidate.verify(draft_tokens, q, p, torch.rand(B, K + 1, generator=g))
