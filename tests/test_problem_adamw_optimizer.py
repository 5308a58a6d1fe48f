"""Project tests for the adamw-optimizer problem that need no judge runner.

The checker-side float64 oracle is checked against torch's own implementations (torch.optim.AdamW
and torch.nn.utils.clip_grad_norm_, in float64), the reference against the oracle (through the
problem's driver, in-process), and the statement's worked examples against the reference.
"""

import math
import sys
from pathlib import Path

import pytest
import torch

from .problem_support import load

REPO = Path(__file__).resolve().parents[1]
PROBLEM = REPO / "problems" / "adamw-optimizer"

reference = load(REPO / "solutions_ref" / "adamw_optimizer.py", "adamw_reference")
driver = load(PROBLEM / "driver.py", "adamw_driver")
sys.path.insert(0, str(PROBLEM))
oracle = load(PROBLEM / "adamw_oracle.py", "adamw_optimizer_oracle")
sys.path.remove(str(PROBLEM))

F64 = torch.float64


def random_spec(seed: int, n_steps: int = 25) -> dict:
    """Three groups with overrides, gradients missing on some steps, hyperparameters changed mid-run."""
    g = torch.Generator().manual_seed(seed)
    shapes = [[(4, 3), (3,)], [(2, 2, 2)], [(), (5,)]]
    groups = [
        {"params": [oracle.random_tensor(s, F64, g) for s in shapes[0]]},
        {"params": [oracle.random_tensor(s, F64, g) for s in shapes[1]], "weight_decay": 0.0, "betas": (0.5, 0.8)},
        {"params": [oracle.random_tensor(s, F64, g) for s in shapes[2]], "lr": 0.2, "eps": 1e-3},
    ]
    params = [p for group in groups for p in group["params"]]
    steps = []
    for k in range(n_steps):
        grads = [oracle.random_tensor(tuple(p.shape), F64, g, scale=10.0 ** (j % 3 - 1)) for j, p in enumerate(params)]
        grads = [None if (k + j) % 4 == 0 and j % 2 else x for j, x in enumerate(grads)]
        step = {"grads": grads}
        if k % 5 == 2:
            step["set"] = [{"lr": 0.01 * (k % 7)}, {"weight_decay": 0.05 * k}, {"betas": (0.9, 0.99), "eps": 1e-8}]
        steps.append(step)
    return {"groups": groups, "kwargs": {"lr": 0.03, "weight_decay": 0.1}, "steps": steps}


def run_torch(spec: dict, optimizer_class) -> list[list[torch.Tensor]]:
    groups = [
        {
            **{k: v for k, v in group.items() if k != "params"},
            "params": [p.clone().requires_grad_() for p in group["params"]],
        }
        for group in spec["groups"]
    ]
    leaves = [p for group in groups for p in group["params"]]
    optimizer = optimizer_class(groups, **spec["kwargs"])
    out = []
    for step in spec["steps"]:
        for i, changes in enumerate(step.get("set") or []):
            optimizer.param_groups[i].update(changes)
        for p, grad in zip(leaves, step["grads"], strict=True):
            p.grad = None if grad is None else grad.clone()
        optimizer.step()
        out.append([p.detach().clone() for p in leaves])
    return out


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_oracle_matches_torch_adamw(seed):
    spec = random_spec(seed)
    expected = run_torch(spec, lambda groups, **kw: torch.optim.AdamW(groups, foreach=False, **kw))
    for k, (snap, params) in enumerate(zip(oracle.adamw_oracle(spec), expected, strict=True)):
        for j, (mine, theirs) in enumerate(zip(snap.params, params, strict=True)):
            torch.testing.assert_close(mine, theirs, atol=1e-12, rtol=1e-12, msg=f"step {k + 1}, parameter {j}")


@pytest.mark.parametrize("seed", [0, 1])
def test_reference_matches_oracle_through_the_driver(seed):
    spec = random_spec(seed)
    got = driver.run_adamw(reference, spec, reload_after=7)
    for snap, exp in zip(got, oracle.adamw_oracle(spec), strict=True):
        assert snap["grads_unchanged"] and snap["is_optimizer"] and snap["returned"] is None
        assert snap["steps"] == [float(t) for t in exp.steps]
        for j in range(len(exp.params)):
            torch.testing.assert_close(snap["params"][j], exp.params[j], atol=1e-12, rtol=1e-12)
            if exp.exp_avg[j] is not None:
                torch.testing.assert_close(snap["exp_avg"][j], exp.exp_avg[j], atol=1e-15, rtol=1e-12)
                torch.testing.assert_close(snap["exp_avg_sq"][j], exp.exp_avg_sq[j], atol=1e-15, rtol=1e-12)


