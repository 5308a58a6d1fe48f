"""Checker side of tool-call-parser: the exact comparison and the random model outputs.

`random_case(seed)` is the oracle of the property tests. It never parses anything: it builds
random tools, random valid calls for them, renders the calls the ways the statement allows
(either quote, trailing commas, whitespace, prose, fences, JSON arrays, a truncated last call)
and plants at most one problem, so it knows the answer (the calls, or the code, call_index and
path of the planted problem) by construction.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from typing import Any

FIELD_NAMES = ["city", "days", "unit", "query", "limit", "tags", "options", "id", "lang", "x", "été", "max_tokens"]
PROSE = [
    "Sure, let me look that up.",
    "I'll call the tool now:",
    "Here's what I'm going to run",
    "That's all for now, isn't it?",
    "Done.",
    "Calling the tools in parallel — one moment…",
    "(checking)",
    "Results will follow",
]


# the statement's example tool
WEATHER = {
    "name": "get_weather",
    "description": "Current weather and forecast.",
    "parameters": {
        "type": "object",
        "properties": {
            "city": {"type": "string"},
            "days": {"type": "integer"},
            "unit": {"type": "string", "enum": ["c", "f"]},
        },
        "required": ["city"],
    },
}


@dataclass
class Err:
    code: str
    call_index: int
    path: list[str | int]


Want = list[tuple[str, dict[str, Any]]] | Err


# -- exact comparison ----------------------------------------------------------------------------


def first_difference(got: Any, want: Any, where: str = "arguments") -> str | None:
    """Where two JSON values differ, types included (1, 1.0 and True are three values); None if equal."""
    if type(got) is not type(want):
        return f"{where}: expected {want!r} ({type(want).__name__}), got {got!r} ({type(got).__name__})"
    if isinstance(want, dict):
        if set(got) != set(want):
            return f"{where}: expected the keys {sorted(want)}, got {sorted(got)}"
        for key in want:
            difference = first_difference(got[key], want[key], f"{where}[{key!r}]")
            if difference:
                return difference
        return None
    if isinstance(want, list):
        if len(got) != len(want):
            return f"{where}: expected {len(want)} elements {want!r}, got {len(got)}: {got!r}"
        for index, (g, w) in enumerate(zip(got, want, strict=True)):
            difference = first_difference(g, w, f"{where}[{index}]")
            if difference:
                return difference
        return None
    return None if got == want else f"{where}: expected {want!r}, got {got!r}"


def check(got: Any, want: Want, text: str, tools: list[dict[str, Any]] | None = None) -> None:
    """Compare a result of parse_tool_calls with the expected calls or error, naming the input."""
    shown = f"\ntext: {text[:600]!r}" + ("" if tools is None else f"\ntools: {json.dumps(tools)[:600]}")
    if isinstance(want, Err):
        assert getattr(got, "type_name", None) == "ToolCallError", (
            f"expected ToolCallError(code={want.code!r}, call_index={want.call_index}, path={want.path!r}), "
            f"got {got!r}{shown}"
        )
        assert set(got.fields) == {"code", "call_index", "path", "message"}, (
            f"ToolCallError must have exactly the fields code, call_index, path, message; got {sorted(got.fields)}"
        )
        fields = (got.code, got.call_index, got.path)
        assert fields == (want.code, want.call_index, want.path) and type(got.call_index) is int, (
            f"ToolCallError (code, call_index, path): expected {(want.code, want.call_index, want.path)!r}, "
            f"got {fields!r} (message {got.message!r}){shown}"
        )
        assert all(
            type(part) is (int if isinstance(w, int) else str) for part, w in zip(got.path, want.path, strict=True)
        ), f"path element types: expected {want.path!r}, got {got.path!r}"
        assert isinstance(got.message, str) and got.message, f"the message must be a non-empty str, got {got.message!r}"
        return
    assert isinstance(got, list), f"expected a list of {len(want)} ToolCall, got {got!r}{shown}"
    names = [(getattr(c, "type_name", type(c).__name__), getattr(c, "name", None)) for c in got]
    assert len(got) == len(want), f"expected {len(want)} calls {[n for n, _ in want]}, got {len(got)}: {got!r}{shown}"
    for index, (call, (name, arguments)) in enumerate(zip(got, want, strict=True)):
        assert names[index] == ("ToolCall", name), (
            f"call {index}: expected ToolCall named {name!r}, got {call!r}{shown}"
        )
        assert set(call.fields) == {"name", "arguments"}, (
            f"ToolCall must have exactly the fields name and arguments; got {sorted(call.fields)}"
        )
        difference = first_difference(call.arguments, arguments, f"call {index} arguments")
        assert difference is None, f"{difference}{shown}"


# -- random tools and calls ----------------------------------------------------------------------


def random_schema(rng: random.Random, depth: int) -> dict[str, Any]:
    kinds = ["string", "integer", "number", "boolean", "null"] + ["object", "array"] * (depth > 0)
    kind = rng.choice(kinds)
    schema: dict[str, Any] = {"type": kind}
    if rng.random() < 0.3:
        schema["description"] = "a field"
    if kind == "string" and rng.random() < 0.5:
        schema["enum"] = rng.sample(["c", "f", "k", "fast", "it's", 'say "hi"', "a}b"], rng.randint(1, 3))
    if kind == "integer" and rng.random() < 0.5:
        schema["enum"] = rng.sample([0, 1, 2, 7, -3, 100], rng.randint(1, 3))
    if kind == "object":
        return random_object_schema(rng, depth - 1)
    if kind == "array" and rng.random() < 0.8:
        schema["items"] = random_schema(rng, depth - 1)
    return schema


def random_object_schema(rng: random.Random, depth: int) -> dict[str, Any]:
    names = rng.sample(FIELD_NAMES, rng.randint(0, 4))
    schema: dict[str, Any] = {"type": "object", "properties": {name: random_schema(rng, depth) for name in names}}
    required = [name for name in names if rng.random() < 0.6]
    rng.shuffle(required)
    if required or rng.random() < 0.5:
        schema["required"] = required
    extra = rng.choice(["absent", False, True])
    if extra != "absent":
        schema["additionalProperties"] = extra
    return schema


def random_value(rng: random.Random, schema: dict[str, Any] | None) -> Any:
    """A value valid for schema (None: any JSON value)."""
    if schema is None:
        schema = {"type": rng.choice(["string", "integer", "number", "boolean", "null"])}
    if "enum" in schema:
        return rng.choice(schema["enum"])
    kind = schema["type"]
    if kind == "string":
        return rng.choice(
            ["Paris", "", "O'Hare", 'a "quoted" word', "a } b {", "tab\there", "line\nbreak", "é ü 東京", "\\"]
        )
    if kind == "integer":
        return rng.choice([0, 1, -7, 42, 10**20])
    if kind == "number":
        return rng.choice([0, 2.5, -0.0, 1e-07, 3, 1e20])
    if kind == "boolean":
        return rng.random() < 0.5
    if kind == "null":
        return None
    if kind == "array":
        return [random_value(rng, schema.get("items")) for _ in range(rng.randint(0, 3))]
    properties = schema.get("properties", {})
    value = {}
    for name in properties:
        if name in schema.get("required", []) or rng.random() < 0.5:
            value[name] = random_value(rng, properties[name])
    if schema.get("additionalProperties") is True and rng.random() < 0.4:
        value["extra_" + str(rng.randint(0, 9))] = random_value(rng, None)
    keys = list(value)
    rng.shuffle(keys)
    return {key: value[key] for key in keys}


def render(rng: random.Random, value: Any) -> str:
    """JSON as a model might write it: either quote, optional trailing commas, varied spacing."""
    space = rng.choice(["", " ", "\n  ", "\t"])
    if isinstance(value, dict) or isinstance(value, list):
        items = (
            [render(rng, key) + ":" + rng.choice(["", " "]) + render(rng, item) for key, item in value.items()]
            if isinstance(value, dict)
            else [render(rng, item) for item in value]
        )
        comma = "," if items and rng.random() < 0.25 else ""
        opening, closing = "{}" if isinstance(value, dict) else "[]"
        return opening + space + ("," + space).join(items) + comma + space + closing
    if isinstance(value, str) and rng.random() < 0.35:
        body = json.dumps(value, ensure_ascii=rng.random() < 0.5)[1:-1]
        return "'" + body.replace('\\"', '"').replace("'", "\\'") + "'"
    return json.dumps(value, ensure_ascii=rng.random() < 0.5)


# -- planted problems ----------------------------------------------------------------------------


def _objects(schema: dict[str, Any], value: Any, path: list[str | int]):
    """Every (object schema, object value, path) in a valid value, depth first."""
    if schema["type"] == "object":
        yield schema, value, path
        for key, item in value.items():
            if key in schema.get("properties", {}):
                yield from _objects(schema["properties"][key], item, [*path, key])
    if schema["type"] == "array" and "items" in schema:
        for index, item in enumerate(value):
            yield from _objects(schema["items"], item, [*path, index])


WRONG_TYPE = {
    "string": [5, None, True],
    "integer": ["5", 5.0, True, 2.5],
    "number": ["2.5", False, None],
    "boolean": [0, "true", None],
    "null": [0, "null", False],
    "object": [[], "{}"],
    "array": [{}, "[]"],
}


def plant(rng: random.Random, schema: dict[str, Any], arguments: dict[str, Any]) -> tuple[str, list] | None:
    """Change `arguments` in place so that its first problem is one chosen at random; (code, path)."""
    places = list(_objects(schema, arguments, []))
    options = []
    for obj_schema, obj, path in places:
        properties = obj_schema.get("properties", {})
        for name in obj_schema.get("required", []):
            options.append(("missing_required", obj, path, name))
        if obj_schema.get("additionalProperties") is not True:
            options.append(("unexpected_field", obj, path, "surplus"))
        for key in obj:
            if key in properties:
                options.append(("wrong_type", obj, path, key))
                if "enum" in properties[key]:
                    options += [("not_in_enum", obj, path, key)] * 4  # rarer than the others otherwise
    if not options:
        return None
    code, obj, path, key = rng.choice(options)
    if code == "missing_required":
        if key in obj:
            del obj[key]
        return code, [*path, key]
    if code == "unexpected_field":
        obj[key] = 1
        return code, [*path, key]
    field_schema = next(s for s, o, _ in places if o is obj)["properties"][key]
    if code == "wrong_type":
        obj[key] = rng.choice(WRONG_TYPE[field_schema["type"]])
    else:
        obj[key] = "zz" if field_schema["type"] == "string" else 99
    return code, [*path, key]


def random_tools(rng: random.Random) -> list[dict[str, Any]]:
    names = rng.sample(["get_weather", "search", "calc", "send_email", "Search", "lookup_v2"], rng.randint(1, 3))
    tools = []
    for name in names:
        tool: dict[str, Any] = {"name": name, "description": f"the {name} tool"}
        if rng.random() < 0.9:
            tool["parameters"] = random_object_schema(rng, 2)
        tools.append(tool)
    return tools


def random_case(seed: int) -> tuple[str, list[dict[str, Any]], Want]:
    """(text, tools, expected result) for one random model output."""
    rng = random.Random(seed)
    tools = random_tools(rng)
    calls = []
    for _ in range(rng.randint(0, 4)):
        tool = rng.choice(tools)
        schema = tool.get("parameters", {"type": "object"})
        calls.append((tool["name"], schema, random_value(rng, schema)))
    want: Want = [(name, json.loads(json.dumps(arguments))) for name, _, arguments in calls]
    if calls and rng.random() < 0.5:
        index = rng.randrange(len(calls))
        name, schema, arguments = calls[index]
        kind = rng.choice(["arguments", "arguments", "unknown_tool", "bad_shape", "invalid_json"])
        planted = plant(rng, schema, arguments) if kind == "arguments" else None
        if planted:
            want = Err(planted[0], index, planted[1])
        elif kind == "unknown_tool":
            calls[index] = (name + "_x", schema, arguments)
            want = Err("unknown_tool", index, [])
        elif kind == "bad_shape":
            calls[index] = (None, schema, arguments)
            want = Err("bad_shape", index, [])
        elif kind == "invalid_json":
            calls[index] = (False, schema, arguments)
            want = Err("invalid_json", index, [])
    rendered = []
    for name, _, arguments in calls:
        if name is None:
            rendered.append(render(rng, {"name": "x", "id": "call_1", "arguments": arguments}))
        elif name is False:
            rendered.append('{"name": "x", "arguments": {"flag": True}}')
        else:
            rendered.append(render(rng, {"name": name, "arguments": arguments}))
    return assemble(rng, rendered), tools, want


def assemble(rng: random.Random, rendered: list[str]) -> str:
    """Prose and fences around the rendered calls; the last call may lose its closing braces."""
    if rendered and rng.random() < 0.3:
        last = rendered[-1]
        kept = last.rstrip("}")
        cut = rng.randint(1, len(last) - len(kept))
        rendered[-1] = last[: len(last) - cut]
    newline = rng.choice(["\n", "\r\n"])
    parts = [rng.choice(PROSE)] if rng.random() < 0.7 else []
    index = 0
    while index < len(rendered):
        layout = rng.choice(["bare", "fence", "array", "same_line"])
        if layout == "fence":
            info = rng.choice(["", "json", "JSON", "tool_call", " json "])
            group = rendered[index : index + rng.randint(1, 2)]
            fence = rng.choice(["```", "  ```", "\t```"])
            parts += [fence + info, *group]
            if index + len(group) < len(rendered) or rng.random() < 0.8:
                parts.append("```")
            index += len(group)
        elif layout == "array" and index + 1 < len(rendered) and index + 2 < len(rendered):
            parts.append("[" + ", ".join(rendered[index : index + 2]) + "]")
            index += 2
        elif layout == "same_line" and index + 1 < len(rendered) and index + 2 < len(rendered):
            parts.append(rendered[index] + " then " + rendered[index + 1])
            index += 2
        else:
            parts.append(rendered[index])
            index += 1
        if rng.random() < 0.4 and index < len(rendered):
            parts.append(rng.choice(PROSE))
    return newline.join(parts)


EDITS = ["{", "}", '"', "'", "\\", ",", ", ", " ", "\n", "\n```\n", "```json\n", "[", "]", ":", "True", "NaN"]
EDITS += ["1.0", '"x"', "'y'", ",}", ",]", "\\'", '\\"', '"a": 1', "'b': [],", "}}", "\r\n"]


def corrupted_case(seed: int) -> tuple[str, list[dict[str, Any]]]:
    """A random model output with one to three character-level slips (inserted, deleted or cut off)."""
    rng = random.Random(seed)
    text, tools, _ = random_case(seed)
    text = text or rng.choice(PROSE)
    for _ in range(rng.randint(1, 3)):
        position = rng.randint(0, len(text))
        edit = rng.random()
        if edit < 0.5:
            text = text[:position] + rng.choice(EDITS) + text[position:]
        elif edit < 0.85:
            text = text[:position] + text[position + rng.randint(1, 3) :]
        else:
            text = text[:position]
    return text, tools
