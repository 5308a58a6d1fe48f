"""Public tests for ddpm-sampler: the statement's examples, runnable with `judge test`."""

import torch

from judge_harness import assert_close, expect_raises

ONE = torch.ones(1, 1, dtype=torch.float64)


def step(value: int) -> torch.Tensor:
    return torch.tensor([value])


def scalar(value: float) -> torch.Tensor:
    return torch.tensor([[value]], dtype=torch.float64)


def test_schedules_example(candidate):
    expected = torch.tensor([1e-4, 0.01005, 0.02], dtype=torch.float64)
    assert_close(candidate.beta_schedule("linear", 3), expected, name="linear betas, T=3")
    cosine = candidate.beta_schedule("cosine", 2)
    assert_close(cosine, torch.tensor([0.5061564095593623, 0.999], dtype=torch.float64), name="cosine betas, T=2")


def test_q_sample_and_ddpm_example(candidate):
    d = candidate.GaussianDiffusion(torch.tensor([0.1, 0.2, 0.5], dtype=torch.float64))
    assert_close(d.q_sample(ONE, step(1), ONE), scalar(1.3776783996367752), name="q_sample at t=1")
    assert_close(d.p_sample_step(ONE, ONE, step(1), ONE), scalar(0.9627181032980608), name="DDPM step at t=1")
    assert_close(d.p_sample_step(ONE, ONE, step(0), ONE), scalar(0.7207592200561264), name="DDPM step at t=0")


def test_ddim_and_cfg_example(candidate):
    d = candidate.GaussianDiffusion(torch.tensor([0.1, 0.2, 0.5], dtype=torch.float64))
    assert_close(d.ddim_step(ONE, ONE, step(2), step(0), 0.0, ONE), scalar(0.6324555320336758), name="DDIM, eta=0")
    assert_close(d.ddim_step(ONE, ONE, step(2), step(0), 1.0, ONE), scalar(0.7014709253689446), name="DDIM, eta=1")
    assert_close(d.ddim_step(ONE, ONE, step(2), step(-1), 1.0, ONE), scalar(1 / 3), name="DDIM to x0")
    guided = candidate.cfg(torch.tensor([1.0]), torch.tensor([0.5]), 3)
    assert_close(guided, torch.tensor([2.0]), name="cfg, w=3")


def test_unknown_schedule_raises(candidate):
    with expect_raises("ValueError"):
        candidate.beta_schedule("quadratic", 10)
