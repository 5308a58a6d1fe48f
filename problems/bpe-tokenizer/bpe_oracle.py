"""Checker-side oracle for bpe-tokenizer: the statement, followed literally and slowly.

Written apart from the reference: the pre-tokeniser is a hand-written scanner over the
statement's character classes (no regex), special tokens are found by trying every one at
every position, training recounts every pair after every merge, and encoding merges one
lowest-rank pair at a time with no cache.
"""

from __future__ import annotations

from collections import Counter

CONTRACTIONS = ("s", "t", "re", "ve", "m", "ll", "d")


def char_class(ch: str) -> str:
    """'space', 'digit', 'letter' or 'other', by the statement's str methods."""
    if ch.isspace():
        return "space"
    if ch.isdecimal():
        return "digit"
    if ch.isalnum():
        return "letter"
    return "other"  # punctuation, symbols, '_', marks, ...


def pretokenize(text: str) -> list[str]:
    """The statement's pattern, alternative by alternative, first that matches wins."""
    out, i, n = [], 0, len(text)
    while i < n:
        end = None
        if text[i] == "'":
            for suffix in CONTRACTIONS:
                if text.startswith(suffix, i + 1):
                    end = i + 1 + len(suffix)
                    break
        if end is None:
            start = i + 1 if text[i] == " " and i + 1 < n and char_class(text[i + 1]) != "space" else i
            kind = char_class(text[start])
            if kind != "space":  # ' ?' then a run of one class
                end = start + 1
                while end < n and char_class(text[end]) == kind:
                    end += 1
            else:  # \s+(?!\S), else \s+
                run = i
                while run < n and text[run].isspace():
                    run += 1
                end = run if run == n or run - 1 == i else run - 1
        out.append(text[i:end])
        i = end
    return out


def split_specials(text: str, special_tokens: list[str]) -> list[tuple[bool, str]]:
    """[(is_special, piece)]: scan left to right; at each position the longest special token there."""
    pieces: list[tuple[bool, str]] = []
    plain, i = "", 0
    while i < len(text):
        here = [s for s in special_tokens if text.startswith(s, i)]
        if here:
            token = max(here, key=len)
            if plain:
                pieces.append((False, plain))
            pieces.append((True, token))
            plain, i = "", i + len(token)
        else:
            plain += text[i]
            i += 1
    if plain:
        pieces.append((False, plain))
    return pieces


def merge_word(word: list[bytes], pair: tuple[bytes, bytes]) -> list[bytes]:
    """Every occurrence of pair, left to right, without overlaps."""
    merged, i = [], 0
    while i < len(word):
        if i + 1 < len(word) and word[i] == pair[0] and word[i + 1] == pair[1]:
            merged.append(pair[0] + pair[1])
            i += 2
        else:
            merged.append(word[i])
            i += 1
    return merged


def train(text: str, vocab_size: int, special_tokens: list[str]) -> tuple[dict[int, bytes], list]:
    vocab = {i: bytes([i]) for i in range(256)}
    for token in special_tokens:
        vocab[len(vocab)] = token.encode("utf-8")
    words: Counter[tuple[bytes, ...]] = Counter()
    for is_special, piece in split_specials(text, special_tokens):
        if not is_special:
            for pretoken in pretokenize(piece):
                words[tuple(bytes([b]) for b in pretoken.encode("utf-8"))] += 1
    merges = []
    while len(vocab) < vocab_size:
        counts: Counter[tuple[bytes, bytes]] = Counter()
        for word, count in words.items():
            for i in range(len(word) - 1):
                counts[(word[i], word[i + 1])] += count
        if not counts:
            break
        top = max(counts.values())
        best = max(pair for pair, count in counts.items() if count == top)
        merges.append(best)
        vocab[len(vocab)] = best[0] + best[1]
        merged: Counter[tuple[bytes, ...]] = Counter()
        for word, count in words.items():
            merged[tuple(merge_word(list(word), best))] += count
        words = merged
    return vocab, merges


def encode(vocab: dict[int, bytes], merges: list, special_tokens: list[str], text: str) -> list[int]:
    ids_of = {token: i for i, token in vocab.items()}
    rank = {pair: r for r, pair in reversed(list(enumerate(merges)))}
    ids: list[int] = []
    done: dict[str, list[int]] = {}
    for is_special, piece in split_specials(text, special_tokens):
        if is_special:
            ids.append(ids_of[piece.encode("utf-8")])
            continue
        for pretoken in pretokenize(piece):
            if pretoken not in done:  # memoised within this call only
                word = [bytes([b]) for b in pretoken.encode("utf-8")]
                while True:
                    ranked = [rank[p] for p in zip(word, word[1:], strict=False) if p in rank]
                    if not ranked:
                        break
                    word = merge_word(word, merges[min(ranked)])
                done[pretoken] = [ids_of[part] for part in word]
            ids += done[pretoken]
    return ids


def decode(vocab: dict[int, bytes], ids: list[int]) -> str:
    return b"".join(vocab[i] for i in ids).decode("utf-8", errors="replace")
