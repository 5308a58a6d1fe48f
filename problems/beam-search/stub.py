"""Beam search over a language model's step function, with the GNMT length penalty.

Google's Neural Machine Translation System (Wu et al., 2016), section 7
https://arxiv.org/abs/1609.08144

Fill in `beam_search`. Keep the name and signature below; add private helpers freely.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

StepFn = Callable[[Sequence[Sequence[int]]], list[list[float]]]  # live prefixes -> one row of V log-probs each
Hypothesis = tuple[list[int], float]  # (generated tokens, EOS included if any; penalized score)


def beam_search(
    step_fn: StepFn,
    bos_id: int,
    eos_id: int,
    *,
    beam_width: int,
    max_len: int,
    length_penalty: float = 0.6,
) -> list[Hypothesis]:
    """The n-best list: up to beam_width (tokens, score), best score first, ties in finishing order.

    step_fn is called once per step with every live prefix ([bos_id] + generated tokens), in
    beam order; score = raw log-prob sum / ((5 + L) / 6) ** length_penalty, L = len(tokens).
    """
    raise NotImplementedError
