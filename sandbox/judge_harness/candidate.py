"""The `candidate` the tests see: module-level names, remote objects, the driver, last_call.

`Candidate` talks to a worker process (the judged path); `InProcessCandidate` imports the
submission into the test process (development only: no isolation, no memory figures).
"""

from __future__ import annotations

import dataclasses
import functools
import math
import os
import time
from collections.abc import Callable
from types import ModuleType
from typing import Any

from judge_harness.codec import Record
from judge_harness.guard import CallGuard, guard_autograd_functions
from judge_harness.remote import _CURRENT, CallStats, JudgeAbort, Worker, _read_status
from judge_harness.schema import Verdict


class _Namespace:
    def __init__(self, invoke: Callable[[str, tuple, dict], Any]) -> None:
        self._invoke = invoke

    def __getattr__(self, name: str) -> Callable[..., Any]:
        if name.startswith("_"):
            raise AttributeError(name)
        return lambda *args, **kwargs: self._invoke(name, args, kwargs)


class Candidate:
    """Proxy to the submission in a worker; restarts the worker after a crash or a timeout."""

    def __init__(self, start_worker: Callable[[float], Worker]) -> None:
        self._start_worker = start_worker
        self._worker: Worker | None = None
        self.deadline = math.inf
        self.last_call = CallStats()
        self.peak_bytes = 0
        # Once a test hits a limit, its later calls fail the same way at once: hypothesis replays
        # and shrinks a failing example, and must not wait out the limit again each time.
        self.abort: JudgeAbort | None = None
        self.suite_deadline = math.inf
        # The test's CPU budget (seconds of worker CPU): what the workers of earlier restarts in this
        # test already spent, and the current worker's CPU reading when it started serving this test.
        self.cpu_limit_s = math.inf
        self.cpu_spent = 0.0
        self._cpu_base = 0.0
        self.driver = _Namespace(lambda name, args, kwargs: self.invoke("driver", name, args, kwargs))

    def begin_test(self, deadline: float, suite_deadline: float = math.inf, cpu_limit_s: float = math.inf) -> None:
        """A new test: `deadline` is its wall-clock backstop, `cpu_limit_s` the worker CPU it may spend."""
        self.deadline = deadline
        self.suite_deadline = suite_deadline
        self.cpu_limit_s = cpu_limit_s
        self.cpu_spent = 0.0
        if self._worker is not None and not self._worker.alive():  # died in an earlier test: not this one's
            self._worker.close()
            self._worker = None
        self._cpu_base = self._worker.cpu_seconds() if self._worker is not None else 0.0
        self.peak_bytes = 0
        self.abort = None

    def cpu_used(self) -> float:
        """Worker CPU seconds spent in the current test so far (restarted workers' included)."""
        current = self._worker.cpu_seconds() - self._cpu_base if self._worker is not None else 0.0
        return self.cpu_spent + max(0.0, current)

    def worker(self) -> Worker:
        if self._worker is None or not self._worker.alive():
            if self._worker is not None:
                self._worker.close()
                self.cpu_spent += max(0.0, self._worker.cpu_last - self._cpu_base)
            self._worker = None
            started = time.monotonic()
            try:
                self._worker = self._start_worker(self.suite_deadline)
            except JudgeAbort as abort:
                if abort.verdict is Verdict.RUNTIME_ERROR:  # died while importing: it does not import
                    raise JudgeAbort(Verdict.COMPILATION_ERROR, abort.message) from None
                raise
            ready = self._worker.ready
            if ready.get("op") != "ready":
                raise JudgeAbort(Verdict.COMPILATION_ERROR, describe_import_failure(ready))
            # a restart is the judge's time, not the test's: neither its wall time nor its import's CPU
            self.deadline = min(self.deadline + time.monotonic() - started, self.suite_deadline)
            self._cpu_base = self._worker.cpu_seconds()
        return self._worker

    def __getattr__(self, name: str) -> Callable[..., Any]:
        if name.startswith("_"):
            raise AttributeError(name)
        return lambda *args, **kwargs: self.invoke("module", name, args, kwargs)

    def invoke(self, target: str, name: str, args: tuple, kwargs: dict, worker: Worker | None = None) -> Any:
        if self.abort is not None:
            raise self.abort
        try:
            current = self.worker()
            if worker is not None and worker is not current:
                raise JudgeAbort(Verdict.RUNTIME_ERROR, "an object created before the worker restarted was used")
        except JudgeAbort as abort:
            self.abort = abort
            raise
        cpu_deadline = self._cpu_base + (self.cpu_limit_s - self.cpu_spent)
        wall_limit = (
            "the suite's wall-clock backstop" if self.deadline >= self.suite_deadline else "the wall-clock backstop"
        )
        try:
            return current.call(target, name, args, kwargs, self.deadline, cpu_deadline, self.cpu_limit_s, wall_limit)
        except JudgeAbort as abort:
            self.abort = abort
            raise
        finally:
            self.last_call = current.last_call
            self.peak_bytes = max(self.peak_bytes, current.last_call.peak_bytes)

    def take_output(self) -> str:
        return self._worker.pump.take() if self._worker is not None else ""

    def close(self) -> None:
        if self._worker is not None:
            self._worker.close()
            self._worker = None

    def __enter__(self) -> Candidate:
        _CURRENT.append(self)
        return self

    def __exit__(self, *exc: object) -> None:
        _CURRENT.remove(self)


