"""Checker-side fakes for the react-agent tests: a scripted LLM and recording tools.

Both run in the test process; the submission reaches them as callbacks (they are plain
classes on purpose: a dataclass instance would cross the boundary as a Record instead). The scripted LLM
records every prompt and stop list it is sent and refuses to answer past its script, so
an agent that makes more LLM calls than the test allows fails with a readable message
instead of looping forever.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from judge_harness import CandidateError, Record


class ScriptExhausted(Exception):
    """Raised by ScriptedLLM when the agent asks for more completions than scripted."""


class ScriptedLLM:
    """An `llm(prompt, stop) -> str` that replays `script` and records what it was sent."""

    def __init__(self, script: Sequence[str]) -> None:
        self.script = list(script)
        self.prompts: list[str] = []
        self.stops: list[Any] = []
        self.exhausted = False

    def __call__(self, prompt: str, stop: list[str]) -> str:
        self.prompts.append(prompt)
        self.stops.append(stop)
        if len(self.prompts) > len(self.script):
            self.exhausted = True
            raise ScriptExhausted(f"the test scripted only {len(self.script)} completions")
        return self.script[len(self.prompts) - 1]

    @property
    def calls(self) -> int:
        return len(self.prompts)


class RecordingTool:
    """A tool whose `fn` records each input and answers with `respond(input)`."""

    def __init__(self, name: str, description: str, respond: Callable[[str], str]) -> None:
        self.name, self.description, self.respond = name, description, respond
        self.inputs: list[str] = []

    def __call__(self, action_input: str) -> str:
        self.inputs.append(action_input)
        return self.respond(action_input)

    def record(self) -> Record:
        return Record("Tool", name=self.name, description=self.description, fn=self)


def echo_tool(name: str, description: str, prefix: str | None = None) -> RecordingTool:
    """A tool answering `<prefix>(<input>)`, so every observation is unique and traceable."""
    tag = prefix if prefix is not None else f"{name}-result"
    return RecordingTool(name, description, lambda text: f"{tag}({text})")


def action(tool: str, action_input: str, thought: str = "I should use a tool.") -> str:
    return f"Thought: {thought}\nAction: {tool}\nAction Input: {action_input}"


def final(answer: str, thought: str = "I now know the final answer.") -> str:
    return f"Thought: {thought}\nFinal Answer: {answer}"


def run_agent(
    candidate: Any,
    llm: ScriptedLLM,
    tools: Sequence[RecordingTool],
    question: str,
    **agent_kwargs: Any,
) -> Any:
    """Build the candidate's agent, run it, and turn an over-long run into a clear failure."""
    agent = candidate.ReActAgent(llm, [tool.record() for tool in tools], **agent_kwargs)
    return finish_run(llm, lambda: agent.run(question), agent_kwargs)


def finish_run(llm: ScriptedLLM, run: Callable[[], Any], agent_kwargs: Any) -> Any:
    try:
        result = run()
    except CandidateError:
        if llm.exhausted:
            raise AssertionError(too_many_calls(llm, agent_kwargs)) from None
        raise
    assert not llm.exhausted, too_many_calls(llm, agent_kwargs)
    return result


def too_many_calls(llm: ScriptedLLM, agent_kwargs: Any) -> str:
    return (
        f"the agent kept calling the LLM: call #{llm.calls} came after the "
        f"{len(llm.script)} scripted completions ({agent_kwargs or 'default settings'}); "
        "the run should have ended by then (final answer, max_steps or loop guard)"
    )


def describe_steps(steps: Sequence[Any]) -> str:
    rows = [
        f"  [{i}] action={s.action!r} action_input={s.action_input!r} observation={s.observation[:80]!r}"
        for i, s in enumerate(steps)
    ]
    return "\n".join(rows) if rows else "  (no steps)"
