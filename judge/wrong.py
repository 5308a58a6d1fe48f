"""Known-wrong solutions: small patches against the reference, each with the verdict it must get.

A wrong solution is `problems/<slug>/wrong/<name>.patch`: a header of `# key: value` lines, then
a unified diff against the problem's reference (`solutions_ref/<module>.py`):

    # verdict: Wrong Answer
    # bug: the running max is never subtracted, so exp overflows at logits ~1e4
    --- a/solutions_ref/sliding_window_attention.py
    +++ b/solutions_ref/sliding_window_attention.py
    @@ -88,7 +88,7 @@
    ...

A whole `<name>.py` is allowed for a genuinely different implementation; its header carries
`# why-a-file: ...` as well. Header keys: `verdict` (required), `bug` (required, one sentence),
`why-a-file` (required for .py), `measured` (optional: for a Time Limit Exceeded one, how far
over the limit it runs). Patches are applied in memory, never written into the repository. A
hunk's context must match the reference exactly; it may sit at another line (the reference grew
above it), but nothing is fuzzed, so a patch that drifted from today's reference fails loudly.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
from pathlib import Path

from judge_harness.schema import Verdict

HEADER_RE = re.compile(r"^#\s*([a-z][a-z-]*)\s*:\s*(.*?)\s*$")
HUNK_RE = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")
SUFFIXES = (".patch", ".py")


class WrongSolutionError(ValueError):
    """A wrong solution whose header is malformed or whose patch does not apply; names file and hunk."""


@dataclasses.dataclass(frozen=True)
class WrongSolution:
    name: str  # the file name under wrong/: "no_running_max.patch", "elementwise_loop.py"
    path: Path
    verdict: Verdict
    bug: str
    header: dict[str, str]

    @property
    def is_patch(self) -> bool:
        return self.path.suffix == ".patch"

    def source(self, reference: Path) -> str:
        """The submission this wrong solution stands for: the patched reference, or the file itself."""
        text = self.path.read_text()
        if not self.is_patch:
            return text
        return apply_patch_text(reference.read_text(), text, label=self.name)


def parse_header(path: Path) -> dict[str, str]:
    header: dict[str, str] = {}
    for line in path.read_text().splitlines():
        match = HEADER_RE.match(line)
        if not match:
            break
        header[match.group(1)] = match.group(2)
    return header


def load(path: Path) -> WrongSolution:
    """Read one wrong solution's header; raises WrongSolutionError naming the file and the field."""
    header = parse_header(path)
    if "verdict" not in header:
        raise WrongSolutionError(f"{path}: header: missing `# verdict: <verdict>` line")
    try:
        verdict = Verdict(header["verdict"])
    except ValueError:
        known = ", ".join(v.value for v in Verdict)
        raise WrongSolutionError(
            f"{path}: verdict: unknown verdict {header['verdict']!r}; expected one of {known}"
        ) from None
    if verdict is Verdict.ACCEPTED:
        raise WrongSolutionError(f"{path}: verdict: a wrong solution cannot expect Accepted")
    if not header.get("bug"):
        raise WrongSolutionError(f"{path}: header: missing `# bug: <the mistake, in one sentence>` line")
    if path.suffix == ".py" and not header.get("why-a-file"):
        raise WrongSolutionError(
            f"{path}: header: a whole-file wrong solution needs `# why-a-file: <why it is not a patch>`"
        )
    return WrongSolution(path.name, path, verdict, header["bug"], header)


def discover(folder: Path) -> dict[str, WrongSolution]:
    """Every wrong solution under `folder` (a problem's wrong/), by file name."""
    if not folder.is_dir():
        return {}
    found = {}
    for path in sorted(folder.iterdir()):
        if path.suffix in SUFFIXES and path.is_file():
            found[path.name] = load(path)
    return found


def _diff_body(text: str) -> list[str]:
    lines = text.splitlines(keepends=True)
    for index, line in enumerate(lines):
        if line.startswith("--- "):
            return lines[index:]
    return []


def apply_patch_text(original: str, patch_text: str, *, label: str = "patch") -> str:
    """Apply the text of a whole `.patch` file (header, then diff) to `original`."""
    return apply_patch(original, _diff_body(patch_text), label=label)


