"""Checker side of tool-call-parser: a second implementation of the statement, character by character.

The reference uses regular expressions; this one walks the text with explicit states, so the
two share no code. It answers the corrupted model outputs of the property tests, whose answer
no generator knows (tests/test_problem_tool_call_parser.py checks it against the reference on
many thousands of outputs). It returns what tool_call_cases.check compares with.
"""

from __future__ import annotations

import json
import re
from typing import Any

from tool_call_cases import Err, Want

TYPES = {"object", "array", "string", "integer", "number", "boolean", "null"}
JSON_WHITESPACE = " \t\n\r"


class Problem(Exception):
    def __init__(self, code: str, path: list[str | int] | None = None) -> None:
        self.code, self.path = code, path or []


def check_schema(schema: Any, root: bool = False) -> None:
    if not isinstance(schema, dict) or not isinstance(schema.get("type"), str) or schema["type"] not in TYPES:
        raise ValueError("a schema needs one of the seven types")
    if root and schema["type"] != "object":
        raise ValueError("parameters must be of type object")
    if "additionalProperties" in schema and type(schema["additionalProperties"]) is not bool:
        raise ValueError("additionalProperties must be a bool")
    properties = schema.get("properties", {})
    for sub in properties.values():
        check_schema(sub)
    if "items" in schema:
        check_schema(schema["items"])
    if any(name not in properties for name in schema.get("required", [])):
        raise ValueError("required names a field outside properties")


def segments(text: str) -> list[str]:
    """Fence lines cut the text (the newlines left around a cut are JSON whitespace: harmless)."""
    return re.split(r"^[ \t]*```[^\n]*$", text, flags=re.M)


def candidates(segment: str):
    i, n = 0, len(segment)
    while i < n:
        if segment[i] != "{":
            i += 1
            continue
        start, depth, quote, j = i, 0, None, i
        while j < n:
            char = segment[j]
            if quote:
                if char == "\\":
                    j += 2
                    continue
                if char == quote:
                    quote = None
            elif char in "\"'":
                quote = char
            elif char == "{":
                depth += 1
            elif char == "}":
                depth -= 1
                if depth == 0:
                    break
            j += 1
        if j < n:
            yield segment[start : j + 1]
            i = j + 1
        else:
            yield None if quote else segment[start:] + "}" * depth
            return


def repair(text: str) -> str:
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        if char == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            out.append(text[i : j + 1])
            i = j + 1
        elif char == "'":
            j, body = i + 1, []
            while j < n and text[j] != "'":
                if text[j] == "\\" and j + 1 < n:
                    body.append("'" if text[j + 1] == "'" else text[j : j + 2])
                    j += 2
                else:
                    body.append('\\"' if text[j] == '"' else text[j])
                    j += 1
            out.append('"' + "".join(body) + '"')
            i = j + 1
        else:
            k = i + 1
            while char == "," and k < n and text[k] in JSON_WHITESPACE:
                k += 1
            if not (char == "," and k < n and text[k] in "}]"):
                out.append(char)
            i += 1
    return "".join(out)


def strict_json(text: str) -> Any:
    def pairs_hook(pairs):
        out = {}
        for key, value in pairs:
            if key in out:
                raise ValueError("duplicate key")
            out[key] = value
        return out

    def constant(name):
        raise ValueError(name)

    return json.loads(text, object_pairs_hook=pairs_hook, parse_constant=constant)


def json_kind(value: Any) -> str:
    if value is None:
        return "null"
    if value is True or value is False:
        return "boolean"
    for kind, python in (("integer", int), ("number", float), ("string", str), ("array", list)):
        if isinstance(value, python):
            return kind
    return "object"


def validate(value: Any, schema: dict[str, Any], path: list[str | int]) -> None:
    kind, expected = json_kind(value), schema["type"]
    if kind != expected and not (expected == "number" and kind == "integer"):
        raise Problem("wrong_type", path)
    if "enum" in schema and not any(value == allowed for allowed in schema["enum"]):
        raise Problem("not_in_enum", path)
    if expected == "object":
        properties = schema.get("properties", {})
        for name in schema.get("required", []):
            if name not in value:
                raise Problem("missing_required", [*path, name])
        for key, item in value.items():
            if key in properties:
                validate(item, properties[key], [*path, key])
            elif schema.get("additionalProperties") is not True:
                raise Problem("unexpected_field", [*path, key])
    if expected == "array" and "items" in schema:
        for index, item in enumerate(value):
            validate(item, schema["items"], [*path, index])


def oracle(text: str, tools: list[dict[str, Any]]) -> Want:
    """The calls as (name, arguments), or Err(code, call_index, path); ValueError for broken tools."""
    table: dict[str, dict[str, Any]] = {}
    for tool in tools:
        if not isinstance(tool, dict) or not isinstance(tool.get("name"), str) or tool["name"] == "":
            raise ValueError("a tool needs a non-empty string name")
        if tool["name"] in table:
            raise ValueError("duplicate tool name")
        table[tool["name"]] = tool.get("parameters", {"type": "object"})
        check_schema(table[tool["name"]], root=True)
    calls: list[tuple[str, dict[str, Any]]] = []
    for segment in segments(text):
        for candidate in candidates(segment):
            try:
                try:
                    call = strict_json(repair(candidate)) if candidate is not None else None
                except ValueError:
                    call = None
                if call is None:
                    raise Problem("invalid_json")
                shape_ok = set(call) == {"name", "arguments"} and isinstance(call["name"], str)
                if not shape_ok or not isinstance(call["arguments"], dict):
                    raise Problem("bad_shape")
                if call["name"] not in table:
                    raise Problem("unknown_tool")
                validate(call["arguments"], table[call["name"]], [])
            except Problem as problem:
                return Err(problem.code, len(calls), problem.path)
            calls.append((call["name"], call["arguments"]))
    return calls
