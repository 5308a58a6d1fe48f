"""Hidden tests for tool-call-parser.

Each test hands the submission a model output and tools and compares the result exactly
(tool_call_cases.check: the calls with their argument values and types, or the error's code,
call_index and path; the message only loosely). Explicit cases come first, by rule of the
statement; the random outputs of tool_call_cases.random_case, whose answers are known by
construction, come last.
"""

from __future__ import annotations

import copy
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tool_call_cases import WEATHER, Err, check, corrupted_case, random_case
from tool_call_oracle import oracle

from judge_harness import expect_raises

SEARCH = {
    "name": "search",
    "parameters": {
        "type": "object",
        "properties": {"query": {"type": "string"}, "limit": {"type": "integer"}},
        "required": ["query"],
        "additionalProperties": False,
    },
}
TOOLS = [WEATHER, SEARCH]


def call(name: str, arguments: dict) -> str:
    return json.dumps({"name": name, "arguments": arguments})


def parse(candidate, text: str, tools=None):
    return candidate.parse_tool_calls(text, TOOLS if tools is None else tools)


def expect(candidate, text: str, want, tools=None) -> None:
    check(parse(candidate, text, tools), want, text, TOOLS if tools is None else tools)


def tool(schema: dict | None = None, name: str = "f") -> dict:
    return {"name": name} if schema is None else {"name": name, "parameters": schema}


def obj(properties: dict, required=(), **keywords) -> dict:
    return {"type": "object", "properties": properties, "required": list(required), **keywords}


# -- the statement's examples ------------------------------------------------------------------


def test_statement_example_prose_fence_and_repairs(candidate):
    text = (
        "Let me check both cities.\n```json\n"
        "{'name': 'get_weather', 'arguments': {'city': 'Paris', 'unit': 'c',}}\n"
        '{"name": "get_weather", "arguments": {"city": "a } b"\n```\n'
    )
    expect(candidate, text, [("get_weather", {"city": "Paris", "unit": "c"}), ("get_weather", {"city": "a } b"})])


def test_statement_example_errors(candidate):
    expect(candidate, call("get_weather", {"city": "Oslo", "days": "3"}), Err("wrong_type", 0, ["days"]))
    expect(
        candidate, '{"name": "get_weather", "arguments": {"city": "Oslo", "days": 3.0}}', Err("wrong_type", 0, ["days"])
    )
    expect(candidate, call("get_weather", {"town": "Oslo"}), Err("missing_required", 0, ["city"]))
    text = call("get_weather", {"city": "Oslo"}) + " " + call("weather", {})
    got = parse(candidate, text)
    check(got, Err("unknown_tool", 1, []), text)
    assert "weather" in got.message, f"the unknown_tool message must name the tool as written, got {got.message!r}"


def test_statement_example_nothing_invented(candidate):
    expect(candidate, '{"name": "get_weather", "arguments": {"city": "Osl', Err("invalid_json", 0, []))
    expect(
        candidate, '{"name": "get_weather", "arguments": {"city": "Oslo", "days": None}}', Err("invalid_json", 0, [])
    )


# -- finding the calls -------------------------------------------------------------------------


def test_no_call_is_an_empty_list(candidate):
    for text in ["", "The weather in Paris is sunny.", "```\n```", "```json\n\n```\nNothing to call.", "[ ] , ] ["]:
        expect(candidate, text, [])


def test_two_calls_on_one_line_are_two_candidates(candidate):
    a, b = call("get_weather", {"city": "Rome"}), call("search", {"query": "pizza"})
    want = [("get_weather", {"city": "Rome"}), ("search", {"query": "pizza"})]
    expect(candidate, f"First {a} and then {b}.", want)
    expect(candidate, a + b, want)
    expect(candidate, f"[{a}, {b}]", want)
    expect(candidate, f"{a}\n{b}\n{a}", [*want, want[0]])


def test_braces_and_quotes_inside_strings(candidate):
    for value in ["a } b {", "}", "{", "}}}", "say \"}\" and '{'", "\\", "\\}", "it's {"]:
        expect(candidate, call("search", {"query": value}) + " ok", [("search", {"query": value})])
    expect(candidate, "{'name': 'search', 'arguments': {'query': '}{'}}", [("search", {"query": "}{"})])
    # a single-quoted string hides its braces from the count just as a double-quoted one does
    for body, value in [("a } b", "a } b"), ("}}", "}}"), ("{", "{"), ('x } " { y', 'x } " { y')]:
        expect(
            candidate, "{'name': 'search', 'arguments': {'query': '" + body + "'}} ok", [("search", {"query": value})]
        )
    expect(candidate, '{"name": "search", "arguments": {"query": "x\\"}"}}', [("search", {"query": 'x"}'})])


