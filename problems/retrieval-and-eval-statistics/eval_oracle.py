"""Checker side of retrieval-and-eval-statistics: the statement's definitions, computed independently.

recall, MRR, pass@k and the bootstrap are exact (fractions.Fraction); nDCG is float64 with the
natural log (log2(x) = ln(x) / ln(2)), an order of operations the reference does not share.
Judgments are plain data here: a list of ids (a set judgment) or a dict id -> grade.
"""

from __future__ import annotations

import math
from fractions import Fraction


def relevant_grades(judged) -> dict:
    """id -> positive grade (a list of ids is a set judgment: grade 1 each)."""
    if isinstance(judged, dict):
        return {doc: grade for doc, grade in judged.items() if grade > 0}
    return {doc: 1 for doc in judged}


def first_occurrences(ranked, k):
    """(1-based rank, id) of the first occurrences among the first k entries."""
    seen = set()
    out = []
    for position in range(min(k, len(ranked))):
        doc = ranked[position]
        if doc not in seen:
            seen.add(doc)
            out.append((position + 1, doc))
    return out


def recall_one(ranked, judged, k) -> Fraction:
    grades = relevant_grades(judged)
    hits = sum(1 for _, doc in first_occurrences(ranked, k) if doc in grades)
    return Fraction(hits, len(grades))


def reciprocal_rank_one(ranked, judged, k) -> Fraction:
    grades = relevant_grades(judged)
    limit = len(ranked) if k is None else k
    for rank, doc in first_occurrences(ranked, limit):
        if doc in grades:
            return Fraction(1, rank)
    return Fraction(0)


def ndcg_one(ranked, judged, k) -> float:
    grades = relevant_grades(judged)
    discount = [math.log(2) / math.log(rank + 1) for rank in range(1, k + 1)]  # 1 / log2(rank + 1)
    dcg = math.fsum((2.0 ** grades.get(doc, 0) - 1) * discount[rank - 1] for rank, doc in first_occurrences(ranked, k))
    ideal = sorted(grades.values(), reverse=True)[:k]
    idcg = math.fsum((2.0**grade - 1) * discount[i] for i, grade in enumerate(ideal))
    return dcg / idcg


def mean(values) -> float:
    values = list(values)
    if all(isinstance(v, Fraction) for v in values):
        return float(sum(values, Fraction(0)) / len(values))
    return math.fsum(values) / len(values)


def recall_at_k(rankings, judgments, k) -> float:
    return mean(recall_one(r, j, k) for r, j in zip(rankings, judgments, strict=True))


def mrr(rankings, judgments, k=None) -> float:
    return mean(reciprocal_rank_one(r, j, k) for r, j in zip(rankings, judgments, strict=True))


def ndcg_at_k(rankings, judgments, k) -> float:
    return mean(ndcg_one(r, j, k) for r, j in zip(rankings, judgments, strict=True))


def pass_at_k(n: int, c: int, k: int) -> float:
    """Exactly 1 - C(n - c, k) / C(n, k) (math.comb is 0 when n - c < k), rounded once."""
    return float(1 - Fraction(math.comb(n - c, k), math.comb(n, k)))


def paired_bootstrap(scores_a, scores_b, resample_indices) -> tuple[float, float]:
    diffs = [Fraction(b) - Fraction(a) for a, b in zip(scores_a, scores_b, strict=True)]
    delta = sum(diffs, Fraction(0)) / len(diffs)
    not_better = sum(1 for indices in resample_indices if sum((diffs[i] for i in indices), Fraction(0)) <= 0)
    return float(delta), float(Fraction(not_better, len(resample_indices)))


def resample_sums(scores_a, scores_b, resample_indices) -> list[Fraction]:
    """The exact sum of differences of each resample (tests use it to stay clear of near-zero sums)."""
    diffs = [Fraction(b) - Fraction(a) for a, b in zip(scores_a, scores_b, strict=True)]
    return [sum((diffs[i] for i in indices), Fraction(0)) for indices in resample_indices]
