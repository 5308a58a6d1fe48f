"""Byte-level BPE in the GPT-2 style: training, encoding, decoding and streaming.

Sennrich et al., "Neural Machine Translation of Rare Words with Subword Units" (2016),
https://arxiv.org/abs/1508.07909; byte-level with a pre-tokenisation regex as in GPT-2
(Radford et al., 2019, openai/gpt-2 src/encoder.py).

Training counts pre-tokens once and keeps the pair counts up to date merge by merge, touching
only the words that contain the merged pair. Encoding applies the merges of lowest rank first
inside each pre-token; special tokens are cut out of the text before pre-tokenisation.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from itertools import pairwise
from operator import itemgetter

# GPT-2's pattern with \p{L} -> [^\W\d_] (str.isalnum() and not str.isdecimal()) and \p{N} -> \d
# (str.isdecimal()); '_' joins the "other" class. Only the stdlib `re` is available.
PAT = re.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?[^\W\d_]+| ?\d+| ?(?:[^\s\w]|_)+|\s+(?!\S)|\s+""")
BLOCK = 65536  # encode_iterable encodes text in blocks of about this many characters

Pair = tuple[bytes, bytes]


def _check_special_tokens(special_tokens: list[str]) -> None:
    if "" in special_tokens or len(set(special_tokens)) != len(special_tokens):
        raise ValueError(f"special tokens must be distinct and non-empty, got {special_tokens!r}")


def _special_pattern(special_tokens: list[str]) -> re.Pattern[str] | None:
    """Leftmost match, and at one position the longest special token."""
    if not special_tokens:
        return None
    longest_first = sorted(special_tokens, key=len, reverse=True)
    return re.compile("|".join(re.escape(token) for token in longest_first))


def _split(text: str, special: re.Pattern[str] | None) -> list[str]:
    """text -> [ordinary, special, ordinary, ..., special, ordinary]: special tokens at odd positions."""
    if special is None:
        return [text]
    parts, start = [], 0
    for match in special.finditer(text):
        parts += [text[start : match.start()], match.group()]
        start = match.end()
    parts.append(text[start:])
    return parts


def _merge(word: tuple[bytes, ...], pair: Pair) -> tuple[bytes, ...]:
    """Every occurrence of pair, left to right, without overlaps."""
    out, i = [], 0
    while i < len(word):
        if i + 1 < len(word) and (word[i], word[i + 1]) == pair:
            out.append(word[i] + word[i + 1])
            i += 2
        else:
            out.append(word[i])
            i += 1
    return tuple(out)


def train_bpe(
    text: str, vocab_size: int, special_tokens: list[str] | None = None
) -> tuple[dict[int, bytes], list[Pair]]:
    """Vocab: 0..255 the bytes, then the special tokens, then one id per merge, in merge order."""
    special_tokens = list(special_tokens) if special_tokens is not None else []
    _check_special_tokens(special_tokens)
    if any(len(token.encode()) == 1 for token in special_tokens):
        raise ValueError(f"a one-byte special token would duplicate a byte's id: {special_tokens!r}")
    if vocab_size < 256 + len(special_tokens):
        raise ValueError(f"vocab_size {vocab_size} < 256 bytes + {len(special_tokens)} special tokens")
    vocab = {i: bytes([i]) for i in range(256)}
    for token in special_tokens:
        vocab[len(vocab)] = token.encode()

    # pre-token -> count; special tokens are removed first, so nothing merges across them
    parts = _split(text, _special_pattern(special_tokens))
    pretokens = Counter(m.group().encode() for part in parts[::2] for m in PAT.finditer(part))
    words = [tuple(bytes([b]) for b in pretoken) for pretoken in pretokens]
    counts = list(pretokens.values())

    pair_counts: Counter[Pair] = Counter()
    where: defaultdict[Pair, set[int]] = defaultdict(set)  # pair -> words that contain it (or did)
    for w, word in enumerate(words):
        for pair in pairwise(word):
            pair_counts[pair] += counts[w]
            where[pair].add(w)

    merges: list[Pair] = []
    while len(vocab) < vocab_size and pair_counts:
        # most frequent pair; ties to the lexicographically greatest (bytes, bytes)
        best, _ = max(pair_counts.items(), key=itemgetter(1, 0))
        merges.append(best)
        vocab[len(vocab)] = best[0] + best[1]
        for w in where.pop(best):
            old = words[w]
            new = _merge(old, best)  # unchanged if the word lost the pair since it was indexed
            for pair in pairwise(old):
                pair_counts[pair] -= counts[w]
                if pair_counts[pair] == 0:
                    del pair_counts[pair]
            for pair in pairwise(new):
                pair_counts[pair] += counts[w]
                where[pair].add(w)
            words[w] = new
    return vocab, merges