@pytest.mark.parametrize("max_norm", [1e-3, 0.5, 3.0, 100.0])
def test_clip_oracle_matches_torch_clip_grad_norm(max_norm):
    g = torch.Generator().manual_seed(3)
    grads = [oracle.random_tensor(s, F64, g) for s in [(3, 4), (5,), ()]] + [None]
    params = [torch.zeros_like(x) if x is not None else torch.zeros(2, dtype=F64) for x in grads]
    for p, x in zip(params, grads, strict=True):
        p.grad = None if x is None else x.clone()
    total = torch.nn.utils.clip_grad_norm_(params, max_norm, foreach=False)
    mine_total, mine = oracle.clip_oracle(grads, max_norm)
    torch.testing.assert_close(mine_total, total, atol=1e-14, rtol=1e-14)
    for p, x in zip(params, mine, strict=True):
        assert (p.grad is None) == (x is None)
        if x is not None:
            torch.testing.assert_close(x, p.grad, atol=1e-15, rtol=1e-14)


def test_reference_clip_matches_oracle_in_half_precision():
    grads = [torch.full((64,), 300.0, dtype=torch.float16), torch.full((3, 5), -250.0, dtype=torch.float16)]
    out = driver.clip(reference, [torch.zeros_like(x) for x in grads], grads, 100.0)
    total, clipped = oracle.clip_oracle(grads, 100.0)
    assert out["total"].dtype == torch.float32 and math.isfinite(out["total"].item())
    torch.testing.assert_close(out["total"].double(), total, atol=0, rtol=1e-6)
    for mine, x in zip(out["grads"], clipped, strict=True):
        torch.testing.assert_close(mine, x.half(), atol=2e-3, rtol=2e-3)


def test_schedule_reference_matches_oracle_everywhere():
    for warmup, total in [(0, 1), (0, 10), (3, 4), (10, 110), (7, 50)]:
        for step in range(total + 5):
            for floor in (0.0, 1e-4):
                want = oracle.warmup_cosine_oracle(step, warmup, total, 1e-3, floor)
                assert reference.warmup_cosine(step, warmup, total, 1e-3, floor) == pytest.approx(
                    want, rel=1e-12, abs=1e-18
                )


def test_statement_examples():
    p = torch.tensor([1.0, -2.0], dtype=F64, requires_grad=True)
    opt = reference.AdamW([p], lr=0.1, weight_decay=0.1)
    p.grad = torch.tensor([0.5, -0.25], dtype=F64)
    opt.step()
    assert [round(x, 9) for x in p.tolist()] == [0.890000002, -1.880000004]
    p.grad = torch.tensor([-0.5, 0.5], dtype=F64)
    opt.step()
    assert [round(x, 9) for x in p.tolist()] == [0.886363160, -1.897810356]
    assert opt.state[p]["step"] == 2
    assert [round(x, 12) for x in opt.state[p]["exp_avg"].tolist()] == [-0.005, 0.0275]
    lrs = [reference.warmup_cosine(s, 10, 110, 1e-3, 1e-4) for s in (0, 5, 10, 60, 110, 200)]
    assert lrs == pytest.approx([0.0, 0.0005, 0.001, 0.00055, 0.0001, 0.0001], rel=1e-12)
    a = torch.zeros(2, requires_grad=True)
    b = torch.zeros(1, requires_grad=True)
    a.grad, b.grad = torch.tensor([3.0, 4.0]), torch.tensor([12.0])
    assert reference.clip_grad_norm([a, b], 6.5).item() == 13.0
    assert a.grad.tolist() == pytest.approx([1.5, 2.0], abs=1e-6) and b.grad.tolist() == pytest.approx([6.0], abs=1e-6)
    before = (a.grad.clone(), b.grad.clone())
    reference.clip_grad_norm([a, b], 20.0)
    assert torch.equal(a.grad, before[0]) and torch.equal(b.grad, before[1])
