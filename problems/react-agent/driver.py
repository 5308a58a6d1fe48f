"""Worker-side helpers for the react-agent tests: tools that raise real exceptions.

A tool that fails must fail inside the worker, next to the submission, so the agent sees
a genuine exception object (its own type and message), not a wrapper around an error
that happened in the checker.
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
