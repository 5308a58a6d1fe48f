"""Float64 pure-Python oracle for moe-router (checker side), written from the statement.

Everything runs on Python floats and lists: router logits with math.fsum, a max-shifted softmax,
ranking with sorted() on (-logit, expert), the capacity with exact rational arithmetic, and the
slots walked one at a time in priority order. The load-balancing loss comes with its gradient
in closed form.
"""

import math
from fractions import Fraction
from typing import NamedTuple

import torch
from torch import Tensor


class Routed(NamedTuple):
    expert_index: Tensor  # (N, k) int64
    combine_weight: Tensor  # (N, k) float64
    dropped: Tensor  # (N, k) bool
    capacity: int


class Balance(NamedTuple):
    loss: Tensor  # 0-d float64
    grad: Tensor  # (N, E) float64, d loss / d router_logits


def _rows(t: Tensor) -> list[list[float]]:
    return t.double().tolist()


def _softmax(row: list[float]) -> list[float]:
    m = max(row)
    e = [math.exp(v - m) for v in row]
    s = math.fsum(e)
    return [v / s for v in e]


def _ranked(row: list[float], k: int) -> list[int]:
    """The k experts of one token, largest logit first; equal logits to the lower index.

    Ranking by logit equals the statement's ranking by probability wherever the probabilities
    do not underflow to equal values; the tests keep every selected probability well above that.
    """
    return sorted(range(len(row)), key=lambda e: (-row[e], e))[:k]


def capacity_of(N: int, E: int, k: int, capacity_factor: float) -> int:
    """ceil(capacity_factor * N * k / E) exactly; checks that float evaluation orders agree with it."""
    exact = math.ceil(Fraction(capacity_factor) * N * k / E)
    orders = {
        math.ceil(capacity_factor * N * k / E),
        math.ceil(N * k * capacity_factor / E),
        math.ceil(capacity_factor * (N * k / E)),
        math.ceil(N * k / E * capacity_factor),
    }
    assert orders == {exact}, f"test data bug: capacity {exact} depends on float evaluation order ({orders})"
    return exact


def logits_of(x: Tensor, w_gate: Tensor) -> list[list[float]]:
    xs, ws = _rows(x), _rows(w_gate)
    E = w_gate.shape[1]  # ws is [] when C = 0
    return [[math.fsum(xc * ws[c][e] for c, xc in enumerate(row)) for e in range(E)] for row in xs]


def route_oracle(x: Tensor, w_gate: Tensor, k: int, capacity_factor: float, renormalize: bool = True) -> Routed:
    logits = logits_of(x, w_gate)
    N, E = len(logits), len(logits[0])
    capacity = capacity_of(N, E, k, capacity_factor)
    index, weight = [], []
    for row in logits:
        p = _softmax(row)
        chosen = _ranked(row, k)
        g = [p[e] for e in chosen]
        if renormalize:
            s = math.fsum(g)
            g = [v / s for v in g]
        index.append(chosen)
        weight.append(g)
    dropped = [[False] * k for _ in range(N)]
    load = [0] * E
    for j in range(k):  # rank-major
        for n in range(N):  # then token order
            e = index[n][j]
            if load[e] < capacity:
                load[e] += 1
            else:
                dropped[n][j] = True
                weight[n][j] = 0.0
    return Routed(
        torch.tensor(index, dtype=torch.int64).reshape(N, k),
        torch.tensor(weight, dtype=torch.float64).reshape(N, k),
        torch.tensor(dropped, dtype=torch.bool).reshape(N, k),
        capacity,
    )


def balance_oracle(router_logits: Tensor, k: int, attention_mask: Tensor | None = None) -> Balance:
    logits = _rows(router_logits)
    N, E = len(logits), len(logits[0])
    valid = [True] * N if attention_mask is None else [bool(v) for v in attention_mask.reshape(-1).tolist()]
    M = sum(valid)
    probs = [_softmax(row) for row in logits]
    f = [0.0] * E
    for n in range(N):
        if valid[n]:
            for e in _ranked(logits[n], k):
                f[e] += 1.0 / M
    P = [math.fsum(probs[n][e] for n in range(N) if valid[n]) / M for e in range(E)]
    loss = E * math.fsum(f[e] * P[e] for e in range(E))
    # d loss / d z[n, j] = E / M * p[n, j] * (f_j - sum_e f_e p[n, e]) on valid tokens (f is a count)
    grad = [[0.0] * E for _ in range(N)]
    for n in range(N):
        if valid[n]:
            fp = math.fsum(f[e] * probs[n][e] for e in range(E))
            grad[n] = [E / M * probs[n][j] * (f[j] - fp) for j in range(E)]
    return Balance(torch.tensor(loss, dtype=torch.float64), torch.tensor(grad, dtype=torch.float64))


def grid_case(N: int, C: int, E: int, dtype: torch.dtype, seed: int) -> tuple[Tensor, Tensor]:
    """x in multiples of 1/4 in [-2, 2], w_gate in multiples of 1/4 in [-1, 1].

    Every logit is a multiple of 1/16 computed exactly in any float format, so equal logits are
    exact ties (the tie rule is exercised) and distinct ones are >= 1/16 apart (no near ties).
    """
    g = torch.Generator().manual_seed(seed)
    x = torch.randint(-8, 9, (N, C), generator=g).double() / 4
    w = torch.randint(-4, 5, (C, E), generator=g).double() / 4
    return x.to(dtype), w.to(dtype)
