"""Timing workload (checker side): what a take-home report's time and memory ratios measure.

Not a test of correctness (only Accepted solutions are timed): one realistic generation, a
left-padded prompt batch and 64 decode steps run in the worker, whose CPU time and peak memory
are compared with the reference's (docs/practice-and-takehomes.md).
"""

import torch


def test_workload(candidate):
    g = torch.Generator().manual_seed(0)
    C, H, Hkv, D, B, T, S = 256, 8, 2, 32, 4, 256, 64
    weights = [torch.randn(C, H * D, generator=g) / C**0.5]
    weights += [torch.randn(C, Hkv * D, generator=g) / C**0.5 for _ in range(2)]
    weights += [torch.randn(H * D, C, generator=g) / (H * D) ** 0.5]
    x = torch.randn(B, T, C, generator=g)
    mask = torch.arange(T)[None, :] >= torch.tensor([0, 17, 64, 200])[:, None]  # left padding
    steps = torch.randn(B, S, C, generator=g)
    candidate.driver.generate(weights, {"n_heads": H, "n_kv_heads": Hkv}, x, mask, steps)