def test_apostrophes_and_backticks_in_prose_are_skipped(candidate):
    a = call("search", {"query": "tea"})
    text = f"Here's the call: `{a}`. That's all, isn't it? Don't worry' \" about it."
    expect(candidate, text, [("search", {"query": "tea"})])
    expect(candidate, f"It's \"quoted\" {a} 'and' {a}", [("search", {"query": "tea"})] * 2)


def test_every_brace_outside_a_candidate_starts_one(candidate):
    a = call("search", {"query": "tea"})
    expect(candidate, "Fill in {city} and call " + a, Err("invalid_json", 0, []))
    expect(candidate, a + " then {}", Err("bad_shape", 1, []))
    expect(candidate, a + " } stray closing braces } are prose", [("search", {"query": "tea"})])


def test_fences_cut_segments(candidate):
    a, b = call("search", {"query": "a"}), call("search", {"query": "b"})
    want = [("search", {"query": "a"}), ("search", {"query": "b"})]
    for opening in ["```", "```json", "```JSON", "  ```tool_call", "\t```json", "``` json "]:
        expect(candidate, f"{a}\n{opening}\n{b}\n```\ndone", want)
        expect(candidate, f"Calling:\n{opening}\n{a}\n```\nand\n{opening}\n{b}\n```", want)
        expect(candidate, f"{a[:-1]}\n{opening}\n{b}\n```", want)  # the fence line ends a's segment
    # only spaces and tabs may come before the backticks: after a no-break space it is prose, inside the open call
    expect(candidate, f"{a[:-1]}\n\u00a0```\n{b}\n```", Err("invalid_json", 0, []))
    expect(candidate, f"```\n{a}\n```\n```\n{b}\n```", want)
    expect(candidate, f"````json\n{a}\n````", want[:1])
    # a line starting with four (or more) backticks starts with three: a fence, which cuts an open call
    expect(candidate, 'Here:\n````json\n{"name": "search", "arguments": {"query": "a"}\n````\n', want[:1])
    expect(candidate, f"{a[:-1]}\n`````\n{b}\n````", want)
    # call_index counts the candidates of the whole text, not of one segment
    expect(candidate, f"{a}\n```json\n{b}\n{{}}\n```", Err("bad_shape", 2, []))
    expect(candidate, f"{a}\n```\n{call('nope', {})}\n```", Err("unknown_tool", 1, []))
    # a fence line cuts a call: the first half is closed ({"name": "search"}), a bad shape
    expect(candidate, '{"name": "search",\n```\n"arguments": {"query": "a"}}', Err("bad_shape", 0, []))
    # the rest of a fence line is never read, even a call
    expect(candidate, f"```json {a}\n{b}\n```", want[1:])
    expect(candidate, f"text ```{a}```", want[:1])  # not a fence line: backticks inside a line


def test_truncated_call_is_closed(candidate):
    full = call("get_weather", {"city": "Lima", "days": 2})
    want = [("get_weather", {"city": "Lima", "days": 2})]
    expect(candidate, full[:-1], want)
    expect(candidate, full[:-2], want)
    expect(candidate, full[:-2] + "  \n", want)
    expect(candidate, f"```json\n{full[:-2]}\n```\nI will wait for the result.", want)
    expect(candidate, f"```json\n{full[:-1]}", want)  # the fence never closes
    expect(candidate, '{"name": "get_weather", "arguments": {"city": "Lima",', [("get_weather", {"city": "Lima"})])
    expect(candidate, full + "\n" + full[:-2], want * 2)
    # only the last candidate of a segment can be open; prose after it becomes part of it
    expect(candidate, full[:-1] + "\nThat is all.", Err("invalid_json", 0, []))


