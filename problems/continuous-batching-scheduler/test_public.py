"""Public examples for continuous-batching-scheduler (`judge test`): the statement's two examples and one error.

Your Scheduler lives in the worker; these tests hold a handle to it and compare each batch,
field by field, with what the statement's rules give.
"""

from __future__ import annotations

import math

from judge_harness import Record, expect_raises


def request(request_id: str, prompt_len: int, max_new_tokens: int, arrival_time: float) -> Record:
    return Record(
        "Request",
        request_id=request_id,
        prompt_len=prompt_len,
        max_new_tokens=max_new_tokens,
        arrival_time=arrival_time,
    )


def check_batch(batch, now, prefill, decode, preempted, finished) -> None:
    got = (list(batch.prefill), list(batch.decode), list(batch.preempted), list(batch.finished))
    want = (prefill, decode, preempted, finished)
    assert got == want, f"step(now={now}): (prefill, decode, preempted, finished)\n  got      {got}\n  expected {want}"


def test_chunked_prefill_and_the_sequence_cap(candidate):
    scheduler = candidate.Scheduler(8, 2, 6, 4)
    scheduler.add(request("A", 6, 3, 0.0))
    scheduler.add(request("B", 5, 2, 0.0))
    scheduler.add(request("C", 3, 2, 0.5))
    check_batch(scheduler.step(1.0), 1.0, [("A", 6), ("B", 2)], [], [], [])
    check_batch(scheduler.step(2.0), 2.0, [("B", 3)], ["A"], [], [])
    check_batch(scheduler.step(3.0), 3.0, [], ["A", "B"], [], ["A", "B"])
    check_batch(scheduler.step(4.0), 4.0, [("C", 3)], [], [], [])
    check_batch(scheduler.step(5.0), 5.0, [], ["C"], [], ["C"])
    check_batch(scheduler.step(6.0), 6.0, [], [], [], [])
    metrics = scheduler.metrics()
    counts = (metrics.num_finished, metrics.output_tokens, metrics.prefill_tokens, metrics.decode_tokens)
    assert counts == (3, 7, 14, 4), f"(num_finished, output_tokens, prefill_tokens, decode_tokens): {counts}"
    assert math.isclose(metrics.ttft_mean, 6.5 / 3), f"ttft_mean: {metrics.ttft_mean}, expected {6.5 / 3}"
    assert (metrics.ttft_p50, metrics.ttft_p99) == (2.0, 3.5), f"ttft p50, p99: {metrics.ttft_p50}, {metrics.ttft_p99}"
    assert (metrics.itl_mean, metrics.itl_p99) == (1.0, 1.0), f"itl mean, p99: {metrics.itl_mean}, {metrics.itl_p99}"
    assert math.isclose(metrics.throughput, 1.4), f"throughput: {metrics.throughput}, expected 1.4"


def test_the_newest_request_is_preempted_and_recomputed(candidate):
    scheduler = candidate.Scheduler(16, 4, 3, 2)
    scheduler.add(request("A", 2, 4, 0.0))
    scheduler.add(request("B", 2, 4, 0.0))
    check_batch(scheduler.step(1.0), 1.0, [("A", 2), ("B", 2)], [], [], [])
    check_batch(scheduler.step(2.0), 2.0, [], ["A"], ["B"], [])
    check_batch(scheduler.step(3.0), 3.0, [], ["A"], [], [])
    check_batch(scheduler.step(4.0), 4.0, [], ["A"], [], ["A"])
    check_batch(scheduler.step(5.0), 5.0, [("B", 3)], [], [], [])
    check_batch(scheduler.step(6.0), 6.0, [], ["B"], [], [])
    check_batch(scheduler.step(7.0), 7.0, [], ["B"], [], ["B"])
    metrics = scheduler.metrics()
    assert (metrics.prefill_tokens, metrics.decode_tokens) == (7, 5), (metrics.prefill_tokens, metrics.decode_tokens)
    assert (metrics.itl_mean, metrics.itl_p99) == (1.5, 4.0), f"itl mean, p99: {metrics.itl_mean}, {metrics.itl_p99}"
    assert math.isclose(metrics.throughput, 8 / 7), f"throughput: {metrics.throughput}, expected {8 / 7}"


def test_early_finish_frees_the_slot_for_the_next_step(candidate):
    scheduler = candidate.Scheduler(8, 1, 8, 4)
    scheduler.add(request("A", 4, 10, 0.0))
    scheduler.add(request("B", 4, 1, 0.0))
    check_batch(scheduler.step(1.0), 1.0, [("A", 4)], [], [], [])
    scheduler.finish("A")  # EOS after its first token
    check_batch(scheduler.step(2.0), 2.0, [("B", 4)], [], [], ["B"])
    assert scheduler.metrics().output_tokens == 2


def test_a_request_that_can_never_fit_is_rejected(candidate):
    scheduler = candidate.Scheduler(8, 2, 2, 4)
    with expect_raises("ValueError"):
        scheduler.add(request("too-long", 8, 2, 0.0))  # ceil((8 + 2 - 1) / 4) = 3 blocks > 2
