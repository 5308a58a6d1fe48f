"""Parse tool calls out of free model output and validate them against JSON-Schema tools.

Function calling as in OpenAI's API and Toolformer-style agents (Schick et al., 2023,
https://arxiv.org/abs/2302.04761): the model writes `{"name": ..., "arguments": {...}}` objects
into its text, and the caller must find them, repair only the slips that lose no information,
and validate the arguments before running anything.

Three phases. Find: the text is cut into segments at fence lines (```), and each segment is
scanned left to right for top-level `{...}` spans, braces inside strings not counted. Repair:
close the braces a truncated last span left open, then requote single-quoted strings and drop
trailing commas. Check: strict JSON (no NaN, no duplicate keys), the call's shape, the tool's
name, then the arguments against the tool's schema, depth first. The first problem found is
returned as a ToolCallError a retry prompt can quote.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

TYPES = ("object", "array", "string", "integer", "number", "boolean", "null")
Path = list[str | int]  # keys and indices from the arguments object down to one value

# inside a candidate: a string of either quote (to the end of the text if it is never closed) or a brace
_SCAN = re.compile(r""""(?:[^"\\]|\\.)*"?|'(?:[^'\\]|\\.)*'?|[{}]""", re.S)
# the repairs: a double-quoted string (kept), a single-quoted one (requoted), a trailing comma (dropped)
_REPAIR = re.compile(r""""(?:[^"\\]|\\.)*"|'((?:[^'\\]|\\.)*)'|,(?=[ \t\n\r]*[}\]])""", re.S)
_SINGLE_QUOTED_BODY = re.compile(r"""\\(.)|\"""", re.S)  # an escape pair or a bare double quote


@dataclass
class ToolCall:
    name: str
    arguments: dict[str, Any]  # the parsed object, nothing added, removed or coerced


@dataclass
class ToolCallError:
    code: (
        str  # invalid_json | bad_shape | unknown_tool | missing_required | unexpected_field | wrong_type | not_in_enum
    )
    call_index: int  # 0-based index of the offending candidate in scan order
    path: list[str | int]  # [] for the first three codes; the offending field for the others
    message: str  # for a retry prompt


class _Invalid(Exception):
    """The first problem of one call; parse_tool_calls turns it into a ToolCallError."""

    def __init__(self, code: str, path: Path, message: str) -> None:
        self.code, self.path, self.message = code, path, message


# -- the tools ---------------------------------------------------------------------------------


def _check_schema(schema: Any) -> None:
    if not isinstance(schema, dict) or schema.get("type") not in TYPES:
        raise ValueError(f"a schema needs a type from {TYPES}, got {schema!r}")
    properties = schema.get("properties", {})
    for sub in properties.values():
        _check_schema(sub)
    if "items" in schema:
        _check_schema(schema["items"])
    if "additionalProperties" in schema and not isinstance(schema["additionalProperties"], bool):
        raise ValueError(f"additionalProperties must be true or false, got {schema!r}")
    unknown = [name for name in schema.get("required", []) if name not in properties]
    if unknown:
        raise ValueError(f"required names fields that are not in properties: {unknown} in {schema!r}")