def test_truncation_never_invents_content(candidate):
    for text in [
        '{"name": "search", "arguments": {"query": "pa',
        "{'name': 'search', 'arguments': {'query': 'pa",
        '{"name": "search", "arguments": {"query": "pa\\',
        '{"name": "search", "arguments": {"query":',
        '{"name": "search", "arguments": {"query": "a", "limit": 1',  # closed: valid
        '{"name": "get_weather", "arguments": {"city": ["a", "b"',
        '{"name": "search", "arguments": {"query": "a"',  # closed: valid
        '{"name": "search", "arguments": {"quer',
    ]:
        valid = text.endswith(("1", '"a"'))
        want = [("search", json.loads(text.split('"arguments": ')[1] + "}"))] if valid else Err("invalid_json", 0, [])
        expect(candidate, text, want)
    expect(candidate, '```\n{"name": "search", "arguments": {"query": "pa\n```', Err("invalid_json", 0, []))


def test_single_quotes_are_requoted(candidate):
    cases = {
        "{'name': 'search', 'arguments': {'query': 'it\\'s'}}": "it's",
        "{'name': 'search', 'arguments': {'query': 'say \"hi\"'}}": 'say "hi"',
        "{'name': 'search', 'arguments': {'query': 'a\\nb\\t\\u00e9\\\\'}}": "a\nb\té\\",
        "{\"name\": 'search', 'arguments': {\"query\": 'x'}}": "x",
        "{'name': 'search', 'arguments': {'query': \"it's\"}}": "it's",
        "{'name': 'search', 'arguments': {'query': 'a\\/b'}}": "a/b",
        "{'name': 'search', 'arguments': {'query': ''}}": "",
    }
    for text, query in cases.items():
        expect(candidate, text, [("search", {"query": query})])
    expect(candidate, "{'name': 'search', 'arguments': {'query': 'a\\qb'}}", Err("invalid_json", 0, []))
    # an escaped double quote inside single quotes is kept as written; \\' is no JSON escape in double quotes
    expect(
        candidate, "{'name': 'search', 'arguments': {'query': 'say \\\"hi\\\"'}}", [("search", {"query": 'say "hi"'})]
    )
    expect(
        candidate, "{'name': 'search', 'arguments': {'query': 'a \\\" b \" c'}}", [("search", {"query": 'a " b " c'})]
    )
    expect(candidate, '{"name": "search", "arguments": {"query": "it\\\'s"}}', Err("invalid_json", 0, []))
    expect(candidate, "{'name': 'search', 'arguments': {'query': 'a\\x41'}}", Err("invalid_json", 0, []))


def test_trailing_commas_are_removed(candidate):
    schema = obj({"tags": {"type": "array"}, "options": {"type": "object", "additionalProperties": True}})
    tools = [tool(schema)]
    for text, arguments in [
        ('{"name": "f", "arguments": {"tags": [1, 2,],},}', {"tags": [1, 2]}),
        (
            '{"name": "f", "arguments": {"tags": [1,\n\t\r ], "options": {"a": [],\n},\r\n}}',
            {"tags": [1], "options": {"a": []}},
        ),
        ('{"name": "f", "arguments": {"tags": [",]", ",}"],}}', {"tags": [",]", ",}"]}),
        ("{'name': 'f', 'arguments': {'tags': [',]',],}}", {"tags": [",]"]}),
        ('{"name": "f", "arguments": {"options": {"k": ", }"}}}', {"options": {"k": ", }"}}),
    ]:
        expect(candidate, text, [("f", arguments)], tools)
    for text in [
        '{"name": "f", "arguments": {"tags": [1,,]}}',
        '{"name": "f", "arguments": {"tags": [1, 2],,}}',
        '{"name": "f", "arguments": {"tags": [,1]}}',
        '{"name": "f", "arguments": {"tags": [1 2]}}',
        # only space, tab, \n and \r may stand between the comma and the bracket; anything else stays, invalid
        '{"name": "f", "arguments": {"tags": [1,\u00a0]}}',
        '{"name": "f", "arguments": {"tags": [1,\x0c]}}',
        '{"name": "f", "arguments": {"tags": [1], "options": {"a": 1,\x0b}}}',
        '{"name": "f", "arguments": {"tags": [1,\u2028]}}',
        '{"name": "f", "arguments": {"tags": [1,\u3000 ]}}',
    ]:
        expect(candidate, text, Err("invalid_json", 0, []), tools)


