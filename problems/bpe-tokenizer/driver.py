"""Worker-side helpers for bpe-tokenizer: what a round trip per call cannot test.

encode_iterable is consumed here, next to the submission, so that a stream of lines never
crosses the boundary as one list (which would put the whole text in the worker's memory) and
an endless stream can be read partly. Nothing here decides what is right: the ids come back as
a count and a digest (or a prefix) for the checker to compare with its oracle.
"""

from __future__ import annotations

import hashlib
import itertools
from array import array
from types import ModuleType
from typing import Any


def _digest(ids: Any) -> tuple[int, str]:
    """(count, sha256 of the ids as 8-byte signed integers), reading ids in batches."""
    h, count = hashlib.sha256(), 0
    while batch := list(itertools.islice(ids, 4096)):
        count += len(batch)
        h.update(array("q", batch).tobytes())
    return count, h.hexdigest()


def stream_chunks(module: ModuleType, vocab: dict, merges: list, special_tokens: Any, chunks: list, generator: bool):
    """All ids of encode_iterable over chunks (from a generator, or the list itself), and whether it returned an iterator."""
    tokenizer = module.Tokenizer(vocab, merges, special_tokens)
    result = tokenizer.encode_iterable((chunk for chunk in chunks) if generator else chunks)
    is_iterator = iter(result) is result
    return list(result), is_iterator


def stream_repeated(module: ModuleType, vocab: dict, merges: list, special_tokens: list, lines: list, repeats: int):
    """encode_iterable over `lines` repeated `repeats` times, one line per chunk, from a generator."""
    tokenizer = module.Tokenizer(vocab, merges, special_tokens)

    def chunks():
        for _ in range(repeats):
            yield from lines

    return _digest(iter(tokenizer.encode_iterable(chunks())))


def stream_endless(
    module: ModuleType, vocab: dict, merges: list, special_tokens: list, head: str, lines: list, take: int
):
    """The first `take` ids of encode_iterable over `head`, then endless fresh lines f"{n} {line}", n = 0, 1, ..."""
    tokenizer = module.Tokenizer(vocab, merges, special_tokens)

    def chunks():
        yield head
        for n in itertools.count():
            yield f"{n} {lines[n % len(lines)]}"

    return list(itertools.islice(tokenizer.encode_iterable(chunks()), take))


def caller_changes(module: ModuleType, vocab: dict, merges: list, special_tokens: list, text: str):
    """Encode, then change the caller's vocab, merges, special tokens and the returned list, and encode again."""
    vocab, merges, special_tokens = dict(vocab), list(merges), list(special_tokens)  # the caller's, here
    tokenizer = module.Tokenizer(vocab, merges, special_tokens)
    first = tokenizer.encode(text)
    kept = list(first)
    first.append(-1)
    first[0:1] = []
    vocab.clear()
    merges.clear()
    special_tokens.clear()
    return kept, tokenizer.encode(text), tokenizer.decode(kept)
