"""Hidden tests for continuous-batching-scheduler: scripted workloads replayed next to the submission.

Each test builds a script of events (add, step, finish, metrics), replays it in the worker in one
call (driver.run_script) and compares every result with the checker-side model
(scheduler_oracle), naming the first event that differs. Some tests also spell out the expected
batches by hand; the random workloads are checked for budgets, FCFS and preemption order after
every step as well.
"""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scheduler_oracle import first_difference, first_violation, random_script, run_script

from judge_harness import CandidateError, Record, expect_raises


def add(request_id: str, prompt_len: int, max_new_tokens: int, arrival_time: float = 0.0) -> tuple:
    return ("add", request_id, prompt_len, max_new_tokens, arrival_time)


def steps(*times: float) -> list[tuple]:
    return [("step", float(t)) for t in times]


METRICS = ("metrics",)


def replay(candidate, config: tuple[int, int, int, int], events: list[tuple]) -> list:
    """Run the script on the submission and on the model; fail at the first difference."""
    got = candidate.driver.run_script(list(config), events)
    expected = run_script(config, events)
    difference = first_difference(events, expected, got)
    assert difference is None, f"Scheduler{config}: {difference}"
    return got


def batches(results: list) -> list[tuple]:
    return [
        (r["prefill"], r["decode"], r["preempted"], r["finished"])
        for r in results
        if isinstance(r, dict) and "prefill" in r
    ]


def check_batches(results: list, expected: list[tuple]) -> None:
    got = batches(results)
    for index, (have, want) in enumerate(zip(got, expected, strict=False)):
        assert have == want, (
            f"step {index + 1}: (prefill, decode, preempted, finished)\n  got      {have}\n  expected {want}"
        )


def request(request_id: str, prompt_len: int, max_new_tokens: int, arrival_time: float = 0.0) -> Record:
    return Record(
        "Request",
        request_id=request_id,
        prompt_len=prompt_len,
        max_new_tokens=max_new_tokens,
        arrival_time=arrival_time,
    )


# -- the statement's examples -----------------------------------------------------------------


def test_statement_example_chunked_prefill_and_sequence_cap(candidate):
    events = [add("A", 6, 3), add("B", 5, 2), add("C", 3, 2, 0.5), *steps(1, 2, 3, 4, 5, 6), METRICS]
    results = replay(candidate, (8, 2, 6, 4), events)
    check_batches(
        results,
        [
            ([("A", 6), ("B", 2)], [], [], []),
            ([("B", 3)], ["A"], [], []),
            ([], ["A", "B"], [], ["A", "B"]),
            ([("C", 3)], [], [], []),
            ([], ["C"], [], ["C"]),
            ([], [], [], []),
        ],
    )


def test_statement_example_preemption(candidate):
    events = [add("A", 2, 4), add("B", 2, 4), *steps(1, 2, 3, 4, 5, 6, 7), METRICS]
    results = replay(candidate, (16, 4, 3, 2), events)
    check_batches(
        results,
        [
            ([("A", 2), ("B", 2)], [], [], []),
            ([], ["A"], ["B"], []),
            ([], ["A"], [], []),
            ([], ["A"], [], ["A"]),
            ([("B", 3)], [], [], []),
            ([], ["B"], [], []),
            ([], ["B"], [], ["B"]),
        ],
    )


# -- continuous batching: slots refilled, phases in order ----------------------------------------


def test_a_finished_slot_is_refilled_in_the_next_step(candidate):
    # static batching would wait for the long request B before admitting C
    events = [add("A", 2, 2), add("B", 2, 6), add("C", 2, 2), *steps(1, 2, 3, 4), METRICS]
    results = replay(candidate, (16, 2, 16, 4), events)
    check_batches(
        results,
        [
            ([("A", 2), ("B", 2)], [], [], []),
            ([], ["A", "B"], [], ["A"]),
            ([("C", 2)], ["B"], [], []),
            ([], ["B", "C"], [], ["C"]),
        ],
    )


