"""Checker-side model of the scheduler, an invariant checker for any trace, and random workloads.

The model is written apart from the reference: per-request records in a dict, explicit
statuses, blocks held counted as an integer, the victim found as the running request with the
largest FCFS position. `run_script` replays an event list on it and returns what each event
gives, in the shape driver.run_script returns from the submission.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

WAITING, RUNNING, FINISHED = "waiting", "running", "finished"


@dataclass
class _Record:
    request_id: str
    prompt_len: int
    max_new_tokens: int
    arrival_time: float
    position: int
    status: str = WAITING
    cached: int = 0  # tokens with KV in the cache
    blocks: int = 0  # blocks held
    prefill_done: bool = False
    times: list[float] = field(default_factory=list)


def ceil_div(a: int, b: int) -> int:
    return (a + b - 1) // b


def nearest_rank(values: list[float], percent: int) -> float | None:
    if len(values) == 0:
        return None
    rank = ceil_div(percent * len(values), 100)  # 1-based, exact integer arithmetic
    return sorted(values)[max(rank, 1) - 1]


class OracleScheduler:
    def __init__(self, max_batch_tokens: int, max_seqs: int, num_kv_blocks: int, block_size: int) -> None:
        self.token_budget = max_batch_tokens
        self.seq_cap = max_seqs
        self.total_blocks = num_kv_blocks
        self.block_size = block_size
        self.records: dict[str, _Record] = {}
        self.clock: float | None = None
        self.counts = {"prefill": 0, "decode": 0}

    def _with(self, status: str) -> list[_Record]:
        return [r for r in self.records.values() if r.status == status]  # dicts keep add order: FCFS

    def used_blocks(self) -> int:
        return sum(r.blocks for r in self.records.values() if r.status == RUNNING)

    def add(self, request_id: str, prompt_len: int, max_new_tokens: int, arrival_time: float) -> None:
        self.records[request_id] = _Record(request_id, prompt_len, max_new_tokens, arrival_time, len(self.records))

    def finish(self, request_id: str) -> None:
        self.records[request_id].status = FINISHED
        self.records[request_id].blocks = 0

    def running_ids_with_output(self) -> list[str]:
        return [r.request_id for r in self._with(RUNNING) if r.times]

    def step(self, now: float) -> dict:
        self.clock = now
        plan: list[tuple[_Record, int, str]] = []
        preempted: list[str] = []
        left = self.token_budget

        def grow(record: _Record, tokens: int) -> bool:
            need = ceil_div(record.cached + tokens, self.block_size) - record.blocks
            while self.total_blocks - self.used_blocks() < need:
                victim = max(self._with(RUNNING), key=lambda r: r.position)
                victim.status, victim.cached, victim.blocks, victim.prefill_done = WAITING, 0, 0, False
                preempted.append(victim.request_id)
                if victim is record:
                    return False
            record.blocks += need
            return True

        for record in [r for r in self._with(RUNNING) if r.prefill_done]:
            if record.status == RUNNING and grow(record, 1):
                plan.append((record, 1, "decode"))
                left -= 1
        for record in [r for r in self._with(RUNNING) if not r.prefill_done]:
            if left <= 0:
                break
            total = record.prompt_len + len(record.times)
            tokens = min(total - record.cached, left)
            if record.status == RUNNING and grow(record, tokens):
                plan.append((record, tokens, "prefill"))
                left -= tokens
        if not preempted:
            for record in self._with(WAITING):
                if left <= 0 or len(self._with(RUNNING)) >= self.seq_cap:
                    break
                tokens = min(record.prompt_len + len(record.times), left)
                need = ceil_div(tokens, self.block_size)
                if need > self.total_blocks - self.used_blocks():
                    break
                record.status, record.blocks = RUNNING, need
                plan.append((record, tokens, "prefill"))
                left -= tokens

        finished = []
        for record, tokens, kind in plan:
            self.counts[kind] += tokens
            record.cached += tokens
            if record.cached == record.prompt_len + len(record.times):
                record.prefill_done = True
                record.times.append(now)
                if len(record.times) == record.max_new_tokens:
                    record.status, record.blocks = FINISHED, 0
                    finished.append(record.request_id)
        return {
            "prefill": [(r.request_id, n) for r, n, kind in plan if kind == "prefill"],
            "decode": [r.request_id for r, _, kind in plan if kind == "decode"],
            "preempted": preempted,
            "finished": finished,
        }

    def metrics(self) -> dict:
        done = [r for r in self.records.values() if r.status == FINISHED and r.times]
        ttft = [r.times[0] - r.arrival_time for r in done]
        itl = []
        for r in done:
            itl += [r.times[i] - r.times[i - 1] for i in range(1, len(r.times))]
        out = sum(len(r.times) for r in done)
        span = max((r.times[-1] for r in done), default=0.0) - min((r.arrival_time for r in done), default=0.0)
        return {
            "num_finished": len(done),
            "output_tokens": out,
            "prefill_tokens": self.counts["prefill"],
            "decode_tokens": self.counts["decode"],
            "ttft_mean": sum(ttft) / len(ttft) if ttft else None,
            "ttft_p50": nearest_rank(ttft, 50),
            "ttft_p99": nearest_rank(ttft, 99),
            "itl_mean": sum(itl) / len(itl) if itl else None,
            "itl_p99": nearest_rank(itl, 99),
            "throughput": out / span if done else None,
        }


def run_script(config: tuple[int, int, int, int], events: list[tuple]) -> list:
    """What each event gives on the model: None for add/finish, a batch dict for step, a dict for metrics."""
    model = OracleScheduler(*config)
    results: list = []
    for event in events:
        kind = event[0]
        if kind == "add":
            model.add(*event[1:])
            results.append(None)
        elif kind == "step":
            results.append(model.step(event[1]))
        elif kind == "finish":
            model.finish(event[1])
            results.append(None)
        else:
            results.append(model.metrics())
    return results


def random_script(rng: random.Random, config: tuple[int, int, int, int], steps: int) -> tuple[list[tuple], list]:
    """A workload and the model's results for it: bursty arrivals, variable step durations, early
    finishes, metrics now and then.

    Finishes are drawn from the model's own running requests with an output token, so the script
    is valid for any correct scheduler.
    """
    max_batch_tokens, _, num_kv_blocks, block_size = config
    model = OracleScheduler(*config)
    events: list[tuple] = []
    results: list = []
    now, count = 0.0, 0
    capacity = num_kv_blocks * block_size
    for _ in range(steps):
        for _ in range(rng.choice([0, 0, 0, 1, 1, 2, 3])):
            prompt = rng.randint(1, max(1, min(capacity, 3 * max_batch_tokens)))
            longest = capacity - prompt + 1
            if longest < 1:
                continue
            new = rng.randint(1, min(longest, rng.choice([1, 4, 16, 64])))
            arrival = now + rng.choice([0.0, 0.25, 0.5]) * rng.random()
            event = ("add", f"r{count}", prompt, new, round(arrival, 6))
            count += 1
            model.add(*event[1:])
            events.append(event)
            results.append(None)
            now = max(now, event[4])
        if rng.random() < 0.08:
            candidates = model.running_ids_with_output()
            if candidates:
                event = ("finish", rng.choice(candidates))
                model.finish(event[1])
                events.append(event)
                results.append(None)
        now = round(now + rng.choice([0.01, 0.02, 0.05, 0.125, 0.5]), 6)
        events.append(("step", now))
        results.append(model.step(now))
        if rng.random() < 0.05:
            events.append(("metrics",))
            results.append(model.metrics())
    events.append(("metrics",))
    results.append(model.metrics())
    return events, results


# -- invariants any correct trace satisfies, read from the submission's own batches -------------


def first_violation(config: tuple[int, int, int, int], events: list[tuple], outputs: list) -> str | None:
    """Budgets, FCFS and preemption order checked step by step on the submission's trace alone."""
    max_batch_tokens, max_seqs, num_kv_blocks, block_size = config
    prompt, limit, position = {}, {}, {}
    cached, made, state = {}, {}, {}
    step_index = 0
    for event, out in zip(events, outputs, strict=False):
        if event[0] == "add":
            rid = event[1]
            prompt[rid], limit[rid], position[rid] = event[2], event[3], len(position)
            cached[rid], made[rid], state[rid] = 0, 0, WAITING
            continue
        if event[0] == "finish":
            state[event[1]] = FINISHED
            cached[event[1]] = 0
            continue
        if event[0] != "step" or not isinstance(out, dict):
            continue
        step_index += 1
        where = f"step {step_index} (now={event[1]})"
        tokens = sum(n for _, n in out["prefill"]) + len(out["decode"])
        if tokens > max_batch_tokens:
            return f"{where}: the batch holds {tokens} tokens, max_batch_tokens is {max_batch_tokens}"
        ids = [rid for rid, _ in out["prefill"]] + list(out["decode"])
        if len(set(ids)) != len(ids):
            return f"{where}: a request appears twice in one batch: {ids}"
        for rid in out["preempted"]:
            running = [r for r in state if state[r] == RUNNING]
            if rid not in running or position[rid] != max(position[r] for r in running):
                return f"{where}: preempted {rid!r}, but the newest running request was not it"
            state[rid], cached[rid] = WAITING, 0
        waiting = sorted((r for r in state if state[r] == WAITING), key=position.get)
        admitted = [rid for rid in ids if state.get(rid) == WAITING]
        if admitted != waiting[: len(admitted)]:
            return (
                f"{where}: admitted {admitted}, but FCFS order of the waiting queue is {waiting[: len(admitted) + 1]}"
            )
        for rid in admitted:
            state[rid] = RUNNING
        for rid, n in [*out["prefill"], *((rid, 1) for rid in out["decode"])]:
            cached[rid] += n
            if cached[rid] > prompt[rid] + made[rid]:
                return (
                    f"{where}: {rid!r} computes past its prompt and output ({cached[rid]} > {prompt[rid] + made[rid]})"
                )
            if cached[rid] == prompt[rid] + made[rid]:
                made[rid] += 1
        running = [r for r in state if state[r] == RUNNING]
        if len(running) > max_seqs:
            return f"{where}: {len(running)} running requests, max_seqs is {max_seqs}"
        used = sum(ceil_div(cached[r], block_size) for r in running)
        if used > num_kv_blocks:
            return f"{where}: the running requests hold {used} KV blocks, num_kv_blocks is {num_kv_blocks}"
        for rid in running:
            if made[rid] >= limit[rid]:
                state[rid], cached[rid] = FINISHED, 0
    return None


