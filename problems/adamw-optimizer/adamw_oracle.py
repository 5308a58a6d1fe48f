"""Float64 oracle for adamw-optimizer (checker side): AdamW trajectories, the schedule, clipping.

Written from the statement's formulas, element by element in float64, independently of the
reference. An AdamW run is described by plain data (the same spec the driver receives):

    spec = {
        "groups": [{"params": [Tensor, ...], "lr": ..., ...}, ...],   # overrides per group
        "kwargs": {"lr": ..., "betas": ..., "eps": ..., "weight_decay": ...},  # constructor
        "steps": [{"grads": [Tensor | None, ...], "set": [{key: value}, ...]}, ...],
    }

`grads` is flat over the groups' parameters in order; `set` (optional) assigns keys of each
param group before that step, the way a schedule writes `param_groups[i]["lr"]`.
"""

import math
from typing import NamedTuple

import torch
from torch import Tensor

DEFAULTS = {"lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 1e-2}


class Snapshot(NamedTuple):
    params: list[Tensor]  # float64, flat over groups
    steps: list[int]  # per parameter: steps it had a gradient
    exp_avg: list[Tensor | None]  # m, None before the parameter's first gradient
    exp_avg_sq: list[Tensor | None]  # v


def group_hyperparameters(spec: dict) -> list[dict]:
    defaults = {**DEFAULTS, **spec.get("kwargs", {})}
    return [{k: group.get(k, defaults[k]) for k in DEFAULTS} for group in spec["groups"]]


def adamw_oracle(spec: dict) -> list[Snapshot]:
    """The state after every step, in float64."""
    hyper = group_hyperparameters(spec)
    owner = [i for i, group in enumerate(spec["groups"]) for _ in group["params"]]
    theta = [p.detach().double().clone() for group in spec["groups"] for p in group["params"]]
    m: list[Tensor | None] = [None] * len(theta)
    v: list[Tensor | None] = [None] * len(theta)
    t = [0] * len(theta)
    snapshots = []
    for step in spec["steps"]:
        for i, changes in enumerate(step.get("set") or []):
            hyper[i].update(changes)
        for j, grad in enumerate(step["grads"]):
            if grad is None:
                continue
            h = hyper[owner[j]]
            lr, wd, eps = float(h["lr"]), float(h["weight_decay"]), float(h["eps"])
            b1, b2 = (float(b) for b in h["betas"])
            g = grad.double()
            if m[j] is None:
                m[j], v[j] = torch.zeros_like(g), torch.zeros_like(g)
            t[j] += 1
            theta[j] = theta[j] - lr * wd * theta[j]
            m[j] = b1 * m[j] + (1 - b1) * g
            v[j] = b2 * v[j] + (1 - b2) * g * g
            m_hat = m[j] / (1 - b1 ** t[j])
            v_hat = v[j] / (1 - b2 ** t[j])
            theta[j] = theta[j] - lr * m_hat / (torch.sqrt(v_hat) + eps)
        snapshots.append(
            Snapshot(
                [x.clone() for x in theta],
                list(t),
                [None if x is None else x.clone() for x in m],
                [None if x is None else x.clone() for x in v],
            )
        )
    return snapshots


def warmup_cosine_oracle(step: int, warmup: int, total: int, peak: float, floor: float = 0.0) -> float:
    if step <= warmup:
        return peak * step / warmup if warmup else peak
    if step >= total:
        return floor
    cosine = 0.5 * (1 + math.cos(math.pi * (step - warmup) / (total - warmup)))
    return floor + (peak - floor) * cosine


def clip_oracle(grads: list[Tensor | None], max_norm: float) -> tuple[Tensor, list[Tensor | None]]:
    """(total norm before clipping in float64, the clipped gradients in float64)."""
    present = [g.double() for g in grads if g is not None]
    total = torch.sqrt(sum(((g * g).sum() for g in present), torch.zeros((), dtype=torch.float64)))
    if not torch.isfinite(total):
        return total, [None if g is None else g.double() for g in grads]
    coef = max_norm / (total.item() + 1e-6)
    scale = coef if coef < 1 else 1.0
    return total, [None if g is None else g.double() * scale for g in grads]


def random_tensor(shape: tuple[int, ...], dtype: torch.dtype, generator: torch.Generator, scale: float = 1.0) -> Tensor:
    return (torch.randn(shape, generator=generator, dtype=torch.float64) * scale).to(dtype)
