"""Timing workload (checker side): what a take-home report's time and memory ratios measure.

Not a test of correctness (only Accepted solutions are timed): agent runs with long transcripts,
repeated, whose worker CPU time and peak memory are compared with the reference's
(docs/practice-and-takehomes.md). The scripted LLM and the tool run in the checker.
"""

from judge_harness import Record


def test_workload(candidate):
    steps = [f"Thought: step {i}.\nAction: echo\nAction Input: {'x' * 2000} {i}" for i in range(30)]
    script = steps + ["Thought: done.\nFinal Answer: 42"]
    tool = Record("Tool", name="echo", description="Repeats its input.", fn=lambda text: "seen " + text[-8:])
    for _ in range(3):
        replies = iter(script)
        agent = candidate.ReActAgent(lambda prompt, stop, replies=replies: next(replies), [tool], max_steps=40)
        agent.run("Count to thirty.")