def apply_patch(original: str, diff: list[str], *, label: str = "patch") -> str:
    """Apply a unified diff to `original` exactly (no fuzz); raise WrongSolutionError naming the hunk."""
    if not diff or not diff[0].startswith("--- ") or len(diff) < 2 or not diff[1].startswith("+++ "):
        raise WrongSolutionError(f"{label}: no unified diff after the header (expected `--- a/...` and `+++ b/...`)")
    source = original.splitlines(keepends=True)
    hunks: list[tuple[str, list[str], list[str], int]] = []
    index = 2
    while index < len(diff):
        match = HUNK_RE.match(diff[index])
        if not match:
            raise WrongSolutionError(f"{label}: line {index + 1}: expected a hunk header `@@ -a,b +c,d @@`")
        title = diff[index].rstrip("\n")
        old_count = int(match.group(2) or 1)
        new_count = int(match.group(4) or 1)
        old, new = [], []
        index += 1
        while index < len(diff) and (len(old) < old_count or len(new) < new_count):
            line = diff[index]
            kind, body = line[:1], line[1:]
            if kind in (" ", "\n"):
                body = body if kind == " " else "\n"
                old.append(body)
                new.append(body)
            elif kind == "-":
                old.append(body)
            elif kind == "+":
                new.append(body)
            else:
                raise WrongSolutionError(f"{label}: hunk {title}: unexpected line {line.rstrip()!r}")
            index += 1
            if index < len(diff) and diff[index].startswith("\\"):  # the line just read ends the file
                if kind in (" ", "\n", "-"):
                    old[-1] = old[-1].rstrip("\n")
                if kind in (" ", "\n", "+"):
                    new[-1] = new[-1].rstrip("\n")
                index += 1
        while index < len(diff) and diff[index].startswith("\\"):
            index += 1
        if len(old) != old_count or len(new) != new_count:
            raise WrongSolutionError(f"{label}: hunk {title}: truncated (line counts do not match the header)")
        hunks.append((title, old, new, max(0, int(match.group(1)) - 1) if old_count else int(match.group(1))))

    result: list[str] = []
    cursor = 0
    for title, old, new, start in hunks:
        at = _find(source, old, start, cursor)
        if at is None:
            expected = "".join(old[:3]).rstrip()
            raise WrongSolutionError(
                f"{label}: hunk {title} does not apply to today's reference (its context is not there:"
                f" {expected!r}...); re-cut the patch with `judge wrong new`"
            )
        result.extend(source[cursor:at])
        result.extend(new)
        cursor = at + len(old)
    result.extend(source[cursor:])
    return "".join(result)


def _find(source: list[str], old: list[str], start: int, cursor: int) -> int | None:
    """Where `old` occurs in `source` at or after `cursor`, nearest to `start` (exact match only)."""
    candidates = range(cursor, len(source) - len(old) + 1)
    hits = [i for i in candidates if source[i : i + len(old)] == old]
    if not hits:
        return None
    return min(hits, key=lambda i: (abs(i - start), i))


def make_patch(
    reference: Path, edited: str, *, verdict: Verdict, bug: str, repo_relative: str, measured: str = ""
) -> str:
    """The `.patch` text for an edited copy of the reference: header, then a 3-line-context diff."""
    if verdict is Verdict.ACCEPTED:
        raise WrongSolutionError("a wrong solution cannot expect Accepted")
    if not bug.strip() or "\n" in bug.strip():
        raise WrongSolutionError("the bug must be one non-empty sentence on one line")
    original = reference.read_text()
    diff = list(
        difflib.unified_diff(
            original.splitlines(keepends=True),
            edited.splitlines(keepends=True),
            fromfile=f"a/{repo_relative}",
            tofile=f"b/{repo_relative}",
            n=3,
        )
    )
    if not diff:
        raise WrongSolutionError("the edited file is identical to the reference: there is no bug to record")
    diff = [line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in diff]
    diff[0] = diff[0].rstrip("\n").rstrip() + "\n"
    diff[1] = diff[1].rstrip("\n").rstrip() + "\n"
    header = f"# verdict: {verdict.value}\n# bug: {bug.strip()}\n"
    if measured.strip():
        header += f"# measured: {' '.join(measured.split())}\n"
    return header + "".join(diff)