def test_strict_json_only(candidate):
    tools = [tool(obj({"x": {"type": "number"}, "o": {"type": "object", "additionalProperties": True}}))]
    for body in [
        '{"x": NaN}',
        '{"x": Infinity}',
        '{"x": -Infinity}',
        '{"x": 1, "x": 2}',
        '{"o": {"k": 1, "k": 1}}',
        '{"o": {"flag": True}}',
        '{"o": {"v": None}}',
        "{x: 1}",
        '{"x": 1 /* one */}',
        '{"x": 1} // comment',
        '{"x": 1 "o": {}}',
        '{"x": 0x10}',
        '{"x": 01}',
        '{"x": .5}',
        '{"x": +1}',
    ]:
        expect(candidate, '{"name": "f", "arguments": ' + body + "}", Err("invalid_json", 0, []), tools)
    expect(candidate, '{"name": "f", "name": "f", "arguments": {}}', Err("invalid_json", 0, []), tools)


def test_line_ends_tabs_and_unicode(candidate):
    a = '{\r\n\t"name":\t"search",\r\n\t"arguments": {"query": "東京 — é\\u00e9"}\r\n}'
    want = [("search", {"query": "東京 — éé"})]
    expect(candidate, a, want)
    expect(candidate, "Voilà :\r\n```json\r\n" + a + "\r\n```\r\n", want)
    expect(candidate, "\t```\t\r\n" + a[:-1] + "\r\n```\r\nFin.", want)
    # only "\n" ends a line: U+2028 and U+0085 are ordinary characters, allowed raw inside JSON strings
    expect(
        candidate,
        '{"name": "search", "arguments": {"query": "a\u2028b\x85c"}}',
        [("search", {"query": "a\u2028b\x85c"})],
    )
    expect(candidate, '{"name": "search", "arguments": {"query": "a\nb"}}', Err("invalid_json", 0, []))
    expect(candidate, '```json\n{"name": "search", "arguments": {"query": "a\nb"}}\n```', Err("invalid_json", 0, []))
    expect(
        candidate,
        '```json\n{"name": "search", "arguments": {"limit": 1\n2, "query": ""}}\n```',
        Err("invalid_json", 0, []),
    )


# -- the shape and the tool --------------------------------------------------------------------


def test_bad_shapes(candidate):
    for text in [
        '{"name": "search"}',
        '{"arguments": {"query": "a"}}',
        '{"name": "search", "arguments": {"query": "a"}, "id": "call_1"}',
        '{"name": null, "arguments": {}}',
        '{"name": 5, "arguments": {}}',
        '{"name": ["search"], "arguments": {}}',
        '{"name": "search", "arguments": "{\\"query\\": \\"a\\"}"}',
        '{"name": "search", "arguments": [["query", "a"]]}',
        '{"name": "search", "arguments": null}',
        '{"type": "function", "function": {"name": "search", "arguments": {"query": "a"}}}',
        "{}",
    ]:
        expect(candidate, text, Err("bad_shape", 0, []))


def test_unknown_tools(candidate):
    for name in ["Search", "search ", "", "searc", "get-weather"]:
        text = call("search", {"query": "a"}) + "\n" + call(name, {"query": "a"})
        got = parse(candidate, text)
        check(got, Err("unknown_tool", 1, []), text)
        assert name in got.message, f"the unknown_tool message must contain the name {name!r}, got {got.message!r}"
    expect(candidate, call("search", {"query": "a"}), Err("unknown_tool", 0, []), [])
    expect(candidate, "no calls", [], [])


# -- the arguments -----------------------------------------------------------------------------

TYPE_CASES = {
    "integer": ([0, -0, 3, -7, 10**30], ["3", 3.0, 1e3, True, False, None, 2.5]),
    "number": ([0, 3, 2.5, -0.0, 1e-300, 10**30], ["2.5", True, False, None, [1]]),
    "string": (["", "5", "true", "null"], [5, None, True, ["a"], {"a": "b"}]),
    "boolean": ([True, False], [0, 1, "true", None]),
    "null": ([None], [0, "", "null", False, []]),
    "object": ([{}], [[], "{}", None]),
    "array": ([[], [1, "a", None, [2.5]]], [{}, "[]", None]),
}


