"""A streaming PII redactor for LLM output: emails, phones, IPv4, card numbers and API keys.

Guardrail layers in front of a streamed chat completion (Microsoft Presidio's anonymizer,
the output filters of LLM gateways) must replace secrets before any of their characters
reach the user, while still streaming. Tokens arrive in arbitrary chunks, so a secret can be
split across chunks; the redactor holds back the tail that is not yet decided and releases
everything before it.

The redaction is one function of the whole text: scan left to right; at each position take
the longest candidate of any enabled kind that starts there (leftmost-longest, never
overlapping), replace it by a placeholder numbered per kind by first occurrence of its
normalised value, else copy one character. A decision at position i reads at most
MAX_LEN + 2 characters from i, so after a feed every position more than `holdback` =
MAX_LEN + 1 characters before the end is decided and released.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

# Each kind's candidate: one regex with its boundaries as lookarounds (ASCII classes only:
# \d and \w would accept non-ASCII digits and letters). At one start each kind has at most
# one candidate, and no two kinds can match the same span.
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"  # 0..255, no leading zero
PATTERNS = {
    "API_KEY": re.compile(r"(?<![A-Za-z0-9_-])(?:sk-[A-Za-z0-9_-]{20,48}|ghp_[A-Za-z0-9]{36})(?![A-Za-z0-9_-])"),
    "EMAIL": re.compile(
        r"(?<![A-Za-z0-9._%+@-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"
        r"(?![A-Za-z0-9_@-])(?!\.[A-Za-z0-9-])"
    ),
    "CARD": re.compile(r"(?<![0-9])(?<![0-9][ -])[0-9](?:[ -]?[0-9]){12,18}(?![0-9])(?![ -][0-9])"),
    "PHONE": re.compile(
        r"(?<![A-Za-z0-9])(?:[0-9]{3}-[0-9]{3}-[0-9]{4}|[0-9]{3}\.[0-9]{3}\.[0-9]{4}"
        r"|\([0-9]{3}\) [0-9]{3}-[0-9]{4}|\+1 [0-9]{3} [0-9]{3} [0-9]{4})(?![A-Za-z0-9])"
    ),
    "IPV4": re.compile(rf"(?<![A-Za-z0-9.]){_OCTET}(?:\.{_OCTET}){{3}}(?![A-Za-z0-9])(?!\.[0-9])"),
}
KINDS = tuple(PATTERNS)
MAX_LEN = {"API_KEY": 51, "EMAIL": 64, "CARD": 37, "PHONE": 15, "IPV4": 15}  # longest match, in characters
CONTEXT = 2  # released characters kept: the lookbehinds read at most 2 characters before a start


def _luhn_valid(digits: str) -> bool:
    """Luhn: from the rightmost digit, double every second one (minus 9 above 9); the sum is 0 mod 10."""
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 1:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def _normalise(kind: str, value: str) -> str:
    """The key that decides "the same value": emails case-folded, phones and cards by their digits."""
    digits = "".join(char for char in value if char in "0123456789")
    if kind == "EMAIL":
        return value.lower()
    if kind == "PHONE":
        return digits[-10:]  # "+1" is the country code, not part of the number
    if kind == "CARD":
        return digits
    return value


class Redactor:
    """feed(chunk) -> the text now safe to release; flush() -> the rest; counts() -> matches released per kind."""

    def __init__(self, kinds: Sequence[str] | None = None) -> None:
        chosen = set(KINDS if kinds is None else kinds)
        unknown = sorted(map(repr, chosen - set(KINDS)))
        if unknown:
            raise ValueError(f"unknown kinds {unknown}; expected some of {list(KINDS)}")
        self._kinds = tuple(kind for kind in KINDS if kind in chosen)
        self._holdback = max((MAX_LEN[kind] + 1 for kind in self._kinds), default=0)
        self._text = ""  # up to CONTEXT released characters, then the withheld tail
        self._start = 0  # index in _text of the first withheld character
        self._numbers: dict[str, dict[str, int]] = {kind: {} for kind in self._kinds}
        self._counts = {kind: 0 for kind in self._kinds}
        self._closed = False

    def feed(self, chunk: str) -> str:
        self._check_open()
        self._text += chunk  # TypeError for anything but a str
        return self._release(len(self._text) - self._holdback)

    def flush(self) -> str:
        self._check_open()
        self._closed = True
        return self._release(len(self._text))

    def counts(self) -> dict[str, int]:
        return dict(self._counts)

    def _check_open(self) -> None:
        if self._closed:
            raise ValueError("the stream was flushed; make a new Redactor")

    def _release(self, limit: int) -> str:
        """Decide every scan position before `limit` (each reads < holdback + 1 characters ahead)."""
        text, position, out = self._text, self._start, []
        while position < limit:
            end, kind = self._longest(text, position)
            if kind is None:
                out.append(text[position])
                position += 1
            else:
                out.append(self._placeholder(kind, text[position:end]))
                position = end
        keep = max(position - CONTEXT, 0)
        self._text, self._start = text[keep:], position - keep
        return "".join(out)

    def _longest(self, text: str, position: int) -> tuple[int, str | None]:
        best_end, best_kind = position, None
        for kind in self._kinds:
            match = PATTERNS[kind].match(text, position)
            if match is None or match.end() - position > MAX_LEN[kind]:
                continue
            if kind == "CARD" and not _luhn_valid(_normalise(kind, match.group())):
                continue
            if match.end() > best_end:
                best_end, best_kind = match.end(), kind
        return best_end, best_kind

    def _placeholder(self, kind: str, value: str) -> str:
        numbers = self._numbers[kind]
        number = numbers.setdefault(_normalise(kind, value), len(numbers) + 1)
        self._counts[kind] += 1
        return f"[{kind}_{number}]"
