"""Worker-side helper for streaming-pii-redactor: run a whole stream next to the submission.

A round trip per feed would make long streams slow, so the tests send the chunks at once. The
driver returns, after every feed and after the flush, what the call returned and what counts()
said (an exception as its type name); the checker decides what is right.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

DEFAULT = "<default>"  # kinds not passed: Redactor()


def _outcome(call: Any, *args: Any) -> tuple[str, Any]:
    try:
        value = call(*args)
    except Exception as exc:  # the checker decides whether this exception was the right one
        return ("raises", f"{type(exc).__name__}: {exc}")
    return ("ok", value if type(value) in (str, dict) else repr(value))


def _counts(redactor: Any) -> Any:
    kind, value = _outcome(redactor.counts)
    if kind == "ok" and isinstance(value, dict):
        return {str(k): v if type(v) is int else repr(v) for k, v in value.items()}
    return value


def stream(module: ModuleType, kinds: Any, chunks: list[str]) -> list[tuple[tuple[str, Any], Any]]:
    """feed every chunk then flush; per call, its outcome and counts() right after it.

    Sent compactly (a long stream has a step per character): a str outcome stands for
    ("ok", that str), and counts equal to the previous step's are sent as None.
    """
    redactor = module.Redactor() if kinds == DEFAULT else module.Redactor(kinds)
    trace, previous = [], object()
    calls = [(redactor.feed, chunk) for chunk in chunks] + [(redactor.flush,)]
    for call, *args in calls:
        outcome, counts = _outcome(call, *args), _counts(redactor)
        same = counts == previous and type(counts) is type(previous)
        trace.append(
            (outcome[1] if outcome[0] == "ok" and type(outcome[1]) is str else outcome, None if same else counts)
        )
        previous = counts
    return trace


def streams(module: ModuleType, jobs: list[tuple[Any, list[str]]]) -> list[list[tuple[tuple[str, Any], Any]]]:
    """Many independent streams in one round trip: stream() of each (kinds, chunks)."""
    return [stream(module, kinds, chunks) for kinds, chunks in jobs]


def interleaved(module: ModuleType, kinds_a: Any, kinds_b: Any, chunks: list[tuple[int, str]]) -> list[Any]:
    """Two redactors side by side: chunks go to redactor 0 or 1 in the given order, then both flush."""
    redactors = [module.Redactor(kinds_a), module.Redactor(kinds_b)]
    trace = []
    for which, chunk in chunks:
        trace.append((which, _outcome(redactors[which].feed, chunk), _counts(redactors[which])))
    for which in (0, 1):
        trace.append((which, _outcome(redactors[which].flush), _counts(redactors[which])))
    return trace


def caller_data(module: ModuleType, text: str) -> dict[str, Any]:
    """Change the kinds list after construction and the dict counts() returned, then read again."""
    kinds = ["EMAIL"]
    redactor = module.Redactor(kinds)
    kinds.append("PHONE")
    kinds.remove("EMAIL")
    out = redactor.feed(text)
    first = redactor.counts()
    first["EMAIL"] = 99
    first["PHONE"] = 7
    out += redactor.flush()
    return {"output": out, "counts": redactor.counts()}
