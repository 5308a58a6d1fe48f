"""Corpus BLEU, ROUGE-N and ROUGE-L on lowercased whitespace tokens.

BLEU: Papineni et al., 2002, https://aclanthology.org/P02-1040/
Smoothing: Chen & Cherry, 2014, https://aclanthology.org/W14-3346/
ROUGE: Lin, 2004, https://aclanthology.org/W04-1013/

BLEU sums clipped n-gram matches and hypothesis n-gram counts over the whole corpus before
dividing (a corpus score, not a mean of sentence scores), takes the geometric mean of the
modified precisions in log space and multiplies by the brevity penalty of the corpus lengths.
ROUGE-N and ROUGE-L score one hypothesis against each reference and keep the best F-measure.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

SMOOTHING = ("none", "floor", "add-one", "exp")
FLOOR_EPSILON = 0.1  # "floor": a zero match count becomes 0.1 matches
Score = tuple[float, float, float]  # (precision, recall, F-measure)


def _tokenize(text: str) -> list[str]:
    """Lowercase, then split on runs of whitespace."""
    return text.lower().split()


def _ngram_counts(tokens: list[str], n: int) -> Counter[tuple[str, ...]]:
    """How often each n-gram (a tuple of n consecutive tokens) occurs."""
    return Counter(tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1))


def _closest_length(hyp_len: int, ref_lens: list[int]) -> int:
    """The reference length nearest the hypothesis length; on equal distance the shorter."""
    return sorted(ref_lens, key=lambda ref_len: (abs(ref_len - hyp_len), ref_len))[0]


def _precisions(matches: list[int], totals: list[int], smoothing: str) -> list[float] | None:
    """Smoothed modified precisions p_1 .. p_N, or None when one of them is 0 (BLEU = 0)."""
    precisions = []
    k = 1  # "exp": doubles at every order without a match
    for n, m in enumerate(matches, start=1):
        d = totals[n - 1]
        if smoothing == "add-one" and n > 1:
            m, d = m + 1, d + 1
        if m > 0:
            precisions.append(m / d)
        elif smoothing == "floor":
            precisions.append(FLOOR_EPSILON / d)
        elif smoothing == "exp":
            k *= 2
            precisions.append(1 / (k * d))
        else:
            return None
    return precisions


def corpus_bleu(
    hypotheses: Sequence[str],
    references: Sequence[Sequence[str]],
    *,
    max_n: int = 4,
    smoothing: str = "none",
) -> float:
    """Corpus-level BLEU in [0, 1]; references[i] holds the references of hypotheses[i]."""
    if len(hypotheses) == 0:
        raise ValueError("hypotheses is empty: BLEU needs at least one segment")
    if len(references) != len(hypotheses):
        raise ValueError(f"{len(hypotheses)} hypotheses but {len(references)} reference lists")
    if any(len(refs) == 0 for refs in references):
        raise ValueError("every hypothesis needs at least one reference")
    if max_n < 1:
        raise ValueError(f"max_n must be >= 1, got {max_n}")
    if smoothing not in SMOOTHING:
        raise ValueError(f"smoothing must be one of {SMOOTHING}, got {smoothing!r}")

    matches = [0] * max_n  # m_n: clipped n-gram matches, summed over the corpus
    totals = [0] * max_n  # d_n: hypothesis n-grams, summed over the corpus
    hyp_len = ref_len = 0  # c and r
    for i, hypothesis in enumerate(hypotheses):
        refs = references[i]
        hyp = _tokenize(hypothesis)
        ref_tokens = [_tokenize(ref) for ref in refs]
        hyp_len += len(hyp)
        ref_len += _closest_length(len(hyp), [len(ref) for ref in ref_tokens])
        for n in range(1, max_n + 1):
            counts = _ngram_counts(hyp, n)
            max_ref_counts = Counter()  # per n-gram, its highest count in any one reference
            for ref in ref_tokens:
                max_ref_counts |= _ngram_counts(ref, n)
            matches[n - 1] += (counts & max_ref_counts).total()  # clip each count
            totals[n - 1] += counts.total()

    if not all(totals):  # some order has no n-gram at all (c = 0 among them)
        return 0.0
    precisions = _precisions(matches, totals, smoothing)
    if precisions is None:
        return 0.0
    brevity_penalty = min(1.0, math.exp(1 - ref_len / hyp_len))
    # geometric mean in log space: a product of many small precisions underflows
    return brevity_penalty * math.exp(sum(math.log(p) for p in precisions) / max_n)


def _check_rouge(references: Sequence[str], beta: float) -> None:
    if len(references) == 0:
        raise ValueError("references is empty: ROUGE needs at least one reference")
    if not math.isfinite(beta) or beta < 0:
        raise ValueError(f"beta must be finite and >= 0, got {beta}")


def _score(overlap: int, hyp_total: int, ref_total: int, beta: float) -> Score:
    """Precision, recall and F_beta = (1 + beta^2) P R / (R + beta^2 P); all 0.0 without overlap."""
    if overlap == 0:
        return 0.0, 0.0, 0.0
    precision = overlap / hyp_total
    recall = overlap / ref_total
    # the same F as 1 / (alpha / P + (1 - alpha) / R): beta * beta may overflow to inf (beta > 1.3e154),
    # alpha is then 0 and F the recall, where (1 + beta^2) P R / (R + beta^2 P) would be inf / inf
    alpha = 1 / (1 + beta * beta)
    f_measure = 1 / (alpha / precision + (1 - alpha) / recall)
    return precision, recall, f_measure


def _best(scores: list[Score]) -> Score:
    """The score with the highest F-measure; on a tie the earliest reference's."""
    best = scores[0]
    for score in scores:
        if score[2] > best[2]:  # strictly greater: a tie keeps the earlier reference
            best = score
    return best


def rouge_n(hypothesis: str, references: Sequence[str], n: int = 2, *, beta: float = 1.0) -> Score:
    """ROUGE-N (precision, recall, F_beta) against the best-matching reference."""
    _check_rouge(references, beta)
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    hyp = _ngram_counts(_tokenize(hypothesis), n)
    scores = []
    for reference in references:
        ref = _ngram_counts(_tokenize(reference), n)
        overlap = (hyp & ref).total()  # clipped: min of the two counts per n-gram
        scores.append(_score(overlap, hyp.total(), ref.total(), beta))
    return _best(scores)


def _lcs_length(a: list[str], b: list[str]) -> int:
    """Length of the longest common subsequence (not substring), O(len(a) * len(b)) time."""
    previous = [0] * (len(b) + 1)  # LCS of the first i tokens of a with each prefix of b
    for x in a:
        current = [0]
        for j, y in enumerate(b):
            current.append(previous[j] + 1 if x == y else max(previous[j + 1], current[j]))
        previous = current
    return previous[-1]


def rouge_l(hypothesis: str, references: Sequence[str], *, beta: float = 1.0) -> Score:
    """ROUGE-L (precision, recall, F_beta) from the LCS, against the best-matching reference."""
    _check_rouge(references, beta)
    hyp = _tokenize(hypothesis)
    scores = []
    for reference in references:
        ref = _tokenize(reference)
        scores.append(_score(_lcs_length(hyp, ref), len(hyp), len(ref), beta))
    return _best(scores)
