"""Worker-side helpers for continuous-batching-scheduler: replay a whole workload next to the submission.

A workload of hundreds of steps would be hundreds of round trips through remote handles; here
one call runs it in the worker and returns what each event gave, as plain data.
"""

from __future__ import annotations

import dataclasses
from types import ModuleType
from typing import Any


def _batch(batch: Any) -> dict:
    return {
        "prefill": [tuple(chunk) for chunk in batch.prefill],
        "decode": list(batch.decode),
        "preempted": list(batch.preempted),
        "finished": list(batch.finished),
    }


def run_script(module: ModuleType, config: list[int], events: list[tuple]) -> list:
    """One Scheduler(*config) driven by events: ("add", id, prompt_len, max_new_tokens, arrival_time),
    ("step", now), ("finish", id), ("metrics",). Each gives None, a batch dict or a metrics dict;
    an exception ends the replay with ("error", type name, message)."""
    scheduler = module.Scheduler(*config)
    results: list = []
    for event in events:
        try:
            results.append(_apply(module, scheduler, event))
        except Exception as error:  # reported to the checker as the event's result
            results.append(("error", type(error).__name__, str(error)))
            break
    return results


def _apply(module: ModuleType, scheduler: Any, event: tuple) -> Any:
    kind = event[0]
    if kind == "add":
        request_id, prompt_len, max_new_tokens, arrival_time = event[1:]
        return scheduler.add(module.Request(request_id, prompt_len, max_new_tokens, arrival_time))
    if kind == "step":
        return _batch(scheduler.step(event[1]))
    if kind == "finish":
        return scheduler.finish(event[1])
    metrics = scheduler.metrics()
    return {field.name: getattr(metrics, field.name) for field in dataclasses.fields(metrics)}


def requests_left_alone(module: ModuleType, config: list[int], events: list[tuple]) -> list[str]:
    """Run the events keeping the Request objects here; name every one the scheduler changed."""
    scheduler = module.Scheduler(*config)
    requests = []
    for event in events:
        if event[0] == "add":
            request = module.Request(*event[1:])
            requests.append((request, tuple(event[1:])))
            scheduler.add(request)
        elif event[0] == "step":
            scheduler.step(event[1])
        elif event[0] == "finish":
            scheduler.finish(event[1])
        else:
            scheduler.metrics()
    changed = []
    for request, fields in requests:
        now = (request.request_id, request.prompt_len, request.max_new_tokens, request.arrival_time)
        if now != fields:
            changed.append(f"{fields[0]}: {fields} became {now}")
    return changed


def two_schedulers_interleaved(
    module: ModuleType, config_a: list[int], events_a: list, config_b: list[int], events_b: list
) -> tuple[list, list]:
    """Two schedulers in one worker, their events interleaved one by one."""
    first, second = module.Scheduler(*config_a), module.Scheduler(*config_b)
    out_a: list = []
    out_b: list = []
    for index in range(max(len(events_a), len(events_b))):
        if index < len(events_a):
            out_a.append(_apply(module, first, events_a[index]))
        if index < len(events_b):
            out_b.append(_apply(module, second, events_b[index]))
    return out_a, out_b
