"""Retrieval metrics and evaluation statistics: recall@k, MRR, nDCG@k, pass@k, a paired bootstrap.

nDCG with exponential gain: Burges et al., "Learning to Rank using Gradient Descent" (ICML 2005);
Jarvelin & Kekalainen, "Cumulated gain-based evaluation of IR techniques" (TOIS 2002).
pass@k: Chen et al., "Evaluating Large Language Models Trained on Code" (2021), section 2.1,
https://arxiv.org/abs/2107.03374
Paired bootstrap: Koehn, "Statistical Significance Tests for Machine Translation Evaluation" (2004).

A query is a ranked list of ids (best first) and its relevance: a set of relevant ids (grade 1
each) or a dict id -> grade (grade 0: not relevant). A later duplicate of an id in a ranked list
scores nothing but keeps its position. The three retrieval metrics return the mean over queries.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence, Set

Id = Hashable  # a document id (str or int)
Relevance = Set[Id] | Mapping[Id, float]  # relevant ids, or id -> grade


def _grades(relevance: Relevance) -> dict[Id, float]:
    """The positive grades of one query (a set gives grade 1 to each id)."""
    if isinstance(relevance, Mapping):
        for grade in relevance.values():
            if not math.isfinite(grade) or grade < 0:
                raise ValueError(f"a grade must be finite and >= 0, got {grade}")
        grades = {doc: grade for doc, grade in relevance.items() if grade > 0}
    else:
        grades = dict.fromkeys(relevance, 1)
    if not grades:
        raise ValueError("a query has no relevant id: the metric is undefined")
    return grades


def _check_k(k: int) -> None:
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")


def _mean_over_queries(per_query, rankings: Sequence[Sequence[Id]], relevance: Sequence[Relevance]) -> float:
    if len(rankings) != len(relevance):
        raise ValueError(f"{len(rankings)} rankings for {len(relevance)} relevance judgments")
    if not rankings:
        raise ValueError("no queries")
    values = [per_query(rankings[q], _grades(relevance[q])) for q in range(len(rankings))]
    return math.fsum(values) / len(values)


def _first_occurrences(ranked: Sequence[Id], k: int) -> list[tuple[int, Id]]:
    """(1-based rank, id) of the first k positions, later duplicates dropped (their ranks kept)."""
    seen: set[Id] = set()
    out = []
    for rank, doc in enumerate(ranked[:k], start=1):
        if doc not in seen:
            seen.add(doc)
            out.append((rank, doc))
    return out


def recall_at_k(rankings: Sequence[Sequence[Id]], relevance: Sequence[Relevance], k: int) -> float:
    """Mean over queries of |distinct relevant ids in the top k| / |relevant ids|."""
    _check_k(k)

    def recall(ranked: Sequence[Id], grades: dict[Id, float]) -> float:
        found = {doc for doc in ranked[:k] if doc in grades}
        return len(found) / len(grades)

    return _mean_over_queries(recall, rankings, relevance)


def mrr(rankings: Sequence[Sequence[Id]], relevance: Sequence[Relevance], k: int | None = None) -> float:
    """Mean over queries of 1 / rank of the first relevant id in the top k (0 if none); k=None: whole list."""
    if k is not None:
        _check_k(k)

    def reciprocal_rank(ranked: Sequence[Id], grades: dict[Id, float]) -> float:
        top = ranked if k is None else ranked[:k]
        for rank, doc in enumerate(top, start=1):
            if doc in grades:
                return 1 / rank
        return 0.0

    return _mean_over_queries(reciprocal_rank, rankings, relevance)


def _dcg(gains: list[float]) -> float:
    """sum_i gain_i / log2(i + 1) over 1-based ranks i."""
    return math.fsum(gain / math.log2(rank + 1) for rank, gain in enumerate(gains, start=1))


def ndcg_at_k(rankings: Sequence[Sequence[Id]], relevance: Sequence[Relevance], k: int) -> float:
    """Mean over queries of DCG@k / IDCG@k with gain 2**grade - 1; IDCG ranks every relevant id ideally."""
    _check_k(k)

    def ndcg(ranked: Sequence[Id], grades: dict[Id, float]) -> float:
        gains = [0.0] * min(k, len(ranked))  # a duplicate or an unjudged id: gain 0
        for rank, doc in _first_occurrences(ranked, k):
            gains[rank - 1] = 2.0 ** grades.get(doc, 0) - 1
        ideal = sorted((2.0**grade - 1 for grade in grades.values()), reverse=True)[:k]
        return _dcg(gains) / _dcg(ideal)

    return _mean_over_queries(ndcg, rankings, relevance)


def pass_at_k(n: int, c: int, k: int) -> float:
    """Chen et al.'s unbiased estimator 1 - C(n - c, k) / C(n, k), as 1 - prod_{i=n-c+1}^{n} (1 - k / i)."""
    if not 1 <= k <= n:
        raise ValueError(f"need 1 <= k <= n, got n={n}, k={k}")
    if not 0 <= c <= n:
        raise ValueError(f"need 0 <= c <= n, got n={n}, c={c}")
    # n - c < k: the factor i = k is 1 - k / k = 0.0 exactly, so pass@k = 1.0 (every k-subset holds a correct one)
    return 1.0 - math.prod(1.0 - k / i for i in range(n - c + 1, n + 1))


def paired_bootstrap(
    scores_a: Sequence[float], scores_b: Sequence[float], resample_indices: Sequence[Sequence[int]]
) -> tuple[float, float]:
    """(delta, p_value): delta = mean(b_i - a_i); p_value = fraction of resamples whose delta <= 0."""
    n = len(scores_a)
    if n != len(scores_b) or n == 0:
        raise ValueError(f"need two non-empty score lists of one length, got {n} and {len(scores_b)}")
    if not all(math.isfinite(score) for score in [*scores_a, *scores_b]):
        raise ValueError("scores must be finite")
    if not resample_indices:
        raise ValueError("no resamples")
    diffs = [scores_b[i] - scores_a[i] for i in range(n)]  # paired: one difference per item
    not_better = 0  # resamples where B does not beat A (a tie counts against B)
    for indices in resample_indices:
        if len(indices) != n or not all(0 <= i < n for i in indices):
            raise ValueError(f"each resample must hold {n} indices in [0, {n})")
        not_better += math.fsum(diffs[i] for i in indices) <= 0
    return math.fsum(diffs) / n, not_better / len(resample_indices)