def test_requests_arriving_later_join_a_running_batch(candidate):
    events = [add("A", 3, 8), *steps(1, 2), add("B", 3, 2, 2.5), *steps(3, 4), add("C", 1, 1, 4.5), *steps(5, 6)]
    results = replay(candidate, (16, 4, 16, 4), [*events, METRICS])
    check_batches(
        results,
        [
            ([("A", 3)], [], [], []),
            ([], ["A"], [], []),
            ([("B", 3)], ["A"], [], []),
            ([], ["A", "B"], [], ["B"]),
            ([("C", 1)], ["A"], [], ["C"]),
            ([], ["A"], [], []),
        ],
    )


def test_decodes_then_continuing_prefill_then_admissions(candidate):
    # A decodes, B's prompt is chunked over three steps, C is admitted only when B's prefill ends
    events = [add("A", 2, 10), add("B", 12, 3), add("C", 2, 2), *steps(1, 2, 3, 4, 5), METRICS]
    results = replay(candidate, (6, 4, 32, 4), events)
    check_batches(
        results,
        [
            ([("A", 2), ("B", 4)], [], [], []),
            ([("B", 5)], ["A"], [], []),
            ([("B", 3), ("C", 2)], ["A"], [], []),
            ([], ["A", "B", "C"], [], ["C"]),
            ([], ["A", "B"], [], ["B"]),
        ],
    )


def test_a_long_prompt_is_chunked_and_emits_at_its_last_chunk(candidate):
    events = [add("A", 20, 2), *steps(1, 2, 3, 4), METRICS]
    results = replay(candidate, (8, 1, 8, 4), events)
    check_batches(
        results,
        [([("A", 8)], [], [], []), ([("A", 8)], [], [], []), ([("A", 4)], [], [], []), ([], ["A"], [], ["A"])],
    )
    assert results[-1]["ttft_mean"] == 3.0, (
        f"ttft_mean: {results[-1]['ttft_mean']}, expected 3.0 (first token at now=3)"
    )


def test_the_token_budget_is_filled_exactly(candidate):
    events = [add(f"r{i}", 3, 2) for i in range(5)]
    results = replay(candidate, (10, 8, 64, 4), [*events, *steps(1, 2, 3), METRICS])
    check_batches(
        results,
        [
            ([("r0", 3), ("r1", 3), ("r2", 3), ("r3", 1)], [], [], []),
            ([("r3", 2), ("r4", 3)], ["r0", "r1", "r2"], [], ["r0", "r1", "r2"]),
            ([], ["r3", "r4"], [], ["r3", "r4"]),
        ],
    )


def test_the_sequence_cap_counts_running_requests_not_batch_entries(candidate):
    # max_seqs = 2: C waits even though the budget has room, until A or B finishes
    events = [add("A", 1, 3), add("B", 1, 4), add("C", 1, 1), *steps(1, 2, 3, 4, 5), METRICS]
    results = replay(candidate, (64, 2, 64, 1), events)
    check_batches(
        results,
        [
            ([("A", 1), ("B", 1)], [], [], []),
            ([], ["A", "B"], [], []),
            ([], ["A", "B"], [], ["A"]),
            ([("C", 1)], ["B"], [], ["B", "C"]),
        ],
    )


def test_max_seqs_one_serves_requests_one_by_one(candidate):
    events = [add(f"r{i}", 2, 2, 0.1 * i) for i in range(4)]
    replay(candidate, (4, 1, 4, 2), [*events, *steps(*range(1, 10)), METRICS])


# -- KV blocks and preemption ------------------------------------------------------------------------


def test_a_decode_at_a_block_boundary_takes_a_new_block(candidate):
    # 8 prompt tokens fill 2 blocks of 4 exactly; A's first decode needs a third block
    events = [add("A", 8, 3), add("B", 4, 3), *steps(1, 2, 3, 4), METRICS]
    results = replay(candidate, (16, 2, 3, 4), events)
    check_batches(
        results,
        [
            ([("A", 8), ("B", 4)], [], [], []),
            ([], ["A"], ["B"], []),
            ([], ["A"], [], ["A"]),
            ([("B", 5)], [], [], []),
        ],
    )


