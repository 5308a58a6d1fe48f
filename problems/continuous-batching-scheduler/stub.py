"""An iteration-level (continuous batching) scheduler with chunked prefill and recompute preemption.

Orca (Yu et al., OSDI 2022), vLLM / PagedAttention (Kwon et al., SOSP 2023,
https://arxiv.org/abs/2309.06180), SARATHI chunked prefill (https://arxiv.org/abs/2308.16369).

Fill in `Scheduler`. Keep the names, fields and signatures below; add private helpers freely.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Request:
    request_id: str
    prompt_len: int  # prompt tokens
    max_new_tokens: int  # output tokens after which the request finishes
    arrival_time: float  # seconds, on the clock the caller drives


@dataclass
class Batch:
    prefill: list[tuple[str, int]] = field(default_factory=list)  # (request_id, tokens) chunks
    decode: list[str] = field(default_factory=list)  # one token each
    preempted: list[str] = field(default_factory=list)  # in the order they were preempted
    finished: list[str] = field(default_factory=list)  # reached max_new_tokens at the end of this step


@dataclass
class Metrics:
    num_finished: int
    output_tokens: int  # output tokens of finished requests
    prefill_tokens: int  # tokens of every prefill chunk scheduled so far (recomputation included)
    decode_tokens: int  # decode tokens scheduled so far
    ttft_mean: float | None
    ttft_p50: float | None
    ttft_p99: float | None
    itl_mean: float | None
    itl_p99: float | None
    throughput: float | None  # output tokens per second


class Scheduler:
    """Plans one iteration per step() under a token budget, a sequence cap and a paged KV cache."""

    def __init__(self, max_batch_tokens: int, max_seqs: int, num_kv_blocks: int, block_size: int) -> None:
        raise NotImplementedError

    def add(self, request: Request) -> None:
        """Queue a request (FCFS position: the order of add calls)."""
        raise NotImplementedError

    def step(self, now: float) -> Batch:
        """Plan one forward pass (decodes, continuing prefills, admissions), book its outputs at `now`."""
        raise NotImplementedError

    def finish(self, request_id: str) -> None:
        """The engine stopped a running request early (EOS): free its slot and its KV now."""
        raise NotImplementedError

    def metrics(self) -> Metrics:
        """TTFT, inter-token latency, throughput and token counts over the finished requests."""
        raise NotImplementedError
