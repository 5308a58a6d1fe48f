"""Project tests for the retrieval-and-eval-statistics problem that need no judge runner.

The checker-side oracle is checked against independent formulations (pass@k by enumerating
every k-subset, nDCG against a brute-force best permutation), the reference against the oracle
on random inputs, and the statement's worked examples against the reference.
"""

from __future__ import annotations

import itertools
import math
import random
import sys
from pathlib import Path

import pytest

from .problem_support import load

REPO = Path(__file__).resolve().parents[1]
PROBLEM = REPO / "problems" / "retrieval-and-eval-statistics"

reference = load(str(REPO / "solutions_ref" / "retrieval_and_eval_statistics.py"), "retrieval_eval_reference")
sys.path.insert(0, str(PROBLEM))
oracle = load(str(PROBLEM / "eval_oracle.py"), "retrieval_eval_oracle")
driver = load(str(PROBLEM / "driver.py"), "retrieval_eval_driver")
sys.path.remove(str(PROBLEM))

IDS = ["a", "b", "c", "d", "e", 0, 1, 2]


def random_queries(rng: random.Random) -> tuple[list, list, list]:
    """(rankings, judgments as the oracle takes them, relevance as the reference takes it)."""
    rankings, judgments, relevance = [], [], []
    for _ in range(rng.randint(1, 4)):
        rankings.append([rng.choice(IDS) for _ in range(rng.randint(0, 8))])
        if rng.random() < 0.5:
            judged = rng.sample(IDS, rng.randint(1, 5))
            judgments.append(judged)
            relevance.append(set(judged) if rng.random() < 0.5 else frozenset(judged))
        else:
            graded = {doc: rng.choice([0, 1, 2, 4, 0.5, 3.25]) for doc in rng.sample(IDS, rng.randint(1, 6))}
            graded[rng.choice(IDS)] = rng.choice([1, 2])
            judgments.append(graded)
            relevance.append(dict(graded))
    return rankings, judgments, relevance


@pytest.mark.parametrize("seed", range(200))
def test_reference_matches_the_oracle_on_random_queries(seed):
    rng = random.Random(seed)
    rankings, judgments, relevance = random_queries(rng)
    k = rng.randint(1, 10)
    for name in ("recall_at_k", "ndcg_at_k", "mrr"):
        got = getattr(reference, name)(rankings, relevance, k)
        assert math.isclose(got, getattr(oracle, name)(rankings, judgments, k), rel_tol=1e-13, abs_tol=1e-13)
    assert math.isclose(reference.mrr(rankings, relevance), oracle.mrr(rankings, judgments), rel_tol=1e-13)


@pytest.mark.parametrize("seed", range(40))
def test_oracle_ndcg_is_one_exactly_for_the_best_permutation(seed):
    rng = random.Random(seed)
    grades = {doc: rng.choice([1, 2, 3, 0.5]) for doc in rng.sample(IDS, rng.randint(1, 5))}
    k = rng.randint(1, 6)
    best = max(oracle.ndcg_at_k([list(order)], [grades], k) for order in itertools.permutations(list(grades) + ["x"]))
    assert math.isclose(best, 1.0, rel_tol=1e-14)
    ideal = sorted(grades, key=lambda doc: -grades[doc])
    assert math.isclose(reference.ndcg_at_k([ideal], [grades], k), 1.0, rel_tol=1e-14)


@pytest.mark.parametrize("n", range(1, 9))
def test_oracle_pass_at_k_is_the_fraction_of_subsets_with_a_correct_sample(n):
    for c in range(n + 1):
        for k in range(1, n + 1):
            subsets = list(itertools.combinations(range(n), k))
            hits = sum(1 for subset in subsets if any(i < c for i in subset))
            assert oracle.pass_at_k(n, c, k) == hits / len(subsets)
            assert math.isclose(reference.pass_at_k(n, c, k), hits / len(subsets), rel_tol=1e-14, abs_tol=1e-15)


@pytest.mark.parametrize(("n", "c", "k"), [(200, 13, 100), (1_000_000, 500_000, 3), (100_000, 30_000, 50)])
def test_reference_pass_at_k_is_within_the_tolerance_at_large_n(n, c, k):
    assert abs(reference.pass_at_k(n, c, k) - oracle.pass_at_k(n, c, k)) <= 1e-14


@pytest.mark.parametrize("seed", range(100))
def test_reference_bootstrap_matches_the_oracle(seed):
    rng = random.Random(seed)
    n = rng.randint(1, 10)
    a = [rng.randint(-8, 8) / 8 for _ in range(n)]
    b = [rng.randint(-8, 8) / 8 for _ in range(n)]
    resamples = [[rng.randrange(n) for _ in range(n)] for _ in range(rng.randint(1, 15))]
    assert reference.paired_bootstrap(a, b, resamples) == oracle.paired_bootstrap(a, b, resamples)


