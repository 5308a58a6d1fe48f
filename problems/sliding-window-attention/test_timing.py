"""Timing workload (checker side): what a take-home report's time and memory ratios measure.

Not a test of correctness (only Accepted solutions are timed): one realistic call, repeated,
whose worker CPU time and peak memory are compared with the reference's (docs/practice-and-takehomes.md).
"""

import torch


def test_workload(candidate):
    g = torch.Generator().manual_seed(0)
    q = torch.randn(2, 8, 1024, 64, generator=g)
    k, v = torch.randn(2, 2, 1024, 64, generator=g), torch.randn(2, 2, 1024, 64, generator=g)
    for _ in range(3):
        candidate.sliding_window_attention(q, k, v, 128)
