"""Project tests for the react-agent problem that need no judge runner.

The reference is imported directly and checked on the statement's worked examples and on
the random scripts the hidden tests use (against their checker-side `expected_run`); the
stub must expose the reference's interface; every wrong solution must apply to today's
reference and really change it.
"""

from __future__ import annotations

import dataclasses
import inspect
import sys
import tomllib
from pathlib import Path
from types import ModuleType

import pytest
from hypothesis import HealthCheck, given, settings

from judge import wrong
from tests.problem_support import VERDICTS, load, load_wrong

ROOT = Path(__file__).resolve().parents[1]
PROBLEM = ROOT / "problems" / "react-agent"


reference = load(str(ROOT / "solutions_ref" / "react_agent.py"), "react_agent_reference")
stub = load(str(PROBLEM / "stub.py"), "react_agent_stub")
sys.path.insert(0, str(PROBLEM))
react_scripts = load(str(PROBLEM / "react_scripts.py"), "react_scripts")
WRONG = sorted(wrong.discover(PROBLEM / "wrong"))
meta = tomllib.loads((PROBLEM / "problem.toml").read_text())


class Script:
    """A scripted LLM that records prompts and stop lists."""

    def __init__(self, completions: list[str]) -> None:
        self.completions, self.prompts, self.stops = completions, [], []

    def __call__(self, prompt: str, stop: list[str]) -> str:
        self.prompts.append(prompt)
        self.stops.append(stop)
        return self.completions[len(self.prompts) - 1]


def calculator(expression: str) -> str:
    left, right = (int(x) for x in expression.split("/"))
    return str(left / right)


def public_names(module: ModuleType) -> set[str]:
    return {
        name
        for name, value in vars(module).items()
        if not name.startswith("_") and getattr(value, "__module__", None) == module.__name__
    } | ({"LLM"} if hasattr(module, "LLM") else set())


# -- metadata and interface -------------------------------------------------------------


def test_metadata_names_the_interface():
    assert "wrong_solutions" not in meta, "verdicts live in each wrong/*.patch header"
    assert len(WRONG) >= 6
    assert meta["dataclasses"] == ["Tool", "Step", "AgentResult"]
    for name in meta["entry_points"]:
        assert hasattr(reference, name), name


@pytest.mark.parametrize("name", WRONG)
def test_wrong_solution_is_a_patch_that_changes_the_reference(name):
    case = wrong.load(PROBLEM / "wrong" / name)
    assert case.is_patch, f"{name}: react-agent's wrong solutions are all small patches"
    assert case.verdict.value in VERDICTS - {"Accepted", "Internal Error"}
    reference_path = ROOT / "solutions_ref" / "react_agent.py"
    assert case.source(reference_path) != reference_path.read_text(), f"{name}: the patch changes nothing"
    module = load_wrong("react-agent", name)
    for entry_point in meta["entry_points"]:
        assert hasattr(module, entry_point), f"{name}: the patched module lost {entry_point}"


def test_statement_states_the_time_limit():
    statement = (PROBLEM / "statement.md").read_text()
    assert f"Each test gets {meta['limits']['test_timeout_s']} s" in statement


def test_stub_matches_reference_interface():
    assert public_names(stub) == public_names(reference) == {"LLM", "Tool", "Step", "AgentResult", "ReActAgent"}
    for name in ("Tool", "Step", "AgentResult"):
        ref_fields = [(f.name, f.type) for f in dataclasses.fields(getattr(reference, name))]
        stub_fields = [(f.name, f.type) for f in dataclasses.fields(getattr(stub, name))]
        assert ref_fields == stub_fields, name
    for method in ("__init__", "run"):
        ref_sig = inspect.signature(getattr(reference.ReActAgent, method))
        stub_sig = inspect.signature(getattr(stub.ReActAgent, method))
        assert str(ref_sig) == str(stub_sig), method


def test_stub_raises_not_implemented():
    with pytest.raises(NotImplementedError):
        stub.ReActAgent(Script([]), [])


# -- the statement's worked examples ------------------------------------------------------


