"""Worker-side helpers for adamw-optimizer: build parameters and run the optimizer next to the submission.

Tensors that cross the process boundary are copies, so the checker cannot hand the worker a
parameter and read it back later. These helpers make the leaves (requires_grad=True), assign
the gradients each step, call the submission and return plain snapshots. A run is described
by plain data; see adamw_oracle.py for the spec's layout.
"""

from typing import Any

import torch
from torch import Tensor


def _leaf(x: Tensor, layout: str) -> Tensor:
    x = x.detach().clone()
    if layout == "column-major" and x.dim() == 2:
        x = x.t().contiguous().t()  # same values, non-contiguous strides
    return x.requires_grad_(True)


class _Run:
    """One AdamW over the spec's parameters, stepped one spec step at a time."""

    def __init__(self, module, spec: dict) -> None:
        self.module, self.spec = module, spec
        layout = spec.get("layout", "groups")
        self.groups = [[_leaf(p, spec.get("strides", "")) for p in group["params"]] for group in spec["groups"]]
        self.params = [p for group in self.groups for p in group]
        self.optimizer = self._build(self.groups, layout)
        self.position = 0

    def _build(self, groups: list[list[Tensor]], layout: str):
        kwargs = self.spec.get("kwargs", {})
        if layout == "list":  # one group, a plain list of tensors
            params: Any = list(groups[0])
        elif layout == "generator":
            params = (p for p in groups[0])
        else:
            params = [
                {**{k: v for k, v in spec_group.items() if k != "params"}, "params": group}
                for spec_group, group in zip(self.spec["groups"], groups, strict=True)
            ]
        return self.module.AdamW(params, **kwargs)

    def reload(self) -> None:
        """A fresh optimizer over fresh leaves (the current values), loaded from the state_dict."""
        state = self.optimizer.state_dict()
        self.groups = [[_leaf(p, "") for p in group] for group in self.groups]
        self.params = [p for group in self.groups for p in group]
        self.optimizer = self._build(self.groups, self.spec.get("layout", "groups"))
        self.optimizer.load_state_dict(state)

    def step(self) -> dict:
        step = self.spec["steps"][self.position]
        self.position += 1
        for i, changes in enumerate(step.get("set") or []):
            self.optimizer.param_groups[i].update(changes)
        for p, g in zip(self.params, step["grads"], strict=True):
            p.grad = None if g is None else g.detach().clone()
        grads_before = [None if p.grad is None else p.grad.clone() for p in self.params]
        objects_before = [p.grad for p in self.params]
        returned = self.optimizer.step()
        snapshot = {
            "params": [p.detach().clone() for p in self.params],
            "steps": [],
            "exp_avg": [],
            "exp_avg_sq": [],
            "returned": returned,
            "grads_unchanged": all(
                (a is None and p.grad is None) or (a is not None and p.grad is b and torch.equal(p.grad, a))
                for p, a, b in zip(self.params, grads_before, objects_before, strict=True)
            ),
            "is_optimizer": isinstance(self.optimizer, torch.optim.Optimizer),
            "params_require_grad": all(p.requires_grad and p.is_leaf for p in self.params),
        }
        for p in self.params:
            state = self.optimizer.state.get(p, {})
            snapshot["steps"].append(float(state["step"]) if "step" in state else 0.0)
            for key in ("exp_avg", "exp_avg_sq"):
                value = state.get(key)
                snapshot[key].append(value.detach().clone() if isinstance(value, Tensor) else None)
        return snapshot


def run_adamw(module, spec: dict, reload_after: int = -1) -> list[dict]:
    """Every step of the spec on one optimizer; a snapshot after each. reload_after=k: checkpoint round trip after step k."""
    run = _Run(module, spec)
    snapshots = []
    for k in range(len(spec["steps"])):
        snapshots.append(run.step())
        if k == reload_after:
            run.reload()
    return snapshots


def run_interleaved(module, spec_a: dict, spec_b: dict) -> tuple[list[dict], list[dict]]:
    """Two optimizers built side by side, their steps alternated."""
    a, b = _Run(module, spec_a), _Run(module, spec_b)
    out_a, out_b = [], []
    for k in range(max(len(spec_a["steps"]), len(spec_b["steps"]))):
        if k < len(spec_a["steps"]):
            out_a.append(a.step())
        if k < len(spec_b["steps"]):
            out_b.append(b.step())
    return out_a, out_b


