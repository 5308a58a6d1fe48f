"""Project tests for the text-generation-metrics problem that need no judge runner.

The checker-side oracle is checked against the papers' definitions worked by hand (Papineni et
al.'s clipping example, Lin's ROUGE-L example, the smoothing formulas in closed form) and against
a brute-force longest common subsequence; the reference against the oracle on random corpora and
texts; the statement's worked examples against the reference.
"""

from __future__ import annotations

import itertools
import math
import random
import sys
import tomllib
from pathlib import Path

import pytest

from .problem_support import load

REPO = Path(__file__).resolve().parents[1]
PROBLEM = REPO / "problems" / "text-generation-metrics"

reference = load(str(REPO / "solutions_ref" / "text_generation_metrics.py"), "text_generation_metrics_reference")
sys.path.insert(0, str(PROBLEM))
oracle = load(str(PROBLEM / "metrics_oracle.py"), "text_generation_metrics_oracle")
hidden_rtol = load(str(PROBLEM / "test_hidden.py"), "text_generation_metrics_hidden").RTOL
sys.path.remove(str(PROBLEM))

PAPINENI = (["the the the the the the the"], [["The cat is on the mat.", "There is a cat on the mat."]])
CORPUS = (["the cat sat on the mat", "a dog"], [["the cat sat on the mat"], ["the dog barked"]])


def close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-12, abs_tol=0.0)


def test_the_hidden_tests_use_the_tolerance_of_problem_toml():
    toml = tomllib.loads((PROBLEM / "problem.toml").read_text())
    assert toml["tolerances"]["float64"] == {"atol": 0.0, "rtol": hidden_rtol}


def test_papineni_clipping_example_by_hand():
    hypotheses, references = PAPINENI
    assert oracle.bleu_statistics(hypotheses, references, 2) == ([2, 0], [7, 6], 7, 7)
    assert close(oracle.oracle_bleu(hypotheses, references, 1), 2 / 7)
    assert oracle.oracle_bleu(hypotheses, references, 2, "none") == 0.0
    assert close(oracle.oracle_bleu(hypotheses, references, 2, "floor"), math.sqrt(2 / 7 * 0.1 / 6))
    assert close(oracle.oracle_bleu(hypotheses, references, 2, "add-one"), math.sqrt(2 / 7 * 1 / 7))
    assert close(oracle.oracle_bleu(hypotheses, references, 2, "exp"), math.sqrt(2 / 7 * 1 / 12))


def test_corpus_example_by_hand():
    assert oracle.bleu_statistics(*CORPUS, 2) == ([7, 5], [8, 6], 8, 9)
    assert close(oracle.oracle_bleu(*CORPUS, 2), math.exp(1 - 9 / 8) * math.sqrt(7 / 8 * 5 / 6))


def test_exp_smoothing_halves_again_at_each_zero_order_by_hand():
    # "a b c d e" against "a c e b d": m = [5, 0, 0, 0], d = [5, 4, 3, 2]
    hypotheses, references = ["a b c d e"], [["a c e b d"]]
    assert oracle.bleu_statistics(hypotheses, references, 4) == ([5, 0, 0, 0], [5, 4, 3, 2], 5, 5)
    expected = (1 * 1 / (2 * 4) * 1 / (4 * 3) * 1 / (8 * 2)) ** 0.25
    assert close(oracle.oracle_bleu(hypotheses, references, 4, "exp"), expected)
    expected = (1 * 0.1 / 4 * 0.1 / 3 * 0.1 / 2) ** 0.25
    assert close(oracle.oracle_bleu(hypotheses, references, 4, "floor"), expected)
    assert close(oracle.oracle_bleu(hypotheses, references, 4, "add-one"), (1 * 1 / 5 * 1 / 4 * 1 / 3) ** 0.25)


def test_closest_length_ties_and_the_brevity_penalty_by_hand():
    assert oracle.bleu_statistics(["a b c d"], [["a b c d e f", "a b"]], 1)[3] == 2
    assert oracle.bleu_statistics(["a b c"], [["a b c d e", "a b"]], 1)[3] == 2
    assert close(oracle.oracle_bleu(["a b c"], [["a b c d e f"]], 3), math.exp(1 - 6 / 3))


