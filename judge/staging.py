"""Host-side checks on a submission file, then a private copy for the run.

The file is opened with O_NOFOLLOW and checked through the descriptor, so a symlink is
refused rather than followed and the file cannot be swapped between check and copy.
"""

from __future__ import annotations

import ast
import dataclasses
import errno
import hashlib
import os
import stat
from pathlib import Path

MAX_SUBMISSION_BYTES = 2**20


class SubmissionError(ValueError):
    """A submission the judge will not run; the message is one line: expected, got, what to do."""


@dataclasses.dataclass(frozen=True)
class Submission:
    source: str
    path: Path
    sha256: str
    syntax_error: str | None  # "line N: message" when the file does not parse

    @property
    def hash(self) -> str:
        return "sha256:" + self.sha256


def read_submission(path: Path) -> Submission:
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        raise SubmissionError(f"no such file: {path} (expected the path of your .py solution)") from None
    if stat.S_ISLNK(info.st_mode):
        raise SubmissionError(f"{path} is a symlink; the judge never follows one: pass the real file")
    if stat.S_ISDIR(info.st_mode):
        raise SubmissionError(f"{path} is a directory; expected a single .py file")
    if not stat.S_ISREG(info.st_mode):
        raise SubmissionError(f"{path} is not a regular file; expected a .py file")
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise SubmissionError(f"{path} is a symlink; the judge never follows one: pass the real file") from None
        raise SubmissionError(f"cannot read {path}: {exc.strerror}") from None
    try:
        size = os.fstat(fd).st_size
        if size > MAX_SUBMISSION_BYTES:
            raise SubmissionError(
                f"{path} is {size} bytes; submissions are limited to {MAX_SUBMISSION_BYTES} bytes (1 MiB)"
            )
        data = os.read(fd, MAX_SUBMISSION_BYTES + 1)
    finally:
        os.close(fd)
    if len(data) > MAX_SUBMISSION_BYTES:
        raise SubmissionError(f"{path} is over {MAX_SUBMISSION_BYTES} bytes (1 MiB)")
    try:
        source = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SubmissionError(f"{path} is not UTF-8 (byte {exc.start}); save it as UTF-8") from None
    syntax_error = None
    try:
        ast.parse(source, filename=str(path))
    except SyntaxError as exc:
        syntax_error = f"line {exc.lineno}: {exc.msg}"
    except ValueError as exc:  # e.g. null bytes
        syntax_error = str(exc)
    return Submission(source=source, path=path, sha256=hashlib.sha256(data).hexdigest(), syntax_error=syntax_error)


def submission_from_source(source: str, path: Path) -> Submission:
    """A submission that exists only in memory (a wrong solution's patched reference); `path` labels it."""
    syntax_error = None
    try:
        ast.parse(source, filename=str(path))
    except SyntaxError as exc:
        syntax_error = f"line {exc.lineno}: {exc.msg}"
    data = source.encode("utf-8")
    return Submission(source=source, path=path, sha256=hashlib.sha256(data).hexdigest(), syntax_error=syntax_error)


def stage(submission: Submission, directory: Path, module_name: str) -> Path:
    """Write the submission as <directory>/<module_name>.py, readable by anyone, writable by no one."""
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / f"{module_name}.py"
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o444)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(submission.source)
    return target