def test_example_one_tool_call_then_answer():
    llm = Script(
        [
            "Thought: I need the population.\nAction: search\nAction Input: population of Paris",
            "Thought: I now know the final answer\nFinal Answer: about 2.1 million",
        ]
    )
    search = reference.Tool("search", "Searches the web.", lambda _: "2.1 million")
    result = reference.ReActAgent(llm, [search]).run("How many people live in Paris?")
    assert result == reference.AgentResult(
        "about 2.1 million",
        [reference.Step("I need the population.", "search", "population of Paris", "2.1 million")],
        "answer",
    )
    assert "2.1 million" in llm.prompts[1]
    assert all("Observation:" in stop for stop in llm.stops)


def test_example_invented_observation():
    llm = Script(["Action: calc\nAction Input: 6*7\nObservation: 41\nFinal Answer: 41", "Final Answer: 42"])
    calls: list[str] = []
    calc = reference.Tool("calc", "Multiplies.", lambda text: calls.append(text) or "42")
    result = reference.ReActAgent(llm, [calc]).run("6*7?")
    assert calls == ["6*7"]
    assert result.answer == "42" and result.steps[0].observation == "42"
    assert "41" not in llm.prompts[1]


def test_example_errors_and_loop_guard():
    llm = Script(
        ["I am not sure.", "Action: browser\nAction Input: google.com"] + ["Action: calc\nAction Input: 1/0"] * 3
    )
    result = reference.ReActAgent(llm, [reference.Tool("calc", "Divides a/b.", calculator)]).run("1/0?")
    assert (result.answer, result.stop_reason, len(result.steps), len(llm.prompts)) == (None, "loop", 4, 5)
    junk, unknown, error, _ = result.steps
    assert (junk.thought, junk.action, junk.action_input) == ("I am not sure.", "", "")
    assert all(key in junk.observation for key in ("Action:", "Action Input:", "Final Answer:"))
    assert "browser" in unknown.observation and "calc" in unknown.observation
    assert "ZeroDivisionError" in error.observation and "division by zero" in error.observation


def test_truncation_boundary():
    output = "x" * 10
    tool = reference.Tool("fetch", "Fetches.", lambda _: output)
    for limit, kept in ((10, output), (9, "x" * 9)):
        llm = Script(["Action: fetch\nAction Input: a", "Final Answer: ok"])
        result = reference.ReActAgent(llm, [tool], max_observation_chars=limit).run("?")
        observation = result.steps[0].observation
        assert observation.startswith(kept) and not observation.startswith(kept + "x")
        assert len(observation) <= limit + 40


@pytest.mark.parametrize("kwargs", [{"max_steps": 0}, {"max_observation_chars": 0}])
def test_reference_rejects_bad_settings(kwargs):
    with pytest.raises(ValueError):
        reference.ReActAgent(Script([]), [], **kwargs)


# -- the hidden tests' oracle agrees with the reference ----------------------------------


@settings(max_examples=40, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(react_scripts.scripts())
def test_reference_follows_the_hidden_oracle(script):
    tool_names, turns, max_steps = script
    inputs: dict[str, list[str]] = {name: [] for name in tool_names}

    def make_fn(name: str):
        return lambda text: inputs[name].append(text) or react_scripts.observation_for(name, text)

    tools = [reference.Tool(name, react_scripts.TOOL_POOL[name], make_fn(name)) for name in tool_names]
    llm = Script([turn.text for turn in turns])
    result = reference.ReActAgent(llm, tools, max_steps=max_steps).run("Q?")
    want = react_scripts.expected_run(tool_names, turns, max_steps)
    assert inputs == want.tool_inputs
    assert [(s.action, s.action_input) for s in result.steps] == [(s.action, s.action_input) for s in want.steps]
    assert (result.answer, result.stop_reason, len(llm.prompts)) == (want.answer, want.stop_reason, want.llm_calls)


# -- the worker-side watch on the caller's tools ------------------------------------------


driver = load(str(PROBLEM / "driver.py"), "react_agent_driver")


def watched_run(module: ModuleType) -> list[str]:
    llm = Script(["Action: search\nAction Input: Paris", "Final Answer: Paris"])
    tools = [module.Tool("search", "Searches.", str.upper), module.Tool("calc", "Computes.", str.lower)]
    (result,), changes = driver.run_watching_tools(module, llm, tools, ["Where?"], {})
    assert result.answer == "Paris"
    return changes


def test_watch_passes_the_reference():
    assert watched_run(reference) == []


def test_watch_reports_tools_sorted_in_place():
    changes = watched_run(load_wrong("react-agent", "sorts_callers_tools.patch"))
    assert len(changes) == 1 and "tools list changed" in changes[0], changes