@pytest.mark.parametrize("kind", list(TYPE_CASES))
def test_types_are_checked_exactly(candidate, kind):
    good, bad = TYPE_CASES[kind]
    schema = {"type": kind, "additionalProperties": True} if kind == "object" else {"type": kind}
    tools = [tool(obj({"v": schema}))]
    for value in good:
        expect(candidate, call("f", {"v": value}), [("f", {"v": value})], tools)
    for value in bad:
        expect(candidate, call("f", {"v": value}), Err("wrong_type", 0, ["v"]), tools)


def test_numbers_as_written(candidate):
    tools = [tool(obj({"i": {"type": "integer"}, "n": {"type": "number"}}))]
    for written, value in [("5", 5), ("-0", 0), ("5.0", 5.0), ("1e3", 1000.0), ("1E-2", 0.01), ("-0.0", -0.0)]:
        want = [("f", {"n": value})]
        expect(candidate, '{"name": "f", "arguments": {"n": ' + written + "}}", want, tools)
        is_int = written in ("5", "-0")
        want = [("f", {"i": value})] if is_int else Err("wrong_type", 0, ["i"])
        expect(candidate, '{"name": "f", "arguments": {"i": ' + written + "}}", want, tools)


def test_enums(candidate):
    schema = obj(
        {
            "unit": {"type": "string", "enum": ["c", "f"]},
            "level": {"type": "integer", "enum": [1, 2]},
            "ratio": {"type": "number", "enum": [0.5, 2]},
        }
    )
    tools = [tool(schema)]
    expect(
        candidate,
        call("f", {"unit": "f", "level": 2, "ratio": 0.5}),
        [("f", {"unit": "f", "level": 2, "ratio": 0.5})],
        tools,
    )
    expect(candidate, '{"name": "f", "arguments": {"ratio": 2.0}}', [("f", {"ratio": 2.0})], tools)
    expect(candidate, call("f", {"ratio": 2}), [("f", {"ratio": 2})], tools)
    for arguments, want in [
        ({"unit": "C"}, Err("not_in_enum", 0, ["unit"])),
        ({"unit": "celsius"}, Err("not_in_enum", 0, ["unit"])),
        ({"unit": ""}, Err("not_in_enum", 0, ["unit"])),
        ({"level": 3}, Err("not_in_enum", 0, ["level"])),
        ({"level": 0}, Err("not_in_enum", 0, ["level"])),
        ({"level": True}, Err("wrong_type", 0, ["level"])),
        ({"level": 1.0}, Err("wrong_type", 0, ["level"])),
        ({"unit": 1}, Err("wrong_type", 0, ["unit"])),
        ({"ratio": 1}, Err("not_in_enum", 0, ["ratio"])),
    ]:
        got = parse(candidate, call("f", arguments), tools)
        check(got, want, call("f", arguments), tools)
        assert want.path[-1] in got.message, f"the message must name the field {want.path[-1]!r}: {got.message!r}"


def test_required_fields_and_falsy_values(candidate):
    properties = {
        "count": {"type": "integer"},
        "text": {"type": "string"},
        "flag": {"type": "boolean"},
        "nothing": {"type": "null"},
        "items": {"type": "array"},
        "options": {"type": "object"},
        "ratio": {"type": "number"},
    }
    tools = [tool(obj(properties, required=list(properties)))]
    falsy = {"count": 0, "text": "", "flag": False, "nothing": None, "items": [], "options": {}, "ratio": 0.0}
    expect(candidate, call("f", falsy), [("f", falsy)], tools)
    for name in properties:
        partial = {k: v for k, v in falsy.items() if k != name}
        got = parse(candidate, call("f", partial), tools)
        check(got, Err("missing_required", 0, [name]), call("f", partial), tools)
        assert name in got.message, f"the missing_required message must name {name!r}: {got.message!r}"
    expect(candidate, call("f", {**falsy, "text": None}), Err("wrong_type", 0, ["text"]), tools)


