"""Project tests for the beam-search problem that need no judge runner.

The checker-side oracle is checked against two independent formulations (exhaustive
enumeration when the beam is wide enough to keep everything, and greedy decoding for a beam
of one), the reference against the oracle on random models, and the statement's worked
examples against the reference.
"""

from __future__ import annotations

import math
import random
import sys
from pathlib import Path

import pytest

from .problem_support import load

REPO = Path(__file__).resolve().parents[1]
PROBLEM = REPO / "problems" / "beam-search"

reference = load(str(REPO / "solutions_ref" / "beam_search.py"), "beam_search_reference")
sys.path.insert(0, str(PROBLEM))
oracle = load(str(PROBLEM / "beam_oracle.py"), "beam_search_oracle")
sys.path.remove(str(PROBLEM))

LOG = math.log
INF = math.inf


def penalized(tokens: list[int], raw: float, alpha: float) -> float:
    return raw / ((5 + len(tokens)) / 6) ** alpha


def exhaustive(row_for, bos_id: int, eos_id: int, max_len: int, alpha: float) -> list[tuple[list[int], float]]:
    """Every sequence with a finite score: EOS-terminated of length <= max_len, or unterminated of max_len."""
    out: list[tuple[list[int], float]] = []

    def walk(tokens: list[int], raw: float) -> None:
        for token, logp in enumerate(row_for((bos_id, *tokens))):
            if logp == -INF:
                continue
            grown = [*tokens, token]
            if token == eos_id or len(grown) == max_len:
                out.append((grown, penalized(grown, raw + logp, alpha)))
            else:
                walk(grown, raw + logp)

    walk([], 0.0)
    return sorted(out, key=lambda hypothesis: -hypothesis[1])


def greedy(row_for, bos_id: int, eos_id: int, max_len: int, alpha: float) -> list[tuple[list[int], float]]:
    """beam_width=1: follow the best non-EOS token; an EOS ranked above it finishes on the way."""
    tokens: list[int] = []
    raw = 0.0
    finished: list[tuple[list[int], float]] = []
    for step in range(1, max_len + 1):
        row = row_for((bos_id, *tokens))
        others = [(logp, token) for token, logp in enumerate(row) if token != eos_id and logp > -INF]
        best = max(others, key=lambda entry: (entry[0], -entry[1])) if others else None
        eos = row[eos_id]
        if eos > -INF and (best is None or eos > best[0] or (eos == best[0] and eos_id < best[1])):
            finished.append(([*tokens, eos_id], penalized([*tokens, eos_id], raw + eos, alpha)))
        if best is None:
            break
        tokens, raw = [*tokens, best[1]], raw + best[0]
        if step == max_len:
            finished.append((tokens, penalized(tokens, raw, alpha)))
    return sorted(finished, key=lambda hypothesis: -hypothesis[1])[:1]


def close(got, want) -> bool:
    return [t for t, _ in got] == [t for t, _ in want] and all(
        math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-12) for (_, a), (_, b) in zip(got, want, strict=True)
    )


@pytest.mark.parametrize("seed", range(12))
def test_oracle_keeps_everything_when_the_beam_is_wide(seed):
    rng = random.Random(seed)
    vocab, max_len = rng.randint(2, 4), rng.randint(1, 4)
    eos_id, bos_id, alpha = rng.randrange(vocab), rng.randrange(vocab + 1), rng.choice([0.0, 0.6, 1.5, -0.5])
    lm = oracle.random_lm(seed, vocab, eos_id, impossible=0.2 * (seed % 2))
    want = exhaustive(lm.row_for, bos_id, eos_id, max_len, alpha)
    width = vocab**max_len
    got, calls = oracle.oracle_beam_search(lm.row_for, bos_id, eos_id, width, max_len, alpha)
    assert close(got, want), (got, want)
    assert reference.beam_search(lm, bos_id, eos_id, beam_width=width, max_len=max_len, length_penalty=alpha) == got


@pytest.mark.parametrize("seed", range(12))
def test_oracle_with_beam_width_one_is_greedy(seed):
    rng = random.Random(100 + seed)
    vocab, max_len = rng.randint(1, 6), rng.randint(1, 7)
    eos_id, alpha = rng.randrange(vocab), rng.choice([0.0, 0.6, 2.0])
    lm = oracle.random_lm(seed, vocab, eos_id, impossible=0.3 * (seed % 2))
    got, _ = oracle.oracle_beam_search(lm.row_for, vocab, eos_id, 1, max_len, alpha)
    assert close(got, greedy(lm.row_for, vocab, eos_id, max_len, alpha)), got