def test_lin_rouge_l_example_by_hand():
    refs = ["police killed the gunman"]
    assert oracle.oracle_rouge("l", "police kill the gunman", refs)[0] == (0.75, 0.75, 0.75)
    assert oracle.oracle_rouge("l", "the gunman kill police", refs)[0] == (0.5, 0.5, 0.5)
    for hypothesis in ("police kill the gunman", "the gunman kill police"):
        assert oracle.oracle_rouge("n", hypothesis, refs, 2)[0] == (1 / 3, 1 / 3, 1 / 3)
    got = oracle.oracle_rouge("l", "police kill the gunman", ["police killed the gunman today"], beta=2)[0]
    assert got[:2] == (0.75, 0.6) and close(got[2], 0.625)


def brute_force_lcs(a: list[str], b: list[str]) -> int:
    for size in range(min(len(a), len(b)), 0, -1):
        subsequences = set(itertools.combinations(b, size))
        if any(sub in subsequences for sub in itertools.combinations(a, size)):
            return size
    return 0


@pytest.mark.parametrize("seed", range(40))
def test_oracle_lcs_is_the_longest_common_subsequence(seed):
    rng = random.Random(seed)
    a = [rng.choice("abc") for _ in range(rng.randint(0, 7))]
    b = [rng.choice("abc") for _ in range(rng.randint(0, 7))]
    assert oracle.lcs(a, b) == brute_force_lcs(a, b) == reference._lcs_length(a, b)


def random_text(rng: random.Random, longest: int) -> str:
    words = [rng.choice(["a", "b", "c", "A", "d"]) for _ in range(rng.randint(0, longest))]
    return "".join(rng.choice([" ", "\t", "  ", "\n"]) + word for word in words)


@pytest.mark.parametrize("seed", range(200))
def test_reference_bleu_matches_the_oracle(seed):
    rng = random.Random(seed)
    size = rng.randint(1, 5)
    hypotheses = [random_text(rng, 12) for _ in range(size)]
    references = [[random_text(rng, 12) for _ in range(rng.randint(1, 3))] for _ in range(size)]
    max_n, smoothing = rng.randint(1, 6), rng.choice(oracle.SMOOTHING)
    got = reference.corpus_bleu(hypotheses, references, max_n=max_n, smoothing=smoothing)
    want = oracle.oracle_bleu(hypotheses, references, max_n, smoothing)
    assert math.isclose(got, want, rel_tol=1e-12, abs_tol=0.0), (got, want)


@pytest.mark.parametrize("seed", range(200))
def test_reference_rouge_matches_the_oracle(seed):
    rng = random.Random(seed)
    hypothesis = random_text(rng, 10)
    references = [random_text(rng, 10) for _ in range(rng.randint(1, 3))]
    n, beta = rng.randint(1, 3), rng.choice([0.0, 0.5, 1.0, 2.0])
    for kind, got in (
        ("n", reference.rouge_n(hypothesis, references, n, beta=beta)),
        ("l", reference.rouge_l(hypothesis, references, beta=beta)),
    ):
        want, exact = oracle.oracle_rouge(kind, hypothesis, references, n, beta)
        if tied_from_different_precisions(exact):
            continue  # the reference compares F in float64, which can split such a tie: the tests avoid them
        assert all(math.isclose(g, w, rel_tol=1e-12, abs_tol=0.0) for g, w in zip(got, want, strict=True)), (
            kind,
            got,
            want,
            exact,
        )


