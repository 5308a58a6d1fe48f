"""Byte-level BPE in the GPT-2 style: training, encoding, decoding and streaming.

Sennrich et al., "Neural Machine Translation of Rare Words with Subword Units" (2016),
https://arxiv.org/abs/1508.07909; GPT-2's byte-level variant, openai/gpt-2 src/encoder.py.

Fill in `train_bpe` and `Tokenizer`. Keep the names and signatures below; add private helpers
freely. The standard library only (no `regex` module in the sandbox).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

# The statement's pre-tokenisation pattern (GPT-2's, with \p{L} -> [^\W\d_] and \p{N} -> \d).
PAT = re.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?[^\W\d_]+| ?\d+| ?(?:[^\s\w]|_)+|\s+(?!\S)|\s+""")

Pair = tuple[bytes, bytes]


def train_bpe(
    text: str, vocab_size: int, special_tokens: list[str] | None = None
) -> tuple[dict[int, bytes], list[Pair]]:
    """(vocab, merges): ids 0..255 the bytes, then the special tokens, then one id per merge.

    Each step merges the most frequent adjacent pair inside the pre-tokens; ties go to the
    lexicographically greatest (bytes, bytes) pair.
    """
    raise NotImplementedError


class Tokenizer:
    """Encode text to ids with a vocab and ranked merges; decode ids back to text."""

    def __init__(self, vocab: dict[int, bytes], merges: list[Pair], special_tokens: list[str] | None = None) -> None:
        raise NotImplementedError

    def encode(self, text: str) -> list[int]:
        """Special tokens to their ids; each pre-token merged lowest rank first."""
        raise NotImplementedError

    def encode_iterable(self, chunks: Iterable[str]) -> Iterator[int]:
        """Lazily, the ids of encode("".join(chunks)), in bounded memory."""
        raise NotImplementedError

    def decode(self, ids: list[int]) -> str:
        """The ids' bytes, concatenated, decoded as UTF-8 with errors="replace"."""
        raise NotImplementedError
