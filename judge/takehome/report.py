"""The take-home report, three ways: report.json (the data), report.md, and report.html.

The HTML is one standalone file: inline CSS, no script, no font, image or link to fetch, so it
opens offline and can be mailed as is. Every value is escaped. Rows carry `data-*` attributes
(candidate, problem, verdict, late) so tests can read the rendered DOM rather than the text.

The renderers read the report's JSON form (judge/takehome/schema.py), the same document as
report.json, so a report.json read back with Report.from_json renders the same.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

from judge.takehome.schema import Report
from judge.units import human_bytes

LATE_NOTE = (
    "Late: dated by the folder's seal (judge takehome seal) when it has a valid one; otherwise by the solution"
    " file's mtime, which is unverified (touch fakes it; git clone and plain cp reset it)."
)
CSS = """
:root { color-scheme: light; --ink: #1f2328; --muted: #59636e; --line: #d1d9e0; --bg: #f6f8fa; }
* { box-sizing: border-box; }
body { font: 14px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink); margin: 0; padding: 24px 32px; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 17px; margin: 28px 0 8px; border-bottom: 1px solid var(--line); padding-bottom: 4px; }
.meta { color: var(--muted); margin: 0 0 16px; }
.meta span { margin-right: 18px; white-space: nowrap; }
table { border-collapse: collapse; width: 100%; margin: 4px 0 8px; }
th, td { text-align: left; padding: 6px 10px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: var(--bg); font-weight: 600; font-size: 13px; }
td.num { font-variant-numeric: tabular-nums; white-space: nowrap; }
tr.first-of-candidate td { border-top: 2px solid var(--line); }
.verdict { display: inline-block; padding: 1px 8px; border-radius: 10px; font-weight: 600; font-size: 12px; white-space: nowrap; }
.verdict-accepted { background: #dafbe1; color: #116329; }
.verdict-wrong-answer { background: #ffebe9; color: #a40e26; }
.verdict-runtime-error, .verdict-compilation-error { background: #fbefff; color: #6e40c9; }
.verdict-time-limit-exceeded, .verdict-memory-limit-exceeded, .verdict-output-limit-exceeded { background: #fff8c5; color: #7d4e00; }
.verdict-internal-error, .verdict-not-run { background: #eff2f5; color: var(--muted); }
.flag { display: inline-block; white-space: nowrap; padding: 0 6px; border-radius: 4px; font-size: 12px; font-weight: 600; }
.flag-late { background: #fff1e5; color: #9a3412; }
.flag-forbidden { background: #ffebe9; color: #a40e26; }
.flag-origin { background: #fbefff; color: #6e40c9; }
details summary { cursor: pointer; color: var(--muted); }
.ok { color: var(--muted); white-space: nowrap; }
.note { color: var(--muted); font-size: 12px; max-width: 460px; overflow-wrap: anywhere; }
ul.errors { margin: 4px 0 12px; padding-left: 20px; }
li.error .kind { font-weight: 600; color: #a40e26; }
.bar { display: inline-block; height: 8px; background: #cf222e; border-radius: 4px; vertical-align: middle; margin-right: 8px; }
.empty { color: var(--muted); font-style: italic; }
code { font: 12px ui-monospace, SFMono-Regular, Menlo, monospace; background: var(--bg); padding: 0 4px; border-radius: 4px; }
footer { margin-top: 28px; color: var(--muted); font-size: 12px; }
"""


def write(report: Report, directory: Path) -> dict[str, Path]:
    """Write report.json, report.md and report.html into `directory`; returns their paths by format."""
    document = report.as_json()
    directory.mkdir(parents=True, exist_ok=True)
    paths = {"json": directory / "report.json", "md": directory / "report.md", "html": directory / "report.html"}
    paths["json"].write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    paths["md"].write_text(markdown(document), encoding="utf-8")
    paths["html"].write_text(to_html(document), encoding="utf-8")
    return paths


def _ratio(value: float | None) -> str:
    return "" if value is None else f"×{value:.2f}"


def _time(cell: dict[str, Any]) -> str:
    """`0.412 s ×1.02 (0.97–1.06)`: CPU seconds, median ratio to the reference, range of the ratios."""
    if cell.get("time_s") is None:
        return "—"
    spread = cell.get("time_range")
    spread = f" ({spread[0]:.2f}–{spread[1]:.2f})" if spread and cell.get("time_ratio") is not None else ""
    return f"{cell['time_s']:.3f} s {_ratio(cell.get('time_ratio'))}{spread}".strip()


TIME_NOTE = (
    "Time is the CPU the submission's worker spent (not wall time, so a busy machine does not move it) on the"
    " problem's timing workload, the median of several runs each beside a run of the reference, with the range of"
    " the ratios in brackets; a problem without a workload is timed on its hidden suite, once. Memory is the"
    " worker's peak. Only Accepted solutions get ratios."
)


def _memory(cell: dict[str, Any]) -> str:
    return (
        "—"
        if cell.get("peak_bytes") is None
        else f"{human_bytes(cell['peak_bytes'])} {_ratio(cell.get('memory_ratio'))}".strip()
    )


def _passed(cell: dict[str, Any]) -> str:
    return "—" if cell.get("passed") is None else f"{cell['passed']}/{cell['total']}"


def _judged_by(cell: dict[str, Any]) -> str:
    """The queue worker that judged the cell, as an HTML note (nothing when graded on this machine)."""
    worker = cell.get("judged_by")
    return f'<div class="judged-by">judged by {html.escape(worker)}</div>' if worker else ""


def _note(text: str, limit: int) -> str:
    """One line of at most `limit` characters; a cut note ends with an ellipsis."""
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


FORBIDDEN_SHOWN = 4  # a problem's forbidden names listed in full up to this many; more are summarised


def _forbidden_summary(names: list[str]) -> str:
    """`a, b` or, for a long list, `38 names, e.g. a, b, c, d` (report.json has them all)."""
    if len(names) <= FORBIDDEN_SHOWN:
        return ", ".join(names) or "—"
    return f"{len(names)} names, e.g. {', '.join(names[:FORBIDDEN_SHOWN])}"


def _accepted(candidate: dict[str, Any]) -> str:
    cells = candidate["results"]
    return f"{sum(cell['verdict'] == 'Accepted' for cell in cells)}/{len(cells)}"


def _candidate_flags(candidate: dict[str, Any]) -> list[str]:
    """Everything a grader should look at for one candidate, over all problems."""
    flags = [] if candidate["status"] == "graded" else [candidate["status"]]
    for cell in candidate["results"]:
        flags += [f"{cell['problem']}: {flag}" for flag in cell.get("flags", [])]
        if cell["forbidden"]:
            flags.append(f"{cell['problem']}: forbidden API")
    if candidate["late"]:
        flags.append("late")
    return flags


def _forbidden(cell: dict[str, Any]) -> str:
    return ", ".join(f"{use['name']} (line {use['line']})" for use in cell["forbidden"])


def markdown(report: dict[str, Any]) -> str:
    out = [
        f"# Take-home report: {report['bundle_id']}",
        "",
        f"Deadline {report['deadline']} · graded {report['graded_at']} · backend {report['backend']} · judge {report['judge_version']}",
        "",
        "## Problems",
        "",
        "| problem | reference | reference time | reference peak | forbidden |",
        "|---|---|---|---|---|",
    ]
    for problem in report["problems"]:
        ref = problem["reference"]
        changed = " (changed since the bundle was made)" if problem["changed_since_bundle"] else ""
        out.append(
            f"| {problem['slug']}{changed} | {ref.get('verdict') or 'not run'} | {_time(ref)} | {_memory(ref)} | {_forbidden_summary(problem['forbidden'])} |"
        )
    out += ["", "## Candidates", "", "| candidate | deadline | returned | Accepted | flags |", "|---|---|---|---|---|"]
    for candidate in report["candidates"]:
        out.append(
            f"| {candidate['name']} | {candidate.get('deadline', '')} | {candidate.get('lateness', '')} | "
            f"{_accepted(candidate)} | {'; '.join(_candidate_flags(candidate))} |"
        )
    out += [
        "",
        "## Results",
        "",
        LATE_NOTE,
        "",
        TIME_NOTE,
        "",
        "| candidate | problem | verdict | tests | time (× ref) | peak memory (× ref) | late | forbidden API | flags | note |",
    ]
    out.append("|---|---|---|---|---|---|---|---|---|---|")
    for candidate in report["candidates"]:
        for cell in candidate["results"]:
            note = _note(cell["message"], 160).replace("|", "\\|")
            if cell.get("judged_by"):
                note = f"{note} (judged by {cell['judged_by']})".strip()
            out.append(
                f"| {candidate['name']} | {cell['problem']} | {cell['verdict'] or 'not run'} | {_passed(cell)} | {_time(cell)} | {_memory(cell)} | "
                f"{'late' if cell['late'] else ''} | {_forbidden(cell) or ''} | {'; '.join(cell.get('flags', []))} | {note} |"
            )
    out += ["", "## Submission errors", ""]
    errors = [(c["name"], e) for c in report["candidates"] for e in c["errors"]]
    out += [f"- **{name}** ({error['kind']}): {error['message']}" for name, error in errors] or ["None."]
    similarity = report["similarity"]
    out += ["", f"## Similar submissions (≥ {similarity['threshold']:.2f}, {similarity['method']})", ""]
    out += [
        f"- {pair['problem']}: **{pair['a']}** and **{pair['b']}**: {pair['score']:.2f}" for pair in similarity["pairs"]
    ] or ["None over the threshold."]
    return "\n".join(out) + "\n"


def _verdict_badge(verdict: str | None) -> str:
    label = verdict or "not run"
    return f'<span class="verdict verdict-{label.lower().replace(" ", "-")}">{html.escape(label)}</span>'


def to_html(report: dict[str, Any]) -> str:
    e = html.escape
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>Take-home report {e(report['bundle_id'])}</title>",
        f"<style>{CSS}</style></head><body>",
        f"<h1>Take-home report <code>{e(report['bundle_id'])}</code></h1>",
        '<p class="meta">'
        + "".join(
            f"<span>{label} <strong>{e(str(value))}</strong></span>"
            for label, value in (
                ("deadline", report["deadline"]),
                ("graded", report["graded_at"]),
                ("backend", report["backend"]),
                ("judge", report["judge_version"]),
                ("candidates", len(report["candidates"])),
            )
        )
        + "</p>",
        '<h2>Problems</h2><table id="problems"><thead><tr><th>problem</th><th>reference</th><th>reference time</th>'
        "<th>reference peak</th><th>forbidden names</th></tr></thead><tbody>",
    ]
    for problem in report["problems"]:
        ref = problem["reference"]
        changed = (
            ' <span class="flag flag-late">changed since the bundle was made</span>'
            if problem["changed_since_bundle"]
            else ""
        )
        names = problem["forbidden"]
        forbidden = ", ".join(f"<code>{e(name)}</code>" for name in names) or '<span class="ok">none</span>'
        if len(names) > FORBIDDEN_SHOWN:
            forbidden = f"<details><summary>{e(_forbidden_summary(names))}</summary>{forbidden}</details>"
        parts.append(
            f'<tr data-problem="{e(problem["slug"])}"><td><strong>{e(problem["slug"])}</strong>{changed}<div class="note">{e(problem["title"])}</div></td>'
            f'<td>{_verdict_badge(ref.get("verdict"))}</td><td class="num">{e(_time(ref))}</td><td class="num">{e(_memory(ref))}</td><td>{forbidden}</td></tr>'
        )
    parts.append(
        '</tbody></table><h2>Candidates</h2><table id="candidates"><thead><tr><th>candidate</th><th>deadline</th>'
        "<th>returned</th><th>Accepted</th><th>flags</th></tr></thead><tbody>"
    )
    for candidate in report["candidates"]:
        flags = "".join(
            f'<div><span class="flag flag-origin">{e(flag)}</span></div>' for flag in _candidate_flags(candidate)
        )
        flags = flags or '<span class="ok">none</span>'
        parts.append(
            f'<tr class="candidate" data-candidate="{e(candidate["name"])}" data-accepted="{_accepted(candidate)}" '
            f'data-seal="{e(candidate.get("seal", ""))}" data-lateness="{e(candidate.get("lateness", ""))}">'
            f'<td><strong>{e(candidate["name"])}</strong><div class="note">{e(candidate.get("bundle_id", ""))}</div></td>'
            f'<td class="num">{e(candidate.get("deadline", ""))}</td><td>{e(candidate.get("lateness", ""))}</td>'
            f'<td class="num">{_accepted(candidate)}</td>'
            f"<td>{flags}</td></tr>"
        )
    parts.append(
        f'</tbody></table><h2>Results</h2><p class="meta">{e(LATE_NOTE)}</p><p class="meta">{e(TIME_NOTE)}</p>'
        '<table id="results"><thead><tr><th>candidate</th><th>problem</th><th>verdict</th>'
        "<th>tests</th><th>time (× ref)</th><th>peak memory (× ref)</th><th>late</th><th>forbidden API</th><th>flags</th><th>note</th></tr></thead><tbody>"
    )
    for candidate in report["candidates"]:
        for index, cell in enumerate(candidate["results"]):
            if cell["late"]:
                late = '<span class="flag flag-late">late</span>'
            else:
                late = '<span class="ok">on time</span>' if cell.get("modified_at") else '<span class="ok">—</span>'
            forbidden = (
                "".join(
                    f'<div class="ok"><span class="flag flag-forbidden">{e(use["name"])}</span> line {use["line"]}</div>'
                    for use in cell["forbidden"]
                )
                or '<span class="ok">none</span>'
            )
            status = "" if candidate["status"] == "graded" else f'<div class="note">{e(candidate["status"])}</div>'
            origin = "".join(
                f'<div><span class="flag flag-origin">{e(flag)}</span></div>' for flag in cell.get("flags", [])
            )
            parts.append(
                f'<tr class="result{" first-of-candidate" if index == 0 else ""}" data-candidate="{e(candidate["name"])}" '
                f'data-problem="{e(cell["problem"])}" data-verdict="{e(cell["verdict"] or "not run")}" data-late="{str(cell["late"]).lower()}" '
                f'data-forbidden="{len(cell["forbidden"])}" data-flags="{e("; ".join(cell.get("flags", [])))}">'
                f"<td><strong>{e(candidate['name'])}</strong>{status}</td><td>{e(cell['problem'])}</td><td>{_verdict_badge(cell['verdict'])}</td>"
                f'<td class="num">{e(_passed(cell))}</td><td class="num">{e(_time(cell))}</td><td class="num">{e(_memory(cell))}</td>'
                f'<td>{late}</td><td>{forbidden}</td><td>{origin}</td><td class="note">{e(_note(cell["message"], 300))}{_judged_by(cell)}</td></tr>'
            )
    parts.append('</tbody></table><h2>Submission errors</h2><div id="errors">')
    errored = [c for c in report["candidates"] if c["errors"]]
    for candidate in errored:
        parts.append(
            f'<p><strong>{e(candidate["name"])}</strong> <span class="note">{e(candidate["status"])}</span></p><ul class="errors">'
        )
        parts += [
            f'<li class="error" data-candidate="{e(candidate["name"])}" data-kind="{e(error["kind"])}"><span class="kind">{e(error["kind"])}</span>: {e(error["message"])}</li>'
            for error in candidate["errors"]
        ]
        parts.append("</ul>")
    if not errored:
        parts.append('<p class="empty">Every folder matched its bundle.</p>')
    similarity = report["similarity"]
    parts.append(
        f'</div><h2>Similar submissions</h2><p class="meta">Pairs at or over {similarity["threshold"]:.2f} similarity ({e(similarity["method"])}).</p>'
        '<table id="similarity"><thead><tr><th>problem</th><th>candidates</th><th>similarity</th></tr></thead><tbody>'
    )
    for pair in similarity["pairs"]:
        parts.append(
            f'<tr class="pair" data-problem="{e(pair["problem"])}" data-a="{e(pair["a"])}" data-b="{e(pair["b"])}" data-score="{pair["score"]}">'
            f"<td>{e(pair['problem'])}</td><td><strong>{e(pair['a'])}</strong> and <strong>{e(pair['b'])}</strong></td>"
            f'<td class="num"><span class="bar" style="width: {int(pair["score"] * 120)}px"></span>{pair["score"]:.2f}</td></tr>'
        )
    if not similarity["pairs"]:
        parts.append('<tr><td colspan="3" class="empty">No pair over the threshold.</td></tr>')
    parts.append("</tbody></table>")
    parts.append(
        f"<footer>Generated by judge {e(report['judge_version'])} on the {e(report['backend'])} backend. Standalone file: nothing to fetch.</footer>"
    )
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
