"""Worker-side helper for retrieval-and-eval-statistics: judgments as sets and frozensets.

Sets cannot cross the judge boundary, so the checker sends each set judgment as a list of ids
and a kind; this helper builds the set (or frozenset) next to the submission, calls it, and
reports whether the call changed any judgment (the input guard sees only the driver's own
arguments, and a set built here is not one of them).
"""

from typing import Any

BUILDERS = {"set": set, "frozenset": frozenset, "dict": dict}


def call(module, name: str, rankings: list, judgments: list, kinds: list[str], kwargs: dict) -> list[Any]:
    """module.<name>(rankings, relevance, **kwargs) -> [result, changes]; changes lists the altered judgments."""
    relevance = [BUILDERS[kind](judged) for judged, kind in zip(judgments, kinds, strict=True)]
    before = [type(judged)(judged) for judged in relevance]  # copies to compare with after the call
    result = getattr(module, name)(rankings, relevance, **kwargs)
    changes = [
        f"relevance[{q}] ({kind}) was {old!r} before the call and {new!r} after it"
        for q, (old, new, kind) in enumerate(zip(before, relevance, kinds, strict=True))
        if old != new or (kind == "dict" and list(old.items()) != list(new.items()))
    ]
    return [result, changes]