def test_statement_examples():
    ranked, grades = ["d3", "d1", "d3", "d7", "d2"], {"d1": 3, "d2": 1, "d9": 2, "d5": 0}
    assert reference.recall_at_k([ranked], [grades], 3) == 1 / 3
    assert reference.recall_at_k([ranked], [grades], 5) == 2 / 3
    assert reference.mrr([ranked], [grades]) == 0.5 and reference.mrr([ranked], [grades], k=1) == 0.0
    assert round(7 / math.log2(3) + 1 / math.log2(6), 5) == 4.80336
    assert round(7 + 3 / math.log2(3) + 1 / 2, 5) == 9.39279
    assert round(reference.ndcg_at_k([ranked], [grades], 5), 6) == 0.511388
    assert round(reference.ndcg_at_k([ranked], [grades], 3), 6) == 0.470202
    assert reference.ndcg_at_k([ranked], [grades], 10) == reference.ndcg_at_k([ranked], [grades], 5)
    rankings, relevance = [ranked, ["x", "y"]], [grades, {"y"}]
    assert reference.recall_at_k(rankings, relevance, 1) == 0.0 and reference.mrr(rankings, relevance) == 0.5
    assert round(reference.ndcg_at_k(rankings, relevance, 2), 6) == 0.563785
    assert round(reference.pass_at_k(10, 3, 2), 6) == 0.533333 and reference.pass_at_k(5, 3, 3) == 1.0
    assert reference.pass_at_k(200, 0, 10) == 0.0
    resamples = [[0, 1, 2, 3], [0, 0, 2, 3], [1, 1, 1, 1], [3, 2, 3, 0]]
    assert reference.paired_bootstrap([1, 0, 1, 0], [1, 1, 1, 0], resamples) == (0.25, 0.5)


@pytest.mark.parametrize(
    "call",
    [
        lambda: reference.recall_at_k([["a"]], [{"a"}], 0),
        lambda: reference.mrr([["a"]], [{"a"}], k=0),
        lambda: reference.ndcg_at_k([["a"]], [set()], 1),
        lambda: reference.ndcg_at_k([["a"]], [{"a": -1}], 1),
        lambda: reference.recall_at_k([], [], 1),
        lambda: reference.pass_at_k(5, 1, 6),
        lambda: reference.pass_at_k(5, 6, 1),
        lambda: reference.paired_bootstrap([1], [1], [[-1]]),
        lambda: reference.paired_bootstrap([1], [math.nan], [[0]]),
        lambda: reference.paired_bootstrap([], [], [[]]),
        lambda: reference.pass_at_k(5000, 3, -1),
        lambda: reference.recall_at_k([["a"]], [{"a": 1, "b": -math.inf}], 1),
    ],
)
def test_reference_raises(call):
    with pytest.raises(ValueError):
        call()


class Writer:
    """A stand-in submission whose calls write `write` into their arguments (or nothing)."""

    def __init__(self, write=None):
        self.write = write

    def recall_at_k(self, rankings, relevance, k):
        if self.write:
            self.write(rankings, relevance)
        return reference.recall_at_k(rankings, relevance, k)

    def paired_bootstrap(self, scores_a, scores_b, resample_indices):
        if self.write:
            self.write(scores_a, scores_b)
        return reference.paired_bootstrap(scores_a, scores_b, resample_indices)


def grades_to_floats(rankings, relevance):
    for judged in relevance:
        for doc in judged:
            judged[doc] = float(judged[doc])


def equal_copies(rankings, relevance):
    relevance[:] = [type(judged)(judged.items() if isinstance(judged, dict) else list(judged)) for judged in relevance]


def scores_to_floats(scores_a, scores_b):
    scores_a[:] = [float(score) for score in scores_a]


def ranking_tuple_copied(rankings, relevance):
    rankings[0] = tuple(list(rankings[0]))


@pytest.mark.parametrize(
    ("write", "seen"),
    [
        (grades_to_floats, "relevance[0]['d1'] was the int 3 before the call and the float 3.0 after it"),
        (equal_copies, "relevance[0], the caller's dict {'d1': 3, 'd2': 0}, was replaced by an equal copy"),
        (ranking_tuple_copied, "rankings[0], the caller's tuple ('d1',), was replaced by an equal copy"),
    ],
)
def test_driver_sees_writes_that_keep_equality(write, seen):
    rankings, relevance = [("d1",)], [{"d1": 3, "d2": 0}]
    result, changes = driver.checked(
        Writer(write), "recall_at_k", [rankings, relevance], {"k": 1}, ["rankings", "relevance"]
    )
    assert result == 1.0 and changes == [seen]
    assert driver.checked(Writer(), "recall_at_k", [rankings, relevance], {"k": 1}, ["rankings", "relevance"]) == [
        1.0,
        [],
    ]


@pytest.mark.parametrize("kind", ["set", "frozenset", "dict"])
def test_driver_call_sees_built_judgments_replaced(kind):
    judged = {"a": 1} if kind == "dict" else ["a"]
    result, changes = driver.call(Writer(equal_copies), "recall_at_k", [["a"]], [judged], [kind], {"k": 1})
    assert result == 1.0 and len(changes) == 1 and "replaced by an equal copy" in changes[0], changes
    assert driver.call(Writer(), "recall_at_k", [["a"]], [judged], [kind], {"k": 1}) == [1.0, []]


def test_driver_sees_scores_converted_to_floats():
    names = ["scores_a", "scores_b", "resample_indices"]
    args = [[1, 0], [1, 1], [[0, 1]]]
    result, changes = driver.checked(Writer(scores_to_floats), "paired_bootstrap", args, {}, names)
    assert result == (0.5, 0.0) and changes == ["scores_a[0] was the int 1 before the call and the float 1.0 after it"]
    assert driver.checked(Writer(), "paired_bootstrap", [[1, 0], [1, 1], [[0, 1]]], {}, names) == [(0.5, 0.0), []]
