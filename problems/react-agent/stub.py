"""A ReAct agent loop from scratch: reason, act with a tool, observe, repeat.

ReAct: Synergizing Reasoning and Acting in Language Models (Yao et al., 2022)
https://arxiv.org/abs/2210.03629

Fill in `ReActAgent`. Keep the names and signatures below; add private helpers freely.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

LLM = Callable[[str, list[str]], str]  # (prompt, stop_sequences) -> completion text


@dataclass
class Tool:
    name: str  # what the model writes after `Action:`
    description: str  # shown to the model in the prompt
    fn: Callable[[str], str]  # action input -> observation


@dataclass
class Step:
    thought: str
    action: str  # "" for an unparseable turn
    action_input: str  # "" for an unparseable turn
    observation: str  # tool output, error message or format reminder (truncated)


@dataclass
class AgentResult:
    answer: str | None  # None unless stop_reason == "answer"
    steps: list[Step]
    stop_reason: str  # "answer" | "max_steps" | "loop"


class ReActAgent:
    """Runs the Thought -> Action -> Observation loop until a final answer or a guard."""

    def __init__(
        self,
        llm: LLM,
        tools: list[Tool],
        *,
        max_steps: int = 8,
        max_observation_chars: int = 2000,
    ) -> None:
        raise NotImplementedError

    def run(self, question: str) -> AgentResult:
        """Answer `question`: at most `max_steps` LLM calls, each run from a fresh scratchpad."""
        raise NotImplementedError
