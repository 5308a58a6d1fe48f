"""Checker-side oracle for streaming-pii-redactor: the statement's rules, written out by hand.

No regular expressions: each kind's candidate at a start is parsed character by character
from the statement's grammar, so the oracle shares no code (and no regex subtleties) with
the reference. `segments` is the redaction of a whole text; `check_stream` judges what a
submission returned after each call against it.
"""

from __future__ import annotations

import string

KINDS = ("API_KEY", "EMAIL", "CARD", "PHONE", "IPV4")
MAX_LEN = {"API_KEY": 51, "EMAIL": 64, "CARD": 37, "PHONE": 15, "IPV4": 15}

DIGITS = frozenset(string.digits)
LETTERS = frozenset(string.ascii_letters)
ALNUM = DIGITS | LETTERS
LOCAL = ALNUM | frozenset("._%+-")
DOMAIN = ALNUM | frozenset("-")
KEY = ALNUM | frozenset("_-")
PHONE_FORMATS = ("ddd-ddd-dddd", "ddd.ddd.dddd", "(ddd) ddd-dddd", "+1 ddd ddd dddd")


def holdback(kinds) -> int:
    """The most characters a feed may leave withheld: the longest match of an enabled kind, plus one."""
    return max((MAX_LEN[kind] + 1 for kind in set(kinds)), default=0)


def _at(text: str, index: int) -> str | None:
    return text[index] if 0 <= index < len(text) else None


def luhn(digits: str) -> bool:
    total = 0
    for place, char in enumerate(digits[::-1]):
        doubled = int(char) * (2 if place % 2 else 1)
        total += doubled // 10 + doubled % 10
    return total % 10 == 0


def email_end(text: str, i: int) -> int | None:
    if _at(text, i - 1) in LOCAL | {"@"}:
        return None
    j = i
    while _at(text, j) in LOCAL:
        j += 1
    if j == i or _at(text, j) != "@":
        return None
    labels, k = [], j + 1
    while True:
        start = k
        while _at(text, k) in DOMAIN:
            k += 1
        if k == start:
            return None  # "@" not followed by a domain character
        labels.append(text[start:k])
        if _at(text, k) == "." and _at(text, k + 1) in DOMAIN:
            k += 1
            continue
        break
    tld = labels[-1]
    if len(labels) < 2 or len(tld) < 2 or not set(tld) <= LETTERS:
        return None
    if _at(text, k) in {"_", "@"} or k - i > MAX_LEN["EMAIL"]:
        return None
    return k


def key_end(text: str, i: int) -> int | None:
    if _at(text, i - 1) in KEY:
        return None
    for prefix in ("sk-", "ghp_"):
        if text.startswith(prefix, i):
            j = i + len(prefix)
            while _at(text, j) in KEY:
                j += 1
            body = text[i + len(prefix) : j]
            if prefix == "sk-" and 20 <= len(body) <= 48:
                return j
            if prefix == "ghp_" and len(body) == 36 and set(body) <= ALNUM:
                return j
    return None


def card_end(text: str, i: int) -> int | None:
    before, before2 = _at(text, i - 1), _at(text, i - 2)
    if _at(text, i) not in DIGITS or before in DIGITS or (before in {" ", "-"} and before2 in DIGITS):
        return None
    digits, j = text[i], i + 1
    while True:
        if _at(text, j) in DIGITS:
            digits, j = digits + text[j], j + 1
        elif _at(text, j) in {" ", "-"} and _at(text, j + 1) in DIGITS:
            digits, j = digits + text[j + 1], j + 2
        else:
            break
    return j if 13 <= len(digits) <= 19 and luhn(digits) else None


def phone_end(text: str, i: int) -> int | None:
    if _at(text, i - 1) in ALNUM:
        return None
    for template in PHONE_FORMATS:
        piece = text[i : i + len(template)]
        if len(piece) == len(template) and all(
            (c in DIGITS) if t == "d" else c == t for c, t in zip(piece, template, strict=True)
        ):
            if _at(text, i + len(template)) not in ALNUM:
                return i + len(template)
    return None


def ipv4_end(text: str, i: int) -> int | None:
    if _at(text, i - 1) in ALNUM | {"."}:
        return None
    k = i
    for octet_index in range(4):
        if octet_index:
            if _at(text, k) != ".":
                return None
            k += 1
        start = k
        while _at(text, k) in DIGITS:
            k += 1
        octet = text[start:k]
        if not 1 <= len(octet) <= 3 or (len(octet) > 1 and octet[0] == "0") or int(octet) > 255:
            return None
    if _at(text, k) in ALNUM or (_at(text, k) == "." and _at(text, k + 1) in DIGITS):
        return None
    return k


END = {"API_KEY": key_end, "EMAIL": email_end, "CARD": card_end, "PHONE": phone_end, "IPV4": ipv4_end}


def key_of(kind: str, value: str) -> str:
    digits = "".join(c for c in value if c in DIGITS)
    return {"EMAIL": value.lower(), "PHONE": digits[-10:], "CARD": digits}.get(kind, value)


def segments(text: str, kinds) -> list[tuple[int, int, str | None, str]]:
    """The redaction of `text`: (start, end, kind or None, output) pieces covering it in order."""
    enabled = [kind for kind in KINDS if kind in set(kinds)]
    numbers: dict[str, dict[str, int]] = {kind: {} for kind in enabled}
    out, i = [], 0
    while i < len(text):
        found = [(END[kind](text, i), kind) for kind in enabled]
        found = [(end, kind) for end, kind in found if end is not None]
        if found:
            end, kind = max(found)
            assert sum(1 for e, _ in found if e == end) == 1, "two kinds matched one span"
            table = numbers[kind]
            number = table.setdefault(key_of(kind, text[i:end]), len(table) + 1)
            out.append((i, end, kind, f"[{kind}_{number}]"))
            i = end
        else:
            out.append((i, i + 1, None, text[i]))
            i += 1
    return out


def redact(text: str, kinds=KINDS) -> str:
    return "".join(piece for _, _, _, piece in segments(text, kinds))


class StreamCheck:
    """Follows a submission's returns along the redaction of the whole stream, one return at a time.

    `advance(returned)` gives None when the returned text continues the redaction and ends between
    pieces, else what is wrong; `consumed` is the input covered so far, `counts` its matches per kind.
    """

    def __init__(self, text: str, kinds) -> None:
        self.pieces = segments(text, kinds)
        self.next = 0  # the first piece not yet released
        self.consumed = 0
        self.counts = {kind: 0 for kind in KINDS if kind in set(kinds)}

    def expected_rest(self, limit: int = 200) -> str:
        rest = "".join(piece for _, _, _, piece in self.pieces[self.next :])
        return rest if len(rest) <= limit else rest[:limit] + "..."

    def advance(self, returned: str) -> str | None:
        position = 0
        while position < len(returned):
            if self.next == len(self.pieces):
                return f"{len(returned) - position} characters past the end of the redaction: {returned[position:]!r}"
            start, end, kind, piece = self.pieces[self.next]
            if not returned.startswith(piece, position):
                got = returned[position : position + len(piece)]
                if piece.startswith(got):
                    return f"the return stops inside the placeholder {piece!r} (a placeholder is released whole)"
                return f"at input index {start}: expected {piece!r}, got {got!r} (expected from here: {self.expected_rest()!r})"
            position += len(piece)
            self.next += 1
            self.consumed = end
            if kind is not None:
                self.counts[kind] += 1
        return None
