"""Project tests for the continuous-batching-scheduler problem that need no judge runner.

The checker-side model (scheduler_oracle) is checked against the statement's rules written out
by hand, the reference against the model on long seeded workloads (with the trace invariants),
and the statement's worked examples against both; the invariant checker is checked to catch a
trace that breaks a budget.
"""

import random
import sys
from pathlib import Path

import pytest

from .problem_support import load

REPO = Path(__file__).resolve().parents[1]
PROBLEM = REPO / "problems" / "continuous-batching-scheduler"

reference = load(REPO / "solutions_ref" / "continuous_batching_scheduler.py", "continuous_batching_reference")
sys.path.insert(0, str(PROBLEM))
oracle = load(PROBLEM / "scheduler_oracle.py", "continuous_batching_oracle")
driver = load(PROBLEM / "driver.py", "continuous_batching_driver")
sys.path.remove(str(PROBLEM))


def add(request_id, prompt_len, max_new_tokens, arrival_time=0.0):
    return ("add", request_id, prompt_len, max_new_tokens, arrival_time)


def steps(*times):
    return [("step", float(t)) for t in times]


def batch(prefill, decode, preempted, finished):
    return {"prefill": prefill, "decode": decode, "preempted": preempted, "finished": finished}


EXAMPLE_1 = (
    (8, 2, 6, 4),
    [add("A", 6, 3), add("B", 5, 2), add("C", 3, 2, 0.5), *steps(1, 2, 3, 4, 5), ("metrics",)],
    [
        batch([("A", 6), ("B", 2)], [], [], []),
        batch([("B", 3)], ["A"], [], []),
        batch([], ["A", "B"], [], ["A", "B"]),
        batch([("C", 3)], [], [], []),
        batch([], ["C"], [], ["C"]),
    ],
    {
        "num_finished": 3,
        "output_tokens": 7,
        "prefill_tokens": 14,
        "decode_tokens": 4,
        "ttft_mean": 6.5 / 3,
        "ttft_p50": 2.0,
        "ttft_p99": 3.5,
        "itl_mean": 1.0,
        "itl_p99": 1.0,
        "throughput": 1.4,
    },
)
EXAMPLE_2 = (
    (16, 4, 3, 2),
    [add("A", 2, 4), add("B", 2, 4), *steps(1, 2, 3, 4, 5, 6, 7), ("metrics",)],
    [
        batch([("A", 2), ("B", 2)], [], [], []),
        batch([], ["A"], ["B"], []),
        batch([], ["A"], [], []),
        batch([], ["A"], [], ["A"]),
        batch([("B", 3)], [], [], []),
        batch([], ["B"], [], []),
        batch([], ["B"], [], ["B"]),
    ],
    {
        "num_finished": 2,
        "output_tokens": 8,
        "prefill_tokens": 7,
        "decode_tokens": 5,
        "ttft_mean": 1.0,
        "ttft_p50": 1.0,
        "ttft_p99": 1.0,
        "itl_mean": 1.5,
        "itl_p99": 4.0,
        "throughput": 8 / 7,
    },
)


@pytest.mark.parametrize("example", [EXAMPLE_1, EXAMPLE_2], ids=["chunked-prefill", "preemption"])
@pytest.mark.parametrize("implementation", ["oracle", "reference"])
def test_statement_examples(example, implementation):
    config, events, expected_batches, expected_metrics = example
    if implementation == "oracle":
        results = oracle.run_script(config, events)
    else:
        results = driver.run_script(reference, list(config), events)
    got_batches = [r for r in results if isinstance(r, dict) and "prefill" in r]
    assert got_batches == expected_batches
    metrics = results[-1]
    for name, value in expected_metrics.items():
        assert metrics[name] == pytest.approx(value, rel=1e-12), name


@pytest.mark.parametrize(
    ("count", "p50", "p99"),
    [(1, 1, 1), (2, 1, 2), (3, 2, 3), (4, 2, 4), (99, 50, 99), (100, 50, 99), (101, 51, 100), (200, 100, 198)],
)
def test_nearest_rank_by_hand(count, p50, p99):
    values = [float(v) for v in range(count, 0, -1)]  # unsorted on purpose
    assert oracle.nearest_rank(values, 50) == p50
    assert oracle.nearest_rank(values, 99) == p99
    assert reference._nearest_rank(values, 50) == p50
    assert reference._nearest_rank(values, 99) == p99
    assert oracle.nearest_rank([], 99) is None


def test_recompute_refills_prompt_and_output_by_hand():
    # A decodes alone once B is preempted; B then recomputes 2 prompt + 1 output tokens
    config, events, expected, _ = EXAMPLE_2
    results = oracle.run_script(config, events)
    assert results[6] == expected[4] and results[6]["prefill"] == [("B", 2 + 1)]


@pytest.mark.parametrize("seed", range(12))
def test_reference_matches_the_model_and_keeps_the_invariants(seed):
    rng = random.Random(seed)
    max_seqs = rng.randint(1, 8)
    config = (max_seqs + rng.randint(0, 48), max_seqs, rng.randint(1, 40), rng.choice([1, 2, 4, 16]))
    events, expected = oracle.random_script(rng, config, steps=250)
    assert oracle.run_script(config, events) == expected  # the generator books what a replay gives
    got = driver.run_script(reference, list(config), events)
    assert oracle.first_violation(config, events, got) is None
    assert oracle.first_difference(events, expected, got) is None


def test_random_workloads_exercise_every_rule():
    preempted = finished_early = chunked = 0
    for seed in range(12):
        rng = random.Random(seed)
        max_seqs = rng.randint(1, 8)
        config = (max_seqs + rng.randint(0, 48), max_seqs, rng.randint(1, 40), rng.choice([1, 2, 4, 16]))
        events, expected = oracle.random_script(rng, config, steps=250)
        finished_early += sum(e[0] == "finish" for e in events)
        chunks: dict[str, int] = {}
        for result in expected:
            if isinstance(result, dict) and "prefill" in result:
                preempted += len(result["preempted"])
                for rid, _ in result["prefill"]:
                    chunks[rid] = chunks.get(rid, 0) + 1
        chunked += sum(count > 1 for count in chunks.values())  # chunked prompts and recomputations
    assert preempted > 20 and finished_early > 10 and chunked > 50, (preempted, finished_early, chunked)


def test_the_invariant_checker_catches_broken_traces():
    config, events, _, _ = EXAMPLE_2
    good = oracle.run_script(config, events)
    over_budget = [dict(r) if isinstance(r, dict) else r for r in good]
    over_budget[2] = batch([("A", 2), ("B", 2)], [], [], [])
    over_budget[2]["prefill"] = [("A", 9), ("B", 9)]
    assert "max_batch_tokens" in oracle.first_violation(config, events, over_budget)
    oldest = [dict(r) if isinstance(r, dict) else r for r in good]
    oldest[3] = batch([], ["B"], ["A"], [])
    assert "newest" in oracle.first_violation(config, events, oldest)
    assert oracle.first_difference(events, good, oldest) is not None