# -- comparing a submission's results with the model's ------------------------------------------

RTOL = ATOL = 1e-9  # problem.toml's float64 tolerance: metrics are sums of float clock readings


def same_value(got: object, expected: object) -> bool:
    if isinstance(expected, float) and isinstance(got, int | float) and not isinstance(got, bool):
        return abs(got - expected) <= ATOL + RTOL * abs(expected)
    if isinstance(expected, int) and not isinstance(expected, bool):
        return type(got) is int and got == expected
    return got == expected


def first_difference(events: list[tuple], expected: list, got: list) -> str | None:
    """The first event whose result differs, described with the step number and both results."""
    steps = 0
    for index, (event, want) in enumerate(zip(events, expected, strict=True)):
        steps += event[0] == "step"
        if index >= len(got):
            return f"event {index} {event}: no result (the replay stopped early)"
        have = got[index]
        where = f"event {index} {event} (step {steps})" if event[0] == "step" else f"event {index} {event}"
        if isinstance(have, tuple) and have and have[0] == "error":
            return f"{where}: raised {have[1]}: {have[2]}; expected {want}"
        if isinstance(want, dict) and isinstance(have, dict):
            for key in want:
                if key not in have or not _same(have[key], want[key]):
                    return (
                        f"{where}: {key} is {have.get(key)!r}, expected {want[key]!r}\n  got {have}\n  expected {want}"
                    )
        elif have != want:
            return f"{where}: got {have!r}, expected {want!r}"
    return None


def _same(got: object, expected: object) -> bool:
    if isinstance(expected, list):
        return isinstance(got, list) and len(got) == len(expected) and all(map(_same, got, expected))
    if isinstance(expected, tuple):
        return isinstance(got, tuple) and len(got) == len(expected) and all(map(_same, got, expected))
    return same_value(got, expected)
