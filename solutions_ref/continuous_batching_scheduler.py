"""An iteration-level (continuous batching) scheduler with chunked prefill and recompute preemption.

Orca: A Distributed Serving System for Transformer-Based Generative Models (Yu et al., OSDI 2022)
https://www.usenix.org/conference/osdi22/presentation/yu
vLLM / PagedAttention (Kwon et al., SOSP 2023) https://arxiv.org/abs/2309.06180
SARATHI chunked prefill (Agrawal et al., 2023) https://arxiv.org/abs/2308.16369

Every step plans one forward pass: running decodes first, then continuing prefills, then new
admissions in arrival order. KV memory is paged in blocks of `block_size` tokens; when a running
request needs a block and none is free, the newest running request loses its KV and goes back to
the waiting queue (recompute).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import pairwise


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


@dataclass
class _Sequence:
    request: Request
    order: int  # FCFS position: the order of add()
    computed: int = 0  # tokens whose KV is in the cache
    decoding: bool = False  # its prefill since the last admission is complete
    token_times: list[float] = field(default_factory=list)  # when each output token came out

    @property
    def known(self) -> int:
        """Prompt plus output tokens: what a forward pass over the whole sequence would process."""
        return self.request.prompt_len + len(self.token_times)


def _blocks(tokens: int, block_size: int) -> int:
    return -(-tokens // block_size)


def _nearest_rank(values: list[float], percent: int) -> float | None:
    """The value at 1-based rank ceil(percent * n / 100) of the sorted values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = -(-percent * len(ordered) // 100)
    return ordered[rank - 1]


def _positive_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


class Scheduler:
    """Plans one iteration per step() under a token budget, a sequence cap and a paged KV cache."""

    def __init__(self, max_batch_tokens: int, max_seqs: int, num_kv_blocks: int, block_size: int) -> None:
        for value in (max_batch_tokens, max_seqs, num_kv_blocks, block_size):
            if not _positive_int(value):
                raise ValueError(
                    f"settings must be integers >= 1, got {max_batch_tokens=}, {max_seqs=}, {num_kv_blocks=}, {block_size=}"
                )
        if max_batch_tokens < max_seqs:
            raise ValueError(f"max_batch_tokens ({max_batch_tokens}) must be >= max_seqs ({max_seqs})")
        self.max_batch_tokens = max_batch_tokens
        self.max_seqs = max_seqs
        self.num_kv_blocks = num_kv_blocks
        self.block_size = block_size
        self.free_blocks = num_kv_blocks
        self.waiting: list[_Sequence] = []  # FCFS order
        self.running: list[_Sequence] = []  # FCFS order
        self.finished: list[_Sequence] = []
        self.seen: set[str] = set()
        self.last_arrival: float | None = None
        self.last_now: float | None = None
        self.prefill_tokens = 0
        self.decode_tokens = 0

    # -- requests in and out -------------------------------------------------------------------

    def add(self, request: Request) -> None:
        if request.request_id in self.seen:
            raise ValueError(f"request_id {request.request_id!r} was already added")
        if request.prompt_len < 1 or request.max_new_tokens < 1:
            raise ValueError(f"prompt_len and max_new_tokens must be >= 1, got {request}")
        if self.last_arrival is not None and request.arrival_time < self.last_arrival:
            raise ValueError(f"arrival_time {request.arrival_time} is earlier than the previous request's")
        peak = _blocks(request.prompt_len + request.max_new_tokens - 1, self.block_size)
        if peak > self.num_kv_blocks:
            raise ValueError(f"{request.request_id!r} needs {peak} KV blocks, the cache has {self.num_kv_blocks}")
        self.seen.add(request.request_id)
        self.last_arrival = request.arrival_time
        self.waiting.append(_Sequence(request, order=len(self.seen)))

    def finish(self, request_id: str) -> None:
        """The engine stopped this request early (EOS, a stop string): free its slot and its KV now."""
        sequence = next((s for s in self.running if s.request.request_id == request_id), None)
        if sequence is None or not sequence.token_times:
            raise ValueError(f"{request_id!r} is not a running request with an output token")
        self.running.remove(sequence)
        self.finished.append(sequence)
        self.free_blocks += _blocks(sequence.computed, self.block_size)

    # -- one iteration ---------------------------------------------------------------------------

    def _make_room(self, sequence: _Sequence, tokens: int, batch: Batch) -> bool:
        """Allocate the blocks `sequence` needs to grow by `tokens`, preempting the newest running
        requests while too few are free; False if it had to preempt itself."""
        extra = _blocks(sequence.computed + tokens, self.block_size) - _blocks(sequence.computed, self.block_size)
        while sequence in self.running and self.free_blocks < extra:
            victim = self.running.pop()  # the newest: running is kept in FCFS order
            self.free_blocks += _blocks(victim.computed, self.block_size)
            victim.computed, victim.decoding = 0, False  # recompute: its KV is gone, its output stays
            self.waiting.append(victim)
            self.waiting.sort(key=lambda s: s.order)
            batch.preempted.append(victim.request.request_id)
        if sequence in self.running:
            self.free_blocks -= extra
        return sequence in self.running

    def step(self, now: float) -> Batch:
        if self.last_now is not None and now <= self.last_now:
            raise ValueError(f"now ({now}) must be later than the previous step's ({self.last_now})")
        if self.last_arrival is not None and now <= self.last_arrival:
            raise ValueError(f"now ({now}) must be later than every arrival_time ({self.last_arrival})")
        self.last_now = now
        batch = Batch()
        scheduled: list[tuple[_Sequence, int]] = []
        budget = self.max_batch_tokens

        # 1. running decodes, oldest first: one token each (max_batch_tokens >= max_seqs)
        for sequence in [s for s in self.running if s.decoding]:
            if sequence in self.running and self._make_room(sequence, 1, batch):
                scheduled.append((sequence, 1))
                batch.decode.append(sequence.request.request_id)
                budget -= 1

        # 2. running prefills that continue a chunked prompt (or a recomputation). At most one
        # request is mid-prefill, the newest running one, so the decodes left budget >= 1 for it.
        for sequence in [s for s in self.running if not s.decoding]:
            tokens = min(sequence.known - sequence.computed, budget)
            if sequence in self.running and self._make_room(sequence, tokens, batch):
                scheduled.append((sequence, tokens))
                batch.prefill.append((sequence.request.request_id, tokens))
                budget -= tokens

        # 3. admissions, FCFS with head-of-line blocking; none in a step that preempted
        while self.waiting and not batch.preempted and budget > 0 and len(self.running) < self.max_seqs:
            head = self.waiting[0]
            tokens = min(head.known, budget)
            if _blocks(tokens, self.block_size) > self.free_blocks:
                break
            self.free_blocks -= _blocks(tokens, self.block_size)
            self.waiting.pop(0)
            self.running.append(head)
            scheduled.append((head, tokens))
            batch.prefill.append((head.request.request_id, tokens))
            budget -= tokens

        # run the iteration: a sequence whose every known token is now computed emits one token
        for sequence, tokens in scheduled:
            if sequence.decoding:
                self.decode_tokens += tokens
            else:
                self.prefill_tokens += tokens
            sequence.computed += tokens
            if sequence.computed == sequence.known:
                sequence.decoding = True
                sequence.token_times.append(now)
                if len(sequence.token_times) == sequence.request.max_new_tokens:
                    self.running.remove(sequence)
                    self.finished.append(sequence)
                    self.free_blocks += _blocks(sequence.computed, self.block_size)
                    batch.finished.append(sequence.request.request_id)
        return batch

    # -- what a serving engineer reports ---------------------------------------------------------

    def metrics(self) -> Metrics:
        done = self.finished
        ttfts = [s.token_times[0] - s.request.arrival_time for s in done]
        gaps = [later - earlier for s in done for earlier, later in pairwise(s.token_times)]
        output_tokens = sum(len(s.token_times) for s in done)
        throughput = None
        if done:
            span = max(s.token_times[-1] for s in done) - min(s.request.arrival_time for s in done)
            throughput = output_tokens / span
        return Metrics(
            num_finished=len(done),
            output_tokens=output_tokens,
            prefill_tokens=self.prefill_tokens,
            decode_tokens=self.decode_tokens,
            ttft_mean=sum(ttfts) / len(ttfts) if ttfts else None,
            ttft_p50=_nearest_rank(ttfts, 50),
            ttft_p99=_nearest_rank(ttfts, 99),
            itl_mean=sum(gaps) / len(gaps) if gaps else None,
            itl_p99=_nearest_rank(gaps, 99),
            throughput=throughput,
        )
