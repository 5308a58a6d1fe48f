"""Checker-side text generator: English-like documents, deterministic from a seed.

Words are made of syllables and drawn from a Zipf-like distribution over a fixed lexicon, so
the text has the statistics BPE is built for (a few thousand distinct pre-tokens, frequent
pairs far more frequent than rare ones), plus what a real corpus has: capitals, contractions,
numbers, punctuation, runs of spaces, tabs, blank lines, accented and CJK words, emoji.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator

SYLLABLES = [
    "the", "an", "in", "on", "er", "re", "at", "st", "or", "en", "ing", "ou", "al", "ic", "to",
    "ra", "mo", "li", "ke", "sa", "pe", "tu", "bo", "ch", "sh", "qu", "ex", "ly", "un", "de",
]  # fmt: skip
RARE_WORDS = ["café", "naïve", "Zürich", "東京", "日本語", "Ωmega", "ñandú", "résumé", "🙂", "数据"]
CONTRACTIONS = ["'s", "'t", "'re", "'ve", "'m", "'ll", "'d"]
PUNCTUATION = [".", ",", "!", "?", ";", ":", " -", " (", ")", '"', "...", " _", "--"]
SEPARATORS = [" "] * 40 + ["  ", "\t", "   "]


def lexicon(size: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    words: list[str] = []
    seen: set[str] = set()
    while len(words) < size:
        word = "".join(rng.choice(SYLLABLES) for _ in range(rng.choice([1, 1, 2, 2, 2, 3, 3, 4])))
        if word not in seen:
            seen.add(word)
            words.append(word)
    return words


def sentences(seed: int, words: int = 2000) -> Iterator[str]:
    """An endless stream of sentences over a lexicon of `words` words."""
    rng = random.Random(seed)
    vocab = lexicon(words, seed)
    cumulative = list(itertools.accumulate(1 / (rank + 1) for rank in range(len(vocab))))  # Zipf
    while True:
        length = rng.randint(3, 16)
        picked = rng.choices(vocab, cum_weights=cumulative, k=length)
        parts = []
        for i, word in enumerate(picked):
            roll = rng.random()
            if i == 0 or roll < 0.05:
                word = word.capitalize()
            if roll > 0.97:
                word = rng.choice(RARE_WORDS)
            elif roll > 0.94:
                word = str(rng.randint(0, 2030))
            elif roll > 0.91:
                word += rng.choice(CONTRACTIONS)
            parts.append(word)
            if i + 1 < length:
                parts.append(rng.choice(PUNCTUATION[1:]) + " " if rng.random() < 0.08 else rng.choice(SEPARATORS))
        yield "".join(parts) + rng.choice(PUNCTUATION[:4])


def document(n_chars: int, seed: int, special: str | None = None, words: int = 2000) -> str:
    """About n_chars of text in lines ending in '\\n', a blank line between paragraphs.

    The lexicon has `words` words. With `special`, documents of a few dozen lines are separated by it, at the start of a line.
    The text starts with a non-space and ends with a single '\\n' after a non-space.
    """
    rng = random.Random(seed + 1)
    stream = sentences(seed, words)
    lines, size = [], 0
    while size < n_chars:
        line = " ".join(next(stream) for _ in range(rng.randint(1, 4)))
        if special is not None and lines and rng.random() < 0.03:
            line = special + line
        line += "\n\n" if rng.random() < 0.2 else "\n"
        lines.append(line)
        size += len(line)
    return "".join(lines).rstrip() + "\n"