@pytest.mark.parametrize(
    "beta", [0.0, 5e-324, 1e-200, 1e-8, 0.3, 1.0, 7.0, 1e8, 1e154, 1.5e154, 1e200, sys.float_info.max]
)
def test_reference_f_measure_over_the_whole_range_of_beta(beta):
    # beta^2 overflows float64 above ~1.34e154: the reference's F stays finite and matches the exact one
    rng = random.Random(11)
    for _ in range(50):
        hypothesis, references = random_text(rng, 12), [random_text(rng, 12)]
        for kind, got in (
            ("n", reference.rouge_n(hypothesis, references, 1, beta=beta)),
            ("l", reference.rouge_l(hypothesis, references, beta=beta)),
        ):
            want, _ = oracle.oracle_rouge(kind, hypothesis, references, 1, beta)
            assert all(math.isclose(g, w, rel_tol=1e-12, abs_tol=0.0) for g, w in zip(got, want, strict=True)), (
                kind,
                beta,
                got,
                want,
            )


def test_the_textbook_f_formula_fails_for_huge_beta():
    # what test_rouge_beta_at_the_ends_of_float64 rejects: b*b is inf, and F = inf / inf
    b2 = 1e200 * 1e200
    assert math.isnan((1 + b2) * 1.0 * (2 / 3) / (2 / 3 + b2 * 1.0))
    with pytest.raises(OverflowError):
        _ = 1e200**2
    assert reference.rouge_l("a b", ["a b c"], beta=1e200) == (1.0, 2 / 3, 2 / 3)


def tied_from_different_precisions(exact) -> bool:
    return any(
        f_i == f_j and (p_i, r_i) != (p_j, r_j)
        for i, (p_i, r_i, f_i) in enumerate(exact)
        for p_j, r_j, f_j in exact[:i]
    )


def test_statement_examples_on_the_reference():
    hypotheses, references = PAPINENI
    assert close(reference.corpus_bleu(hypotheses, references, max_n=1), 2 / 7)
    rounded = {
        s: round(reference.corpus_bleu(hypotheses, references, max_n=2, smoothing=s), 6) for s in oracle.SMOOTHING
    }
    assert rounded == {"none": 0.0, "floor": 0.069007, "add-one": 0.202031, "exp": 0.154303}
    assert round(reference.corpus_bleu(*CORPUS, max_n=2), 6) == 0.753575
    assert [reference.corpus_bleu([h], [r], max_n=2) for h, r in zip(*CORPUS, strict=True)] == [1.0, 0.0]
    refs = ["police killed the gunman"]
    assert reference.rouge_l("police kill the gunman", refs) == (0.75, 0.75, 0.75)
    assert reference.rouge_l("the gunman kill police", refs) == (0.5, 0.5, 0.5)
    longer = ["police killed the gunman today"]
    assert reference.rouge_l("police kill the gunman", longer, beta=2) == (0.75, 0.6, 0.625)
    assert reference.rouge_l("police kill the gunman", longer, beta=0) == (0.75, 0.6, 0.75)


def test_the_geometric_mean_test_needs_log_space():
    """The hidden test's case really underflows a product of the precisions (and not the score)."""
    rng = random.Random(5)
    words = [rng.choice("abcdefghij") for _ in range(200)]
    reference_words = words[:30] + [rng.choice("abcdefghij") for _ in range(170)]
    matches, totals, _, _ = oracle.bleu_statistics([" ".join(words)], [[" ".join(reference_words)]], 150)
    for smoothing in ("floor", "exp"):
        precisions = oracle.exact_precisions(matches, totals, smoothing)
        assert math.prod(float(p) for p in precisions) == 0.0
        assert oracle.oracle_bleu([" ".join(words)], [[" ".join(reference_words)]], 150, smoothing) > 1e-30


@pytest.mark.parametrize(
    "call",
    [
        lambda: reference.corpus_bleu([], []),
        lambda: reference.corpus_bleu(["a"], [["a"], ["b"]]),
        lambda: reference.corpus_bleu(["a"], [[]]),
        lambda: reference.corpus_bleu(["a"], [["a"]], max_n=0),
        lambda: reference.corpus_bleu(["a"], [["a"]], smoothing="Floor"),
        lambda: reference.rouge_n("a", []),
        lambda: reference.rouge_n("a", ["a"], 0),
        lambda: reference.rouge_l("a", ["a"], beta=-1.0),
        lambda: reference.rouge_l("a", ["a"], beta=math.nan),
    ],
)
def test_reference_raises(call):
    with pytest.raises(ValueError):
        call()