@pytest.mark.parametrize("seed", range(150))
def test_reference_matches_oracle_calls_and_results(seed):
    rng = random.Random(seed)
    vocab = rng.randint(1, 6)
    eos_id, bos_id = rng.randrange(vocab), rng.randrange(vocab + 1)
    width, max_len, alpha = rng.randint(1, 5), rng.randint(1, 6), rng.choice([0.0, 0.6, 1.0, -0.5, 2.0])
    make = [lambda: oracle.random_lm(seed, vocab, eos_id, impossible=0.2), lambda: oracle.quantized_lm(seed, vocab)]
    lm = make[seed % 2]()
    got = reference.beam_search(lm, bos_id, eos_id, beam_width=width, max_len=max_len, length_penalty=alpha)
    want, calls = oracle.oracle_beam_search(lm.row_for, bos_id, eos_id, width, max_len, alpha)
    assert got == want
    assert lm.calls == calls


def example_lm():
    table = {
        (3,): [LOG(0.1), LOG(0.6), LOG(0.3), -INF],
        (3, 1): [LOG(0.5), LOG(0.1), LOG(0.4), -INF],
        (3, 2): [LOG(0.9), LOG(0.05), LOG(0.05), -INF],
    }
    return oracle.table_lm(table, [LOG(0.9), LOG(0.05), LOG(0.05), -INF])


def test_statement_example_one():
    lm = example_lm()
    got = reference.beam_search(lm, 3, 0, beam_width=2, max_len=3, length_penalty=0)
    assert [(t, round(s, 4)) for t, s in got] == [([1, 0], -1.204), ([2, 0], -1.3093)]
    assert lm.calls == [[[3]], [[3, 1], [3, 2]], [[3, 1, 2], [3, 1, 1]]]
    got = reference.beam_search(example_lm(), 3, 0, beam_width=2, max_len=3, length_penalty=2)
    assert [(t, round(s, 4)) for t, s in got] == [([1, 2, 0], -0.862), ([1, 0], -0.8846)]
    assert round(LOG(0.6) + LOG(0.4) + LOG(0.05), 4) == -4.4228


def test_statement_example_ties_and_impossible_tokens():
    lm = oracle.table_lm({}, [-1.0, -1.0, -1.0])
    assert reference.beam_search(lm, 0, 0, beam_width=3, max_len=2, length_penalty=0) == [
        ([0], -1.0),
        ([1, 0], -2.0),
        ([1, 1], -2.0),
    ]
    assert lm.calls == [[[0]], [[0, 1], [0, 2]]]
    lm = oracle.table_lm({(3,): [-INF, -0.5, -INF]}, [-1.0, -1.0, -1.0])
    reference.beam_search(lm, 3, 0, beam_width=3, max_len=2, length_penalty=0)
    assert lm.calls == [[[3]], [[3, 1]]]


@pytest.mark.parametrize(
    "kwargs", [{"beam_width": 0}, {"max_len": 0}, {"length_penalty": math.nan}, {"bos_id": -1}, {"eos_id": 9}]
)
def test_reference_raises(kwargs):
    settings = {"bos_id": 0, "eos_id": 0, "beam_width": 2, "max_len": 2, **kwargs}
    bos_id, eos_id = settings.pop("bos_id"), settings.pop("eos_id")
    with pytest.raises(ValueError):
        reference.beam_search(oracle.table_lm({}, [-1.0, -2.0]), bos_id, eos_id, **settings)


def test_the_formula_tie_separates_the_other_forms():
    """test_scores_use_the_statements_formula relies on these last-bit facts of float64 pow."""
    lp = ((5 + 5) / 6) ** 0.6
    ra = -1.01 / lp
    assert -1.01 / ((5 + 5) ** 0.6 / 6**0.6) > ra
    assert -1.01 / math.exp(0.6 * math.log((5 + 5) / 6)) > ra
    assert -1.01 * (1 / lp) > ra
    assert oracle.gnmt_penalty(5, 0.6) == lp
