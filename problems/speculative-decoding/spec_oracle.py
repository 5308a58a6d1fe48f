"""Pure-Python float64 oracle for speculative-decoding (checker side), and case builders.

verify_oracle follows the statement's rules one row at a time with Python floats (IEEE float64),
with no tensor code in common with the reference. exact_law gives the output distribution of one
row in closed form with Fractions (the theorem of Leviathan et al.), for the distribution tests.
"""

import bisect
import itertools
import math
from fractions import Fraction

import torch


def draw(weights: list[float], u: float) -> int:
    """The smallest t with u * S < c[t], c the running sum of weights in token-id order."""
    running = list(itertools.accumulate(weights))  # left to right, float64
    t = bisect.bisect_right(running, u * running[-1])  # the first t with c[t] > u * S
    assert t < len(running), "no token drawn: u must be < 1 and the weights must have a positive sum"
    return t


def verify_row(x: list[int], q: list[list[float]], p: list[list[float]], u: list[float]) -> list[int]:
    """The tokens one row emits (without padding)."""
    K = len(x)
    out = []
    for i in range(K):
        if u[i] * q[i][x[i]] < p[i][x[i]]:
            out.append(x[i])
            continue
        residual = [max(0.0, a - b) for a, b in zip(p[i], q[i], strict=True)]
        weights = residual if any(r > 0 for r in residual) else p[i]
        return out + [draw(weights, u[K])]
    return out + [draw(p[K], u[K])]


def verify_oracle(draft_tokens, q_draft, p_target, uniforms) -> tuple[torch.Tensor, torch.Tensor]:
    """(tokens (B, K+1) int64 padded with -1, num_tokens (B,) int64), row by row in float64."""
    B, K = draft_tokens.shape
    xs = draft_tokens.tolist()
    qs, ps, us = q_draft.double().tolist(), p_target.double().tolist(), uniforms.double().tolist()
    tokens, counts = [], []
    for b in range(B):
        row = verify_row(xs[b], qs[b], ps[b], us[b])
        counts.append(len(row))
        tokens.append(row + [-1] * (K + 1 - len(row)))
    return torch.tensor(tokens, dtype=torch.int64).reshape(B, K + 1), torch.tensor(counts, dtype=torch.int64)


# -- the output distribution, exactly ------------------------------------------------------------


def exact_law(q: list[list[Fraction]], p: list[list[Fraction]]) -> dict[tuple[int, ...], Fraction]:
    """P(a row emits exactly this token sequence), q and p fixed per position (not per prefix).

    Position i continues with draft a with probability min(p_i[a], q_i[a]) and stops with token a
    with probability max(0, p_i[a] - q_i[a]) (normalized distributions: the rejection mass equals
    the residual's sum); after K accepted drafts the bonus token follows p_K.
    """
    K, V = len(q), len(p[0])
    law: dict[tuple[int, ...], Fraction] = {}
    for n in range(K + 1):
        for prefix in itertools.product(range(V), repeat=n):
            mass = math.prod((min(p[i][a], q[i][a]) for i, a in enumerate(prefix)), start=Fraction(1))
            if mass == 0:
                continue
            for last in range(V):
                w = p[K][last] if n == K else max(Fraction(0), p[n][last] - q[n][last])
                if w:
                    law[(*prefix, last)] = mass * w
    return law


def grid_batch(q: list[list[Fraction]], p: list[list[Fraction]], grid: int):
    """One batch that enumerates every draft sample and a grid of uniforms (cell midpoints).

    Rows: every draft sequence (x_0, ..., x_{K-1}) with q_i[x_i] > 0, times grid^(K+1) uniform
    vectors u_j = (m_j + 1/2) / grid. Returns the four tensors and each row's weight (a Fraction):
    prod q_i[x_i] / grid^(K+1). When every boundary of the statement's rules (p/q ratios, the
    cumulative sums over S) is a multiple of 1 / grid, the weighted frequencies are exact.
    """
    K, V = len(q), len(p[0])
    drafts = [xs for xs in itertools.product(range(V), repeat=K) if all(q[i][a] > 0 for i, a in enumerate(xs))]
    cells = list(itertools.product(range(grid), repeat=K + 1))
    rows_x, rows_u, weights = [], [], []
    for xs in drafts:
        w = math.prod((q[i][a] for i, a in enumerate(xs)), start=Fraction(1)) / grid ** (K + 1)
        for cell in cells:
            rows_x.append(list(xs))
            rows_u.append([(m + 0.5) / grid for m in cell])
            weights.append(w)
    B = len(rows_x)
    draft_tokens = torch.tensor(rows_x, dtype=torch.int64).reshape(B, K)
    q_t = torch.tensor([[float(v) for v in row] for row in q], dtype=torch.float64).reshape(1, K, V).expand(B, K, V)
    p_t = torch.tensor([[float(v) for v in row] for row in p], dtype=torch.float64).reshape(1, K + 1, V)
    return draft_tokens, q_t.contiguous(), p_t.expand(B, K + 1, V).contiguous(), torch.tensor(rows_u), weights


