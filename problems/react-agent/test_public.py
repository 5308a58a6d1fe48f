"""Public examples for react-agent (`judge test`): a scripted fake LLM drives your agent.

The fake LLM replays fixed completions and records every prompt and stop list it gets;
the tools record their inputs. Both run in the judge, your agent reaches them as plain
callables.
"""

from __future__ import annotations

from judge_harness import Record


class FakeLLM:
    def __init__(self, completions: list[str]) -> None:
        self.completions = completions
        self.prompts: list[str] = []
        self.stops: list[list[str]] = []

    def __call__(self, prompt: str, stop: list[str]) -> str:
        self.prompts.append(prompt)
        self.stops.append(stop)
        return self.completions[len(self.prompts) - 1]


class Calculator:
    def __init__(self) -> None:
        self.inputs: list[str] = []

    def __call__(self, expression: str) -> str:
        self.inputs.append(expression)
        return {"2 + 2": "RESULT=4", "4 * 10": "RESULT=40"}.get(expression, "unknown")


def calc_tool(calculator: Calculator) -> Record:
    return Record("Tool", name="calc", description="Evaluates an arithmetic expression.", fn=calculator)


def test_final_answer_right_away(candidate):
    llm = FakeLLM(["Thought: I know this.\nFinal Answer: Paris"])
    result = candidate.ReActAgent(llm, [calc_tool(Calculator())]).run("What is the capital of France?")
    assert result.answer == "Paris"
    assert result.stop_reason == "answer"
    assert list(result.steps) == []
    assert len(llm.prompts) == 1
    assert "What is the capital of France?" in llm.prompts[0]
    assert any(stop.strip() == "Observation:" for stop in llm.stops[0])


def test_two_tool_calls_then_answer(candidate):
    llm = FakeLLM(
        [
            "Thought: add first.\nAction: calc\nAction Input: 2 + 2",
            "Thought: now multiply.\nAction: calc\nAction Input: 4 * 10",
            "Thought: I now know the final answer\nFinal Answer: 40",
        ]
    )
    calculator = Calculator()
    result = candidate.ReActAgent(llm, [calc_tool(calculator)]).run("What is (2 + 2) * 10?")
    assert calculator.inputs == ["2 + 2", "4 * 10"]
    assert [(s.action, s.action_input, s.observation) for s in result.steps] == [
        ("calc", "2 + 2", "RESULT=4"),
        ("calc", "4 * 10", "RESULT=40"),
    ]
    assert result.steps[0].thought == "add first."
    assert result.answer == "40" and result.stop_reason == "answer"
    # every prompt carries the real observations of the earlier steps
    assert "RESULT=4" in llm.prompts[1]
    assert "RESULT=4" in llm.prompts[2] and "RESULT=40" in llm.prompts[2]


def test_invented_observation_is_cut(candidate):
    llm = FakeLLM(
        [
            "Thought: add.\nAction: calc\nAction Input: 2 + 2\nObservation: 5\nFinal Answer: 5",
            "Final Answer: 4",
        ]
    )
    calculator = Calculator()
    result = candidate.ReActAgent(llm, [calc_tool(calculator)]).run("2 + 2?")
    assert calculator.inputs == ["2 + 2"]
    assert result.answer == "4"
    assert len(llm.prompts) == 2


def test_unknown_tool_is_reported_and_the_loop_goes_on(candidate):
    llm = FakeLLM(["Action: browser\nAction Input: google.com", "Final Answer: 4"])
    result = candidate.ReActAgent(llm, [calc_tool(Calculator())]).run("2 + 2?")
    assert len(result.steps) == 1
    assert "browser" in result.steps[0].observation and "calc" in result.steps[0].observation
    assert result.answer == "4"


def test_max_steps(candidate):
    llm = FakeLLM([f"Action: calc\nAction Input: {i} + {i}" for i in range(3)])
    result = candidate.ReActAgent(llm, [calc_tool(Calculator())], max_steps=3).run("Keep adding.")
    assert result.answer is None
    assert result.stop_reason == "max_steps"
    assert len(result.steps) == 3
    assert len(llm.prompts) == 3
