"""Timing workload (checker side): what a take-home report's time and memory ratios measure.

Not a test of correctness (only Accepted solutions are timed): one realistic call, repeated,
whose worker CPU time and peak memory are compared with the reference's (docs/practice-and-takehomes.md).
"""

import torch


def test_workload(candidate):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(1024, 1024, generator=g)
    scale = torch.rand(1024, generator=g) * 0.1 + 0.01
    for _ in range(5):
        candidate.driver.forward_backward(x, scale, torch.ones(1024, 1024), 8, True, 0)
