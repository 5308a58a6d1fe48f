"""Public tests for generative-model-losses: the statement's examples, runnable with `judge test`.

The WGAN-GP examples go through the problem's driver, which builds the critic (a torch.nn.Module)
next to your code and returns the penalty, the critic's parameter gradients and a few flags.
"""

import math

import torch

from judge_harness import assert_close, expect_raises

LINEAR_CRITIC = {"kind": "linear", "keepdim": False, "v": torch.tensor([3.0, 4.0]), "d": torch.tensor(0.0)}
REAL, FAKE, ALPHA = torch.tensor([[1.0, 0.0]]), torch.tensor([[0.0, 1.0]]), torch.tensor([0.3])


def test_reparameterize_example(candidate):
    mu, logvar = torch.tensor([[0.5, -1.0]]), torch.tensor([[0.0, 2 * math.log(2)]])
    z = candidate.reparameterize(mu, logvar, torch.tensor([[1.0, -0.5]]))
    assert_close(z, torch.tensor([[1.5, -2.0]]), name="z")


def test_elbo_examples(candidate):
    x, logits = torch.tensor([[1.0, 0.0]]), torch.tensor([[0.0, 0.0]])
    mu, logvar = torch.tensor([[1.0, 0.0]]), torch.tensor([[0.0, math.log(2)]])
    assert_close(candidate.elbo(x, logits, mu, logvar), torch.tensor(-2.039721), name="elbo")
    assert_close(candidate.elbo(x, logits, mu, logvar, beta=0.0), torch.tensor(-1.386294), name="elbo, beta=0")
    x, logits = torch.tensor([[0.0, 1.0]]), torch.tensor([[100.0, -100.0]])
    assert_close(candidate.elbo(x, logits, mu, logvar, beta=0), torch.tensor(-200.0), name="elbo, logits +-100")


def test_gradient_penalty_example(candidate):
    value, grads, flags = candidate.driver.penalty(LINEAR_CRITIC, REAL, FAKE, ALPHA)
    assert_close(value, torch.tensor(16.0), name="gradient_penalty")
    assert flags["has_grad_fn"], "the penalty must be differentiable in the critic's parameters"
    assert_close(grads["v"], torch.tensor([4.8, 6.4]), name="d penalty / d v")


def test_critic_and_generator_loss_examples(candidate):
    value, _, _ = candidate.driver.critic_loss(LINEAR_CRITIC, REAL, FAKE, ALPHA, {})
    assert_close(value, torch.tensor(161.0), name="critic_loss")
    value, grad_fake, _ = candidate.driver.generator_loss(LINEAR_CRITIC, FAKE)
    assert_close(value, torch.tensor(-4.0), name="generator_loss")
    assert_close(grad_fake, torch.tensor([[-3.0, -4.0]]), name="d generator_loss / d fake")


def test_negative_beta_raises(candidate):
    x, logits = torch.tensor([[1.0, 0.0]]), torch.tensor([[0.0, 0.0]])
    with expect_raises("ValueError"):
        candidate.elbo(x, logits, torch.zeros(1, 2), torch.zeros(1, 2), beta=-1.0)