class Tokenizer:
    """Encode text to ids with a trained vocab and merges; decode ids back to text."""

    def __init__(self, vocab: dict[int, bytes], merges: list[Pair], special_tokens: list[str] | None = None) -> None:
        special_tokens = list(special_tokens) if special_tokens is not None else []
        _check_special_tokens(special_tokens)
        self.vocab = dict(vocab)
        self.ids = {token: i for i, token in self.vocab.items()}  # bytes -> id
        if len(self.ids) != len(self.vocab):
            raise ValueError("vocab maps two ids to the same bytes")
        if any(bytes([b]) not in self.ids for b in range(256)):
            raise ValueError("vocab lacks a single byte")
        self.ranks: dict[Pair, int] = {}
        for rank, (a, b) in enumerate(merges):
            if a not in self.ids or b not in self.ids or a + b not in self.ids:
                raise ValueError(f"merge {rank} {(a, b)!r}: a part or the result is not in vocab")
            if (a, b) in self.ranks:
                raise ValueError(f"merge {rank} {(a, b)!r} is listed twice")
            self.ranks[(a, b)] = rank
        self.special_ids = {}
        for token in special_tokens:
            if token.encode() not in self.ids:
                raise ValueError(f"special token {token!r} is not in vocab")
            self.special_ids[token] = self.ids[token.encode()]
        self.special = _special_pattern(special_tokens)
        self.reach = max([1, *map(len, special_tokens)])  # a cut keeps this far from the end of the text
        self.cache: dict[str, list[int]] = {}  # pre-token -> ids, for this tokenizer's merges

    def _encode_pretoken(self, pretoken: str) -> list[int]:
        if pretoken not in self.cache:
            word = tuple(bytes([b]) for b in pretoken.encode())
            while len(word) > 1:
                # the pair of lowest merge rank, merged everywhere in the word
                pair = min(pairwise(word), key=lambda pair: self.ranks.get(pair, len(self.ranks)))
                if pair not in self.ranks:
                    break
                word = _merge(word, pair)
            self.cache[pretoken] = [self.ids[token] for token in word]
        return self.cache[pretoken]

    def encode(self, text: str) -> list[int]:
        ids: list[int] = []
        parts = _split(text, self.special)
        for k, part in enumerate(parts):
            if k % 2:
                ids.append(self.special_ids[part])
            else:
                for pretoken in PAT.findall(part):
                    ids += self._encode_pretoken(pretoken)
        return ids

    def _last_cut(self, text: str) -> int:
        """The last p with encode(text[:p]) + encode(text[p:] + rest) == encode(text + rest) for any rest.

        text[p - 1] is not a space and text[p] is (a pre-token boundary), p is inside no special
        token, and a special token that more text could complete cannot reach back over p.
        """
        spans = [m.span() for m in self.special.finditer(text)] if self.special else []
        for p in range(len(text) - self.reach, 0, -1):
            if text[p].isspace() and not text[p - 1].isspace() and not any(a < p < b for a, b in spans):
                return p
        return 0

    def encode_iterable(self, chunks: Iterable[str]) -> Iterator[int]:
        """The ids of encode("".join(chunks)), holding about BLOCK characters at a time."""
        pending = ""
        for chunk in chunks:
            pending += chunk
            if len(pending) >= BLOCK:
                cut = self._last_cut(pending)
                yield from self.encode(pending[:cut])
                pending = pending[cut:]
        yield from self.encode(pending)

    def decode(self, ids: list[int]) -> str:
        if any(i not in self.vocab for i in ids):
            raise ValueError(f"ids not in vocab: {[i for i in ids if i not in self.vocab][:5]}")
        return b"".join(self.vocab[i] for i in ids).decode("utf-8", errors="replace")