def test_the_newest_running_request_is_preempted_not_the_oldest(candidate):
    # A, B, C each hold one block of 2; A's decode needs a second block: C (the newest) goes
    events = [add("A", 2, 3), add("B", 2, 3), add("C", 2, 3), *steps(1, 2, 3), METRICS]
    results = replay(candidate, (16, 4, 4, 2), events)
    check_batches(
        results,
        [
            ([("A", 2), ("B", 2), ("C", 2)], [], [], []),
            ([], ["A", "B"], ["C"], []),
        ],
    )


def test_each_decode_that_needs_a_block_preempts_the_newest_left(candidate):
    # four requests fill the four blocks; A's decode preempts D, then B's preempts C
    events = [add("A", 2, 3), add("B", 2, 3), add("C", 1, 3), add("D", 1, 3), *steps(*range(1, 12)), METRICS]
    results = replay(candidate, (16, 4, 4, 2), events)
    check_batches(results, [([("A", 2), ("B", 2), ("C", 1), ("D", 1)], [], [], []), ([], ["A", "B"], ["D", "C"], [])])


def test_a_preempted_request_goes_back_to_its_arrival_position(candidate):
    # D arrives after B; B is preempted and must be admitted again before D
    events = [add("A", 2, 5), add("B", 2, 5), *steps(1), add("D", 2, 2, 1.5), *steps(2, 3, 4, 5, 6, 7, 8, 9, 10)]
    results = replay(candidate, (16, 4, 3, 2), [*events, METRICS])
    flat = batches(results)
    assert flat[1][2] == ["B"], f"step 2: B (the newest running) is preempted, got preempted={flat[1][2]}"
    admitted = [rid for prefill, *_ in flat[2:] for rid, _ in prefill]
    assert admitted[:1] == ["B"], f"after A finishes, B (older than D) is admitted first, got admissions {admitted}"


def test_no_admission_in_a_step_that_preempted(candidate):
    # at now=3 B preempts itself; a 2-token chunk of its recomputation would fit the free block
    # and the 2 tokens of budget left, but admission waits for the next step
    events = [add("A", 2, 4), add("B", 2, 4), *steps(*range(1, 11)), METRICS]
    results = replay(candidate, (3, 2, 3, 2), events)
    check_batches(results, [([("A", 2), ("B", 1)], [], [], []), ([("B", 1)], ["A"], [], []), ([], ["A"], ["B"], [])])
    for prefill, _, preempted, _ in batches(results):
        assert not (preempted and prefill), f"a step that preempted {preempted} admitted {prefill}"


def test_a_continuing_prefill_that_cannot_grow_preempts_itself(candidate):
    events = [add("A", 2, 6), add("B", 9, 2), *steps(*range(1, 12)), METRICS]
    results = replay(candidate, (4, 2, 5, 2), events)
    assert any(preempted == ["B"] for _, _, preempted, _ in batches(results)), "B should preempt itself mid-prefill"


def test_recomputation_prefills_the_prompt_and_the_output_so_far(candidate):
    events = [add("A", 4, 6), add("B", 4, 6), *steps(*range(1, 16)), METRICS]
    results = replay(candidate, (16, 2, 5, 4), events)
    chunks = [chunk for prefill, *_ in batches(results) for chunk in prefill if chunk[0] == "B"]
    assert len(chunks) >= 2 and chunks[1][1] > 4, f"B's recomputation prefills 4 + g tokens, got chunks {chunks}"


def test_admission_stops_at_a_head_that_does_not_fit(candidate):
    # B needs 3 blocks for its 12-token chunk, 2 are free: C (1 block) must not jump the queue
    events = [add("A", 8, 1), add("B", 12, 1), add("C", 2, 1), *steps(*range(1, 10)), METRICS]
    results = replay(candidate, (24, 4, 4, 4), events)
    first = batches(results)[0]
    assert first[0] == [("A", 8)], f"step 1: only A is admitted (B blocks the head of the queue), got {first[0]}"


