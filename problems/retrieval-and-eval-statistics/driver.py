"""Worker-side helpers for retrieval-and-eval-statistics: set judgments, and arguments left unchanged.

Sets cannot cross the judge boundary, so the checker sends each set judgment as a list of ids
and a kind; `call` builds the set (or frozenset) next to the submission and calls it. Both
`call` and `checked` report whether the call changed any argument, by a snapshot that sees what
`==` does not: a value replaced by an equal one of another type (grade 3 -> 3.0, score 1 -> 1.0)
and a list, dict or set of the caller's replaced by an equal copy (the caller's object is no
longer there). The input guard sees only the driver's own arguments, and a set built here is
not one of them.
"""

from typing import Any

BUILDERS = {"set": set, "frozenset": frozenset, "dict": dict}
CONTAINERS = (list, tuple, dict, set, frozenset)


def snapshot(value: Any, alive: list) -> tuple:
    """(type, id, contents) of a container, recursively; (type, repr) of anything else.

    `alive` keeps every container seen alive, so no id is reused by a new object during the call.
    """
    kind = type(value)
    if kind not in CONTAINERS:
        return (kind.__name__, repr(value))
    alive.append(value)
    if kind is dict:
        contents = tuple((snapshot(key, alive), snapshot(item, alive)) for key, item in value.items())
    elif kind in (set, frozenset):
        contents = tuple(sorted(snapshot(item, alive) for item in value))
    else:
        contents = tuple(snapshot(item, alive) for item in value)
    return (kind.__name__, id(value), contents)


def difference(path: str, old: tuple, new: tuple) -> str | None:
    """Where and how `new` differs from `old` (two snapshots), or None if they are the same."""
    if old == new:
        return None
    if len(old) == 2 or len(new) == 2 or old[0] != new[0]:
        return f"{path} was the {old[0]} {show(old)} before the call and the {new[0]} {show(new)} after it"
    if old[1] != new[1]:
        what = "an equal copy" if old[2] == new[2] else f"another {new[0]}, {show(new)}"
        return f"{path}, the caller's {old[0]} {show(old)}, was replaced by {what}"
    if old[0] in ("list", "tuple", "dict") and len(old[2]) == len(new[2]):
        for index, (before, after) in enumerate(zip(old[2], new[2], strict=True)):
            if old[0] == "dict":
                if before[0] != after[0]:
                    return f"{path}'s keys were {show(old)} before the call and {show(new)} after it"
                found = difference(f"{path}[{before[0][1]}]", before[1], after[1])
            else:
                found = difference(f"{path}[{index}]", before, after)
            if found:
                return found
    return f"{path} was {show(old)} before the call and {show(new)} after it"


def show(shot: tuple) -> str:
    """A short readable form of a snapshot (reprs of the leaves)."""
    if len(shot) == 2:
        return shot[1]
    kind, _, contents = shot
    if kind == "dict":
        text = "{" + ", ".join(f"{show(key)}: {show(item)}" for key, item in contents) + "}"
    else:
        inner = ", ".join(show(item) for item in contents) + ("," if kind == "tuple" and len(contents) == 1 else "")
        text = {"list": f"[{inner}]", "tuple": f"({inner})", "set": f"{{{inner}}}"}.get(kind, f"{kind}({{{inner}}})")
    return text if len(text) <= 200 else text[:200] + " ..."


def checked(module, name: str, args: list, kwargs: dict, names: list[str] | None = None) -> list[Any]:
    """module.<name>(*args, **kwargs) -> [result, changes]; changes describes each argument the call altered."""
    names = names or [f"argument {i + 1}" for i in range(len(args))]
    alive: list = []
    before = [snapshot(value, alive) for value in args]
    result = getattr(module, name)(*args, **kwargs)
    changes = [
        found
        for label, value, old in zip(names, args, before, strict=True)
        if (found := difference(label, old, snapshot(value, alive)))
    ]
    return [result, changes]


def call(module, name: str, rankings: list, judgments: list, kinds: list[str], kwargs: dict) -> list[Any]:
    """module.<name>(rankings, relevance, **kwargs), relevance[q] built as kinds[q] -> [result, changes]."""
    relevance = [BUILDERS[kind](judged) for judged, kind in zip(judgments, kinds, strict=True)]
    return checked(module, name, [rankings, relevance], kwargs, ["rankings", "relevance"])
