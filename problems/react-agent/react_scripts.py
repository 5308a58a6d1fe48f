"""Random ReAct scripts for the hidden property tests, and what the agent must do with them.

A script is a list of abstract turns (tool call, unknown tool, unparseable text, final
answer), each rendered as completion text in one of several legal spellings (key case,
blanks before the colon, blank lines, an invented `Observation:` tail). `expected_run`
replays the rules of the statement on the abstract turns, never on the text, so it does
not share a parser with any submission.
"""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import strategies as st

TOOL_POOL = {
    "calc": "Evaluates an arithmetic expression.",
    "search": "Searches an encyclopedia and returns the first paragraph.",
    "lookup": "Looks a word up in the current page.",
    "weather": "Returns the weather forecast for a city.",
}
UNKNOWN_TOOLS = ["browser", "python_repl", "sql"]
UNPARSEABLE = [
    "I am not sure what to do next.",
    "Let me think about this more carefully",
    "Thought: I still need to think about it.",
    "Action calc with input 2+2",
    "Thought: I will compute it.\nAction: calc",
]
_ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 +-*/().,?'=_"


@dataclass(frozen=True)
class Turn:
    kind: str  # "call" | "unknown" | "junk" | "final"
    text: str  # completion text sent to the agent
    tool: str = ""
    action_input: str = ""
    thought: str | None = None  # None when the completion has no Thought: key
    answer: str = ""
    invented: str = ""  # marker text inside an invented Observation tail


@dataclass
class ExpectedStep:
    action: str
    action_input: str
    observation: str | None  # exact text for a known tool, None when only checked loosely
    thought: str | None
    kind: str


@dataclass
class ExpectedRun:
    llm_calls: int
    steps: list[ExpectedStep]
    answer: str | None
    stop_reason: str
    tool_inputs: dict[str, list[str]]


def observation_for(tool: str, action_input: str) -> str:
    return f"{tool}-result({action_input})"


def _line(words: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return words.map(str.strip).filter(bool)


words = st.text(alphabet=_ALPHABET, min_size=1, max_size=24)
one_line = _line(words)
multi_line = st.lists(one_line, min_size=1, max_size=3).map("\n".join)


@st.composite
def action_turn(draw: st.DrawFn, tools: list[str], index: int) -> Turn:
    known = draw(st.booleans()) or not tools
    name = draw(st.sampled_from(tools)) if known else draw(st.sampled_from(UNKNOWN_TOOLS))
    action_input = draw(st.one_of(one_line, multi_line))
    thought = draw(st.one_of(st.none(), one_line))
    action_key = draw(st.sampled_from(["Action", "action", "ACTION"]))
    input_key = draw(st.sampled_from(["Action Input", "action input", "ACTION  INPUT"]))
    colon = draw(st.sampled_from([":", " :"]))
    gap = draw(st.sampled_from(["\n", "\n\n"]))
    tail = draw(st.sampled_from(["", "invented observation", "final answer after"]))
    invented = tail == "invented observation"
    parts = [] if thought is None else [f"Thought: {thought}"]
    parts += [f"{action_key}{colon} {name}", f"{input_key}{colon} {action_input}"]
    text = gap.join(parts)
    marker = f"INVENTED-{index}"
    if invented:
        text += f"\nObservation: {marker}\nThought: done\nFinal Answer: FAKE-{index}"
    elif tail == "final answer after":  # the Action comes first, so it wins
        text += f"{gap}Final Answer: PREMATURE-{index}"
    return Turn(
        "call" if name in tools else "unknown",
        text,
        tool=name,
        action_input=action_input,
        thought=thought,
        invented=marker if invented else "",
    )


@st.composite
def final_turn(draw: st.DrawFn) -> Turn:
    answer = draw(st.one_of(one_line, multi_line))
    key = draw(st.sampled_from(["Final Answer:", "final answer:", "FINAL  ANSWER :"]))
    thought = draw(st.one_of(st.none(), one_line))
    prefix = "" if thought is None else f"Thought: {thought}\n"
    return Turn("final", f"{prefix}{key} {answer}", answer=answer, thought=thought)


@st.composite
def scripts(draw: st.DrawFn) -> tuple[list[str], list[Turn], int]:
    tools = draw(st.lists(st.sampled_from(sorted(TOOL_POOL)), min_size=1, max_size=3, unique=True))
    max_steps = draw(st.integers(1, 8))
    turns: list[Turn] = []
    for index in range(draw(st.integers(0, 9))):
        kind = draw(st.sampled_from(["call", "call", "repeat", "repeat", "junk"]))
        if kind == "repeat" and turns and turns[-1].kind in ("call", "unknown"):
            previous = turns[-1]
            turns.append(
                Turn(
                    previous.kind,
                    previous.text,
                    previous.tool,
                    previous.action_input,
                    previous.thought,
                    previous.invented,
                )
            )
        elif kind == "junk":
            turns.append(Turn("junk", draw(st.sampled_from(UNPARSEABLE))))
        else:
            turns.append(draw(action_turn(tools, index)))
    if draw(st.booleans()) or not turns:
        turns.append(draw(final_turn()))
        if draw(st.booleans()):
            max_steps = max(max_steps, len(turns))  # room to reach the answer
    elif len(turns) < max_steps:
        max_steps = len(turns)  # the script must cover every call the agent may make
    return tools, turns, max_steps


def expected_run(tools: list[str], turns: list[Turn], max_steps: int) -> ExpectedRun:
    steps: list[ExpectedStep] = []
    tool_inputs: dict[str, list[str]] = {name: [] for name in tools}
    last_call, repeats = None, 0
    for calls, turn in enumerate(turns[:max_steps], start=1):
        if turn.kind == "final":
            return ExpectedRun(calls, steps, turn.answer, "answer", tool_inputs)
        if turn.kind == "junk":
            last_call, repeats = None, 0
            steps.append(ExpectedStep("", "", None, None, "junk"))
            continue
        call = (turn.tool, turn.action_input)
        repeats = repeats + 1 if call == last_call else 1
        last_call = call
        if repeats >= 3:
            return ExpectedRun(calls, steps, None, "loop", tool_inputs)
        if turn.kind == "call":
            tool_inputs[turn.tool].append(turn.action_input)
            observation = observation_for(turn.tool, turn.action_input)
        else:
            observation = None
        steps.append(ExpectedStep(turn.tool, turn.action_input, observation, turn.thought, turn.kind))
    return ExpectedRun(min(len(turns), max_steps), steps, None, "max_steps", tool_inputs)