def test_admission_needs_blocks_for_its_chunk_only(candidate):
    # B's 16-token prompt needs 4 blocks in all, but its first chunk of 4 tokens needs only 1
    events = [add("A", 4, 3), add("B", 16, 1), *steps(*range(1, 10)), METRICS]
    results = replay(candidate, (8, 2, 5, 4), events)
    assert batches(results)[0][0] == [("A", 4), ("B", 4)], f"step 1: {batches(results)[0][0]}"


def test_a_request_that_exactly_fits_the_cache_completes(candidate):
    # ceil((6 + 3 - 1) / 4) = 2 blocks = num_kv_blocks: accepted, and it completes alone
    replay(candidate, (8, 1, 2, 4), [add("A", 6, 3), *steps(1, 2, 3, 4), METRICS])


def test_nothing_starves_under_constant_pressure(candidate):
    rng = random.Random(7)
    events, now = [], 0.0
    for index in range(60):
        events.append(add(f"r{index}", rng.randint(1, 12), rng.randint(1, 12), now))
        now = round(now + 0.05, 6)
        events += [("step", round(now + 0.01, 6))]
        now = round(now + 0.01, 6)
    events += [("step", round(now + 0.01 * (k + 1), 6)) for k in range(600)]
    results = replay(candidate, (12, 4, 6, 4), [*events, METRICS])
    assert results[-1]["num_finished"] == 60, f"{results[-1]['num_finished']} of 60 requests finished"


# -- finish() and early stops --------------------------------------------------------------------------


def test_finish_frees_the_slot_and_the_blocks_for_the_next_step(candidate):
    events = [add("A", 4, 4), add("B", 8, 1), *steps(1), ("finish", "A"), *steps(2, 3), METRICS]
    results = replay(candidate, (16, 1, 2, 4), events)
    check_batches(results, [([("A", 4)], [], [], []), ([("B", 8)], [], [], ["B"]), ([], [], [], [])])
    assert results[-1]["output_tokens"] == 2, f"output_tokens: {results[-1]['output_tokens']}, expected 1 + 1"


def test_finish_of_a_recomputed_request_counts_its_tokens(candidate):
    events = [add("A", 2, 4), add("B", 2, 4), *steps(1, 2), ("finish", "A"), *steps(3, 4), ("finish", "B"), METRICS]
    results = replay(candidate, (16, 4, 3, 2), events)
    check_batches(results, [([("A", 2), ("B", 2)], [], [], []), ([], ["A"], ["B"], []), ([("B", 3)], [], [], [])])


# -- metrics -----------------------------------------------------------------------------------


def test_metrics_are_none_before_anything_finished(candidate):
    events = [METRICS, add("A", 4, 3), *steps(1), METRICS, *steps(2, 3), METRICS]
    results = replay(candidate, (16, 2, 8, 4), events)
    assert results[0]["throughput"] is None and results[0]["ttft_p99"] is None, f"empty metrics: {results[0]}"
    assert results[3]["num_finished"] == 0 and results[3]["prefill_tokens"] == 4, f"after one step: {results[3]}"


def test_single_token_requests_have_no_inter_token_gaps(candidate):
    events = [add("A", 4, 1), add("B", 4, 1, 0.5), *steps(1, 2), METRICS]
    results = replay(candidate, (16, 2, 8, 4), events)
    assert results[-1]["itl_mean"] is None and results[-1]["itl_p99"] is None, f"metrics: {results[-1]}"
    assert results[-1]["ttft_mean"] == 0.75, f"ttft_mean: {results[-1]['ttft_mean']}, expected (1 + 0.5) / 2"


def test_ttft_runs_from_arrival_not_from_admission(candidate):
    # B waits 4 steps for A's slot: its TTFT includes the queueing
    events = [add("A", 2, 4), add("B", 2, 1, 0.5), *steps(1, 2, 3, 4, 5), METRICS]
    results = replay(candidate, (16, 1, 8, 2), events)
    assert results[-1]["ttft_p99"] == 4.5, f"ttft_p99: {results[-1]['ttft_p99']}, expected B's 5 - 0.5"