def test_additional_properties(candidate):
    base = {"a": {"type": "string"}}
    for keywords, allowed in [
        ({}, False),
        ({"additionalProperties": False}, False),
        ({"additionalProperties": True}, True),
    ]:
        tools = [tool(obj(base, **keywords))]
        for extra in [1, None, "x", {"deep": [1, {"k": True}]}]:
            arguments = {"a": "x", "other": extra}
            want = [("f", arguments)] if allowed else Err("unexpected_field", 0, ["other"])
            got = parse(candidate, call("f", arguments), tools)
            check(got, want, call("f", arguments), tools)
            if not allowed:
                assert "other" in got.message, f"the unexpected_field message must name 'other': {got.message!r}"
    # each object has its own additionalProperties
    nested = obj({"inner": obj({"a": {"type": "string"}})}, additionalProperties=True)
    tools = [tool(nested)]
    expect(candidate, call("f", {"z": 1, "inner": {"a": "x"}}), [("f", {"z": 1, "inner": {"a": "x"}})], tools)
    expect(candidate, call("f", {"inner": {"a": "x", "z": 1}}), Err("unexpected_field", 0, ["inner", "z"]), tools)
    tools = [tool(obj({"inner": obj({}, additionalProperties=True)}))]
    expect(candidate, call("f", {"inner": {"z": 1}}), [("f", {"inner": {"z": 1}})], tools)
    expect(candidate, call("f", {"inner": {}, "z": 1}), Err("unexpected_field", 0, ["z"]), tools)


def test_nested_objects_and_arrays(candidate):
    stop = obj({"name": {"type": "string"}, "minutes": {"type": "integer"}}, required=["name"])
    schema = obj(
        {
            "origin": obj(
                {"city": {"type": "string"}, "geo": obj({"lat": {"type": "number"}}, required=["lat"])}, ["city"]
            ),
            "stops": {"type": "array", "items": stop},
            "grid": {"type": "array", "items": {"type": "array", "items": {"type": "integer"}}},
            "anything": {"type": "array"},
        },
        required=["origin"],
    )
    tools = [tool(schema, "plan")]
    good = {
        "origin": {"city": "Lyon", "geo": {"lat": 45.76}},
        "stops": [{"name": "A"}, {"name": "B", "minutes": 5}],
        "grid": [[1, 2], [], [3]],
        "anything": [1, "a", {"b": None}, [True]],
    }
    expect(candidate, call("plan", good), [("plan", good)], tools)
    for arguments, want in [
        ({"origin": {"geo": {"lat": 1}}}, Err("missing_required", 0, ["origin", "city"])),
        ({"origin": {"city": "x", "geo": {}}}, Err("missing_required", 0, ["origin", "geo", "lat"])),
        ({"origin": {"city": "x", "geo": {"lat": "1"}}}, Err("wrong_type", 0, ["origin", "geo", "lat"])),
        ({"origin": {"city": "x", "zip": "1"}}, Err("unexpected_field", 0, ["origin", "zip"])),
        (
            {"origin": {"city": "x"}, "stops": [{"name": "A"}, {"minutes": 1}]},
            Err("missing_required", 0, ["stops", 1, "name"]),
        ),
        (
            {"origin": {"city": "x"}, "stops": [{"name": "A", "minutes": 1.5}]},
            Err("wrong_type", 0, ["stops", 0, "minutes"]),
        ),
        ({"origin": {"city": "x"}, "stops": [{"name": "A"}, "B"]}, Err("wrong_type", 0, ["stops", 1])),
        ({"origin": {"city": "x"}, "grid": [[1], [2, 3, True]]}, Err("wrong_type", 0, ["grid", 1, 2])),
        ({"origin": {"city": "x"}, "stops": [{"minutes": 1}, "B"]}, Err("missing_required", 0, ["stops", 0, "name"])),
        ({"origin": {"city": "x"}, "stops": {"name": "A"}}, Err("wrong_type", 0, ["stops"])),
        ({"origin": "Lyon"}, Err("wrong_type", 0, ["origin"])),
    ]:
        got = parse(candidate, call("plan", arguments), tools)
        check(got, want, call("plan", arguments), tools)
        key = [part for part in want.path if isinstance(part, str)][-1]
        assert key in got.message, f"the message must name the field {key!r}: {got.message!r}"


