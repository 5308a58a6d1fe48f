"""Beam search over a language model's step function, with the GNMT length penalty.

Google's Neural Machine Translation System (Wu et al., 2016), section 7
https://arxiv.org/abs/1609.08144

Each step expands every live beam by every token, ranks the candidates by their summed
log-probability, and walks down the ranking: a candidate ending in EOS becomes a finished
hypothesis, any other one a live beam of the next step, until `beam_width` live beams are
collected (so the beam is refilled after an EOS). Finished hypotheses are scored with the
length penalty `lp(L) = ((5 + L) / 6) ** alpha` and the best `beam_width` are returned.
"""

from __future__ import annotations

import math
from collections.abc import Callable

StepFn = Callable[[list[list[int]]], list[list[float]]]  # live prefixes -> one row of V log-probs each
Hypothesis = tuple[list[int], float]  # (generated tokens, EOS included if any; penalized score)


def _length_penalty_factor(length: int, alpha: float) -> float:
    """GNMT's lp(Y) = ((5 + |Y|) / 6) ** alpha, |Y| the number of generated tokens."""
    return ((5 + length) / 6) ** alpha


def _check_settings(bos_id: int, eos_id: int, beam_width: int, max_len: int, length_penalty: float) -> None:
    if beam_width < 1:
        raise ValueError(f"beam_width must be >= 1, got {beam_width}")
    if max_len < 1:
        raise ValueError(f"max_len must be >= 1, got {max_len}")
    if not math.isfinite(length_penalty):
        raise ValueError(f"length_penalty must be finite, got {length_penalty}")
    if bos_id < 0 or eos_id < 0:
        raise ValueError(f"token ids must be >= 0, got bos_id={bos_id}, eos_id={eos_id}")


def _check_rows(rows: list[list[float]], prefixes: int, eos_id: int, vocab: int | None) -> int:
    """Validate one reply of step_fn; return the vocabulary size V."""
    if len(rows) != prefixes:
        raise ValueError(f"step_fn returned {len(rows)} rows for {prefixes} prefixes")
    vocab = len(rows[0]) if vocab is None else vocab
    if eos_id >= vocab:
        raise ValueError(f"eos_id={eos_id} is outside the vocabulary of size {vocab}")
    for row in rows:
        if len(row) != vocab:
            raise ValueError(f"step_fn returned a row of length {len(row)}, expected V={vocab}")
        if any(math.isnan(logp) or logp == math.inf for logp in row):
            raise ValueError("step_fn returned NaN or +inf as a log-probability")
    return vocab


def beam_search(
    step_fn: StepFn,
    bos_id: int,
    eos_id: int,
    *,
    beam_width: int,
    max_len: int,
    length_penalty: float = 0.6,
) -> list[Hypothesis]:
    """The n-best list: up to beam_width (tokens, score), best score first, ties in finishing order."""
    _check_settings(bos_id, eos_id, beam_width, max_len, length_penalty)
    beams: list[tuple[list[int], float]] = [([bos_id], 0.0)]  # live prefixes (BOS first), raw log-prob sums
    finished: list[Hypothesis] = []  # in finishing order
    vocab = None
    for step in range(1, max_len + 1):
        if not beams:
            break
        rows = step_fn([list(prefix) for prefix, _ in beams])
        vocab = _check_rows(rows, len(beams), eos_id, vocab)
        # candidates in (beam index, token id) order; -inf tokens are impossible
        candidates = [
            (score + float(logp), beam, token)
            for beam, ((_, score), row) in enumerate(zip(beams, rows, strict=True))
            for token, logp in enumerate(row)
            if logp != -math.inf
        ]
        candidates.sort(key=lambda candidate: -candidate[0])  # stable: ties keep (beam, token) order
        next_beams: list[tuple[list[int], float]] = []
        collected = 0  # non-EOS candidates taken; an EOS candidate takes no slot, so the beam is refilled
        for score, beam, token in candidates:
            prefix = beams[beam][0] + [token]
            if token == eos_id or step == max_len:
                tokens = prefix[1:]  # BOS is not generated
                finished.append((tokens, score / _length_penalty_factor(len(tokens), length_penalty)))
            else:
                next_beams.append((prefix, score))
            if token != eos_id:
                collected += 1
                if collected == beam_width:
                    break
        beams = next_beams
    finished.sort(key=lambda hypothesis: -hypothesis[1])  # stable: ties keep finishing order
    return finished[:beam_width]
