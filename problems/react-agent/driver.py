"""Worker-side helpers for the react-agent tests: tools that raise real exceptions, and a
watch on the caller's tools.

A tool that fails must fail inside the worker, next to the submission, so the agent sees
a genuine exception object (its own type and message), not a wrapper around an error
that happened in the checker. Likewise the `tools` list whose safety a test checks must be
built in the worker: the checker only ever sees copies of what crosses the boundary.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable
from types import ModuleType
from typing import Any


class RateLimitError(Exception):
    """A non-builtin exception type, like the ones real tool clients raise."""


def _raiser(type_name: str, message: str) -> Callable[[str], str]:
    error_type = RateLimitError if type_name == "RateLimitError" else None
    if error_type is None:
        error_type = getattr(builtins, type_name)

    def fn(action_input: str) -> str:
        raise error_type(message)

    return fn


def _divide(action_input: str) -> str:
    numerator, denominator = (int(part) for part in action_input.split("/"))
    return str(numerator / denominator)  # raises ZeroDivisionError for "x/0"


def run_with_failing_tools(
    module: ModuleType,
    llm: Callable[[str, list[str]], str],
    tools: list[Any],
    failing: list[tuple[str, str, str, str]],
    question: str,
    agent_kwargs: dict[str, Any],
) -> Any:
    """Run the submission's agent with `tools` plus tools that raise inside the worker.

    `failing` holds (name, description, exception type name, message); the type name
    "divide" instead builds a calculator that divides "a/b" for real.
    """
    built = list(tools)
    for name, description, type_name, message in failing:
        fn = _divide if type_name == "divide" else _raiser(type_name, message)
        built.append(module.Tool(name=name, description=description, fn=fn))
    return module.ReActAgent(llm, built, **agent_kwargs).run(question)


def _fingerprint(tools: list[Any]) -> list[tuple[int, Any, Any, Any]]:
    return [(id(tool), tool.name, tool.description, tool.fn) for tool in tools]


def run_watching_tools(
    module: ModuleType,
    llm: Callable[[str, list[str]], str],
    tools: list[Any],
    questions: list[str],
    agent_kwargs: dict[str, Any],
) -> tuple[list[Any], list[str]]:
    """Build one agent on `tools`, run it once per question, and report what it did to `tools`.

    The list and the Tool objects are the caller's and live here, next to the submission, so a
    change to them is seen (across the boundary the checker only ever holds copies). The results
    are sent back only after the last run, so a later run that rewrites an earlier result's
    `steps` shows too. Returns (results, changes), `changes` empty when the tools are untouched.
    """
    before = _fingerprint(tools)
    agent = module.ReActAgent(llm, tools, **agent_kwargs)
    results = [agent.run(question) for question in questions]
    after = _fingerprint(tools)
    changes = []
    if [entry[0] for entry in after] != [entry[0] for entry in before]:
        names = [entry[1] for entry in before]
        changes.append(f"the tools list changed: it held {names}, now {[tool.name for tool in tools]}")
    for (ident, name, description, fn), tool in zip(before, tools, strict=False):
        if id(tool) != ident:
            continue
        if tool.name != name or tool.description != description or tool.fn is not fn:
            changes.append(f"tool {name!r} was modified (name, description or fn replaced)")
    return results, changes
