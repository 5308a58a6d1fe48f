"""Corpus BLEU, ROUGE-N and ROUGE-L on lowercased whitespace tokens.

BLEU: Papineni et al., 2002, https://aclanthology.org/P02-1040/
Smoothing: Chen & Cherry, 2014, https://aclanthology.org/W14-3346/
ROUGE: Lin, 2004, https://aclanthology.org/W04-1013/

Fill in the three functions. Keep their names and signatures; add private helpers freely.
"""

from __future__ import annotations

from collections.abc import Sequence

Score = tuple[float, float, float]  # (precision, recall, F-measure)


def corpus_bleu(
    hypotheses: Sequence[str],
    references: Sequence[Sequence[str]],
    *,
    max_n: int = 4,
    smoothing: str = "none",
) -> float:
    """Corpus-level BLEU in [0, 1]; references[i] holds the references of hypotheses[i].

    smoothing is one of "none", "floor", "add-one", "exp"; tokens are text.lower().split().
    """
    raise NotImplementedError


def rouge_n(hypothesis: str, references: Sequence[str], n: int = 2, *, beta: float = 1.0) -> Score:
    """ROUGE-N (precision, recall, F_beta) against the reference with the highest F (first on a tie)."""
    raise NotImplementedError


def rouge_l(hypothesis: str, references: Sequence[str], *, beta: float = 1.0) -> Score:
    """ROUGE-L (precision, recall, F_beta) from the longest common subsequence, best reference."""
    raise NotImplementedError