def test_order_of_the_checks(candidate):
    schema = obj(
        {"a": {"type": "integer"}, "b": {"type": "integer"}, "c": {"type": "string", "enum": ["x"]}},
        required=["b", "a"],
    )
    tools = [tool(schema)]
    for arguments, want in [
        ({"z": 1}, Err("missing_required", 0, ["b"])),  # required before the keys
        ({"z": 1, "b": 1}, Err("missing_required", 0, ["a"])),
        ({"a": "1", "b": 1, "z": 1}, Err("wrong_type", 0, ["a"])),  # keys in the order written
        ({"b": 1, "z": 1, "a": "1"}, Err("unexpected_field", 0, ["z"])),
        ({"b": 1, "a": 1, "c": "y", "z": 1}, Err("not_in_enum", 0, ["c"])),
        ({"b": "1", "a": "1"}, Err("wrong_type", 0, ["b"])),
        ({"a": "1", "b": "1"}, Err("wrong_type", 0, ["a"])),
    ]:
        expect(candidate, call("f", arguments), want, tools)
    good = call("f", {"a": 1, "b": 2})
    expect(candidate, good + call("f", {"a": 1}) + call("g", {}), Err("missing_required", 1, ["b"]), tools)
    expect(candidate, good + good + "{bad}" + call("g", {}), Err("invalid_json", 2, []), tools)
    expect(candidate, good + call("g", {}) + "{bad}", Err("unknown_tool", 1, []), tools)
    expect(candidate, good + '{"name": "g"}', Err("bad_shape", 1, []), tools)
    # the shape is checked before the name
    expect(candidate, '{"name": "g", "arguments": []}', Err("bad_shape", 0, []), tools)


def test_tools_without_parameters_and_ignored_keywords(candidate):
    tools = [
        {"type": "function", "name": "now", "description": "The time.", "strict": True},
        tool({"type": "object"}, "bare"),
    ]
    expect(candidate, call("now", {}) + call("bare", {}), [("now", {}), ("bare", {})], tools)
    expect(candidate, call("now", {"tz": "UTC"}), Err("unexpected_field", 0, ["tz"]), tools)
    expect(candidate, call("bare", {"tz": None}), Err("unexpected_field", 0, ["tz"]), tools)
    schema = obj(
        {
            "n": {"type": "integer", "minimum": 10, "default": 20, "description": "a count"},
            "s": {"type": "string", "default": "x", "maxLength": 1, "pattern": "^a$"},
        },
        title="ignored",
    )
    tools = [tool(schema)]
    expect(candidate, call("f", {}), [("f", {})], tools)
    expect(candidate, call("f", {"n": 3, "s": "long"}), [("f", {"n": 3, "s": "long"})], tools)
    # a bool additionalProperties on a schema that is not an object is unused
    odd = {"s": {"type": "string", "additionalProperties": False}, "l": {"type": "array", "additionalProperties": True}}
    tools = [tool(obj(odd))]
    expect(candidate, call("f", {"s": "x", "l": [1]}), [("f", {"s": "x", "l": [1]})], tools)


def test_several_parses_share_no_state(candidate):
    a_tools = [tool(obj({"x": {"type": "integer"}}, ["x"]), "f")]
    b_tools = [tool(obj({"x": {"type": "string"}}, ["x"]), "f"), tool(None, "g")]
    first = parse(candidate, call("f", {"x": 1}), a_tools)
    check(first, [("f", {"x": 1})], "", a_tools)
    expect(candidate, call("f", {"x": 1}), Err("wrong_type", 0, ["x"]), b_tools)
    expect(candidate, call("f", {"x": "1"}) + call("g", {}), [("f", {"x": "1"}), ("g", {})], b_tools)
    expect(candidate, call("g", {}), Err("unknown_tool", 0, []), a_tools)
    expect(candidate, call("f", {"x": 2}), [("f", {"x": 2})], a_tools)
    expect(candidate, '{"name": "f", "arguments": {"x": 3}', [("f", {"x": 3})], a_tools)
    expect(candidate, "", [], a_tools)
    check(first, [("f", {"x": 1})], "", a_tools)


def test_tools_are_left_untouched(candidate):
    tools = [
        {"name": "f", "parameters": {"type": "object", "properties": {"o": {"type": "object"}}}},
        {"name": "g"},
        copy.deepcopy(WEATHER),
    ]
    before = copy.deepcopy(tools)
    text = call("f", {"o": {}}) + call("g", {}) + call("get_weather", {"city": "x"})
    for _ in range(2):
        expect(candidate, text, [("f", {"o": {}}), ("g", {}), ("get_weather", {"city": "x"})], tools)
        expect(candidate, call("f", {"o": {"k": 1}}), Err("unexpected_field", 0, ["o", "k"]), tools)
    assert tools == before, "the checker's tools changed (they cross as copies: this is a harness bug)"


# -- broken tools --------------------------------------------------------------------------------