def _tool_schemas(tools: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """name -> parameters schema, every schema checked before any text is read."""
    schemas: dict[str, dict[str, Any]] = {}
    for tool in tools:
        name = tool.get("name") if isinstance(tool, dict) else None
        if not isinstance(name, str) or not name:
            raise ValueError(f"a tool needs a non-empty string name, got {tool!r}")
        if name in schemas:
            raise ValueError(f"two tools are named {name!r}")
        schema = tool.get("parameters", {"type": "object"})
        _check_schema(schema)
        if schema["type"] != "object":
            raise ValueError(f"{name}: parameters must be of type object, got {schema['type']!r}")
        schemas[name] = schema
    return schemas


# -- find and repair ---------------------------------------------------------------------------


def _segments(text: str) -> list[str]:
    """The runs of lines between fence lines (``` after optional spaces or tabs)."""
    segments: list[str] = []
    lines: list[str] = []
    for line in text.split("\n"):
        if line.lstrip(" \t").startswith("```"):
            segments.append("\n".join(lines))
            lines = []
        else:
            lines.append(line)
    segments.append("\n".join(lines))
    return segments


def _candidates(segment: str) -> Iterator[str]:
    """Top-level {...} spans, left to right; one left open at the end of the segment is closed."""
    start = segment.find("{")
    while start >= 0:
        depth = 0
        for token in _SCAN.finditer(segment, start):
            depth += {"{": 1, "}": -1}.get(token.group(), 0)
            if depth == 0:
                yield segment[start : token.end()]
                start = segment.find("{", token.end())
                break
        else:
            # truncated: close the open braces, only those; a string left open stays open, and
            # json.loads rejects it (the repairs leave the text after an unclosed quote as written)
            yield segment[start:] + "}" * depth
            return


def _requote(match: re.Match[str]) -> str:
    text = match.group()
    if text[0] == "'":
        # 'it\'s "x"' -> "it's \"x\"": unescape \' and escape bare double quotes
        return '"' + _SINGLE_QUOTED_BODY.sub(_requote_body, match.group(1)) + '"'
    return "" if text == "," else text


def _requote_body(match: re.Match[str]) -> str:
    if match.group(1) is None:
        return '\\"'
    return "'" if match.group(1) == "'" else match.group()


def _parse(candidate: str) -> Any:
    """Strict JSON after the repairs: no NaN or Infinity, no key twice in one object."""

    def reject_constant(name: str) -> Any:
        raise ValueError(f"{name} is not JSON")

    def no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in pairs:
            if key in out:
                raise ValueError(f"the key {key!r} appears twice in one object")
            out[key] = value
        return out

    repaired = _REPAIR.sub(_requote, candidate)
    try:
        return json.loads(repaired, object_pairs_hook=no_duplicates, parse_constant=reject_constant)
    except ValueError as error:
        raise _Invalid("invalid_json", [], f"not valid JSON ({error}): {candidate[:200]!r}") from None


# -- validate ----------------------------------------------------------------------------------


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    names = {dict: "object", list: "array", str: "string", int: "integer", float: "number", type(None): "null"}
    return names[type(value)]


def _has_type(value: Any, expected: str) -> bool:
    actual = _json_type(value)
    return actual == expected or (expected == "number" and actual == "integer")


def _validate(value: Any, schema: dict[str, Any], path: Path) -> None:
    """Raise _Invalid for the first problem: type, enum, then required, then the keys in order."""
    if not _has_type(value, schema["type"]):
        raise _Invalid(
            "wrong_type",
            path,
            f"argument {path} must be of type {schema['type']}, got {_json_type(value)} {value!r}",
        )
    if "enum" in schema and value not in schema["enum"]:
        raise _Invalid("not_in_enum", path, f"argument {path} must be one of {schema['enum']}, got {value!r}")
    if schema["type"] == "object":
        properties = schema.get("properties", {})
        for name in schema.get("required", []):
            if name not in value:
                raise _Invalid("missing_required", [*path, name], f"missing required argument {[*path, name]}")
        for key, item in value.items():
            if key in properties:
                _validate(item, properties[key], [*path, key])
            elif schema.get("additionalProperties", False) is not True:
                raise _Invalid(
                    "unexpected_field",
                    [*path, key],
                    f"unexpected argument {[*path, key]}; allowed: {sorted(properties)}",
                )
    if schema["type"] == "array" and "items" in schema:
        for index, item in enumerate(value):
            _validate(item, schema["items"], [*path, index])


def _check_call(candidate: str, schemas: dict[str, dict[str, Any]]) -> ToolCall:
    call = _parse(candidate)
    if (
        set(call) != {"name", "arguments"}
        or not isinstance(call["name"], str)
        or not isinstance(call["arguments"], dict)
    ):
        raise _Invalid(
            "bad_shape", [], 'a call is one object with exactly the keys "name" (a string) and "arguments" (an object)'
        )
    name, arguments = call["name"], call["arguments"]
    if name not in schemas:
        raise _Invalid("unknown_tool", [], f"unknown tool {name!r}; the tools are {sorted(schemas)}")
    try:
        _validate(arguments, schemas[name], [])
    except _Invalid as problem:
        raise _Invalid(problem.code, problem.path, f"{name}: {problem.message}") from None
    return ToolCall(name, arguments)


def parse_tool_calls(text: str, tools: list[dict[str, Any]]) -> list[ToolCall] | ToolCallError:
    """Every call in `text`, in order, or the first problem as a ToolCallError (never raised)."""
    schemas = _tool_schemas(tools)
    calls: list[ToolCall] = []
    for segment in _segments(text):
        for candidate in _candidates(segment):
            try:
                calls.append(_check_call(candidate, schemas))
            except _Invalid as problem:
                return ToolCallError(problem.code, len(calls), problem.path, f"call {len(calls)}: {problem.message}")
    return calls
