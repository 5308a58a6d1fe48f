"""Timing workload (checker side): what a take-home report's time and memory ratios measure.

Not a test of correctness (only Accepted solutions are timed): one realistic call, repeated,
whose worker CPU time and peak memory are compared with the reference's (docs/practice-and-takehomes.md).
"""

import torch


def test_workload(candidate):
    g = torch.Generator().manual_seed(0)
    logp, old, ref = (-torch.rand(256, 2048, generator=g) * 5 for _ in range(3))
    mask = torch.rand(256, 2048, generator=g) > 0.2
    rewards = torch.rand(256, generator=g)
    for _ in range(5):
        advantages = candidate.group_advantages(rewards, 8)
        candidate.grpo_loss(logp, old, ref, advantages, mask, clip_eps=0.2, kl_beta=0.04)