@pytest.mark.parametrize("count", [1, 2, 3, 4, 7, 50, 99, 100, 101, 150, 199, 200, 201])
def test_percentiles_are_nearest_rank(candidate, count):
    # count one-token requests, one per step: TTFTs 1, 2, ..., count (all distinct, in order)
    events = [add(f"r{i}", 1, 1) for i in range(count)]
    results = replay(candidate, (1, 1, 1, 1), [*events, *steps(*range(1, count + 1)), METRICS])
    p50, p99 = -(-50 * count // 100), -(-99 * count // 100)
    metrics = results[-1]
    assert (metrics["ttft_p50"], metrics["ttft_p99"]) == (float(p50), float(p99)), (
        f"{count} TTFTs 1..{count}: ttft_p50 {metrics['ttft_p50']}, ttft_p99 {metrics['ttft_p99']}; "
        f"nearest rank gives {p50} and {p99}"
    )


def test_gaps_are_pooled_over_requests_not_averaged_per_request(candidate):
    # A: 2 gaps of 1, B: one gap of 4 -> pooled mean 2.0 (a mean of per-request means is 2.5)
    events = [add("A", 2, 3), *steps(1, 2, 3), add("B", 2, 2, 3.0), *steps(4, 8), METRICS]
    results = replay(candidate, (16, 2, 8, 2), events)
    assert results[-1]["itl_mean"] == 2.0, f"itl_mean: {results[-1]['itl_mean']}, expected (1 + 1 + 4) / 3"


def test_throughput_runs_to_the_latest_token_not_the_last_finisher(candidate):
    # at 3 B is preempted and A finishes (last token at 3); at 4 B recomputes 2 of its 3 known
    # tokens and emits nothing; finish("B") then ends B with its last token at 2: the span is
    # max(3, 2) - 0 = 3 (the last finisher's last token would give 2)
    events = [add("A", 1, 3), add("B", 1, 3), *steps(1, 2, 3, 4), ("finish", "B"), METRICS]
    results = replay(candidate, (2, 2, 4, 1), events)
    check_batches(results, [([("A", 1), ("B", 1)], [], [], []), ([], ["A", "B"], [], []), ([], ["A"], ["B"], ["A"])])
    assert results[-1]["throughput"] == 5 / 3, f"throughput: {results[-1]['throughput']}, expected 5 / (3 - 0)"


def test_prefill_and_decode_tokens_are_counted_apart(candidate):
    events = [add("A", 10, 5), add("B", 3, 2), *steps(*range(1, 9)), METRICS]
    results = replay(candidate, (4, 2, 8, 4), events)
    metrics = results[-1]
    counts = (metrics["prefill_tokens"], metrics["decode_tokens"], metrics["output_tokens"])
    assert counts == (13, 5, 7), f"(prefill_tokens, decode_tokens, output_tokens): {counts}, expected (13, 5, 7)"


def test_metrics_change_as_the_run_goes_on(candidate):
    events = [add("A", 3, 2), add("B", 5, 4, 0.25), METRICS]
    events += [*steps(1), METRICS, *steps(2), METRICS, *steps(3.5), METRICS, *steps(5, 6), METRICS]
    replay(candidate, (4, 2, 8, 4), events)


# -- two schedulers, the caller's data ---------------------------------------------------------------------


def test_two_schedulers_side_by_side_share_nothing(candidate):
    events_a = [add("x", 4, 3), add("y", 6, 2), *steps(1, 2, 3, 4), METRICS]
    events_b = [add("x", 2, 5), add("z", 2, 5), *steps(1, 2, 3, 4, 5, 6), METRICS]
    config_a, config_b = (8, 2, 8, 4), (16, 4, 3, 2)
    got_a, got_b = candidate.driver.two_schedulers_interleaved(list(config_a), events_a, list(config_b), events_b)
    for name, config, events, got in (("first", config_a, events_a, got_a), ("second", config_b, events_b, got_b)):
        difference = first_difference(events, run_script(config, events), got)
        assert difference is None, f"the {name} scheduler {config}, interleaved with another: {difference}"


def test_requests_are_not_modified(candidate):
    events = [add("A", 2, 4), add("B", 2, 4), add("C", 5, 2), *steps(*range(1, 10)), ("metrics",)]
    changed = candidate.driver.requests_left_alone([16, 4, 3, 2], events)
    assert changed == [], "the scheduler modified the caller's Request objects: " + "; ".join(changed)


def test_empty_id_zero_arrival_and_one_token_are_ordinary_values(candidate):
    events = [add("", 3, 1, 0.0), add("0", 1, 2, 0.0), *steps(0.5, 1.0), METRICS]
    results = replay(candidate, (4, 2, 2, 4), events)
    check_batches(results, [([("", 3), ("0", 1)], [], [], [""]), ([], ["0"], [], ["0"])])


def test_extreme_settings(candidate):
    # block_size 1 and a huge one, one KV block, a huge token budget, a far-away clock
    replay(candidate, (64, 8, 40, 1), [add("A", 20, 10), add("B", 15, 10), *steps(*range(1, 25)), METRICS])
    replay(
        candidate,
        (64, 3, 3, 10**6),
        [add("A", 5, 9), add("B", 50, 2), add("C", 1, 1), *steps(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), METRICS],
    )
    replay(candidate, (1, 1, 1, 2), [add("A", 1, 2), add("B", 2, 1), *steps(1, 2, 3, 4), METRICS])
    far = 1e9
    replay(
        candidate,
        (10**9, 2, 10**6, 16),
        [add("A", 10**6, 3, far), add("B", 10, 2, far), *steps(far + 1, far + 2, far + 3), METRICS],
    )


# -- every error case -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "settings_",
    [
        (0, 1, 1, 1),
        (1, 0, 1, 1),
        (1, 1, 0, 1),
        (1, 1, 1, 0),
        (-4, 1, 1, 1),
        (4, 1, 1, -1),
        (True, 1, 1, 1),
        (4, 1, 1, 2.0),
        (None, 1, 1, 1),
        ("8", 2, 6, 4),
        (3, 4, 8, 4),
    ],
    ids=[
        "tokens=0",
        "seqs=0",
        "blocks=0",
        "block_size=0",
        "tokens<0",
        "block_size<0",
        "bool",
        "float",
        "None",
        "str",
        "tokens<seqs",
    ],
)
def test_bad_settings_raise_value_error(candidate, settings_):
    with expect_raises("ValueError"):
        candidate.Scheduler(*settings_)