def raises(candidate, tools, text: str = "") -> None:
    with expect_raises("ValueError"):
        candidate.parse_tool_calls(text, tools)


@pytest.mark.parametrize(
    "tools",
    [
        ["search"],
        [{"description": "x"}],
        [{"name": ""}],
        [{"name": 5}],
        [{"name": None, "parameters": {"type": "object"}}],
    ],
    ids=["not a dict", "no name", "empty name", "int name", "null name"],
)
def test_tool_without_a_name_raises(candidate, tools):
    raises(candidate, tools)
    raises(candidate, [WEATHER, *tools], call("get_weather", {"city": "x"}))


def test_duplicate_tool_names_raise(candidate):
    raises(candidate, [WEATHER, SEARCH, copy.deepcopy(WEATHER)])
    raises(candidate, [{"name": "f"}, {"name": "f", "parameters": {"type": "object"}}], call("f", {}))
    expect(candidate, call("f", {}), [("f", {})], [{"name": "f"}, {"name": "F"}])


BAD_SCHEMAS = {
    "no type": {"properties": {}},
    "unknown type": {"type": "dict"},
    "list of types": {"type": ["object", "null"]},
    "parameters not object": {"type": "array", "items": {"type": "string"}},
    "nested no type": obj({"a": {"description": "x"}}),
    "nested unknown type": obj({"a": obj({"b": {"type": "float"}})}),
    "items unknown type": obj({"a": {"type": "array", "items": {"type": "str"}}}),
    "additionalProperties schema": obj({}, additionalProperties={"type": "string"}),
    "nested additionalProperties": obj({"a": obj({}, additionalProperties="false")}),
    # a non-bool additionalProperties raises whatever the schema's type
    "additionalProperties on a string": obj({"a": {"type": "string", "additionalProperties": "no"}}),
    "additionalProperties on items": obj(
        {"a": {"type": "array", "items": {"type": "integer", "additionalProperties": 0}}}
    ),
}


@pytest.mark.parametrize("name", list(BAD_SCHEMAS))
def test_schema_outside_the_subset_raises(candidate, name):
    raises(candidate, [tool(BAD_SCHEMAS[name])])
    raises(candidate, [SEARCH, tool(BAD_SCHEMAS[name], "other")], call("search", {"query": "x"}))


@pytest.mark.parametrize("where", ["top", "nested", "in items"])
def test_required_outside_properties_raises(candidate, where):
    bad = obj({"a": {"type": "string"}}, required=["a", "b"])
    schema = {"top": bad, "nested": obj({"o": bad}), "in items": obj({"l": {"type": "array", "items": bad}})}[where]
    raises(candidate, [tool(schema)])
    raises(candidate, [tool({"type": "object", "required": ["x"]})], "no calls")


# -- a long output -------------------------------------------------------------------------------


def test_long_output_is_linear(candidate):
    row = {"type": "array", "items": obj({"v": {"type": "integer"}})}
    tools = [tool(obj({"row": row, "tags": {"type": "array"}}), "f")]
    one = "{'name': 'f', 'arguments': {'row': [" + "{'v': 1,}, " * 40 + "],},}"
    huge = "{'name': 'f', 'arguments': {'tags': [" + "'a', " * 200_000 + "],}"  # its last brace is cut
    text = "Calling now.\n" + "\n".join([one] * 300) + "\n```json\n" + huge + "\n```\nDone."
    assert len(text) > 1_000_000
    got = parse(candidate, text, tools)
    assert isinstance(got, list) and len(got) == 301, f"expected 301 calls, got {str(got)[:300]}"
    check(got[-2:], [("f", {"row": [{"v": 1}] * 40}), ("f", {"tags": ["a"] * 200_000})], text[-300:], tools)


# -- random model outputs (property-based, reproducible) ----------------------------------------


@settings(max_examples=150)
@given(st.integers(min_value=0, max_value=2**32))
def test_random_outputs(candidate, seed):
    text, tools, want = random_case(seed)
    check(candidate.parse_tool_calls(text, tools), want, text, tools)


@settings(max_examples=150)
@given(st.integers(min_value=0, max_value=2**32))
def test_corrupted_outputs_match_the_oracle(candidate, seed):
    text, tools = corrupted_case(seed)
    check(candidate.parse_tool_calls(text, tools), oracle(text, tools), text, tools)
