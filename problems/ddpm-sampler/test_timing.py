"""Timing workload (checker side): what a take-home report's time and memory ratios measure.

Not a test of correctness (only Accepted solutions are timed): 20 DDIM steps with guidance on a
batch of 4 Stable-Diffusion-sized latents (4 x 64 x 64), then 20 ancestral steps.
"""

import torch


def test_workload(candidate):
    g = torch.Generator().manual_seed(0)
    betas = candidate.beta_schedule("cosine", 1000)
    diffusion = candidate.GaussianDiffusion(betas)
    x = torch.randn(4, 4, 64, 64, generator=g)
    eps_cond, eps_uncond, z = (torch.randn(4, 4, 64, 64, generator=g) for _ in range(3))
    steps = list(range(999, -1, -50))
    for t, t_prev in zip(steps, [*steps[1:], -1], strict=True):
        eps = candidate.cfg(eps_cond, eps_uncond, 7.5)
        x = diffusion.ddim_step(eps, x, torch.full((4,), t), torch.full((4,), t_prev), 0.0, z)
    for t in range(19, -1, -1):
        x = diffusion.p_sample_step(eps_cond, x.clamp(-5, 5), torch.full((4,), t), z)
