"""Timing workload (checker side): what a take-home report's time and memory ratios measure.

Not a test of correctness (only Accepted solutions are timed): long model outputs with many
calls, fences, single quotes and trailing commas, parsed and validated against a few tools.
"""

from tool_call_cases import random_case


def test_workload(candidate):
    texts = []
    for seed in range(200):
        text, tools, _ = random_case(seed)
        if text and isinstance(candidate.parse_tool_calls(text, tools), list):
            texts.append((text, tools))
    for text, tools in texts[:40]:
        candidate.parse_tool_calls("\n".join([text] * 50).replace("```", "") + "\n", tools)
