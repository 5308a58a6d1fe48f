"""Shared by the take-home and report tests: candidate folders, a fake judge, headless Chromium."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from judge_harness import schema
from judge_harness.schema import RunResult, Verdict

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "problems"
TOY = FIXTURES / "toy-add"

# Written independently of the reference: correct on the hidden tests.
ALICE = '''"""Toy add: my solution."""

from dataclasses import dataclass


@dataclass
class Pair:
    left: int
    right: int


def add(a, b):
    """Return a + b."""
    total = a + b
    return total


def swap(pair: Pair) -> Pair:
    """Return Pair(pair.right, pair.left)."""
    return Pair(left=pair.right, right=pair.left)


def apply(f, x):
    """Return f(x)."""
    result = f(x)
    return result


class Accumulator:
    def __init__(self):
        self.values = []

    def push(self, x: float) -> float:
        """Add x and return the running total."""
        self.values.append(x)
        return sum(self.values)
'''

# A candidate's whole file whose add is off by one (Wrong Answer on the hidden tests).
BOB_OFF_BY_ONE = '"""Reference for the toy fixture problem."""\n\nfrom dataclasses import dataclass\n\n\n@dataclass\nclass Pair:\n    left: int\n    right: int\n\n\ndef add(a, b):\n    return a + b + 1\n\n\ndef swap(pair: Pair) -> Pair:\n    return Pair(pair.right, pair.left)\n\n\ndef apply(f, x):\n    return f(x)\n\n\nclass Accumulator:\n    def __init__(self) -> None:\n        self.total = 0.0\n\n    def push(self, x: float) -> float:\n        self.total += x\n        return self.total\n\n    def __len__(self) -> int:\n        return 1\n'

# Alice's answer with every name changed, comments added, docstrings dropped and the layout redone.
CAROL = """from dataclasses import dataclass

@dataclass
class Pair:
    left: int
    right: int

# adds two things
def add(x_in, y_in):
    s = x_in + y_in   # the sum
    return s

def swap(p: Pair) -> Pair:
    return Pair(left = p.right, right = p.left)

def apply(fn, value):
    # call it
    out = fn(value)
    return out

class Accumulator:
    def __init__(self):
        self.items = []
    def push(self, v: float) -> float:
        self.items.append(v)
        return sum(self.items)
"""

# Uses the problem's forbidden torch.add through an alias.
DAVE = ALICE.replace('"""Toy add: my solution."""\n', '"""Dave."""\nimport torch as T\n').replace(
    "    total = a + b\n", "    total = T.add(a, b)\n"
)


def returned_folder(bundle: Path, root: Path, name: str, solution: str | None) -> Path:
    """A candidate's returned copy of `bundle` with toy_add.py replaced by `solution` (None: deleted)."""
    folder = root / name
    shutil.copytree(bundle, folder)
    target = folder / "toy-add" / "toy_add.py"
    if solution is None:
        target.unlink()
    else:
        target.write_text(solution)
    return folder


def tamper_deadline(folder: Path) -> None:
    manifest = json.loads((folder / "takehome.json").read_text())
    manifest["deadline"] = "2999-01-01T00:00:00Z"
    (folder / "takehome.json").write_text(json.dumps(manifest))


def fake_run(problem, path: Path, suite: str, backend) -> RunResult:
    """Reference: 2 tests in 0.6 s (of worker CPU too), 100 MiB. `+ 1` in the source: Wrong Answer. Else Accepted, twice as slow."""
    source = Path(path).read_text()
    if not source.strip():
        from judge.staging import SubmissionError

        raise SubmissionError(f"{path} is empty")
    wrong = "+ 1" in source
    reference = Path(path) == problem.reference
    seconds, peak = (0.3, 100 * 2**20) if reference else (0.6, 150 * 2**20)
    tests = [
        schema.TestResult(
            "test_hidden.py::test_add_random",
            Verdict.WRONG_ANSWER if wrong else Verdict.ACCEPTED,
            seconds,
            "sum: max abs error 1.0" if wrong else "",
            cpu_s=seconds,
        ),
        schema.TestResult("test_hidden.py::test_accumulator_state", Verdict.ACCEPTED, seconds, cpu_s=seconds),
    ]
    verdict = Verdict.WRONG_ANSWER if wrong else Verdict.ACCEPTED
    return RunResult(
        verdict, problem.slug, suite, tests, wall_s=3.0, peak_bytes=peak, backend=getattr(backend, "name", "fake")
    )


# --- headless Chromium -------------------------------------------------------------------------

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--hide-scrollbars",
    "--window-size=1400,1000",
]


def require_chromium() -> str:
    """The chromium binary; a skip where it is missing, a failure where CI=true (CI must install it)."""
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path:
        return path
    if os.environ.get("CI") == "true":
        pytest.fail("CI needs Debian's headless chromium for the HTML report test: apt-get install -y chromium")
    pytest.skip("chromium is not installed (apt-get install -y chromium)")


def chromium(page: Path, profile: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    command = [require_chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *extra, page.absolute().as_uri()]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return done


def dump_dom(page: Path, profile: Path) -> str:
    """The DOM after Chromium loaded the page and ran its scripts, serialised."""
    return chromium(page, profile, "--dump-dom").stdout


def screenshot(page: Path, png: Path, profile: Path) -> Path:
    chromium(page, profile, f"--screenshot={png.absolute()}")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    return png


class Elements(HTMLParser):
    """Every start tag's attributes, and the text inside elements with an id."""

    def __init__(self, markup: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text_by_id: dict[str, str] = {}
        self._open: list[str | None] = []
        self.feed(markup)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag not in ("meta", "link", "br", "img", "input", "hr"):
            self._open.append(dict(attrs).get("id"))

    def handle_endtag(self, tag: str) -> None:
        if self._open:
            self._open.pop()

    def handle_data(self, data: str) -> None:
        for element_id in self._open:
            if element_id:
                self.text_by_id[element_id] = self.text_by_id.get(element_id, "") + data

    def with_class(self, name: str) -> list[dict[str, str | None]]:
        return [attrs for _, attrs in self.tags if name in (attrs.get("class") or "").split()]