def test_the_budget_may_equal_the_sequence_cap(candidate):
    replay(candidate, (3, 3, 8, 2), [add("A", 4, 3), add("B", 1, 3), add("C", 1, 2), *steps(1, 2, 3, 4, 5), METRICS])


def test_duplicate_request_id_raises_value_error(candidate):
    scheduler = candidate.Scheduler(8, 2, 8, 4)
    scheduler.add(request("A", 2, 1))
    with expect_raises("ValueError"):
        scheduler.add(request("A", 3, 1))
    scheduler.step(1.0)  # A finishes
    with expect_raises("ValueError"):
        scheduler.add(request("A", 2, 1, 1.0))


@pytest.mark.parametrize("lengths", [(0, 4), (4, 0), (-1, 4), (4, -2)], ids=["prompt=0", "new=0", "prompt<0", "new<0"])
def test_empty_prompt_or_no_output_raises_value_error(candidate, lengths):
    scheduler = candidate.Scheduler(8, 2, 8, 4)
    with expect_raises("ValueError"):
        scheduler.add(request("A", *lengths))


def test_arrival_out_of_order_raises_value_error(candidate):
    scheduler = candidate.Scheduler(8, 2, 8, 4)
    scheduler.add(request("A", 2, 1, 1.0))
    scheduler.add(request("B", 2, 1, 1.0))  # equal arrival times are fine
    with expect_raises("ValueError"):
        scheduler.add(request("C", 2, 1, 0.5))


