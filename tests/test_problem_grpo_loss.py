"""Project tests for the grpo-loss problem that need no judge runner.

The checker-side oracle is checked against torch built-ins differentiated by autograd in float64
(torch.std for the advantages, torch.min / torch.clamp for the surrogate), the reference against
the oracle, and the statement's worked examples against the reference.
"""

import math
import sys
from pathlib import Path

import pytest
import torch

from .problem_support import load

REPO = Path(__file__).resolve().parents[1]
PROBLEM = REPO / "problems" / "grpo-loss"

reference = load(REPO / "solutions_ref" / "grpo_loss.py", "grpo_reference")
sys.path.insert(0, str(PROBLEM))
oracle = load(PROBLEM / "grpo_oracle.py", "grpo_loss_oracle")
sys.path.remove(str(PROBLEM))

KWARGS = [(0.2, 0.04, "token"), (0.1, 0.5, "sequence"), (0.28, 0.0, "token")]


def autograd_loss(logp, old, ref, adv, mask, clip_eps, kl_beta, aggregation):
    """DeepSeekMath eq. 3 / token mean, written with torch built-ins, float64 autograd."""
    logp = logp.double().nan_to_num(0.0).requires_grad_()
    old, ref = old.double().nan_to_num(0.0), ref.double().nan_to_num(0.0)
    ratio = torch.exp(logp - old)
    a = adv.double()[:, None]
    surrogate = torch.min(ratio * a, torch.clamp(ratio, 1 - clip_eps, 1 + clip_eps) * a)
    kl = torch.exp(ref - logp) - (ref - logp) - 1
    per_token = -(surrogate - kl_beta * kl) * mask
    if aggregation == "token":
        loss = per_token.sum() / mask.sum()
    else:
        loss = (per_token.sum(1) / mask.sum(1)).mean()
    loss.backward()
    return loss.detach(), logp.grad


@pytest.mark.parametrize("kwargs", KWARGS, ids=str)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_oracle_matches_autograd_of_builtins(kwargs, seed):
    tensors, adv, mask = oracle.random_case(3, 6, torch.float64, seed, spread=0.5)
    expected, grad = oracle.loss_oracle(*tensors, adv, mask, *kwargs)
    loss, ref_grad = autograd_loss(*tensors, adv, mask, *kwargs)
    torch.testing.assert_close(expected, loss, atol=1e-12, rtol=1e-12)
    torch.testing.assert_close(grad, ref_grad, atol=1e-12, rtol=1e-12)


@pytest.mark.parametrize("group_size", [2, 3, 6])
def test_advantages_oracle_matches_torch_std(group_size):
    rewards = torch.rand(12, generator=torch.Generator().manual_seed(group_size), dtype=torch.float64)
    r = rewards.reshape(-1, group_size)
    expected = ((r - r.mean(1, keepdim=True)) / (torch.std(r, dim=1, keepdim=True) + 1e-4)).reshape(-1)
    torch.testing.assert_close(oracle.advantages_oracle(rewards, group_size), expected, atol=1e-12, rtol=1e-12)
    torch.testing.assert_close(reference.group_advantages(rewards, group_size), expected, atol=1e-12, rtol=1e-12)


@pytest.mark.parametrize("kwargs", KWARGS, ids=str)
def test_reference_matches_oracle(kwargs):
    tensors, adv, mask = oracle.random_case(4, 5, torch.float64, seed=9)
    logp = tensors[0].clone().requires_grad_()
    clip_eps, kl_beta, aggregation = kwargs
    loss = reference.grpo_loss(
        logp, *tensors[1:], adv, mask, clip_eps=clip_eps, kl_beta=kl_beta, aggregation=aggregation
    )
    loss.backward()
    expected, grad = oracle.loss_oracle(*tensors, adv, mask, *kwargs)
    torch.testing.assert_close(loss, expected, atol=1e-12, rtol=1e-12)
    torch.testing.assert_close(logp.grad, grad, atol=1e-12, rtol=1e-12)


def test_statement_examples():
    adv = reference.group_advantages(torch.tensor([1.0, 0.0, 0.0, 1.0, 2.0, 2.0, 2.0, 2.0]), 4)
    assert [round(v, 4) for v in adv.tolist()] == [0.8659, -0.8659, -0.8659, 0.8659, 0.0, 0.0, 0.0, 0.0]
    adv = reference.group_advantages(torch.tensor([1.0, 0.0, 0.0, 1.0]), 2, normalize_std=False)
    assert adv.tolist() == [0.5, -0.5, -0.5, 0.5]
    logp = torch.log(torch.tensor([[0.5, 0.9]]))
    old = torch.log(torch.tensor([[0.25, 0.9]]))
    ref = torch.log(torch.tensor([[0.5, 0.45]]))
    mask = torch.tensor([[True, True]])
    kl = 0.5 - math.log(0.5) - 1
    assert round(kl, 6) == 0.193147
    loss = reference.grpo_loss(logp, old, ref, torch.tensor([1.0]), mask, clip_eps=0.2, kl_beta=0.1)
    assert round(loss.item(), 6) == round(-(1.2 + 1.0 - 0.1 * kl) / 2, 6) == -1.090343
    loss = reference.grpo_loss(logp, old, ref, torch.tensor([-1.0]), mask, clip_eps=0.2, kl_beta=0.1)
    assert round(loss.item(), 6) == 1.509657


def test_old_logp_being_logp_gives_minus_advantage_gradient():
    # the statement: grpo_loss(logp, logp, ...) has ratio 1 and, without KL, gradient -A_i / N
    logp = torch.tensor([[-1.0, -2.0, -0.5], [-0.3, -0.7, -1.1]], dtype=torch.float64, requires_grad=True)
    adv = torch.tensor([1.5, -0.5], dtype=torch.float64, requires_grad=True)
    mask = torch.tensor([[True, True, False], [True, True, True]])
    loss = reference.grpo_loss(logp, logp, logp, adv, mask, clip_eps=0.2, kl_beta=0.1)
    loss.backward()
    assert math.isclose(float(loss), -(2 * 1.5 + 3 * -0.5) / 5, rel_tol=1e-12)
    expected = torch.where(mask, -adv.detach()[:, None] / 5, 0.0)
    torch.testing.assert_close(logp.grad, expected, atol=1e-12, rtol=0)
    assert adv.grad is None