def empirical_law(tokens: torch.Tensor, counts: torch.Tensor, weights) -> dict[tuple[int, ...], Fraction]:
    law: dict[tuple[int, ...], Fraction] = {}
    for row, n, w in zip(tokens.tolist(), counts.tolist(), weights, strict=True):
        key = tuple(row[:n])
        law[key] = law.get(key, Fraction(0)) + w
    return law


# -- random cases ----------------------------------------------------------------------------------


def random_case(B: int, K: int, V: int, seed: int, temperature: float = 1.0, zeros: bool = False):
    """Softmax distributions of random logits, drafts sampled from q, uniforms in [0, 1), float64.

    The target is the draft's logits plus noise (drafts agree often, so both acceptance and
    rejection happen). zeros=True sets about a third of the entries of p and q to 0 (the draft
    token keeps q > 0).
    """
    g = torch.Generator().manual_seed(seed)
    draft_logits = torch.randn(B, K, V, generator=g, dtype=torch.float64) * 2
    target_logits = torch.randn(B, K + 1, V, generator=g, dtype=torch.float64) * 2
    target_logits[:, :K] = draft_logits + target_logits[:, :K] * temperature
    if zeros:
        draft_logits = draft_logits.masked_fill(torch.rand(B, K, V, generator=g) < 0.33, -math.inf)
        target_logits = target_logits.masked_fill(torch.rand(B, K + 1, V, generator=g) < 0.33, -math.inf)
        draft_logits[..., 0] = draft_logits[..., 0].nan_to_num(neginf=0.0)
        target_logits[..., 0] = target_logits[..., 0].nan_to_num(neginf=0.0)
    q = torch.softmax(draft_logits, dim=-1)
    p = torch.softmax(target_logits, dim=-1)
    if K:
        draft_tokens = torch.multinomial(q.reshape(B * K, V), 1, generator=g).reshape(B, K)
    else:
        draft_tokens = torch.zeros(B, 0, dtype=torch.int64)
    uniforms = torch.rand(B, K + 1, generator=g, dtype=torch.float64)
    return draft_tokens, q, p, uniforms


def cdf_rounding_case(B: int = 16, V: int = 1000, seed: int = 3):
    """K = 0 rows of one float32 p whose uniforms put u * S between c[t] in float64 and in float32.

    c64 is the float64 running sum of the float32 probabilities, c32 its rounding to float32; each
    row's u * S is the midpoint of the two at a different token t, so a float64 cumulative sum and a
    float32 one draw different tokens (t or t + 1).
    """
    g = torch.Generator().manual_seed(seed)
    p = torch.softmax(torch.randn(V, generator=g), dim=-1)  # float32
    c64 = p.double().cumsum(0)
    c32 = c64.float().double()
    boundaries = torch.nonzero(c32[:-1] != c64[:-1]).squeeze(1)
    picked = boundaries[torch.linspace(0, len(boundaries) - 1, B).long()]
    u = ((c32[picked] + c64[picked]) / 2) / c64[-1]  # (B,) float64
    return torch.zeros(B, 0, dtype=torch.int64), torch.zeros(B, 0, V), p.expand(B, 1, V).contiguous(), u[:, None]


def residual_rounding_case(dtype: torch.dtype, seed: int = 5):
    """One K = 1 row in dtype whose residual p_0 - q_0 rounds in dtype, uniforms float64.

    Draft 0 is rejected (q_0[x] >= 2 p_0[x], u_0 = 0.75). The residual max(0, p_0 - q_0) taken in
    float64 (exact for these inputs) and the one subtracted in dtype then widened differ, and u_1 is
    the midpoint of c[t] / S for the two, so the two residuals draw different tokens. Returns the
    four tensors.
    """
    g = torch.Generator().manual_seed(seed)
    for _ in range(1000):
        q = torch.softmax(torch.randn(3, generator=g, dtype=torch.float64) * 2, dim=0).to(dtype)
        p = torch.softmax(torch.randn(3, generator=g, dtype=torch.float64) * 2, dim=0).to(dtype)
        x = int(torch.argmax(q.double() - 2 * p.double()))
        if not (q[x].item() >= 2 * p[x].item() > 0):
            continue
        w64 = (p.double() - q.double()).clamp_min(0.0).tolist()
        w_low = (p - q).clamp_min(0).double().tolist()
        if w64 == w_low or not any(w64):
            continue
        c64, c_low = list(itertools.accumulate(w64)), list(itertools.accumulate(w_low))
        for t in range(2):
            u = (c64[t] / c64[-1] + c_low[t] / c_low[-1]) / 2
            if 0 <= u < 1 and draw(w64, u) != draw(w_low, u):
                p_target = torch.stack([p, torch.full((3,), 1 / 3).to(dtype)])[None]
                uniforms = torch.tensor([[0.75, u]], dtype=torch.float64)
                return torch.tensor([[x]]), q.reshape(1, 1, 3), p_target, uniforms
    raise AssertionError(f"no residual rounding case found for {dtype}")