@pytest.mark.parametrize(
    "lengths", [(9, 1), (8, 2), (1, 9), (30, 30)], ids=["prompt", "prompt+output", "output", "both"]
)
def test_a_request_that_never_fits_raises_value_error(candidate, lengths):
    scheduler = candidate.Scheduler(8, 2, 2, 4)
    with expect_raises("ValueError"):
        scheduler.add(request("big", *lengths))
    scheduler.add(request("fits", 8, 1))  # ceil(8 / 4) = 2 blocks: exactly the cache
    scheduler.add(request("fits too", 1, 8))


@pytest.mark.parametrize("now", [1.0, 0.5, 2.0], ids=["same", "earlier", "at an arrival"])
def test_a_clock_that_does_not_advance_raises_value_error(candidate, now):
    scheduler = candidate.Scheduler(8, 2, 8, 4)
    scheduler.add(request("A", 2, 3, 0.0))
    scheduler.step(1.0)
    scheduler.add(request("B", 2, 3, 2.0 if now == 2.0 else 0.0))
    with expect_raises("ValueError"):
        scheduler.step(now)


def test_the_first_step_must_be_after_every_arrival(candidate):
    scheduler = candidate.Scheduler(8, 2, 8, 4)
    scheduler.add(request("A", 2, 3, 0.0))
    with expect_raises("ValueError"):
        scheduler.step(0.0)
    scheduler.step(1e-6)


def test_a_step_at_time_zero_is_a_step_like_any_other(candidate):
    # nothing was added, so step(0.0) is valid; the clock is then at 0.0, which is not "no step yet"
    scheduler = candidate.Scheduler(8, 2, 8, 4)
    batch = must_succeed("step(0.0) on an empty scheduler", scheduler.step, 0.0)
    assert (list(batch.prefill), list(batch.decode)) == ([], []), f"step(0.0) with nothing added: {batch}"
    with expect_raises("ValueError"):  # not later than the previous step's now, 0.0
        scheduler.step(0.0)
    with expect_raises("ValueError"):  # earlier than the previous step's now, 0.0
        scheduler.step(-1.0)
    scheduler.add(request("A", 2, 2, 0.0))
    batch = must_succeed("step(0.5) after step(0.0)", scheduler.step, 0.5)
    assert list(batch.prefill) == [("A", 2)], f"step(0.5): prefill {batch.prefill}, expected [('A', 2)]"


@pytest.mark.parametrize("case", ["unknown", "waiting", "no token yet", "already finished", "preempted"])
def test_finish_of_a_request_that_is_not_running_with_a_token_raises_value_error(candidate, case):
    scheduler = candidate.Scheduler(4, 2, 3, 2)
    for rid, prompt_len in (("A", 2), ("B", 2), ("C", 1)):
        scheduler.add(request(rid, prompt_len, 2 if rid == "C" else 4))
    scheduler.step(1.0)  # A, B emit; C waits (max_seqs 2)
    if case == "no token yet":
        scheduler = candidate.Scheduler(4, 2, 8, 2)
        scheduler.add(request("L", 6, 2))
        scheduler.step(1.0)  # 4 of L's 6 prompt tokens: running, no token yet
        target = "L"
    elif case == "preempted":
        batch = scheduler.step(2.0)  # A's decode needs a block: B is preempted
        assert list(batch.preempted) == ["B"], f"preempted: {batch.preempted}"
        target = "B"
    elif case == "already finished":
        scheduler.finish("A")
        target = "A"
    else:
        target = {"unknown": "Z", "waiting": "C"}[case]
    with expect_raises("ValueError"):
        scheduler.finish(target)


