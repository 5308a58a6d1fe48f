"""The worker: the only process that imports the submission.

It serves calls from the checker over two pipe fds (given on the command line) and never
sees test sources, expected values or the reference. Its stdout/stderr are captured by the
checker; the protocol runs on separate fds so a print cannot corrupt it.

    python -m judge_harness.worker SPEC_JSON READ_FD WRITE_FD
"""

from __future__ import annotations

import dataclasses
import functools
import importlib.util
import io
import json
import os
import sys
import traceback
import types
from types import ModuleType
from typing import Any

from judge_harness.codec import Decoder, Encoder, Handle, read_message, write_message
from judge_harness.guard import CallGuard, InputModified, guard_autograd_functions

FORBIDDEN_MESSAGE = "{path} is not available to submissions for this problem"


_BLOCKING_LIBRARIES: list[Any] = []  # torch.library registrations must stay alive
DISPATCH_KEYS = ("CPU", "CUDA", "AutogradCPU", "AutogradCUDA")
HARNESS_DIR = os.path.dirname(os.path.abspath(__file__))


def block_aten_op(name: str, path: str) -> None:
    """Register a raising kernel for every overload of aten::<name>, so no alias reaches the real one.

    Python attributes can be replaced, but torch._C._VariableFunctions is read-only and other
    routes lead to the same dispatcher entry; a kernel registered there covers them all.
    """
    import warnings

    import torch

    packet = getattr(torch.ops.aten, name, None)
    if packet is None:
        return
    if not _BLOCKING_LIBRARIES:
        _BLOCKING_LIBRARIES.append(torch.library.Library("aten", "IMPL"))
    library = _BLOCKING_LIBRARIES[0]

    def blocked(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError(FORBIDDEN_MESSAGE.format(path=path))

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "overriding a previously registered kernel" is the point
        for overload in packet.overloads():
            qualified = name if overload == "default" else f"{name}.{overload}"
            for key in DISPATCH_KEYS:
                try:
                    library.impl(qualified, blocked, key)
                except (RuntimeError, ValueError):
                    pass


def block_forbidden(paths: list[str]) -> None:
    """Replace each dotted path (module.attr...) with a function that raises."""
    for path in paths:
        if path.startswith("torch.ops.aten.") and path.count(".") == 3:
            block_aten_op(path.rsplit(".", 1)[1], path)
        parts = path.split(".")
        owner: Any = None
        for i in range(len(parts) - 1, 0, -1):
            try:
                owner = importlib.import_module(".".join(parts[:i]))
            except ImportError:
                continue
            for attr in parts[i:-1]:
                owner = getattr(owner, attr, None)
                if owner is None:
                    break
            break
        if owner is None or not hasattr(owner, parts[-1]):
            continue

        def blocked(*args: Any, _path: str = path, **kwargs: Any) -> Any:
            raise RuntimeError(FORBIDDEN_MESSAGE.format(path=_path))

        try:
            setattr(owner, parts[-1], blocked)
        except (AttributeError, TypeError):
            pass


def load_module(path: str, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


class Worker:
    def __init__(self, spec: dict[str, Any], rfile: io.BufferedReader, wfile: io.BufferedWriter) -> None:
        self.spec = spec
        self.rfile = rfile
        self.wfile = wfile
        self.objects: dict[int, Any] = {}
        self.module: ModuleType | None = None
        self.driver: ModuleType | None = None
        self.mutable = set(spec.get("mutable_inputs", []))  # "<callable>:<parameter>" allowed to change

    # -- values ------------------------------------------------------------------------
    def register(self, value: Any) -> Handle:
        self.objects[id(value)] = value
        plain = isinstance(value, (types.FunctionType, types.MethodType, types.BuiltinFunctionType))
        return Handle("callable" if plain else "object", id(value), type(value).__name__)

    def encode(self, value: Any) -> tuple[Any, list[bytes]]:
        encoder = Encoder(self.register)
        tree = encoder.encode(value)
        return tree, encoder.buffers

    def make_record(self, name: str, fields: dict[str, Any]) -> Any:
        cls = getattr(self.module, name, None) if name in self.spec.get("dataclasses", []) else None
        if cls is None or not dataclasses.is_dataclass(cls):
            raise TypeError(f"the submission must define a dataclass named {name}")
        return cls(**fields)

    def make_handle(self, handle: Handle) -> Any:
        if handle.kind == "callback":
            return lambda *args, **kwargs: self.callback(handle.id, args, kwargs)
        try:
            return self.objects[handle.id]
        except KeyError:
            raise ValueError("unknown object handle") from None

    def decode(self, tree: Any, buffers: list[bytes]) -> Any:
        return Decoder(buffers, self.make_record, self.make_handle).decode(tree)

    # -- protocol ----------------------------------------------------------------------
    def send(self, message: dict[str, Any], buffers: list[bytes] | None = None) -> None:
        write_message(self.wfile, message, buffers or [])

    def callback(self, callback_id: int, args: tuple, kwargs: dict) -> Any:
        tree, buffers = self.encode([list(args), kwargs])
        self.send({"op": "callback", "id": callback_id, "payload": tree}, buffers)
        message, buffers = read_message(self.rfile)
        if message["op"] == "callback_result":
            return self.decode(message["payload"], buffers)
        raise RuntimeError(f"callback raised {message.get('type')}: {message.get('message')}")

    def target(self, message: dict[str, Any]) -> Any:
        target = message["target"]
        if target == "module":
            return getattr(self.module, message["name"])
        if target == "driver":
            if self.driver is None:
                raise RuntimeError("this problem has no driver")
            function = getattr(self.driver, message["name"])
            return lambda *args, **kwargs: function(self.module, *args, **kwargs)
        return getattr(self.objects[int(target)], message["name"])

    def describe(self, message: dict[str, Any], function: Any) -> tuple[str, Any]:
        """The name problem.toml's `mutable_inputs` uses for this call, and the function whose
        signature names its parameters (a driver function without its leading `module`)."""
        target, name = message["target"], message["name"]
        if target == "module":
            return name, function
        if target == "driver":
            return f"driver.{name}", functools.partial(getattr(self.driver, name), self.module)
        return f"{type(self.objects[int(target)]).__name__}.{name}", function

    def serve(self) -> None:
        while True:
            try:
                message, buffers = read_message(self.rfile)
            except EOFError:
                return
            op = message.get("op")
            if op == "release":
                self.objects.pop(int(message["id"]), None)
                continue
            if op != "call":
                continue
            try:
                function = self.target(message)
                args, kwargs = self.decode(message["payload"], buffers)
                label, signature_of = self.describe(message, function)
                guard = CallGuard(label, signature_of, args, kwargs, self.mutable)
                value = function(*args, **kwargs)
                guard.check()
                tree, out_buffers = self.encode(value)
            except InputModified as exc:  # the checker turns this into Wrong Answer
                self.send({"op": "error", "type": "InputModified", "message": str(exc)[:2000], "traceback": ""})
                continue
            except Exception as exc:  # the submission's exception goes back as data
                self.send(
                    {
                        "op": "error",
                        "type": type(exc).__name__,
                        "message": str(exc)[:2000],
                        "traceback": candidate_traceback(exc)[-4000:],
                    }
                )
                continue
            self.send({"op": "result", "payload": tree}, out_buffers)

    def start(self) -> None:
        for name in self.spec.get("preload", []):
            try:
                importlib.import_module(name)  # before the clock and memory baseline of the first call
            except ImportError:
                pass
        block_forbidden(self.spec.get("forbidden", []))
        try:
            self.module = load_module(self.spec["submission"], self.spec["module_name"])
            guard_autograd_functions(self.module, self.mutable)
            missing = [name for name in self.spec.get("entry_points", []) if not hasattr(self.module, name)]
            if self.spec.get("driver"):
                self.driver = load_module(self.spec["driver"], "_judge_driver")
        except BaseException as exc:
            self.send(_import_failure(exc, self.spec["submission"]))
            return
        if missing:
            self.send({"op": "import_error", "type": "MissingEntryPoint", "missing": missing, "message": ""})
            return
        self.send({"op": "ready"})
        self.serve()


def _import_failure(exc: BaseException, path: str) -> dict[str, Any]:
    line = None
    if isinstance(exc, SyntaxError):
        line = exc.lineno
    else:
        for frame in traceback.extract_tb(exc.__traceback__):
            if frame.filename == path:
                line = frame.lineno
    return {
        "op": "import_error",
        "type": type(exc).__name__,
        "message": str(exc)[:2000],
        "line": line,
        "traceback": candidate_traceback(exc)[-4000:],
    }


def _is_judges(frame: traceback.FrameSummary) -> bool:
    return os.path.dirname(os.path.abspath(frame.filename)) == HARNESS_DIR or frame.filename.startswith("<frozen ")


def candidate_traceback(exc: BaseException) -> str:
    """`exc`'s traceback without the judge's own frames (judge_harness/*, the import machinery): the
    candidate's code and what it called, innermost last, causes and contexts included."""
    summary = traceback.TracebackException.from_exception(exc)
    seen: set[int] = set()
    pending = [summary]
    while pending:
        part = pending.pop()
        if id(part) in seen:
            continue
        seen.add(id(part))
        part.stack = traceback.StackSummary.from_list([f for f in part.stack if not _is_judges(f)])
        pending.extend(p for p in (part.__cause__, part.__context__) if p is not None)
    return "".join(summary.format())


def main() -> None:
    spec = json.loads(sys.argv[1])
    rfile = os.fdopen(int(sys.argv[2]), "rb")
    wfile = os.fdopen(int(sys.argv[3]), "wb")
    sys.stdin = open(os.devnull)
    Worker(spec, rfile, wfile).start()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
