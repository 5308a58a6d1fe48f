"""Project tests for the speculative-decoding problem that need no judge runner.

The checker-side oracle is checked against an independent formulation (the statement's
min(1, p / q) acceptance and a normalized CDF, vectorized in torch) and its output law against
a Monte Carlo run, the reference against the oracle, the statement's worked examples against the
reference, and the numerical cases of the hidden suite against the wrong solutions they target.
"""

import sys
from fractions import Fraction
from pathlib import Path

import pytest
import torch

from .problem_support import load, load_wrong

REPO = Path(__file__).resolve().parents[1]
PROBLEM = REPO / "problems" / "speculative-decoding"

reference = load(REPO / "solutions_ref" / "speculative_decoding.py", "speculative_decoding_reference")
sys.path.insert(0, str(PROBLEM))
oracle = load(PROBLEM / "spec_oracle.py", "spec_oracle_project")
sys.path.remove(str(PROBLEM))


def ratio_form(draft_tokens, q_draft, p_target, uniforms):
    """u < min(1, p / q) and a normalized CDF with u < c[t] / S, row by row in torch float64."""
    B, K = draft_tokens.shape
    tokens = torch.full((B, K + 1), -1, dtype=torch.int64)
    counts = torch.zeros(B, dtype=torch.int64)
    for b in range(B):
        q, p, u = q_draft[b].double(), p_target[b].double(), uniforms[b].double()
        n = 0
        while n < K:
            x = int(draft_tokens[b, n])
            if not u[n] < min(1.0, float(p[n, x] / q[n, x])):
                break
            tokens[b, n] = x
            n += 1
        w = p[K] if n == K else (p[n] - q[n]).clamp_min(0)
        w = p[n] if w.sum() == 0 else w
        cdf = w.cumsum(0) / w.sum()
        tokens[b, n] = int(torch.nonzero(u[K] < cdf)[0])
        counts[b] = n + 1
    return tokens, counts


@pytest.mark.parametrize("K", [0, 1, 4])
@pytest.mark.parametrize("zeros", [False, True])
def test_oracle_matches_the_ratio_form(K, zeros):
    for seed in range(20):
        args = oracle.random_case(6, K, 9, seed, zeros=zeros)
        expected = oracle.verify_oracle(*args)
        got = ratio_form(*args)
        assert torch.equal(got[0], expected[0]) and torch.equal(got[1], expected[1]), seed


@pytest.mark.parametrize("K", [0, 2, 5])
def test_reference_matches_oracle(K):
    for seed in range(30):
        for dtype in (torch.float32, torch.float64):
            d, q, p, u = oracle.random_case(5, K, 11, seed, temperature=0.5, zeros=seed % 2 == 0)
            args = (d, q.to(dtype), p.to(dtype), u.to(dtype))
            tokens, counts = reference.verify(*args)
            expected = oracle.verify_oracle(*args)
            assert torch.equal(tokens, expected[0]) and torch.equal(counts, expected[1]), (seed, dtype)


def test_exact_law_matches_monte_carlo():
    # the closed form the distribution tests compare with, against sampling the draft and uniforms
    F = Fraction
    q = [[F(1, 2), F(1, 4), F(1, 4)]]
    p = [[F(1, 4), F(1, 2), F(1, 4)], [F(1, 3), F(1, 3), F(1, 3)]]
    law = oracle.exact_law(q, p)
    assert sum(law.values()) == 1
    g = torch.Generator().manual_seed(0)
    B = 200_000
    q_t = torch.tensor([[float(v) for v in q[0]]], dtype=torch.float64)
    draft = torch.multinomial(q_t.expand(B, 3), 1, replacement=True, generator=g)
    p_t = torch.tensor([[float(v) for v in r] for r in p], dtype=torch.float64)[None].expand(B, 2, 3)
    tokens, counts = reference.verify(draft, q_t[None].expand(B, 1, 3), p_t, torch.rand(B, 2, generator=g))
    for seq, prob in law.items():
        row = torch.tensor(list(seq) + [-1] * (2 - len(seq)))
        freq = ((tokens == row).all(dim=1) & (counts == len(seq))).double().mean().item()
        assert abs(freq - float(prob)) < 0.005, (seq, freq, float(prob))


def test_statement_examples():
    d = torch.tensor([[1, 2]])
    q = torch.tensor([[[0.5, 0.5, 0.0, 0.0], [0.25, 0.25, 0.5, 0.0]]])
    p = torch.tensor([[[0.25, 0.5, 0.25, 0.0], [0.25, 0.25, 0.25, 0.25], [0.0, 0.0, 0.5, 0.5]]])
    tokens, counts = reference.verify(d, q, p, torch.tensor([[0.5, 0.5, 0.3]]))
    assert tokens.tolist() == [[1, 3, -1]] and counts.tolist() == [2]
    tokens, counts = reference.verify(d, q, p, torch.tensor([[0.5, 0.25, 0.7]]))
    assert tokens.tolist() == [[1, 2, 3]] and counts.tolist() == [3]
    k0 = (torch.zeros(1, 0, dtype=torch.long), torch.zeros(1, 0, 3), torch.tensor([[[0.0, 0.75, 0.25]]]))
    tokens, counts = reference.verify(*k0, torch.tensor([[0.0]]))
    assert tokens.tolist() == [[1]] and counts.tolist() == [1]
    q0, p0 = torch.tensor([[[0.5, 0.5]]]), torch.tensor([[[0.25, 0.25], [0.5, 0.5]]])
    tokens, counts = reference.verify(torch.tensor([[0]]), q0, p0, torch.tensor([[0.75, 0.6]]))
    assert tokens.tolist() == [[1, -1]] and counts.tolist() == [1]


def test_float32_cumulative_sum_case_separates_the_two():
    # the hidden suite's rounding case: a float32 running sum draws different tokens
    args = oracle.cdf_rounding_case()
    expected = oracle.verify_oracle(*args)[0]
    assert torch.equal(reference.verify(*args)[0], expected)
    wrong = load_wrong("speculative-decoding", "cumsum_in_float32.patch")
    assert (wrong.verify(*args)[0] != expected).sum() >= 4
