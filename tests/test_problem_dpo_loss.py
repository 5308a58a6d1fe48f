"""Project tests for the dpo-loss problem that need no judge runner.

The checker-side oracle's closed-form gradients are checked against torch autograd of a
different formulation (F.softplus, float64), the reference against the oracle, and the
statement's worked examples against the reference.
"""

import math
import sys
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from .problem_support import load, load_wrong

REPO = Path(__file__).resolve().parents[1]
PROBLEM = REPO / "problems" / "dpo-loss"

reference = load(REPO / "solutions_ref" / "dpo_loss.py", "dpo_reference")
sys.path.insert(0, str(PROBLEM))
oracle = load(PROBLEM / "dpo_oracle.py", "dpo_loss_oracle")
sys.path.remove(str(PROBLEM))

KWARGS = [
    {"beta": 0.1},
    {"beta": 2.0, "label_smoothing": 0.3},
    {"beta": 0.5, "loss_type": "ipo"},
]


def softplus_autograd(pc, pr, rc, rr, mc, mr, beta, label_smoothing=0.0, loss_type="sigmoid"):
    """-log sigmoid(z) = softplus(-z), differentiated by autograd in float64."""
    pc, pr = pc.double().nan_to_num(0.0).requires_grad_(), pr.double().nan_to_num(0.0).requires_grad_()
    rc, rr = rc.double().nan_to_num(0.0), rr.double().nan_to_num(0.0)
    h = ((pc * mc).sum(1) - (pr * mr).sum(1)) - ((rc * mc).sum(1) - (rr * mr).sum(1))
    if loss_type == "sigmoid":
        losses = (1 - label_smoothing) * F.softplus(-beta * h) + label_smoothing * F.softplus(beta * h)
    else:
        losses = (h - 1 / (2 * beta)) ** 2
    loss = losses.mean()
    loss.backward()
    return loss.detach(), pc.grad, pr.grad


@pytest.mark.parametrize("kwargs", KWARGS, ids=str)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_oracle_matches_autograd_of_softplus_form(kwargs, seed):
    logps, masks = oracle.random_case(3, 6, torch.float64, seed)
    expected = oracle.dpo_oracle(*logps, *masks, **kwargs)
    loss, g_pc, g_pr = softplus_autograd(*logps, *masks, **kwargs)
    torch.testing.assert_close(expected.loss, loss, atol=1e-12, rtol=1e-12)
    torch.testing.assert_close(expected.grad_policy_chosen, g_pc, atol=1e-12, rtol=1e-12)
    torch.testing.assert_close(expected.grad_policy_rejected, g_pr, atol=1e-12, rtol=1e-12)


@pytest.mark.parametrize("kwargs", KWARGS, ids=str)
def test_reference_matches_oracle(kwargs):
    logps, masks = oracle.random_case(4, 5, torch.float64, seed=9)
    pc, pr = logps[0].clone().requires_grad_(), logps[1].clone().requires_grad_()
    loss, cr, rj = reference.dpo_loss(pc, pr, logps[2], logps[3], *masks, **kwargs)
    loss.backward()
    expected = oracle.dpo_oracle(*logps, *masks, **kwargs)
    torch.testing.assert_close(loss, expected.loss, atol=1e-12, rtol=1e-12)
    torch.testing.assert_close(cr, expected.chosen_rewards, atol=1e-12, rtol=1e-12)
    torch.testing.assert_close(rj, expected.rejected_rewards, atol=1e-12, rtol=1e-12)
    torch.testing.assert_close(pc.grad, expected.grad_policy_chosen, atol=1e-12, rtol=1e-12)
    torch.testing.assert_close(pr.grad, expected.grad_policy_rejected, atol=1e-12, rtol=1e-12)


def test_statement_examples():
    pc = torch.tensor([[-9.0, -1.0, -2.0]], requires_grad=True)
    pr = torch.tensor([[-9.0, -3.0, -1.0]], requires_grad=True)
    rc = torch.tensor([[-9.0, -1.5, -2.0]])
    rr = torch.tensor([[-9.0, -2.0, -1.5]])
    mask = torch.tensor([[False, True, True]])
    loss, cr, rj = reference.dpo_loss(pc, pr, rc, rr, mask, mask, beta=0.5)
    loss.backward()
    assert round(loss.item(), 6) == 0.474077
    assert cr.tolist() == [0.25] and rj.tolist() == [-0.25]
    g = round(-0.5 / (1 + math.exp(0.5)), 6)
    assert g == -0.188770
    assert [round(v, 6) for v in pc.grad[0].tolist()] == [0.0, g, g]
    assert [round(v, 6) for v in pr.grad[0].tolist()] == [0.0, -g, -g]
    smoothed = reference.dpo_loss(pc, pr, rc, rr, mask, mask, beta=0.5, label_smoothing=0.1)[0]
    assert round(smoothed.item(), 6) == 0.524077
    assert reference.dpo_loss(pc, pr, rc, rr, mask, mask, beta=0.5, loss_type="ipo")[0].item() == 0.0


def test_log_of_sigmoid_wrong_solution_is_infinite_at_the_extreme():
    # the stability case of the hidden suite really separates the two forms
    wrong = load_wrong("dpo-loss", "log_of_sigmoid.patch")
    mask = torch.ones(1, 1, dtype=torch.bool)
    z = torch.zeros(1, 1)
    args = (z, z + 1e4, z, z, mask, mask)
    assert math.isinf(wrong.dpo_loss(*args, beta=1.0)[0].item())
    assert reference.dpo_loss(*args, beta=1.0)[0].item() == pytest.approx(1e4)


def test_reference_log_probs_get_no_gradient():
    # the statement: no gradient flows into the reference log-probabilities, even if they require grad
    pc, pr = torch.tensor([[-1.0, -2.0]], requires_grad=True), torch.tensor([[-1.5, -0.5]], requires_grad=True)
    rc, rr = torch.tensor([[-1.2, -2.0]], requires_grad=True), torch.tensor([[-1.0, -1.0]], requires_grad=True)
    mask = torch.ones(1, 2, dtype=torch.bool)
    reference.dpo_loss(pc, pr, rc, rr, mask, mask, beta=1)[0].backward()
    assert rc.grad is None and rr.grad is None and pc.grad is not None
