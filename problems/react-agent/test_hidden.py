"""Hidden tests for react-agent: what the agent sends to the LLM and tools, turn by turn.

Every test drives the submission with a scripted fake LLM and recording tools that run in
the checker, then checks the tool calls, the prompts and stop lists the LLM received, the
number of LLM calls, the steps and the result.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from react_fakes import (
    RecordingTool,
    ScriptedLLM,
    action,
    describe_steps,
    echo_tool,
    final,
    finish_run,
    run_agent,
)
from react_scripts import TOOL_POOL, expected_run, observation_for, scripts

from judge_harness import expect_raises

# the candidate fixture is one worker for the whole test; each example builds its own agent
FIXTURE_OK = [HealthCheck.function_scoped_fixture]
QUESTION = "What is the population of the capital of France divided by 1000?"


def calc() -> RecordingTool:
    return echo_tool("calc", "Evaluates an arithmetic expression like 2*(3+4).")


def search() -> RecordingTool:
    return echo_tool("search", "Searches Wikipedia and returns the first paragraph.")


def check_steps(result, expected: list[tuple[str, str, str | None]]) -> None:
    """expected: (action, action_input, observation or None to skip it) per step."""
    got = [(s.action, s.action_input) for s in result.steps]
    want = [(a, i) for a, i, _ in expected]
    assert got == want, f"steps (action, action_input) differ\nexpected: {want}\ngot:\n{describe_steps(result.steps)}"
    for index, (step, (_, _, observation)) in enumerate(zip(result.steps, expected, strict=True)):
        if observation is not None:
            assert step.observation == observation, (
                f"steps[{index}].observation: expected the tool output {observation!r}, got {step.observation!r}"
            )


def check_end(result, llm: ScriptedLLM, answer, stop_reason: str, calls: int) -> None:
    assert result.stop_reason == stop_reason, (
        f"stop_reason: expected {stop_reason!r}, got {result.stop_reason!r} "
        f"(answer={result.answer!r}, {llm.calls} LLM calls)\n"
        f"{describe_steps(result.steps)}"
    )
    assert result.answer == answer, f"answer: expected {answer!r}, got {result.answer!r}"
    assert llm.calls == calls, f"number of LLM calls: expected {calls}, got {llm.calls}"


def mentions_format(observation: str) -> bool:
    text = observation.lower()
    return all(key in text for key in ("action:", "action input:", "final answer:"))


# -- the happy path --------------------------------------------------------------------


def test_final_answer_on_first_turn_calls_no_tool(candidate):
    llm, tool = ScriptedLLM([final("Paris")]), calc()
    result = run_agent(candidate, llm, [tool], "What is the capital of France?")
    check_end(result, llm, "Paris", "answer", 1)
    assert list(result.steps) == [], f"a final-answer turn is not a step, got {describe_steps(result.steps)}"
    assert tool.inputs == [], f"no tool may run on a final-answer turn, calc got {tool.inputs}"


def test_one_tool_call_then_answer(candidate):
    llm = ScriptedLLM([action("calc", "2148 * 1000 / 1000", "I need to compute it."), final("2148")])
    tool = calc()
    result = run_agent(candidate, llm, [tool], QUESTION)
    assert tool.inputs == ["2148 * 1000 / 1000"], f"calc inputs: {tool.inputs}"
    check_steps(result, [("calc", "2148 * 1000 / 1000", "calc-result(2148 * 1000 / 1000)")])
    assert result.steps[0].thought == "I need to compute it.", (
        f"steps[0].thought: expected 'I need to compute it.', got {result.steps[0].thought!r}"
    )
    check_end(result, llm, "2148", "answer", 2)


def test_tool_calls_in_order_with_their_inputs(candidate):
    llm = ScriptedLLM(
        [
            action("search", "capital of France"),
            action("search", "population of Paris"),
            action("calc", "2148000 / 1000"),
            final("2148"),
        ]
    )
    s, c = search(), calc()
    result = run_agent(candidate, llm, [s, c], QUESTION)
    assert s.inputs == ["capital of France", "population of Paris"], f"search inputs: {s.inputs}"
    assert c.inputs == ["2148000 / 1000"], f"calc inputs: {c.inputs}"
    check_steps(
        result,
        [
            ("search", "capital of France", "search-result(capital of France)"),
            ("search", "population of Paris", "search-result(population of Paris)"),
            ("calc", "2148000 / 1000", "calc-result(2148000 / 1000)"),
        ],
    )
    check_end(result, llm, "2148", "answer", 4)


def test_stop_list_has_observation_on_every_call(candidate):
    llm = ScriptedLLM([action("calc", "1+1"), action("calc", "2+2"), final("4")])
    run_agent(candidate, llm, [calc()], QUESTION)
    for index, stop in enumerate(llm.stops):
        assert isinstance(stop, list) and all(isinstance(s, str) for s in stop), (
            f"call {index}: stop must be a list of str, got {stop!r}"
        )
        assert any(s.strip() == "Observation:" for s in stop), (
            f"call {index}: the stop list must contain 'Observation:', got {stop!r}"
        )


def test_each_run_starts_fresh(candidate):
    llm = ScriptedLLM(
        [
            action("calc", "1+1"),
            final("2"),
            action("calc", "1+1"),
            action("calc", "1+1"),
            final("two"),
        ]
    )
    tool = calc()
    agent = candidate.ReActAgent(llm, [tool.record()])
    first = finish_run(llm, lambda: agent.run("First question: 1+1?"), {})
    second = finish_run(llm, lambda: agent.run("Once more: 1+1?"), {})
    assert first.answer == "2" and len(first.steps) == 1, f"first run: {first.answer!r}, {len(first.steps)} steps"
    assert second.stop_reason == "answer" and second.answer == "two", (
        "a second run() must start with an empty scratchpad and a fresh repeat count: "
        f"got stop_reason={second.stop_reason!r}, answer={second.answer!r}"
    )
    assert len(second.steps) == 2, f"second run: expected 2 steps, got\n{describe_steps(second.steps)}"
    assert "First question" not in llm.prompts[2] and "Once more: 1+1?" in llm.prompts[2], (
        "the second run's first prompt must hold the second question and no earlier scratchpad"
    )
    assert "calc-result(1+1)" not in llm.prompts[2], (
        "the second run's first prompt carries the first run's observations"
    )


def test_agents_side_by_side_keep_their_own_tools_and_steps(candidate):
    # two agents with different tools and settings, runs interleaved: first, second, first
    first_llm = ScriptedLLM(
        [action("calc", "1+1"), final("2"), action("search", "x"), action("calc", "2+2"), final("-")]
    )
    second_llm = ScriptedLLM([action("calc", "1+1"), action("search", "Paris"), final("Paris")])
    c, s = calc(), search()
    first = candidate.ReActAgent(first_llm, [c.record()], max_steps=2)
    second = candidate.ReActAgent(second_llm, [s.record()], max_observation_chars=8)
    finish_run(first_llm, lambda: first.run("First agent's question?"), {})
    result = finish_run(second_llm, lambda: second.run("Second agent's question?"), {})
    again = finish_run(first_llm, lambda: first.run("First agent, second question?"), {"max_steps": 2})
    assert c.inputs == ["1+1", "2+2"], f"only the first agent has calc: calc ran with {c.inputs}"
    assert s.inputs == ["Paris"], f"only the second agent has search: search ran with {s.inputs}"
    assert not result.steps[0].observation.startswith("calc-res"), (
        f"calc is unknown to the second agent, got {result.steps[0].observation!r}"
    )
    observation = result.steps[1].observation
    assert observation.startswith("search-r") and not observation.startswith("search-re"), (
        f"the second agent keeps its own max_observation_chars=8, got {observation!r}"
    )
    assert "calc-result" not in second_llm.prompts[0] and "First agent" not in second_llm.prompts[0], (
        "the second agent's first prompt carries the first agent's scratchpad"
    )
    check_end(result, second_llm, "Paris", "answer", 3)
    assert (again.stop_reason, len(again.steps)) == ("max_steps", 2), (
        f"the first agent keeps its own max_steps=2 after the second agent ran: stop_reason="
        f"{again.stop_reason!r}\n{describe_steps(again.steps)}"
    )
    assert "Paris" not in first_llm.prompts[2], "the first agent's prompt carries the second agent's scratchpad"


def test_runs_leave_the_callers_tools_and_earlier_results_alone(candidate):
    llm = ScriptedLLM(
        [action("search", "Paris"), final("one"), action("calc", "2+2"), action("search", "x"), final("two")]
    )
    s, c = search(), calc()  # not in name order, so sorting them in place shows
    results, changes = candidate.driver.run_watching_tools(llm, [s.record(), c.record()], ["Q1?", "Q2?"], {})
    assert changes == [], "the agent modified the caller's tools: " + "; ".join(changes)
    first, second = results
    assert [(st.action, st.action_input) for st in first.steps] == [("search", "Paris")], (
        "the first run's result changed after the second run: each run returns its own steps list\n"
        + describe_steps(first.steps)
    )
    assert [(st.action, st.action_input) for st in second.steps] == [("calc", "2+2"), ("search", "x")], describe_steps(
        second.steps
    )
    assert (first.answer, second.answer) == ("one", "two")


@pytest.mark.parametrize(
    "kwargs",
    [{"max_steps": 0}, {"max_steps": -3}, {"max_observation_chars": 0}, {"max_observation_chars": -1}],
    ids=["max_steps=0", "max_steps<0", "max_observation_chars=0", "max_observation_chars<0"],
)
def test_settings_below_one_raise_value_error(candidate, kwargs):
    with expect_raises("ValueError"):
        candidate.ReActAgent(ScriptedLLM([final("unused")]), [calc().record()], **kwargs)


def test_duplicate_tool_names_raise_value_error(candidate):
    with expect_raises("ValueError"):
        candidate.ReActAgent(ScriptedLLM([final("unused")]), [calc().record(), calc().record()])


# -- the prompt ------------------------------------------------------------------------


def test_prompt_names_question_and_every_tool(candidate):
    tools = [
        echo_tool("calc", "Evaluates arithmetic; description token DESC-CALC-17."),
        echo_tool("wiki_search", "Searches the wiki; description token DESC-WIKI-23."),
        echo_tool("lookup", "Finds a term in the last page; description token DESC-LOOK-31."),
    ]
    llm = ScriptedLLM([final("done")])
    question = "Which river flows through QUESTION-TOKEN-4711?"
    run_agent(candidate, llm, tools, question)
    prompt = llm.prompts[0]
    assert question in prompt, "the prompt must contain the question verbatim"
    for tool in tools:
        assert tool.name in prompt, f"the prompt must name tool {tool.name!r}"
        assert tool.description in prompt, f"the prompt must contain the description of {tool.name!r}"


def test_prompt_carries_the_whole_scratchpad(candidate):
    thoughts = [
        "THOUGHT-ALPHA first look it up",
        "THOUGHT-BRAVO now compute",
        "THOUGHT-CHARLIE check it",
    ]
    inputs = [
        "INPUT-ONE Paris population",
        "INPUT-TWO 2148000 / 1000",
        "INPUT-THREE 2148",
    ]
    # observations that do not repeat their inputs, so a prompt without the inputs shows
    observations = ["OBS-S paragraph", "OBS-C 2148", "OBS-S confirmed"]
    answers = dict(zip(inputs, observations, strict=True))
    tools = [
        RecordingTool("search", "Searches.", answers.__getitem__),
        RecordingTool("calc", "Computes.", answers.__getitem__),
    ]
    llm = ScriptedLLM(
        [
            action("search", inputs[0], thoughts[0]),
            action("calc", inputs[1], thoughts[1]),
            action("search", inputs[2], thoughts[2]),
            final("2148"),
        ]
    )
    result = run_agent(candidate, llm, tools, QUESTION)
    check_steps(
        result,
        [
            ("search", inputs[0], observations[0]),
            ("calc", inputs[1], observations[1]),
            ("search", inputs[2], observations[2]),
        ],
    )
    for turn, prompt in enumerate(llm.prompts):
        assert QUESTION in prompt, f"prompt {turn} lost the question"
        for earlier in range(turn):
            for what, text in (
                ("thought", thoughts[earlier]),
                ("action input", inputs[earlier]),
                ("observation", observations[earlier]),
            ):
                assert text in prompt, (
                    f"prompt {turn} must contain the {what} of step {earlier} ({text!r}); "
                    "the scratchpad must hold every earlier step"
                )


def test_invented_observation_is_discarded(candidate):
    completion = (
        "Thought: I should look up the population.\n"
        "Action: search\n"
        "Action Input: population of Paris\n"
        "Observation: INVENTED-FACT the population is 12\n"
        "Thought: I now know the final answer\n"
        "Final Answer: INVENTED-ANSWER 12"
    )
    llm = ScriptedLLM([completion, final("2148")])
    tool = search()
    result = run_agent(candidate, llm, [tool], QUESTION)
    assert tool.inputs == ["population of Paris"], (
        f"the action before the invented Observation must run with its own input; search got {tool.inputs}"
    )
    check_steps(
        result,
        [("search", "population of Paris", "search-result(population of Paris)")],
    )
    check_end(result, llm, "2148", "answer", 2)
    assert "INVENTED" not in llm.prompts[1], (
        "the second prompt contains text from the model's invented 'Observation:' "
        "(everything from it on must be discarded)"
    )


def test_invented_observation_on_the_same_line_is_discarded(candidate):
    completion = "Thought: compute\nAction: calc\nAction Input: 6*7 Observation: INVENTED-42\nFinal Answer: INVENTED-42"
    llm = ScriptedLLM([completion, final("42")])
    tool = calc()
    result = run_agent(candidate, llm, [tool], "6*7?")
    assert tool.inputs == ["6*7"], f"an 'Observation:' anywhere ends the completion; calc got {tool.inputs}"
    check_end(result, llm, "42", "answer", 2)
    assert "INVENTED" not in llm.prompts[1], "the second prompt contains text after the invented 'Observation:'"


@pytest.mark.parametrize("key", ["observation:", "OBSERVATION :", "Observation\t:"])
def test_invented_observation_in_any_spelling_is_discarded(candidate, key):
    completion = f"Thought: compute\nAction: calc\nAction Input: 6*7\n{key} INVENTED-41\nFinal Answer: INVENTED-41"
    llm = ScriptedLLM([completion, final("42")])
    tool = calc()
    result = run_agent(candidate, llm, [tool], "6*7?")
    assert tool.inputs == ["6*7"], (
        f"{key!r} is an invented observation (any case, blanks before the colon); calc got {tool.inputs}"
    )
    check_end(result, llm, "42", "answer", 2)
    assert "INVENTED" not in llm.prompts[1], f"the second prompt contains text after the invented {key!r}"


# -- parsing ---------------------------------------------------------------------------


SPELLINGS = {
    "lower case keys": "thought: look it up\naction: search\naction input: Eiffel Tower height",
    "upper case keys": "THOUGHT: look it up\nACTION: search\nACTION INPUT: Eiffel Tower height",
    "blanks before colons": "Thought : look it up\nAction  : search\nAction Input   : Eiffel Tower height",
    "blanks inside the key": "Thought: look it up\nAction: search\nAction   Input: Eiffel Tower height",
    "blank lines between keys": "Thought: look it up\n\n\nAction: search\n\nAction Input: Eiffel Tower height\n\n",
    "indented keys and padded values": "  Thought:   look it up  \n  Action:   search  \n  Action Input:    Eiffel Tower height   ",
    "value on the next line": "Thought:\nlook it up\nAction:\nsearch\nAction Input:\nEiffel Tower height",
    "tabs around keys and values": "\tThought:\tlook it up\t\n\t Action\t:\tsearch\t\nAction\tInput\t:\tEiffel Tower height\t",
    "no blank inside the key": "Thought: look it up\nAction: search\nActionInput: Eiffel Tower height",
    "mixed case keys": "tHOUGHT: look it up\nAction: search\nAction input: Eiffel Tower height",
    "no blank after the colons": "Thought:look it up\nAction:search\nAction Input:Eiffel Tower height",
}


@pytest.mark.parametrize("spelling", sorted(SPELLINGS))
def test_key_spellings(candidate, spelling):
    llm, tool = ScriptedLLM([SPELLINGS[spelling], final("330 m")]), search()
    result = run_agent(candidate, llm, [tool], "How tall is the Eiffel Tower?")
    assert tool.inputs == ["Eiffel Tower height"], (
        f"{spelling}: completion {SPELLINGS[spelling]!r} must call search with "
        f"'Eiffel Tower height'; search got {tool.inputs}"
    )
    assert result.steps and result.steps[0].thought == "look it up", (
        f"{spelling}: steps[0].thought should be 'look it up', got "
        f"{result.steps[0].thought if result.steps else None!r}"
    )
    check_end(result, llm, "330 m", "answer", 2)


@pytest.mark.parametrize(
    "completion",
    [
        "final answer: 330 m",
        "FINAL ANSWER: 330 m",
        "Final  Answer :  330 m  ",
        "Thought: done\n\nFinal Answer:\n330 m\n",
        "\tFinal\tanswer\t:\t330 m\t",
        "FinalAnswer:330 m",
    ],
)
def test_final_answer_spellings(candidate, completion):
    llm = ScriptedLLM([completion])
    result = run_agent(candidate, llm, [search()], "How tall is the Eiffel Tower?")
    check_end(result, llm, "330 m", "answer", 1)


def test_multiline_action_input_keeps_inner_lines(candidate):
    code = "def area(r):\n    return 3.14159 * r * r\n\nprint(area(2))"
    completion = f"Thought: run some code\nAction: python\nAction Input:\n{code}\n"
    tool = echo_tool("python", "Runs a Python snippet and returns stdout.")
    llm = ScriptedLLM([completion, final("12.56636")])
    result = run_agent(candidate, llm, [tool], "Area of a circle of radius 2?")
    assert tool.inputs == [code], (
        f"a multi-line Action Input runs to the end of the completion (outer blanks stripped, "
        f"inner lines kept); python got {tool.inputs}"
    )
    check_end(result, llm, "12.56636", "answer", 2)


def test_action_input_may_contain_colons(candidate):
    llm = ScriptedLLM([action("search", "time: 12:30 UTC, place: Paris"), final("ok")])
    tool = search()
    run_agent(candidate, llm, [tool], "What time is it in Paris?")
    assert tool.inputs == ["time: 12:30 UTC, place: Paris"], f"search got {tool.inputs}"


def test_action_before_final_answer_wins(candidate):
    completion = "Thought: compute first\nAction: calc\nAction Input: 17*3\nFinal Answer: 51"
    llm = ScriptedLLM([completion, final("fifty-one")])
    tool = calc()
    result = run_agent(candidate, llm, [tool], "17*3?")
    assert tool.inputs == ["17*3"], (
        f"the Action comes first, so it wins and its input ends at the next key; calc got {tool.inputs}"
    )
    check_end(result, llm, "fifty-one", "answer", 2)


def test_final_answer_before_action_wins_and_runs_to_the_end(candidate):
    completion = "Thought: I know it\nFinal Answer: 51\nAction: calc\nAction Input: 17*3"
    llm = ScriptedLLM([completion])
    tool = calc()
    result = run_agent(candidate, llm, [tool], "17*3?")
    assert tool.inputs == [], f"the Final Answer comes first; no tool may run, calc got {tool.inputs}"
    check_end(result, llm, "51\nAction: calc\nAction Input: 17*3", "answer", 1)


# completion -> (action, action_input, thought) of the tool call it is, or None: unparseable
PARSING_RULES = {
    "keys in mid-line are text": (
        "Thought: my next action: search, then the final answer: later\nAction: search\n"
        "Action Input: what thought: did Paris inspire",
        ("search", "what thought: did Paris inspire", "my next action: search, then the final answer: later"),
    ),
    "empty action input": (
        "Thought: list everything\nAction: search\nAction Input:",
        ("search", "", "list everything"),
    ),
    "first of two action inputs": (
        "Action: search\nAction Input: first\nAction Input: second",
        ("search", "first", ""),
    ),
    "first of two actions": ("Action: search\nAction: calc\nAction Input: Paris", ("search", "Paris", "")),
    "thought without its key": (
        "I should look it up.\nAction: search\nAction Input: Paris",
        ("search", "Paris", "I should look it up."),
    ),
    "first of two thoughts": (
        "Thought: first idea\nThought: second idea\nAction: search\nAction Input: Paris",
        ("search", "Paris", "first idea"),
    ),
    "thought after the action": ("Action: search\nAction Input: Paris\nThought: later", ("search", "Paris", "")),
    "empty action name": ("Thought: hmm\nAction:   \nAction Input: Paris", None),
    "action input before the action": ("Action Input: Paris\nAction: search", None),
    "action without input, then an answer": ("Thought: hmm\nAction: search\nFinal Answer: Paris", None),
}


@pytest.mark.parametrize("rule", sorted(PARSING_RULES))
def test_parsing_rules(candidate, rule):
    completion, want = PARSING_RULES[rule]
    tools = [search(), calc()]
    llm = ScriptedLLM([completion, final("done")])
    result = run_agent(candidate, llm, tools, QUESTION)
    check_end(result, llm, "done", "answer", 2)
    assert len(result.steps) == 1, f"{rule}: {completion!r} is one step\n{describe_steps(result.steps)}"
    step = result.steps[0]
    if want is None:
        assert (step.action, step.action_input) == ("", ""), (
            f"{rule}: {completion!r} is unparseable (empty action and action_input), "
            f"got {(step.action, step.action_input)!r}"
        )
        assert step.thought == completion.strip(), (
            f"{rule}: thought should be the whole completion, got {step.thought!r}"
        )
        assert tools[0].inputs == [] and tools[1].inputs == [], f"{rule}: no tool may run on an unparseable turn"
        return
    action_name, action_input, thought = want
    got = (step.action, step.action_input, step.thought)
    assert got == want, f"{rule}: {completion!r}\nexpected (action, action_input, thought) {want!r}\ngot {got!r}"
    tool = {"search": tools[0], "calc": tools[1]}[action_name]
    assert tool.inputs == [action_input], f"{rule}: {action_name} got {tool.inputs}"


def test_empty_final_answer(candidate):
    llm = ScriptedLLM(["Thought: there is nothing to add\nFinal Answer:   \n"])
    result = run_agent(candidate, llm, [search()], QUESTION)
    check_end(result, llm, "", "answer", 1)


def test_multiline_final_answer(candidate):
    answer = "Paris has:\n- 2.1 million people\n- 20 arrondissements"
    llm = ScriptedLLM([f"Thought: done\nFinal Answer:   {answer}  \n\n"])
    result = run_agent(candidate, llm, [search()], "Tell me about Paris.")
    check_end(result, llm, answer, "answer", 1)


# -- error paths -----------------------------------------------------------------------


def test_unknown_tool_lists_valid_tools_and_goes_on(candidate):
    tools = [calc(), search()]
    llm = ScriptedLLM(
        [
            action("browser", "open google.com"),
            action("search", "Paris"),
            final("Paris"),
        ]
    )
    result = run_agent(candidate, llm, tools, QUESTION)
    assert [s.action for s in result.steps] == ["browser", "search"], (
        f"an unknown-tool turn is still a step\n{describe_steps(result.steps)}"
    )
    observation = result.steps[0].observation
    assert "browser" in observation, f"the unknown-tool observation must name 'browser', got {observation!r}"
    for name in ("calc", "search"):
        assert re.search(rf"(?<![\w-]){name}(?![\w-])", observation), (
            f"the unknown-tool observation must list the valid tool {name!r} (as a name of its own), got {observation!r}"
        )
    assert observation in llm.prompts[1], "the next prompt must carry the unknown-tool observation"
    assert tools[0].inputs == [] and tools[1].inputs == ["Paris"], "only search('Paris') should have run"
    check_end(result, llm, "Paris", "answer", 3)


def test_tool_names_are_case_sensitive(candidate):
    lower = echo_tool("calc", "Evaluates arithmetic.", "lower")
    upper = echo_tool("Calc", "A second calculator, told apart by case.", "upper")
    llm = ScriptedLLM([action("CALC", "1+1"), action("Calc", "2+2"), action("calc", "3+3"), final("ok")])
    result = run_agent(candidate, llm, [lower, upper], QUESTION)
    assert (lower.inputs, upper.inputs) == (["3+3"], ["2+2"]), (
        f"tool names match exactly: calc got {lower.inputs}, Calc got {upper.inputs}"
    )
    unknown = result.steps[0].observation
    assert "CALC" in unknown and "calc" in unknown and "Calc" in unknown, (
        f"'CALC' is an unknown tool; the observation must name it and list calc and Calc, got {unknown!r}"
    )
    check_steps(result, [("CALC", "1+1", None), ("Calc", "2+2", "upper(2+2)"), ("calc", "3+3", "lower(3+3)")])


def test_tool_output_is_kept_as_returned(candidate):
    raw = "  two lines\n\tof output \n\n"
    tools = [
        RecordingTool("clear", "Clears the page and returns nothing.", lambda _: ""),
        RecordingTool("cat", "Prints the page as it is.", lambda _: raw),
    ]
    llm = ScriptedLLM([action("clear", "all"), action("cat", "page"), final("done")])
    result = run_agent(candidate, llm, tools, "Clear the page.")
    got = [step.observation for step in result.steps]
    assert got == ["", raw], f"tool outputs are the observations as returned (empty, blanks kept), got {got!r}"


@pytest.mark.parametrize(
    "type_name, message",
    [
        ("ValueError", "invalid literal for int(): 'abc'"),
        ("KeyError", "missing key 'q'"),
        ("RateLimitError", "429 Too Many Requests"),
    ],
)
def test_tool_error_becomes_observation(candidate, type_name, message):
    llm = ScriptedLLM([action("flaky", "some input"), action("calc", "1+1"), final("2")])
    tool = calc()
    result = finish_run(
        llm,
        lambda: candidate.driver.run_with_failing_tools(
            llm,
            [tool.record()],
            [("flaky", "Sometimes fails.", type_name, message)],
            QUESTION,
            {},
        ),
        {},
    )
    assert [s.action for s in result.steps] == ["flaky", "calc"], (
        f"a tool that raises is a step and the loop goes on\n{describe_steps(result.steps)}"
    )
    observation = result.steps[0].observation
    assert type_name in observation, (
        f"the tool-error observation must name the exception type {type_name}, got {observation!r}"
    )
    assert message in observation, f"the tool-error observation must contain the exception message, got {observation!r}"
    assert observation in llm.prompts[1], "the next prompt must carry the tool-error observation"
    assert tool.inputs == ["1+1"], f"calc inputs: {tool.inputs}"
    check_end(result, llm, "2", "answer", 3)


def test_zero_division_in_a_real_calculator(candidate):
    llm = ScriptedLLM([action("divide", "7/0"), action("divide", "8/2"), final("4.0")])
    result = finish_run(
        llm,
        lambda: candidate.driver.run_with_failing_tools(
            llm,
            [],
            [("divide", "Divides a/b.", "divide", "")],
            "8/2?",
            {"max_steps": 4},
        ),
        {"max_steps": 4},
    )
    assert "ZeroDivisionError" in result.steps[0].observation, (
        f"steps[0].observation must name ZeroDivisionError, got {result.steps[0].observation!r}"
    )
    assert result.steps[1].observation == "4.0", f"steps[1].observation: {result.steps[1].observation!r}"
    check_end(result, llm, "4.0", "answer", 3)


@pytest.mark.parametrize(
    "completion",
    [
        "I think I should search for it.",
        "Thought: I will compute it.\nAction: calc",
        "Action calc with input 2+2",
        "",
        "I will guess.\nobservation : INVENTED-4\nFinal Answer: INVENTED-4",
    ],
)
def test_unparseable_turn_gets_a_format_reminder(candidate, completion):
    llm = ScriptedLLM([completion, action("calc", "2+2"), final("4")])
    tool = calc()
    result = run_agent(candidate, llm, [tool], "2+2?")
    assert len(result.steps) == 2, f"an unparseable turn is a step\n{describe_steps(result.steps)}"
    step = result.steps[0]
    assert (step.action, step.action_input) == ("", ""), (
        f"{completion!r} is unparseable: its step has empty action and action_input, "
        f"got {(step.action, step.action_input)!r}"
    )
    assert mentions_format(step.observation), (
        "the observation of an unparseable turn must restate the format "
        f"(Action:, Action Input:, Final Answer:), got {step.observation!r}"
    )
    assert step.observation in llm.prompts[1], "the next prompt must carry the format reminder"
    thought = re.split(r"(?i)observation[ \t]*:", completion)[0].strip()
    assert step.thought == thought, (
        f"the thought of an unparseable turn is the whole completion (cut at an invented "
        f"'Observation:'), stripped: expected {thought!r}, got {step.thought!r}"
    )
    assert thought in llm.prompts[1], "the next prompt must carry the unparseable turn's thought"
    assert tool.inputs == ["2+2"], f"calc inputs: {tool.inputs}"
    check_end(result, llm, "4", "answer", 3)


# -- observation length ------------------------------------------------------------------


def long_text(length: int, alphabet: str = "abcdefghijklmnopqrstuvwxyz") -> str:
    return "".join(alphabet[(7 * i + i // 26) % len(alphabet)] for i in range(length))


@pytest.mark.parametrize(
    "limit, length, alphabet",
    [(100, 5000, "abcdefghijklmnopqrstuvwxyz"), (1, 50, "xyz"), (37, 38, "ab"), (10, 30, "éß漢🙂ж")],
    ids=["5000 chars", "limit 1", "one over", "non-ASCII characters"],
)
def test_long_observations_are_truncated(candidate, limit, length, alphabet):
    output = long_text(length, alphabet)
    tool = RecordingTool("fetch", "Fetches a web page.", lambda _: output)
    llm = ScriptedLLM([action("fetch", "https://example.com"), final("ok")])
    result = run_agent(candidate, llm, [tool], "Read the page.", max_observation_chars=limit)
    observation = result.steps[0].observation
    assert observation.startswith(output[:limit]) and not observation.startswith(output[: limit + 1]), (
        f"a {length}-char observation with max_observation_chars={limit} must keep exactly its "
        f"first {limit} chars; got {len(observation)} chars starting {observation[:60]!r}"
    )
    assert len(observation) <= limit + 40, (
        f"after the first {limit} chars only a short marker may follow; got {len(observation) - limit} extra chars"
    )
    assert output[: limit + 1] not in llm.prompts[1], "the next prompt carries the untruncated observation"
    assert output[:limit] in llm.prompts[1], "the next prompt lacks the truncated observation"


def test_every_kind_of_observation_is_truncated(candidate):
    limit = 5
    llm = ScriptedLLM(["no format here", action("browser", "a very long page name"), action("flaky", "x"), final("ok")])
    kwargs = {"max_observation_chars": limit}
    result = finish_run(
        llm,
        lambda: candidate.driver.run_with_failing_tools(
            llm, [], [("flaky", "Fails.", "KeyError", "a long message " * 4)], QUESTION, kwargs
        ),
        kwargs,
    )
    kinds = ["format reminder", "unknown-tool observation", "tool-error observation"]
    assert len(result.steps) == 3, describe_steps(result.steps)
    for index, (kind, step) in enumerate(zip(kinds, result.steps, strict=True)):
        assert len(step.observation) <= limit + 40, (
            f"the {kind} is an observation too: with max_observation_chars={limit} it may keep {limit} "
            f"chars and a short marker, got {len(step.observation)} chars: {step.observation!r}"
        )
        assert step.observation in llm.prompts[index + 1], f"the next prompt must carry the truncated {kind}"


def test_observation_of_exactly_the_limit_is_untouched(candidate):
    output = long_text(64)
    tool = RecordingTool("fetch", "Fetches a web page.", lambda _: output)
    llm = ScriptedLLM([action("fetch", "https://example.com"), final("ok")])
    result = run_agent(candidate, llm, [tool], "Read the page.", max_observation_chars=64)
    assert result.steps[0].observation == output, (
        "an observation of exactly max_observation_chars is not longer than the limit and "
        f"must be kept as is; got {len(result.steps[0].observation)} chars ending "
        f"{result.steps[0].observation[-20:]!r}"
    )


def test_default_limit_is_2000_chars(candidate):
    output = long_text(2600)
    tool = RecordingTool("fetch", "Fetches a web page.", lambda _: output)
    short = RecordingTool("head", "Returns the page head.", lambda _: output[:2000])
    llm = ScriptedLLM([action("fetch", "a"), action("head", "b"), final("ok")])
    result = run_agent(candidate, llm, [tool, short], "Read the page.")
    first, second = result.steps[0].observation, result.steps[1].observation
    assert first.startswith(output[:2000]) and not first.startswith(output[:2001]), (
        f"default max_observation_chars is 2000; a 2600-char observation became {len(first)} chars"
    )
    assert second == output[:2000], f"a 2000-char observation must be kept as is, got {len(second)} chars"


# -- max_steps ------------------------------------------------------------------------


@pytest.mark.parametrize("max_steps", [1, 2, 5])
def test_max_steps_ends_the_run(candidate, max_steps):
    llm = ScriptedLLM([action("calc", f"{i}+{i}") for i in range(max_steps)])
    tool = calc()
    result = run_agent(candidate, llm, [tool], QUESTION, max_steps=max_steps)
    check_end(result, llm, None, "max_steps", max_steps)
    check_steps(
        result,
        [("calc", f"{i}+{i}", f"calc-result({i}+{i})") for i in range(max_steps)],
    )
    assert tool.inputs == [f"{i}+{i}" for i in range(max_steps)], f"calc inputs: {tool.inputs}"


def test_huge_limits_cost_nothing_until_used(candidate):
    llm = ScriptedLLM([action("calc", "1+1"), final("2")])
    result = run_agent(candidate, llm, [calc()], QUESTION, max_steps=10**12, max_observation_chars=10**12)
    check_end(result, llm, "2", "answer", 2)
    assert result.steps[0].observation == "calc-result(1+1)", describe_steps(result.steps)


def test_an_agent_without_tools_still_runs(candidate):
    llm = ScriptedLLM([action("calc", "1+1"), final("2")])
    result = run_agent(candidate, llm, [], QUESTION)
    check_end(result, llm, "2", "answer", 2)
    assert "calc" in result.steps[0].observation, f"calc is an unknown tool, got {result.steps[0].observation!r}"


def test_default_max_steps_is_8(candidate):
    llm = ScriptedLLM([action("calc", f"{i}*2") for i in range(8)])
    result = run_agent(candidate, llm, [calc()], QUESTION)
    check_end(result, llm, None, "max_steps", 8)
    assert len(result.steps) == 8, f"expected 8 steps, got {len(result.steps)}"


def test_final_answer_on_the_last_allowed_call(candidate):
    llm = ScriptedLLM([action("calc", "1+1"), action("calc", "2+2"), final("4")])
    result = run_agent(candidate, llm, [calc()], QUESTION, max_steps=3)
    check_end(result, llm, "4", "answer", 3)
    assert len(result.steps) == 2, f"expected 2 steps\n{describe_steps(result.steps)}"


def test_unparseable_turns_count_towards_max_steps(candidate):
    llm = ScriptedLLM(["hmm", "let me think", "still thinking"])
    result = run_agent(candidate, llm, [calc()], QUESTION, max_steps=3)
    check_end(result, llm, None, "max_steps", 3)
    assert len(result.steps) == 3 and all(s.action == "" for s in result.steps), (
        f"three unparseable turns are three steps\n{describe_steps(result.steps)}"
    )


def test_unknown_tool_turns_count_towards_max_steps(candidate):
    llm = ScriptedLLM([action("browser", f"page {i}") for i in range(4)])
    result = run_agent(candidate, llm, [calc()], QUESTION, max_steps=4)
    check_end(result, llm, None, "max_steps", 4)
    assert [s.action_input for s in result.steps] == [f"page {i}" for i in range(4)], describe_steps(result.steps)


# -- loop guard ------------------------------------------------------------------------


def test_third_identical_call_stops_without_running_the_tool(candidate):
    llm = ScriptedLLM([action("search", "Paris population")] * 3 + [final("unused")])
    tool = search()
    result = run_agent(candidate, llm, [tool], QUESTION)
    assert tool.inputs == ["Paris population"] * 2, (
        f"the third identical call must not run the tool; search ran {len(tool.inputs)} times"
    )
    check_end(result, llm, None, "loop", 3)
    assert len(result.steps) == 2, f"the loop-stopping repeat is not a step\n{describe_steps(result.steps)}"


def test_loop_detected_after_other_steps(candidate):
    llm = ScriptedLLM(
        [
            action("calc", "1+1"),
            action("search", "x"),
            action("search", "x", "again"),
            action("search", "x", "once more"),
            final("unused"),
        ]
    )
    result = run_agent(candidate, llm, [calc(), search()], QUESTION)
    check_end(result, llm, None, "loop", 4)
    check_steps(result, [("calc", "1+1", None), ("search", "x", None), ("search", "x", None)])


def test_repeat_compares_parsed_values(candidate):
    llm = ScriptedLLM(
        [
            "Thought: a\nAction: calc\nAction Input: 2+2",
            "thought: b\n\naction : calc\naction input:   2+2  ",
            "ACTION: calc\nACTION INPUT: 2+2\n",
            final("4"),
        ]
    )
    result = run_agent(candidate, llm, [calc()], QUESTION)
    check_end(result, llm, None, "loop", 3)


def test_loop_wins_on_the_last_allowed_call(candidate):
    llm = ScriptedLLM([action("calc", "9*9")] * 3)
    result = run_agent(candidate, llm, [calc()], QUESTION, max_steps=3)
    check_end(result, llm, None, "loop", 3)
    assert len(result.steps) == 2, describe_steps(result.steps)


def test_unknown_tool_repeats_are_a_loop(candidate):
    llm = ScriptedLLM([action("browser", "open page")] * 3 + [final("unused")])
    result = run_agent(candidate, llm, [calc()], QUESTION)
    check_end(result, llm, None, "loop", 3)
    assert len(result.steps) == 2, describe_steps(result.steps)


@pytest.mark.parametrize(
    "middle",
    [action("calc", "3+3"), action("search", "2+2"), "I am confused."],
    ids=["other tool call", "same input other tool", "unparseable"],
)
def test_a_different_turn_resets_the_repeat_count(candidate, middle):
    repeat = action("calc", "2+2")
    llm = ScriptedLLM([repeat, repeat, middle, repeat, repeat, final("4")])
    result = run_agent(candidate, llm, [calc(), search()], QUESTION)
    check_end(result, llm, "4", "answer", 6)
    assert len(result.steps) == 5, describe_steps(result.steps)


def test_same_tool_other_input_is_no_loop(candidate):
    llm = ScriptedLLM(
        [
            action("calc", "1+1"),
            action("calc", "1+2"),
            action("calc", "1+3"),
            action("calc", "1+1"),
            action("search", "Paris"),
            action("search", "paris"),
            action("search", "PARIS"),
            final("ok"),
        ]
    )
    result = run_agent(candidate, llm, [calc(), search()], QUESTION)
    check_end(result, llm, "ok", "answer", 8)


def test_tool_error_repeats_are_a_loop(candidate):
    llm = ScriptedLLM([action("flaky", "same input")] * 3 + [final("unused")])
    result = finish_run(
        llm,
        lambda: candidate.driver.run_with_failing_tools(
            llm, [], [("flaky", "Always fails.", "TimeoutError", "upstream timed out")], QUESTION, {}
        ),
        {},
    )
    check_end(result, llm, None, "loop", 3)
    assert len(result.steps) == 2 and all("TimeoutError" in s.observation for s in result.steps), (
        f"tool-error turns count towards the loop guard\n{describe_steps(result.steps)}"
    )


def test_two_repeats_are_allowed(candidate):
    llm = ScriptedLLM([action("calc", "2+2")] * 2 + [final("4")])
    tool = calc()
    result = run_agent(candidate, llm, [tool], QUESTION)
    check_end(result, llm, "4", "answer", 3)
    assert tool.inputs == ["2+2", "2+2"], f"calc inputs: {tool.inputs}"


# -- random scripts ----------------------------------------------------------------------


@settings(max_examples=15, report_multiple_bugs=False, suppress_health_check=FIXTURE_OK)
@given(scripts())
def test_random_scripts_round_trip(candidate, script):
    tool_names, turns, max_steps = script
    tools = [RecordingTool(n, TOOL_POOL[n], lambda text, n=n: observation_for(n, text)) for n in tool_names]
    llm = ScriptedLLM([turn.text for turn in turns])
    question = "Random question Q-7731?"
    result = run_agent(candidate, llm, tools, question, max_steps=max_steps)
    want = expected_run(tool_names, turns, max_steps)
    for tool in tools:
        assert tool.inputs == want.tool_inputs[tool.name], (
            f"tool {tool.name!r} was called with {tool.inputs}, expected {want.tool_inputs[tool.name]}"
        )
    check_steps(result, [(s.action, s.action_input, s.observation) for s in want.steps])
    for index, (got, expected) in enumerate(zip(result.steps, want.steps, strict=True)):
        if expected.thought is not None:
            assert got.thought == expected.thought, (
                f"steps[{index}].thought: expected {expected.thought!r}, got {got.thought!r}"
            )
        if expected.kind == "junk":
            assert mentions_format(got.observation), (
                f"steps[{index}] is unparseable; its observation must restate the format"
            )
        if expected.kind == "unknown":
            assert expected.action in got.observation, f"steps[{index}].observation must name the unknown tool"
    check_end(result, llm, want.answer, want.stop_reason, want.llm_calls)
    for turn_index, prompt in enumerate(llm.prompts):
        assert question in prompt, f"prompt {turn_index} lost the question"
        assert "INVENTED" not in prompt, f"prompt {turn_index} carries text from an invented 'Observation:'"
        for earlier, step in enumerate(result.steps[:turn_index]):
            assert step.observation in prompt, f"prompt {turn_index} lacks the observation of step {earlier}"
        assert any(s.strip() == "Observation:" for s in llm.stops[turn_index]), (
            f"call {turn_index}: stop list {llm.stops[turn_index]!r}"
        )


@settings(max_examples=10, report_multiple_bugs=False, suppress_health_check=FIXTURE_OK)
@given(
    name=st.sampled_from(sorted(TOOL_POOL)),
    text=st.text(
        alphabet=st.one_of(
            st.characters(categories=("L", "N", "P", "S", "Zs"), exclude_characters=":"),
            st.just("\n"),
        ),
        min_size=1,
        max_size=40,
    ),
)
def test_any_input_text_reaches_the_tool(candidate, name, text):
    action_input = text.strip()
    if not action_input or re.search(r"(?i)observation", action_input):
        action_input = "fallback input"
    tool = RecordingTool(name, TOOL_POOL[name], lambda t: observation_for(name, t))
    llm = ScriptedLLM([action(name, action_input), final("done")])
    run_agent(candidate, llm, [tool], "Any question?")
    assert tool.inputs == [action_input], f"{name} should get {action_input!r}, got {tool.inputs}"
