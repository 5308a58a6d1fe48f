"""Pure-Python float64 oracle for decoding-sampler (checker side).

sample_row follows the statement's steps one row at a time with Python floats and lists, and
reports how far each threshold decision (top-p, min-p) and each cumulative probability lies
from what it is compared with, so the tests can keep every case clear of rounding: a correct
answer must not depend on the order in which a candidate sums probabilities.
"""

import heapq
import math
import random
from typing import NamedTuple

import torch

MARGIN = 1e-6  # every top_p / min_p / uniform decision in a random case is at least this far from its boundary
NEAR_TIE = 1e-9  # processed logits that differ, differ by at least this much (relative)


class RowResult(NamedTuple):
    token: int
    kept: list[int]  # kept tokens in the order pi
    probs: list[float]  # their renormalised probabilities, same order
    cdf: list[float]  # cumulative probabilities, same order
    threshold_margin: float  # smallest |mass before - top_p| and |p / p_max - min_p| that decided anything
    exact_order: bool  # tokens adjacent in pi differ clearly, or tie exactly (same raw logit, same penalty)


def sample_row(
    logits: list[float],
    u: float,
    temperature: float = 1.0,
    top_k: int = 0,
    top_p: float = 1.0,
    min_p: float = 0.0,
    repetition_penalty: float = 1.0,
    prev: list[int] | tuple[int, ...] = (),
) -> RowResult:
    V = len(logits)
    seen = {t for t in prev if t != -1}
    x = list(logits)
    for t in seen:
        x[t] = x[t] / repetition_penalty if x[t] > 0 else x[t] * repetition_penalty
    finite = [i for i in range(V) if x[i] != -math.inf]
    if temperature == 0:
        best = max(finite, key=lambda i: (x[i], -i))
        order = sorted(finite, key=lambda i: (-x[i], i))
        exact = _order_is_exact(order, x, logits, seen)
        return RowResult(best, [best], [1.0], [1.0], math.inf, exact)

    z = [v / temperature for v in x]
    if top_k:  # only the first top_k + 1 of pi matter (the last one to see the boundary's tie)
        order = heapq.nsmallest(top_k + 1, finite, key=lambda i: (-z[i], i))
    else:
        order = sorted(finite, key=lambda i: (-z[i], i))
    exact = _order_is_exact(order, z, logits, seen)
    kept = order[: top_k or None]
    margin = math.inf
    if top_p < 1:
        probs = _softmax(z, kept)
        before, survivors = 0.0, []
        for i, p in zip(kept, probs, strict=True):
            margin = min(margin, abs(before - top_p))
            if before < top_p:
                survivors.append(i)
            before += p
        kept = survivors
    if min_p > 0:
        z_max = z[kept[0]]
        survivors = []
        for i in kept:
            ratio = math.exp(z[i] - z_max)  # p_i / p_max, whatever the normalisation
            if z[i] != z_max:
                margin = min(margin, abs(ratio - min_p))
            if ratio >= min_p:
                survivors.append(i)
        kept = survivors

    probs = _softmax(z, kept)
    cdf, total = [], 0.0
    for p in probs:
        total += p
        cdf.append(total)
    token = next((i for i, c in zip(kept, cdf, strict=True) if c > u), kept[-1])
    return RowResult(token, kept, probs, cdf, margin, exact)


def _softmax(z: list[float], tokens: list[int]) -> list[float]:
    z_max = max(z[i] for i in tokens)
    weights = [math.exp(z[i] - z_max) for i in tokens]
    total = math.fsum(weights)
    return [w / total for w in weights]


def _order_is_exact(order: list[int], values: list[float], raw: list[float], seen: set[int]) -> bool:
    for a, b in zip(order, order[1:], strict=False):
        if values[a] == values[b]:
            if raw[a] != raw[b] or (a in seen) != (b in seen):
                return False  # a tie made by the penalty: x / p and x * (1 / p) may round apart
        elif values[a] - values[b] <= NEAR_TIE * max(1.0, abs(values[a])):
            return False
    return True


def uniform_margin(cdf: list[float], u: float) -> float:
    return min(abs(c - u) for c in cdf)


def sample_oracle(logits: torch.Tensor, uniforms: torch.Tensor, prev_tokens=None, **kwargs) -> torch.Tensor:
    """The expected (B,) int64 tokens for tensors; the values are read as float64."""
    rows = logits.double().tolist()
    us = uniforms.double().tolist()
    prev = prev_tokens.tolist() if prev_tokens is not None else [[] for _ in rows]
    tokens = [sample_row(r, u, prev=p, **kwargs).token for r, u, p in zip(rows, us, prev, strict=True)]
    return torch.tensor(tokens, dtype=torch.int64)


class Case(NamedTuple):
    logits: torch.Tensor  # (B, V)
    uniforms: torch.Tensor  # (B,) uniform_dtype
    prev_tokens: torch.Tensor | None  # (B, L) int64
    expected: torch.Tensor  # (B,) int64


def random_case(
    seed: int,
    B: int,
    V: int,
    kwargs: dict,
    *,
    dtype: torch.dtype = torch.float64,
    prev_len: int = 0,
    neg_inf: float = 0.0,
    grid: float | None = 0.125,
    scale: float = 3.0,
    uniform_dtype: torch.dtype = torch.float64,
) -> Case:
    """Random logits (on a grid, so some tie exactly), -inf with probability neg_inf, prev tokens
    with -1 padding and repeats, and uniforms; rows are redrawn until every decision is clear."""
    rng = random.Random(seed)
    generator = torch.Generator().manual_seed(seed)
    rows, prevs, us, tokens = [], [], [], []
    for _ in range(B):
        for _attempt in range(200):
            values = torch.randn(V, generator=generator, dtype=torch.float64) * scale
            if grid:
                values = torch.round(values / grid) * grid
            values[torch.rand(V, generator=generator, dtype=torch.float64) < neg_inf] = -math.inf
            if torch.isneginf(values).all():
                values[rng.randrange(V)] = 0.0
            row = values.to(dtype).double().tolist()
            prev = [rng.choice([-1, rng.randrange(V), rng.randrange(V)]) for _ in range(prev_len)]
            result = sample_row(row, 0.0, prev=prev, **kwargs)
            if not result.exact_order or result.threshold_margin < MARGIN:
                continue
            draws = (torch.tensor(rng.random(), dtype=uniform_dtype).item() for _ in range(100))
            u = next((c for c in draws if c < 1 and uniform_margin(result.cdf, c) >= MARGIN), None)
            if u is not None:
                break
        else:
            raise RuntimeError(f"no clear case for seed {seed}, V={V}, {kwargs}")
        rows.append(row)
        prevs.append(prev)
        us.append(u)
        tokens.append(next((i for i, c in zip(result.kept, result.cdf, strict=True) if c > u), result.kept[-1]))
    return Case(
        torch.tensor(rows, dtype=torch.float64).to(dtype),
        torch.tensor(us, dtype=uniform_dtype),
        torch.tensor(prevs, dtype=torch.int64).reshape(B, prev_len) if prev_len else None,
        torch.tensor(tokens, dtype=torch.int64),
    )
