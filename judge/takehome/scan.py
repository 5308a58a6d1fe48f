"""Static looks at submission source: forbidden API use and how alike two submissions are.

Forbidden use: the problem's `forbidden` dotted names (`torch.nn.functional.scaled_dot_product_attention`)
are resolved through the file's imports and aliases (`import torch.nn.functional as F`,
`from torch import add as plus`, `getattr(torch, "add")`, `__import__("torch")`), so a rename
does not hide a use. The worker blocks these names at run time as well; the scan is what lets a
report say so for code that never reached them.

Similarity follows MOSS ("Winnowing: local algorithms for document fingerprinting", Schleimer,
Wilkerson, Aiken, SIGMOD 2003, https://theory.stanford.edu/~aiken/publications/papers/sigmod03.pdf):
tokenize, drop comments, docstrings and layout, replace identifiers by one placeholder, hash
every k-gram of tokens, keep the minimum hash of each window (the fingerprints), drop the
fingerprints of the stub every candidate started from, and compare the sets (Jaccard).
"""

from __future__ import annotations

import ast
import builtins
import dataclasses
import difflib
import io
import itertools
import keyword
import tokenize
import zlib
from collections.abc import Iterable

K_GRAM = 5  # tokens per hashed k-gram: shorter matches are coincidence, longer miss small edits
WINDOW = 4  # k-grams per winnowing window: any shared run of K_GRAM + WINDOW - 1 tokens is caught
MIN_FINGERPRINTS = 3  # fewer own fingerprints than this (beyond the stub) is too little code to compare
DEFAULT_THRESHOLD = 0.6  # Jaccard similarity of fingerprints at which a pair is reported
SIMILARITY_METHOD = "winnowed token k-grams, stub removed, Jaccard"  # as the report names it
IMPORTERS = ("__import__", "importlib.import_module")
# Builtins and self/cls carry meaning, not naming, so they stay; every other name (attributes too) becomes ID.
KEPT_NAMES = frozenset(dir(builtins)) | {"self", "cls"}


@dataclasses.dataclass(frozen=True)
class ForbiddenUse:
    name: str  # the forbidden dotted name from problem.toml
    line: int
    text: str  # how the source spelled it

    def as_json(self) -> dict[str, object]:
        return dataclasses.asdict(self)


def _dotted(node: ast.expr, aliases: dict[str, str]) -> str | None:
    """The dotted path an expression names, following import aliases; None when it is not a module path."""
    if isinstance(node, ast.Name):
        return aliases.get(node.id)
    if isinstance(node, ast.Attribute):
        base = _dotted(node.value, aliases)
        return f"{base}.{node.attr}" if base else None
    if isinstance(node, ast.Call) and node.args:
        function = node.func.id if isinstance(node.func, ast.Name) else _dotted(node.func, aliases)
        first = node.args[0]
        if function in IMPORTERS and isinstance(first, ast.Constant) and isinstance(first.value, str):
            return first.value  # __import__("torch") names the module torch
        if function == "getattr" and len(node.args) >= 2:
            base, attribute = _dotted(first, aliases), node.args[1]
            if base and isinstance(attribute, ast.Constant) and isinstance(attribute.value, str):
                return f"{base}.{attribute.value}"
    return None


def _aliases(tree: ast.AST) -> dict[str, str]:
    aliases: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    aliases[alias.asname] = alias.name
                else:
                    top = alias.name.split(".")[0]
                    aliases[top] = top
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"
        elif isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            target = _dotted(node.value, aliases)  # `add = torch.add` or `m = __import__("torch")`
            if target:
                aliases[node.targets[0].id] = target
    return aliases


def forbidden_uses(source: str, forbidden: Iterable[str]) -> list[ForbiddenUse]:
    """Every place `source` names one of `forbidden` (or something under it), by line."""
    forbidden = tuple(forbidden)
    if not forbidden:
        return []
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return []
    aliases = _aliases(tree)
    found: dict[tuple[str, int], ForbiddenUse] = {}

    def hit(path: str | None, node: ast.AST) -> None:
        for name in forbidden:
            if path and (path == name or path.startswith(name + ".")):
                key = (name, node.lineno)
                found.setdefault(key, ForbiddenUse(name, node.lineno, ast.get_source_segment(source, node) or path))

    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                hit(f"{node.module}.{alias.name}", node)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                hit(alias.name, node)
        elif isinstance(node, (ast.Name, ast.Attribute, ast.Call)):
            hit(_dotted(node, aliases), node)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            for name in forbidden:
                if name in node.value:
                    found.setdefault((name, node.lineno), ForbiddenUse(name, node.lineno, repr(node.value)[:80]))
    return sorted(found.values(), key=lambda use: (use.line, use.name))


