"""Checker-side oracles for rag-pipeline: the formulas from the statement, in float64.

Written independently of the reference (plain loops, no inverted index) so that a bug
shared by both is unlikely. Also holds `check_ranking`, which compares a candidate's
best-first (id, score) list with oracle scores without penalising float-rounding ties.
"""

from __future__ import annotations

import itertools
import math
import re
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

import torch

from judge_harness.checks import tolerance_for


def terms(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


def chunk_spans(text: str, max_words: int, overlap_words: int) -> list[tuple[int, int, int, int]]:
    """(first word, one past last word, start offset, end offset) of every chunk."""
    words = [(m.start(), m.end()) for m in re.finditer(r"\S+", text)]
    n = len(words)
    stride = max_words - overlap_words
    spans = []
    i = 0
    # chunk i starts at word i * stride; it exists unless chunk i - 1 already reached the end
    while n and (i == 0 or (i - 1) * stride + max_words < n):
        first = i * stride
        last = min(first + max_words, n)
        spans.append((first, last, words[first][0], words[last - 1][1]))
        i += 1
    return spans


def expected_chunks(doc_id: str, text: str, max_words: int, overlap_words: int) -> list[dict[str, Any]]:
    return [
        {"doc_id": doc_id, "chunk_id": f"{doc_id}#{i}", "text": text[start:end], "start": start, "end": end}
        for i, (_, _, start, end) in enumerate(chunk_spans(text, max_words, overlap_words))
    ]


def bm25_scores(chunks: Sequence[tuple[str, str]], query: str, k1: float, b: float) -> dict[str, float]:
    """chunk_id -> Okapi BM25 score, for (chunk_id, text) pairs; only positive scores."""
    docs = [(chunk_id, Counter(terms(text)), len(terms(text))) for chunk_id, text in chunks]
    N = len(docs)
    if N == 0:
        return {}
    avgdl = math.fsum(dl for _, _, dl in docs) / N
    scores = {}
    for chunk_id, tf_of, dl in docs:
        parts = []
        for term in set(terms(query)):
            tf = tf_of[term]
            if tf == 0:
                continue
            n = sum(1 for _, other, _ in docs if other[term] > 0)
            idf = math.log(1 + (N - n + 0.5) / (n + 0.5))
            parts.append(idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * dl / avgdl)))
        score = math.fsum(parts)
        if score > 0:
            scores[chunk_id] = score
    return scores


def cosine_scores(chunk_ids: Sequence[str], embeddings: torch.Tensor, query: torch.Tensor) -> dict[str, float]:
    """chunk_id -> cosine similarity in float64; embeddings (N, E), query (1, E)."""
    e = embeddings.double()
    q = query.double()[0]
    cosine = (e @ q) / (e.norm(dim=1) * q.norm())
    return dict(zip(chunk_ids, cosine.tolist(), strict=True))


def rrf_scores(rankings: Sequence[Sequence[str]], k: int = 60) -> dict[str, float]:
    parts: dict[str, list[float]] = {}
    for ranking in rankings:
        for index, item in enumerate(ranking):
            parts.setdefault(item, []).append(1 / (k + index + 1))
    return {item: math.fsum(values) for item, values in parts.items()}


def ranked(scores: dict[str, float], k: int | None = None) -> list[tuple[str, float]]:
    """Best first, ties by id ascending, the first k."""
    order = sorted(scores.items(), key=lambda pair: (-pair[1], pair[0]))
    return order if k is None else order[:k]


def check_ranking(actual: Any, scores: dict[str, float], k: int, *, name: str, dtype: str = "float64") -> None:
    """`actual` must be the top-k of `scores`: right ids, right scores, best first, exact ties by id.

    Two oracle scores within the dtype's tolerance of each other may come back in either
    order (summation order changes the last bits); bit-equal scores must be ordered by id.
    """
    atol, rtol = tolerance_for(dtype)

    def close(a: float, b: float) -> bool:
        return abs(a - b) <= atol + rtol * abs(b)

    expected = ranked(scores, k)
    assert isinstance(actual, list), f"{name}: expected a list of (chunk_id, score) pairs, got {type(actual).__name__}"
    ids = [pair[0] for pair in actual] if all(isinstance(p, (tuple, list)) and len(p) == 2 for p in actual) else None
    assert ids is not None, f"{name}: expected a list of (chunk_id, score) pairs, got {str(actual)[:200]}"
    shown = f"expected top {len(expected)}: {[(i, round(s, 6)) for i, s in expected[:8]]}"
    got = f"got {[(i, round(s, 6) if isinstance(s, float) else s) for i, s in actual[:8]]}"
    assert len(actual) == len(expected), f"{name}: {len(actual)} results, expected {len(expected)}; {shown}; {got}"
    assert len(set(ids)) == len(ids), f"{name}: duplicate ids in the result; {got}"
    for rank, ((chunk_id, score), (_, expected_score)) in enumerate(zip(actual, expected, strict=True), start=1):
        assert isinstance(score, (int, float)), f"{name}: score at rank {rank} is a {type(score).__name__}, not a float"
        assert chunk_id in scores, (
            f"{name}: rank {rank} is {chunk_id!r}, which should not be returned at all (score 0 / not indexed); {shown}"
        )
        assert close(score, scores[chunk_id]), (
            f"{name}: score of {chunk_id!r} is {score!r}, expected {scores[chunk_id]!r} "
            f"(abs error {abs(score - scores[chunk_id]):.3g}, atol={atol:g}, rtol={rtol:g})"
        )
        assert close(scores[chunk_id], expected_score), (
            f"{name}: rank {rank} is {chunk_id!r} (score {scores[chunk_id]:.6g}) but rank {rank} should score "
            f"{expected_score:.6g}; {shown}; {got}"
        )
    for rank, ((id_a, score_a), (id_b, score_b)) in enumerate(itertools.pairwise(actual), start=1):
        assert score_a >= score_b or close(score_b, score_a), (
            f"{name}: not sorted best first: rank {rank} {id_a!r} scores {score_a!r} < rank {rank + 1} {id_b!r} {score_b!r}"
        )
        if score_a == score_b:
            assert id_a < id_b, f"{name}: {id_a!r} and {id_b!r} tie at {score_a!r} and must be ordered by id ascending"


class CallLog:
    """Wraps a checker-side callable and records every call's arguments."""

    def __init__(self, function: Callable[..., Any]) -> None:
        self.function = function
        self.calls: list[tuple[Any, ...]] = []

    def __call__(self, *args: Any) -> Any:
        self.calls.append(args)
        return self.function(*args)

    @property
    def count(self) -> int:
        return len(self.calls)
