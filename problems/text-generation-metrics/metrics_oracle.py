"""Checker side of text-generation-metrics: an exact oracle written from the statement.

Counts are plain loops over token lists (no Counter arithmetic), precisions, recalls and
F-measures are exact fractions, and only the last step of BLEU (the logarithms and the
exponential) is float64. ROUGE's choice among references compares exact fractions, so a tie
is a tie of the true values.
"""

from __future__ import annotations

import math
from fractions import Fraction

SMOOTHING = ("none", "floor", "add-one", "exp")


def tokens_of(text: str) -> list[str]:
    return text.lower().split()


def ngrams(tokens: list[str], n: int) -> list[tuple[str, ...]]:
    return [tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)]


def tally(items: list) -> dict:
    """How often each item occurs (a plain dict, built one item at a time)."""
    out: dict = {}
    for item in items:
        out[item] = out.get(item, 0) + 1
    return out


def bleu_statistics(hypotheses: list[str], references: list[list[str]], max_n: int):
    """(m_n list, d_n list, c, r) summed over the corpus."""
    matches, totals, c, r = [0] * max_n, [0] * max_n, 0, 0
    for hypothesis, refs in zip(hypotheses, references, strict=True):
        hyp = tokens_of(hypothesis)
        ref_tokens = [tokens_of(ref) for ref in refs]
        c += len(hyp)
        lengths = sorted(len(ref) for ref in ref_tokens)
        r += min(lengths, key=lambda length: abs(length - len(hyp)))  # sorted: the shorter wins a tie
        for n in range(1, max_n + 1):
            grams = ngrams(hyp, n)
            ref_tallies = [tally(ngrams(ref, n)) for ref in ref_tokens]
            for gram, times in tally(grams).items():
                matches[n - 1] += min(times, max(t.get(gram, 0) for t in ref_tallies))
            totals[n - 1] += len(grams)
    return matches, totals, c, r


def exact_precisions(matches: list[int], totals: list[int], smoothing: str) -> list[Fraction] | None:
    out: list[Fraction] = []
    zeros = 0
    for n, (m, d) in enumerate(zip(matches, totals, strict=True), start=1):
        if smoothing == "add-one" and n >= 2:
            out.append(Fraction(m + 1, d + 1))
        elif m > 0:
            out.append(Fraction(m, d))
        elif smoothing == "floor":
            out.append(Fraction(1, 10) / d)
        elif smoothing == "exp":
            zeros += 1
            out.append(Fraction(1, 2**zeros * d))
        else:
            return None
    return out


def oracle_bleu(hypotheses: list[str], references: list[list[str]], max_n: int = 4, smoothing: str = "none") -> float:
    matches, totals, c, r = bleu_statistics(hypotheses, references, max_n)
    if any(d == 0 for d in totals):
        return 0.0
    precisions = exact_precisions(matches, totals, smoothing)
    if precisions is None:
        return 0.0
    log_bp = 0.0 if c > r else 1.0 - r / c
    log_mean = sum(math.log(p.numerator) - math.log(p.denominator) for p in precisions) / max_n
    return math.exp(log_bp + log_mean)


def lcs(a: list[str], b: list[str]) -> int:
    table = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            if a[i - 1] == b[j - 1]:
                table[i][j] = table[i - 1][j - 1] + 1
            else:
                table[i][j] = max(table[i - 1][j], table[i][j - 1])
    return table[-1][-1]


def exact_score(overlap: int, hyp_total: int, ref_total: int, beta: float) -> tuple[Fraction, Fraction, Fraction]:
    if overlap == 0:
        return Fraction(0), Fraction(0), Fraction(0)
    b2 = Fraction(beta) ** 2
    precision, recall = Fraction(overlap, hyp_total), Fraction(overlap, ref_total)
    return precision, recall, (1 + b2) * precision * recall / (recall + b2 * precision)


def rouge_candidates(kind: str, hypothesis: str, references: list[str], n: int, beta: float):
    """The exact (P, R, F) against each reference, in order."""
    hyp = tokens_of(hypothesis)
    out = []
    for reference in references:
        ref = tokens_of(reference)
        if kind == "n":
            hyp_grams, ref_grams = ngrams(hyp, n), ngrams(ref, n)
            ref_tally = tally(ref_grams)
            overlap = sum(min(times, ref_tally.get(g, 0)) for g, times in tally(hyp_grams).items())
            out.append(exact_score(overlap, len(hyp_grams), len(ref_grams), beta))
        else:
            out.append(exact_score(lcs(hyp, ref), len(hyp), len(ref), beta))
    return out


def best_index(scores) -> int:
    """First reference with the highest exact F."""
    top = max(f for _, _, f in scores)
    return next(i for i, (_, _, f) in enumerate(scores) if f == top)


def oracle_rouge(kind: str, hypothesis: str, references: list[str], n: int = 2, beta: float = 1.0):
    """(precision, recall, F) as floats, and the exact candidates (for tie diagnostics)."""
    scores = rouge_candidates(kind, hypothesis, references, n, beta)
    precision, recall, f = scores[best_index(scores)]
    return (float(precision), float(recall), float(f)), scores