def test_a_failed_call_changes_nothing(candidate):
    scheduler = candidate.Scheduler(8, 2, 8, 4)
    scheduler.add(request("A", 2, 2, 0.0))
    for bad in (request("A", 2, 2, 0.0), request("B", 0, 2, 0.0), request("C", 40, 2, 0.0)):
        try:
            scheduler.add(bad)
        except CandidateError:
            pass
    scheduler.add(request("B", 2, 2, 0.0))
    batch = scheduler.step(1.0)
    assert list(batch.prefill) == [("A", 2), ("B", 2)], f"rejected requests must not be queued: {batch.prefill}"


def must_succeed(what: str, call, *args):
    """A call that is valid only if an earlier rejected call changed nothing: its error is a wrong answer."""
    try:
        return call(*args)
    except CandidateError as exc:
        raise AssertionError(f"{what} raised {exc.type_name}: {exc.message}") from None


def test_a_failed_step_leaves_the_clock_where_it_was(candidate):
    scheduler = candidate.Scheduler(8, 2, 8, 4)
    scheduler.add(request("A", 2, 3, 0.0))
    scheduler.step(2.0)
    with expect_raises("ValueError"):
        scheduler.step(1.0)
    with expect_raises("ValueError"):  # the clock is still at 2, not at the rejected 1
        scheduler.step(1.5)
    scheduler.add(request("B", 2, 3, 5.0))
    with expect_raises("ValueError"):  # before B's arrival
        scheduler.step(4.0)
    with expect_raises("ValueError"):  # still before it: the rejected 4 moved nothing
        scheduler.step(3.0)
    batch = must_succeed("step(6.0) after the rejected steps", scheduler.step, 6.0)
    assert (list(batch.prefill), list(batch.decode)) == ([("B", 2)], ["A"]), (
        f"the step after the rejected ones: prefill {batch.prefill}, decode {batch.decode}"
    )


@pytest.mark.parametrize("bad", ["duplicate", "empty prompt", "never fits"])
def test_a_failed_add_leaves_the_arrival_floor_where_it_was(candidate, bad):
    # a rejected request arriving at 5 is not added: a step at 1 and a request at 0.5 stay valid
    scheduler = candidate.Scheduler(8, 2, 2, 4)
    scheduler.add(request("A", 2, 2, 0.0))
    rejected = {"duplicate": ("A", 2, 2), "empty prompt": ("B", 0, 2), "never fits": ("B", 20, 2)}[bad]
    with expect_raises("ValueError"):
        scheduler.add(request(*rejected, 5.0))
    batch = must_succeed("step(1.0) after a rejected add at 5.0", scheduler.step, 1.0)
    assert list(batch.prefill) == [("A", 2)], f"step(1.0) after a rejected add at 5.0: prefill {batch.prefill}"
    must_succeed("add of a request at 0.5 after a rejected add at 5.0", scheduler.add, request("C", 2, 1, 0.5))
    batch = must_succeed("step(2.0)", scheduler.step, 2.0)
    assert (list(batch.prefill), list(batch.decode)) == ([("C", 2)], ["A"]), (
        f"a request at 0.5 after a rejected add at 5.0: prefill {batch.prefill}, decode {batch.decode}"
    )


# -- long random workloads (property-based, reproducible) ------------------------------------------------

CONFIGS = st.tuples(
    st.integers(1, 6),  # max_seqs
    st.integers(0, 40),  # extra token budget over max_seqs
    st.integers(1, 24),  # num_kv_blocks
    st.sampled_from([1, 2, 3, 4, 16]),  # block_size
)


@settings(max_examples=30)
@given(CONFIGS, st.integers(0, 2**32 - 1))
def test_random_workloads_match_the_model_and_keep_every_budget(candidate, shape, seed):
    max_seqs, extra, num_kv_blocks, block_size = shape
    config = (max_seqs + extra, max_seqs, num_kv_blocks, block_size)
    events, expected = random_script(random.Random(seed), config, steps=120)
    got = candidate.driver.run_script(list(config), events)
    violation = first_violation(config, events, got)
    assert violation is None, f"Scheduler{config}: {violation}"
    difference = first_difference(events, expected, got)
    assert difference is None, f"Scheduler{config}: {difference}"
