"""Timing workload (checker side): what a take-home report's time and memory ratios measure.

Not a test of correctness (only Accepted solutions are timed): one realistic decoding step,
repeated, whose worker CPU time and peak memory are compared with the reference's
(docs/practice-and-takehomes.md).
"""

import torch


def test_workload(candidate):
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(32, 128_256, generator=g) * 2.5  # a batch of 32 over Llama 3's vocabulary
    uniforms = torch.rand(32, generator=g, dtype=torch.float64)
    prev_tokens = torch.randint(0, 128_256, (32, 256), generator=g)
    kwargs = {"temperature": 0.8, "top_k": 50, "top_p": 0.9, "min_p": 0.05, "repetition_penalty": 1.1}
    for _ in range(5):
        candidate.sample(logits, uniforms, prev_tokens=prev_tokens, **kwargs)
