"""Checker side of beam-search: deterministic toy language models and a pure-Python oracle.

The toy LMs are callables the hidden tests hand to the submission (they run in the checker,
one round trip per call) and record every batch of prefixes they are called with. The oracle
follows the statement's rules literally: candidates sorted by the key (-raw score, beam index,
token id); finished hypotheses by (-penalized score, finishing index).
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable

Row = list[float]
NEG_INF = -math.inf


class RecordingLM:
    """A step function: a batch of prefixes -> one row of V log-probabilities each, calls recorded."""

    def __init__(self, row_for: Callable[[tuple[int, ...]], Row]) -> None:
        self.row_for = row_for
        self.calls: list[list[list[int]]] = []

    def __call__(self, prefixes: list[list[int]]) -> list[Row]:
        self.calls.append([list(prefix) for prefix in prefixes])
        return [list(self.row_for(tuple(prefix))) for prefix in prefixes]


def log_softmax(logits: list[float]) -> Row:
    top = max(logits)
    total = math.log(sum(math.exp(x - top) for x in logits))
    return [x - top - total for x in logits]


def random_lm(seed: int, vocab: int, eos_id: int, *, eos_bias: float = 0.4, impossible: float = 0.0) -> RecordingLM:
    """Normalized log-probs from seeded Gaussian logits; EOS gets likelier as the prefix grows.

    Each token is impossible (-inf) with probability `impossible`.
    """

    def row_for(prefix: tuple[int, ...]) -> Row:
        rng = random.Random(f"{seed}/{vocab}/{prefix}")
        logits = [rng.gauss(0.0, 1.5) for _ in range(vocab)]
        logits[eos_id] += eos_bias * (len(prefix) - 1)
        row = log_softmax(logits)
        return [NEG_INF if rng.random() < impossible else logp for logp in row]

    return RecordingLM(row_for)


def quantized_lm(seed: int, vocab: int, levels: int = 3, quantum: float = 0.25) -> RecordingLM:
    """Unnormalized log-probs in {0, -quantum, ..., -(levels - 1) * quantum}: exact sums, many ties."""

    def row_for(prefix: tuple[int, ...]) -> Row:
        rng = random.Random(f"q{seed}/{vocab}/{prefix}")
        return [-quantum * rng.randrange(levels) for _ in range(vocab)]

    return RecordingLM(row_for)


def table_lm(table: dict[tuple[int, ...], Row], default: Row) -> RecordingLM:
    """Rows looked up by the full prefix (BOS included), `default` for any other prefix."""
    return RecordingLM(lambda prefix: table.get(prefix, default))


def gnmt_penalty(length: int, alpha: float) -> float:
    return ((5.0 + length) / 6.0) ** alpha


def oracle_beam_search(
    row_for: Callable[[tuple[int, ...]], Row],
    bos_id: int,
    eos_id: int,
    beam_width: int,
    max_len: int,
    alpha: float,
) -> tuple[list[tuple[list[int], float]], list[list[list[int]]]]:
    """The expected n-best list and the expected step_fn calls (the live prefixes of each step)."""
    live: list[tuple[tuple[int, ...], float]] = [((bos_id,), 0.0)]
    finished: list[tuple[float, int, list[int]]] = []  # (penalized score, finishing index, tokens)
    calls: list[list[list[int]]] = []
    for step in range(1, max_len + 1):
        if len(live) == 0:
            break
        calls.append([list(prefix) for prefix, _ in live])
        keyed = []
        for beam_index, (prefix, raw) in enumerate(live):
            for token, logp in enumerate(row_for(prefix)):
                if logp > NEG_INF:
                    keyed.append(((-(raw + logp), beam_index, token), prefix + (token,), raw + logp))
        keyed.sort(key=lambda entry: entry[0])
        survivors: list[tuple[tuple[int, ...], float]] = []
        slots = 0
        for (_, _, token), prefix, raw in keyed:
            if slots == beam_width:
                break
            ends = token == eos_id
            if ends or step == max_len:
                generated = list(prefix[1:])
                finished.append((raw / gnmt_penalty(len(generated), alpha), len(finished), generated))
            else:
                survivors.append((prefix, raw))
            slots += 0 if ends else 1
        live = survivors
    finished.sort(key=lambda entry: (-entry[0], entry[1]))
    return [(tokens, score) for score, _, tokens in finished[:beam_width]], calls
