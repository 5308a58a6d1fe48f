"""Quantities as people read them, for any output (the CLI's tables, the take-home report)."""

from __future__ import annotations

from datetime import UTC, datetime


def human_bytes(n: float) -> str:
    """1536 -> '1.5 KiB'; whole bytes below 1 KiB, GiB at most."""
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"


def to_iso(timestamp: float, timespec: str = "seconds") -> str:
    """A Unix time as ISO 8601 UTC to the second: '2026-12-02T19:09:50Z' (or `timespec="milliseconds"`)."""
    return datetime.fromtimestamp(timestamp, UTC).isoformat(timespec=timespec).replace("+00:00", "Z")


def from_iso(text: str) -> float:
    """to_iso's text (or any ISO 8601 time) as a Unix time."""
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