def describe_import_failure(message: dict[str, Any]) -> str:
    if message.get("type") == "MissingEntryPoint":
        missing = ", ".join(message.get("missing", []))
        return f"the submission does not define {missing} (required entry points)"
    line = message.get("line")
    where = f" at line {line}" if line else ""
    return f"the submission failed to import{where}: {message.get('type')}: {message.get('message')}"


# -- in-process (development) -----------------------------------------------------------------


class InProcessCandidate:
    """Same surface as `Candidate`, calling the module directly. Not isolated; for authoring tests."""

    def __init__(
        self,
        module: ModuleType | None,
        driver: ModuleType | None,
        dataclass_names: list[str],
        measure_memory: bool = False,
        mutable_inputs: list[str] | tuple[str, ...] = (),
    ) -> None:
        self._module = module
        self._mutable = set(mutable_inputs)
        self._dataclasses = set(dataclass_names)
        self._measure_memory = measure_memory  # peak RSS growth per call, as the worker's is measured
        self.deadline = math.inf
        self.last_call = CallStats()
        self.peak_bytes = 0
        self.driver = _Namespace(
            lambda name, args, kwargs: self._run(
                getattr(driver, name), (self._module, *args), kwargs, f"driver.{name}", skip_first=True
            )
        )

    def begin_test(self, deadline: float, suite_deadline: float = math.inf, cpu_limit_s: float = math.inf) -> None:
        self.deadline = deadline
        self.peak_bytes = 0
        self._cpu_base = time.process_time()

    def cpu_used(self) -> float:
        """CPU seconds of this process since the test began (submission and test code alike, in process)."""
        return time.process_time() - getattr(self, "_cpu_base", time.process_time())

    def __getattr__(self, name: str) -> Callable[..., Any]:
        if name.startswith("_"):
            raise AttributeError(name)
        return lambda *args, **kwargs: self._run(getattr(self._module, name), args, kwargs, name)

    def use_module(self, module: ModuleType) -> None:
        """Judge `module` from now on (the mutant runner swaps modules under one session)."""
        self._module = module
        guard_autograd_functions(module, self._mutable)

    def _run(
        self, function: Callable[..., Any], args: tuple, kwargs: dict, label: str, skip_first: bool = False
    ) -> Any:
        from judge_harness.remote import CandidateError

        args, kwargs = self._inward(args), self._inward(kwargs)
        signature_of = functools.partial(function, args[0]) if skip_first else function
        guard = CallGuard(label, signature_of, args[1:] if skip_first else args, kwargs, self._mutable)
        rss_before = _reset_peak() if self._measure_memory else 0
        started, cpu_started = time.monotonic(), time.process_time()
        try:
            value = function(*args, **kwargs)
        except Exception as exc:
            raise CandidateError(type(exc).__name__, str(exc)) from exc
        finally:
            self.last_call = CallStats()
            self.last_call.seconds = time.monotonic() - started
            self.last_call.cpu_s = time.process_time() - cpu_started
            if self._measure_memory:
                self.last_call.peak_bytes = max(0, _read_status(os.getpid()).get("VmHWM", 0) - rss_before)
                self.peak_bytes = max(self.peak_bytes, self.last_call.peak_bytes)
        guard.check()
        return self._outward(value)

    def _inward(self, value: Any) -> Any:
        if isinstance(value, Record):
            cls = getattr(self._module, value.type_name)
            return cls(**{k: self._inward(v) for k, v in value.fields.items()})
        if isinstance(value, _LocalObject):
            return value._obj
        if isinstance(value, list):
            return [self._inward(v) for v in value]
        if isinstance(value, tuple):
            return tuple(self._inward(v) for v in value)
        if isinstance(value, dict):
            return {k: self._inward(v) for k, v in value.items()}
        return value

    def _outward(self, value: Any) -> Any:
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            fields = {f.name: self._outward(getattr(value, f.name)) for f in dataclasses.fields(value)}
            return Record(type(value).__name__, **fields)
        if isinstance(value, list):
            return [self._outward(v) for v in value]
        if isinstance(value, tuple):
            return tuple(self._outward(v) for v in value)
        if isinstance(value, dict):
            return {k: self._outward(v) for k, v in value.items()}
        if value is None or isinstance(value, (bool, int, float, str, bytes)) or type(value).__name__ == "Tensor":
            return value
        return _LocalObject(self, value)

    def take_output(self) -> str:
        return ""

    def close(self) -> None:
        pass

    def __enter__(self) -> InProcessCandidate:
        return self

    def __exit__(self, *exc: object) -> None:
        pass


def _reset_peak() -> int:
    """Reset this process's VmHWM to its current RSS; returns that RSS."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass
    return _read_status(os.getpid()).get("VmRSS", 0)


class _LocalObject:
    def __init__(self, owner: InProcessCandidate, obj: Any) -> None:
        self._owner = owner
        self._obj = obj

    def __getattr__(self, name: str) -> Callable[..., Any]:
        if name.startswith("_"):
            raise AttributeError(name)
        return lambda *args, **kwargs: self.call(name, *args, **kwargs)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.call("__call__", *args, **kwargs)

    def call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        return self._owner._run(getattr(self._obj, method), args, kwargs, f"{type(self._obj).__name__}.{method}")

    def len(self) -> int:
        return self.call("__len__")
