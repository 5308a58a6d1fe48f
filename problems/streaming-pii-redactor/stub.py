"""A streaming PII redactor: emails, phones, IPv4 addresses, card numbers and API keys.

Fill in `Redactor`. Keep the class name and the method signatures below; add private helpers
freely. Plain Python: no tensors are needed.
"""

from __future__ import annotations

from collections.abc import Sequence

KINDS = ("EMAIL", "PHONE", "IPV4", "CARD", "API_KEY")


class Redactor:
    """feed(chunk) -> text now safe to release; flush() -> the rest; counts() -> matches released per kind."""

    def __init__(self, kinds: Sequence[str] | None = None) -> None:
        """kinds: the kinds to redact (None: all five; [] none). An unknown name raises ValueError."""
        raise NotImplementedError

    def feed(self, chunk: str) -> str:
        """Append chunk; return the text that no later input can change (at most H characters withheld)."""
        raise NotImplementedError

    def flush(self) -> str:
        """Return everything still withheld and end the stream (feed/flush afterwards raise ValueError)."""
        raise NotImplementedError

    def counts(self) -> dict[str, int]:
        """A new dict: enabled kind -> matches whose placeholders have been released so far."""
        raise NotImplementedError