def step_with_closure(module, param: Tensor, coefficient: Tensor, kwargs: dict) -> dict:
    """step(closure) where the closure computes loss = sum(coefficient * p**2 / 2) and its gradient by backward."""
    p = _leaf(param, "")
    optimizer = module.AdamW([p], **kwargs)
    calls = []

    def closure():
        calls.append(torch.is_grad_enabled())
        p.grad = None
        loss = (coefficient * p * p / 2).sum()
        loss.backward()
        return loss.detach()

    returned = optimizer.step(closure)
    return {"returned": returned, "calls": calls, "param": p.detach().clone()}


def construct(module, groups: list[dict], kwargs: dict) -> int:
    """Build an AdamW over leaves made from the groups' tensors (for the error cases); the number of groups."""
    params = [{**group, "params": [_leaf(p, "") for p in group["params"]]} for group in groups]
    return len(module.AdamW(params, **kwargs).param_groups)


def clip(module, params: list[Tensor], grads: list[Tensor | None], max_norm: float, layout: str = "list") -> dict:
    """clip_grad_norm over leaves with the given gradients: the returned norm and the gradients after."""
    leaves = [_leaf(p, "") for p in params]
    for p, g in zip(leaves, grads, strict=True):
        p.grad = None if g is None else g.detach().clone()
    objects_before = [p.grad for p in leaves]
    if layout == "tensor":
        argument: Any = leaves[0]
    elif layout == "generator":
        argument = (p for p in leaves)
    else:
        argument = list(leaves)
    total = module.clip_grad_norm(argument, max_norm)
    return {
        "total": total.detach().clone() if isinstance(total, Tensor) else total,
        "grads": [None if p.grad is None else p.grad.clone() for p in leaves],
        "same_objects": all(p.grad is b for p, b in zip(leaves, objects_before, strict=True)),
        "params": [p.detach().clone() for p in leaves],
    }


def train(module, spec: dict, max_norm: float, schedule: tuple) -> tuple[list[dict], list[Tensor]]:
    """A training loop: each step sets the gradients, clips them, sets every group's lr from the schedule, steps.

    schedule = (warmup, total, peak, floor); the lr of step k is warmup_cosine(k, *schedule).
    Returns the snapshots after each step and the norms clip_grad_norm returned.
    """
    run = _Run(module, spec)
    snapshots, norms = [], []
    for k, step in enumerate(spec["steps"]):
        for p, g in zip(run.params, step["grads"], strict=True):
            p.grad = None if g is None else g.detach().clone()
        norms.append(module.clip_grad_norm(run.params, max_norm))
        lr = module.warmup_cosine(k, *schedule)
        run.spec = {**spec, "steps": [{"grads": [p.grad for p in run.params], "set": [{"lr": lr}] * len(run.groups)}]}
        run.position = 0
        snapshots.append(run.step())
    return snapshots, norms


def timing_run(module, seed: int, shapes: list[list[int]], steps: int, max_norm: float) -> float:
    """The timing workload's training loop, built here so no big tensor crosses the wire.

    Parameters of `shapes` in two groups (the second without weight decay), a seeded gradient
    per step, clip_grad_norm, the warmup_cosine lr, step(); returns the last clipped norm.
    """
    g = torch.Generator().manual_seed(seed)
    params = [torch.randn(*shape, generator=g).requires_grad_(True) for shape in shapes]
    optimizer = module.AdamW(
        [{"params": params[::2]}, {"params": params[1::2], "weight_decay": 0.0}], lr=1e-3, weight_decay=0.1
    )
    norm = 0.0
    for k in range(steps):
        for p in params:
            p.grad = torch.randn(p.shape, generator=g)
        norm = float(module.clip_grad_norm(params, max_norm))
        for group in optimizer.param_groups:
            group["lr"] = module.warmup_cosine(k, 2, steps, 1e-3, 1e-5)
        optimizer.step()
    return norm
