"""Host-side checks on submissions: one clear line for each bad input, symlinks never followed."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from judge.staging import MAX_SUBMISSION_BYTES, SubmissionError, read_submission, stage


def test_good_file(tmp_path: Path) -> None:
    path = tmp_path / "s.py"
    path.write_text("def add(a, b):\n    return a + b\n")
    sub = read_submission(path)
    assert sub.syntax_error is None and sub.hash.startswith("sha256:")
    staged = stage(sub, tmp_path / "box", "toy_add")
    assert staged.read_text() == sub.source
    assert not os.access(staged, os.W_OK) or os.geteuid() == 0


@pytest.mark.parametrize("content", ["", "  \n\n"])
def test_an_empty_file_is_a_submission(tmp_path: Path, content: str) -> None:
    """The runner judges it a Compilation Error (no entry point), as a file without the entry point."""
    path = tmp_path / "s.py"
    path.write_text(content)
    assert read_submission(path).source == content


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: None, "no such file"),
        (lambda p: p.mkdir(), "is a directory"),
        (lambda p: p.write_bytes(b"x = '\xff\xfe'\n"), "not UTF-8"),
        (lambda p: p.write_text("#" * (MAX_SUBMISSION_BYTES + 1)), "limited to"),
    ],
)
def test_bad_inputs(tmp_path: Path, make, message: str) -> None:
    path = tmp_path / "s.py"
    make(path)
    with pytest.raises(SubmissionError, match=message) as info:
        read_submission(path)
    assert "\n" not in str(info.value)


def test_symlink_is_refused_not_followed(tmp_path: Path) -> None:
    secret = tmp_path / "secret.py"
    secret.write_text("x = 1\n")
    link = tmp_path / "s.py"
    link.symlink_to(secret)
    with pytest.raises(SubmissionError, match="symlink"):
        read_submission(link)


def test_syntax_error_is_reported_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "s.py"
    path.write_text("x = 1\ndef f(:\n")
    assert read_submission(path).syntax_error.startswith("line 2:")
