"""Retrieval metrics and evaluation statistics: recall@k, MRR, nDCG@k, pass@k, a paired bootstrap.

pass@k: Chen et al., "Evaluating Large Language Models Trained on Code" (2021), section 2.1,
https://arxiv.org/abs/2107.03374

Fill in the five functions. Keep the names and signatures below; add private helpers freely.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence, Set

Id = Hashable  # a document id (str or int)
Relevance = Set[Id] | Mapping[Id, float]  # relevant ids (grade 1 each), or id -> grade (0: not relevant)


def recall_at_k(rankings: Sequence[Sequence[Id]], relevance: Sequence[Relevance], k: int) -> float:
    """Mean over queries of |distinct relevant ids in the top k| / |relevant ids|."""
    raise NotImplementedError


def mrr(rankings: Sequence[Sequence[Id]], relevance: Sequence[Relevance], k: int | None = None) -> float:
    """Mean over queries of 1 / rank of the first relevant id in the top k (0 if none); k=None: whole list."""
    raise NotImplementedError


def ndcg_at_k(rankings: Sequence[Sequence[Id]], relevance: Sequence[Relevance], k: int) -> float:
    """Mean over queries of DCG@k / IDCG@k with gain 2**grade - 1; IDCG ranks every relevant id ideally."""
    raise NotImplementedError


def pass_at_k(n: int, c: int, k: int) -> float:
    """Chen et al.'s unbiased estimator 1 - C(n - c, k) / C(n, k), in a numerically stable form."""
    raise NotImplementedError


def paired_bootstrap(
    scores_a: Sequence[float], scores_b: Sequence[float], resample_indices: Sequence[Sequence[int]]
) -> tuple[float, float]:
    """(delta, p_value): delta = mean(b_i - a_i); p_value = fraction of resamples whose delta <= 0."""
    raise NotImplementedError
