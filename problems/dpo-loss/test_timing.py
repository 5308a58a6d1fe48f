"""Timing workload (checker side): what a take-home report's time and memory ratios measure.

Not a test of correctness (only Accepted solutions are timed): one realistic call, repeated,
whose worker CPU time and peak memory are compared with the reference's (docs/practice-and-takehomes.md).
"""

import torch


def test_workload(candidate):
    g = torch.Generator().manual_seed(0)
    logps = [-torch.rand(256, 2048, generator=g) * 5 for _ in range(4)]
    mask = torch.rand(256, 2048, generator=g) > 0.2
    for _ in range(5):
        candidate.driver.forward_backward(*logps, mask, mask, {"beta": 0.1})
