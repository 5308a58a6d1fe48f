"""Public tests for tool-call-parser: the statement's examples, runnable with `judge test`."""

from judge_harness import expect_raises

WEATHER = {
    "name": "get_weather",
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


def error_fields(result):
    assert getattr(result, "type_name", None) == "ToolCallError", f"expected a ToolCallError, got {result!r}"
    return result.code, result.call_index, result.path


def test_example_prose_fence_and_repairs(candidate):
    text = (
        "Let me check both cities.\n```json\n"
        "{'name': 'get_weather', 'arguments': {'city': 'Paris', 'unit': 'c',}}\n"
        '{"name": "get_weather", "arguments": {"city": "a } b"\n```\n'
    )
    calls = candidate.parse_tool_calls(text, [WEATHER])
    assert [(c.type_name, c.name, c.arguments) for c in calls] == [
        ("ToolCall", "get_weather", {"city": "Paris", "unit": "c"}),
        ("ToolCall", "get_weather", {"city": "a } b"}),
    ], calls


def test_example_errors(candidate):
    def parse(text):
        return error_fields(candidate.parse_tool_calls(text, [WEATHER]))

    assert parse('{"name": "get_weather", "arguments": {"city": "Oslo", "days": "3"}}') == ("wrong_type", 0, ["days"])
    assert parse('{"name": "get_weather", "arguments": {"city": "Oslo", "days": 3.0}}') == ("wrong_type", 0, ["days"])
    assert parse('{"name": "get_weather", "arguments": {"town": "Oslo"}}') == ("missing_required", 0, ["city"])
    text = '{"name": "get_weather", "arguments": {"city": "Oslo"}} {"name": "weather", "arguments": {}}'
    assert parse(text) == ("unknown_tool", 1, [])


def test_example_nothing_invented(candidate):
    result = candidate.parse_tool_calls('{"name": "get_weather", "arguments": {"city": "Osl', [WEATHER])
    assert error_fields(result) == ("invalid_json", 0, [])
    result = candidate.parse_tool_calls(
        '{"name": "get_weather", "arguments": {"city": "Oslo", "days": None}}', [WEATHER]
    )
    assert error_fields(result) == ("invalid_json", 0, [])


def test_no_call_is_an_empty_list(candidate):
    assert candidate.parse_tool_calls("It is sunny in Paris.", [WEATHER]) == []


def test_duplicate_tool_names_raise(candidate):
    with expect_raises("ValueError"):
        candidate.parse_tool_calls("", [WEATHER, WEATHER])
