"""Project tests for the tool-call-parser problem that need no judge runner.

The checker-side case generator knows each random output's answer by construction: the
reference and the checker-side oracle (a second implementation) must agree with it on many
seeds, and the generator must plant every code. On corrupted outputs, whose answer only an
implementation knows, the reference and the oracle must agree. The statement's worked examples
are checked against the reference, and the repairs against the JSON value they should produce.
"""

from __future__ import annotations

import collections
import sys
from pathlib import Path

import pytest

from .problem_support import load

REPO = Path(__file__).resolve().parents[1]
PROBLEM = REPO / "problems" / "tool-call-parser"

reference = load(str(REPO / "solutions_ref" / "tool_call_parser.py"), "tool_call_parser_reference")
sys.path.insert(0, str(PROBLEM))
cases = load(str(PROBLEM / "tool_call_cases.py"), "tool_call_cases")
oracle = load(str(PROBLEM / "tool_call_oracle.py"), "tool_call_oracle")
sys.path.remove(str(PROBLEM))

WEATHER = cases.WEATHER


def outcome(result):
    if isinstance(result, reference.ToolCallError):
        assert result.message, result
        return cases.Err(result.code, result.call_index, result.path)
    return [(call.name, call.arguments) for call in result]


def same(got, want) -> bool:
    if isinstance(want, cases.Err):
        return got == want
    return (
        isinstance(got, list)
        and len(got) == len(want)
        and all(
            name == w_name and cases.first_difference(arguments, w_arguments) is None
            for (name, arguments), (w_name, w_arguments) in zip(got, want, strict=True)
        )
    )


def test_reference_agrees_with_the_generator_and_every_code_is_planted():
    codes = collections.Counter()
    for seed in range(2000):
        text, tools, want = cases.random_case(seed)
        got = outcome(reference.parse_tool_calls(text, tools))
        assert same(got, want), (seed, text, want, got)
        codes[want.code if isinstance(want, cases.Err) else "ok"] += 1
    assert set(codes) == {"ok", "invalid_json", "bad_shape", "unknown_tool", "missing_required"} | {
        "unexpected_field",
        "wrong_type",
        "not_in_enum",
    }, codes
    assert min(codes.values()) >= 20, codes


def test_oracle_agrees_with_the_generator_and_the_reference():
    for seed in range(1000):
        text, tools, want = cases.random_case(seed)
        assert same(oracle.oracle(text, tools), want), (seed, text)
    codes = collections.Counter()
    for seed in range(2500):
        text, tools = cases.corrupted_case(seed)
        want = oracle.oracle(text, tools)
        assert same(outcome(reference.parse_tool_calls(text, tools)), want), (seed, text, want)
        codes[want.code if isinstance(want, cases.Err) else "ok"] += 1
    assert len(codes) == 8 and min(codes.values()) >= 10, codes


def test_statement_examples():
    text = (
        "Let me check both cities.\n```json\n"
        "{'name': 'get_weather', 'arguments': {'city': 'Paris', 'unit': 'c',}}\n"
        '{"name": "get_weather", "arguments": {"city": "a } b"\n```\n'
    )
    assert outcome(reference.parse_tool_calls(text, [WEATHER])) == [
        ("get_weather", {"city": "Paris", "unit": "c"}),
        ("get_weather", {"city": "a } b"}),
    ]
    for text, want in [
        ('{"name": "get_weather", "arguments": {"city": "Oslo", "days": "3"}}', cases.Err("wrong_type", 0, ["days"])),
        ('{"name": "get_weather", "arguments": {"city": "Oslo", "days": 3.0}}', cases.Err("wrong_type", 0, ["days"])),
        ('{"name": "get_weather", "arguments": {"town": "Oslo"}}', cases.Err("missing_required", 0, ["city"])),
        (
            '{"name": "get_weather", "arguments": {"city": "Oslo"}} {"name": "weather", "arguments": {}}',
            cases.Err("unknown_tool", 1, []),
        ),
        ('{"name": "get_weather", "arguments": {"city": "Osl', cases.Err("invalid_json", 0, [])),
        ('{"name": "get_weather", "arguments": {"city": "Oslo", "days": None}}', cases.Err("invalid_json", 0, [])),
    ]:
        assert outcome(reference.parse_tool_calls(text, [WEATHER])) == want, text


@pytest.mark.parametrize(
    ("written", "value"),
    [
        ("'it\\'s'", "it's"),
        ("'say \"hi\"'", 'say "hi"'),
        ("'a\\\\'", "a\\"),
        ("'\\u00e9\\n'", "é\n"),
        ("['a', 'b',]", ["a", "b"]),
        ("{'k': [1,],}", {"k": [1]}),
    ],
)
def test_repairs_produce_the_json_value(written, value):
    tools = [{"name": "f", "parameters": {"type": "object", "additionalProperties": True}}]
    got = reference.parse_tool_calls("{'name': 'f', 'arguments': {'v': " + written + "}}", tools)
    assert outcome(got) == [("f", {"v": value})]


def test_the_reference_does_not_modify_tools_and_keeps_no_state():
    import copy

    tools = [copy.deepcopy(WEATHER), {"name": "now"}]
    before = copy.deepcopy(tools)
    text = '{"name": "now", "arguments": {}} {"name": "get_weather", "arguments": {"city": "x"}}'
    first = reference.parse_tool_calls(text, tools)
    assert tools == before
    assert reference.parse_tool_calls(text, tools) == first
    assert first is not reference.parse_tool_calls(text, tools)
