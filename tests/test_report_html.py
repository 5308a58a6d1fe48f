"""report.html in a real browser: Debian's headless Chromium loads it, and we read the DOM it built.

A probe script is added to a copy of the report (the report itself has no script). It records
what the browser did: resources fetched (must be none), computed badge colours (the inline CSS
applied), whether any row is invisible or the page overflows sideways, and whether a hostile
candidate name became markup. The report comes from real grading with a fake judge, so its
shape is the one `judge takehome grade` writes.
"""

from __future__ import annotations

import json
import os
import struct
import time
from pathlib import Path
from typing import Any

import pytest

from judge.catalog import load_catalog
from judge.takehome import bundle as takehome
from judge.takehome import grading, report

from .conftest import toy_wrong_source
from .takehome_support import (
    ALICE,
    CAROL,
    DAVE,
    FIXTURES,
    Elements,
    dump_dom,
    fake_run,
    require_chromium,
    returned_folder,
    screenshot,
    tamper_deadline,
)

HOSTILE = 'mallory<img src=x onerror="document.title=1">'

PROBE = """<script>
const badge = (row) => getComputedStyle(row.querySelector(".verdict")).backgroundColor;
const probe = {
  title: document.title,
  resources: performance.getEntriesByType("resource").map((entry) => entry.name),
  images: document.images.length,
  scripts: document.scripts.length,
  overflow: document.documentElement.scrollWidth > window.innerWidth,
  rows: [...document.querySelectorAll("tr.result")].map((row) => ({
    candidate: row.dataset.candidate, verdict: row.dataset.verdict, late: row.dataset.late,
    badge: badge(row), height: row.getBoundingClientRect().height, text: row.innerText,
  })),
  pairs: [...document.querySelectorAll("tr.pair")].map((row) => [row.dataset.a, row.dataset.b, Number(row.dataset.score)]),
  errors: [...document.querySelectorAll("li.error")].map((item) => [item.dataset.candidate, item.dataset.kind]),
  headings: [...document.querySelectorAll("h2")].map((heading) => heading.innerText),
  candidates: [...document.querySelectorAll("tr.candidate")].map((row) => [row.dataset.candidate, row.dataset.accepted, row.innerText]),
  flags: Object.fromEntries([...document.querySelectorAll("tr.result")].map((row) => [row.dataset.candidate, row.dataset.flags])),
  bodyFont: getComputedStyle(document.body).fontFamily,
};
const out = document.createElement("pre");
out.id = "probe";
out.textContent = JSON.stringify(probe);
document.body.appendChild(out);
</script>"""


@pytest.fixture(scope="module")
def report_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A report graded with the fake judge: alice correct, bob wrong, carol copied and late, dave tampered, mallory hostile."""
    root = tmp_path_factory.mktemp("report")
    toy = load_catalog([FIXTURES]).get("toy-add")
    bundle = takehome.create_bundle([toy], root / "bundle", hours=1, now=time.time())
    folders = [
        returned_folder(root / "bundle", root / "in", "alice", ALICE),
        returned_folder(root / "bundle", root / "in", "bob", toy_wrong_source()),
        returned_folder(root / "bundle", root / "in", "carol", CAROL),
        returned_folder(root / "bundle", root / "in", "dave", DAVE),
        returned_folder(root / "bundle", root / "in", HOSTILE, ALICE.replace("total = a + b", "total = b + a")),
    ]
    tamper_deadline(folders[3])
    late = bundle.deadline + 600
    os.utime(folders[2] / "toy-add" / "toy_add.py", (late, late))
    original = grading.runner.run
    grading.runner.run = fake_run
    try:
        document = grading.grade(bundle, folders, load_catalog([FIXTURES]), backend=None)
    finally:
        grading.runner.run = original
    report.write(document, root / "report")
    return root / "report"


@pytest.fixture(scope="module")
def probe(report_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    require_chromium()
    page = report_dir / "probe.html"
    page.write_text((report_dir / "report.html").read_text().replace("</body>", PROBE + "</body>"))
    dom = Elements(dump_dom(page, tmp_path_factory.mktemp("chromium-profile")))
    return json.loads(dom.text_by_id["probe"])


def test_the_html_needs_no_network(report_dir: Path) -> None:
    html = (report_dir / "report.html").read_text()
    for needle in ("http://", "https://", "<link", "<script", "@import", "url(", "src="):
        assert needle not in html.replace("src=x", ""), needle  # (the hostile name is escaped text, checked below)


def test_chromium_fetches_nothing_and_runs_no_script_of_ours(probe: dict[str, Any]) -> None:
    assert probe["resources"] == []
    assert probe["scripts"] == 1  # the probe itself
    assert probe["title"].startswith("Take-home report th-")


def test_every_candidate_and_problem_is_rendered(probe: dict[str, Any]) -> None:
    rows = {row["candidate"]: row for row in probe["rows"]}
    assert set(rows) == {"alice", "bob", "carol", "dave", HOSTILE}
    assert {name: row["verdict"] for name, row in rows.items()} == {
        "alice": "Accepted",
        "bob": "Wrong Answer",
        "carol": "Accepted",
        "dave": "not run",
        HOSTILE: "Accepted",
    }
    assert rows["carol"]["late"] == "true" and rows["alice"]["late"] == "false"
    assert "×2.00" in rows["alice"]["text"] and "×1.50" in rows["alice"]["text"]  # time and memory vs the reference
    assert "torch.add" in rows["dave"]["text"]
    assert all(row["height"] > 10 for row in probe["rows"])
    assert probe["headings"] == ["Problems", "Candidates", "Results", "Submission errors", "Similar submissions"]
    # a total row per candidate: Accepted out of the problems, and what to look at
    totals = {name: (accepted, text) for name, accepted, text in probe["candidates"]}
    assert {name: accepted for name, (accepted, _) in totals.items()} == {
        "alice": "1/1",
        "bob": "0/1",
        "carol": "1/1",
        "dave": "0/1",
        HOSTILE: "1/1",
    }
    assert "late" in totals["carol"][1] and "not graded" in totals["dave"][1]
    assert "matches known-wrong off_by_one 1.00" in totals["bob"][1]
    assert probe["flags"]["bob"] == "matches known-wrong off_by_one 1.00" and probe["flags"]["alice"] == ""
    assert ["dave", "tampered"] in probe["errors"]
    pairs = {(a, b) for a, b, _ in probe["pairs"]}
    assert ("alice", "carol") in pairs and not any("bob" in pair for pair in pairs)


def test_inline_css_is_applied(probe: dict[str, Any]) -> None:
    badges = {row["verdict"]: row["badge"] for row in probe["rows"]}
    assert badges["Accepted"] == "rgb(218, 251, 225)"  # green
    assert badges["Wrong Answer"] == "rgb(255, 235, 233)"  # red
    assert badges["not run"] == "rgb(239, 242, 245)"  # grey
    assert "system-ui" in probe["bodyFont"]
    assert probe["overflow"] is False  # fits a 1400 px window without sideways scrolling


def test_a_hostile_candidate_name_stays_text(probe: dict[str, Any]) -> None:
    assert probe["images"] == 0
    assert not probe["title"] == "1"
    assert any(HOSTILE in row["text"] for row in probe["rows"])


def test_screenshot_renders(report_dir: Path, tmp_path: Path) -> None:
    require_chromium()
    png = screenshot(report_dir / "report.html", tmp_path / "report.png", tmp_path / "profile")
    data = png.read_bytes()
    width, height = struct.unpack(">II", data[16:24])  # the IHDR chunk
    assert (width, height) == (1400, 1000)
    assert len(data) > 20_000  # a rendered page, not a blank one