def normalise(source: str) -> list[str]:
    """Tokens that survive renaming and reformatting: no comments, docstrings or blank lines; identifiers -> ID."""
    tokens: list[str] = []
    previous = tokenize.NEWLINE
    try:
        stream = list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (tokenize.TokenError, SyntaxError):
        return source.split()
    for index, token in enumerate(stream):
        kind = token.type
        if kind in (tokenize.COMMENT, tokenize.NL, tokenize.ENCODING, tokenize.ENDMARKER):
            continue
        if kind == tokenize.STRING:
            following = next(
                (t.type for t in stream[index + 1 :] if t.type not in (tokenize.COMMENT, tokenize.NL)), None
            )
            if previous in (tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT) and following == tokenize.NEWLINE:
                previous = tokenize.NEWLINE  # a docstring: the statement vanishes with its NEWLINE
                continue
            text = "STR"
        elif kind == tokenize.NAME:
            text = token.string if keyword.iskeyword(token.string) or token.string in KEPT_NAMES else "ID"
        elif kind == tokenize.NEWLINE:
            if previous == tokenize.NEWLINE:
                continue
            text = "NEWLINE"
        elif kind in (tokenize.INDENT, tokenize.DEDENT):
            text = tokenize.tok_name[kind]
        else:
            text = token.string
        tokens.append(text)
        previous = kind
    return tokens


def fingerprints(tokens: list[str], k: int = K_GRAM, window: int = WINDOW) -> set[int]:
    """Winnowing: the minimum k-gram hash of every window of `window` consecutive k-grams."""
    hashes = [zlib.crc32("\x1f".join(tokens[i : i + k]).encode()) for i in range(len(tokens) - k + 1)]
    if len(hashes) <= window:
        return set(hashes)
    return {min(hashes[i : i + window]) for i in range(len(hashes) - window + 1)}


def all_kgrams(tokens: list[str], k: int = K_GRAM) -> set[int]:
    return {zlib.crc32("\x1f".join(tokens[i : i + k]).encode()) for i in range(len(tokens) - k + 1)}


def own_fingerprints(source: str, base: str = "") -> set[int]:
    """Fingerprints of `source` that are not anywhere in `base` (the stub everyone started from)."""
    return fingerprints(normalise(source)) - all_kgrams(normalise(base))


def similarity(a: set[int], b: set[int]) -> float | None:
    """Jaccard similarity of two fingerprint sets; None when either has too little own code."""
    if len(a) < MIN_FINGERPRINTS or len(b) < MIN_FINGERPRINTS:
        return None
    return len(a & b) / len(a | b)


def similar_pairs(
    sources: dict[str, str], base: str = "", threshold: float = DEFAULT_THRESHOLD
) -> list[tuple[str, str, float]]:
    """(name, name, score) for every pair of `sources` at or over `threshold`, most alike first."""
    prints = {name: own_fingerprints(text, base) for name, text in sources.items()}
    pairs = []
    for first, second in itertools.combinations(sorted(prints), 2):
        score = similarity(prints[first], prints[second])
        if score is not None and score >= threshold:
            pairs.append((first, second, round(score, 3)))
    return sorted(pairs, key=lambda pair: (-pair[2], pair[0], pair[1]))


def origin_flags(source: str, stub: str, known: dict[str, str], threshold: float = DEFAULT_THRESHOLD) -> list[str]:
    """Where a submission's code came from, as report flags: unchanged from the stub, or matching
    one of `known` (the reference, the known-wrong solutions: label -> source) at or over `threshold`.

    A submission with no code of its own beyond the stub is "unchanged from the stub"; otherwise
    the known source it is most alike is named with its score ("matches the reference 0.97").
    """
    if normalise(source) == normalise(stub) or not own_fingerprints(source, stub):
        return ["unchanged from the stub"]
    own = own_fingerprints(source, stub)
    scored = []
    for label, text in known.items():
        score = similarity(own, own_fingerprints(text, stub))
        if score is not None and score >= threshold:
            # Fingerprints ignore names, so a one-name bug ties with the reference; the raw lines break the tie.
            lines = difflib.SequenceMatcher(None, source.splitlines(), text.splitlines(), autojunk=False).ratio()
            scored.append((round(score, 2), lines, label))
    if not scored:
        return []
    # Only the closest: a known-wrong solution is the reference with one bug, so it matches both.
    score, _, label = max(scored, key=lambda item: (item[0], item[1], item[2] == "the reference"))
    return [f"matches {label} {score:.2f}"]
