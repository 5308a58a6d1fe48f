"""A ReAct agent loop from scratch: reason, act with a tool, observe, repeat.

ReAct: Synergizing Reasoning and Acting in Language Models (Yao et al., 2022)
https://arxiv.org/abs/2210.03629

The model writes `Thought:` / `Action:` / `Action Input:` lines; the agent stops the
completion at `Observation:`, runs the tool itself and appends the *real* observation to
the scratchpad, so the next prompt carries the whole trajectory. A turn that writes
`Final Answer:` ends the run. Three guards keep the loop finite: `max_steps` LLM calls,
a repeated-call detector, and a cap on observation length (long tool output would
otherwise blow the context window).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

LLM = Callable[[str, list[str]], str]  # (prompt, stop_sequences) -> completion text

_STOP_SEQUENCES = ["Observation:"]
_TRUNCATION_MARKER = "...[truncated]"
_REPEATS_BEFORE_LOOP = 3  # same (action, action input) this many calls in a row
_FORMAT_REMINDER = (
    "Invalid format. Reply with either\n"
    "Thought: <your reasoning>\n"
    "Action: <one tool name>\n"
    "Action Input: <the input for the tool>\n"
    "or\n"
    "Thought: <your reasoning>\n"
    "Final Answer: <the answer to the question>"
)

# A key starts a line (leading blanks allowed), any case, any blanks before the colon.
_KEY = re.compile(
    r"^[ \t]*(?P<key>thought|action[ \t]*input|action|final[ \t]*answer)[ \t]*:",
    re.IGNORECASE | re.MULTILINE,
)
# Anything from an invented observation on is the model talking to itself.
_OBSERVATION = re.compile(r"observation[ \t]*:", re.IGNORECASE)


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


@dataclass
class _Action:
    thought: str
    action: str
    action_input: str


@dataclass
class _FinalAnswer:
    thought: str
    answer: str


def _cut_at_observation(completion: str) -> int:
    invented = _OBSERVATION.search(completion)
    return invented.start() if invented else len(completion)


def _normalise_key(raw: str) -> str:
    # "Action  Input", "ACTION\tINPUT" and "actioninput" are all the key "action input"
    word = re.sub(r"[ \t]+", "", raw.lower())
    return {"actioninput": "action input", "finalanswer": "final answer"}.get(word, word)


def _parse_completion(completion: str) -> _Action | _FinalAnswer | None:
    """Parse one completion; None when it is neither an action nor a final answer."""
    text = completion[: _cut_at_observation(completion)]
    keys = [(_normalise_key(m.group("key")), m) for m in _KEY.finditer(text)]

    def value_after(index: int) -> str:
        # a value runs from its key to the next key (or the end), across lines
        end = keys[index + 1][1].start() if index + 1 < len(keys) else len(text)
        return text[keys[index][1].end() : end].strip()

    def thought_before(position: int) -> str:
        for index, (key, match) in enumerate(keys):
            if key == "thought" and match.start() < position:
                return value_after(index)
        first_key = keys[0][1].start() if keys else len(text)
        return text[: min(first_key, position)].strip()

    final = next((i for i, (k, _) in enumerate(keys) if k == "final answer"), None)
    action = next((i for i, (k, _) in enumerate(keys) if k == "action"), None)
    if final is not None and (action is None or final < action):
        start = keys[final][1]
        return _FinalAnswer(thought_before(start.start()), text[start.end() :].strip())
    if action is None:
        return None
    action_input = next((i for i in range(action + 1, len(keys)) if keys[i][0] == "action input"), None)
    name = value_after(action)
    if action_input is None or not name:
        return None
    return _Action(thought_before(keys[action][1].start()), name, value_after(action_input))


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
        if max_steps < 1:
            raise ValueError(f"max_steps must be >= 1, got {max_steps}")
        if max_observation_chars < 1:
            raise ValueError(f"max_observation_chars must be >= 1, got {max_observation_chars}")
        names = [tool.name for tool in tools]
        if len(set(names)) != len(names):
            raise ValueError(f"tool names must be unique, got {names}")
        self.llm = llm
        self.tools = {tool.name: tool for tool in tools}
        self.max_steps = max_steps
        self.max_observation_chars = max_observation_chars

    def run(self, question: str) -> AgentResult:
        """Answer `question`: at most `max_steps` LLM calls, each run from a fresh scratchpad."""
        steps: list[Step] = []
        last_call: tuple[str, str] | None = None
        repeats = 0
        for _ in range(self.max_steps):
            completion = self.llm(self._prompt(question, steps), list(_STOP_SEQUENCES))
            turn = _parse_completion(completion)
            if isinstance(turn, _FinalAnswer):
                return AgentResult(turn.answer, steps, "answer")
            if turn is None:
                # the format reminder is the observation; it breaks any repeat run
                last_call, repeats = None, 0
                thought = completion[: _cut_at_observation(completion)].strip()
                steps.append(Step(thought, "", "", self._truncate(_FORMAT_REMINDER)))
                continue
            call = (turn.action, turn.action_input)
            repeats = repeats + 1 if call == last_call else 1
            last_call = call
            if repeats >= _REPEATS_BEFORE_LOOP:
                return AgentResult(None, steps, "loop")
            observation = self._truncate(self._call_tool(*call))
            steps.append(Step(turn.thought, *call, observation))
        return AgentResult(None, steps, "max_steps")

    def _call_tool(self, name: str, action_input: str) -> str:
        tool = self.tools.get(name)
        if tool is None:
            valid = ", ".join(self.tools) or "(none)"
            return f"Error: unknown tool {name!r}. Valid tools: {valid}."
        try:
            return str(tool.fn(action_input))
        except Exception as error:  # any tool failure goes to the model
            return f"Error: {type(error).__name__}: {error}"

    def _truncate(self, observation: str) -> str:
        if len(observation) <= self.max_observation_chars:
            return observation
        return observation[: self.max_observation_chars] + _TRUNCATION_MARKER

    def _prompt(self, question: str, steps: list[Step]) -> str:
        tool_lines = "\n".join(f"{t.name}: {t.description}" for t in self.tools.values())
        tool_names = ", ".join(self.tools)
        scratchpad = "".join(_render_step(step) for step in steps)
        return (
            "Answer the following question as best you can. "
            "You have access to the following tools:\n\n"
            f"{tool_lines}\n\n"
            "Use the following format:\n\n"
            "Question: the input question you must answer\n"
            "Thought: you should always think about what to do\n"
            f"Action: the action to take, one of [{tool_names}]\n"
            "Action Input: the input to the action\n"
            "Observation: the result of the action\n"
            "... (this Thought/Action/Action Input/Observation can repeat N times)\n"
            "Thought: I now know the final answer\n"
            "Final Answer: the final answer to the original question\n\n"
            "Begin!\n\n"
            f"Question: {question}\n"
            f"{scratchpad}"
        )


def _render_step(step: Step) -> str:
    thought = f"Thought: {step.thought}\n" if step.thought else ""
    if not step.action:  # unparseable turn: what the model said, then the format reminder
        return f"{thought}Observation: {step.observation}\n"
    return f"{thought}Action: {step.action}\nAction Input: {step.action_input}\nObservation: {step.observation}\n"
