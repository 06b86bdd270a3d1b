"""``--format markdown``: for pull-request comments and job summaries."""

from __future__ import annotations

from celery_poolkit.model import Advice


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render(advice: Advice, color: bool = False) -> str:
    out = ["# poolkit advise", ""]
    out += [
        "| queue | pool | -c | processes | confidence | tasks | command |",
        "|---|---|---:|---:|---|---:|---|",
    ]
    for q in advice.queues:
        out.append(
            f"| {_cell(q.name)} | {q.pool.value} | {q.concurrency} | {q.processes} | "
            f"{q.confidence.value} | {len(q.tasks)} | `{_cell(q.command)}` |"
        )
    for q in advice.queues:
        out += ["", f"## {q.name}", ""]
        out += [f"- {_cell(r)}" for r in q.reasons]
        for ev in q.evidence:
            out.append(
                f"- `{ev.kind}`: `{_cell(ev.call)}` via {' → '.join(ev.via)} ({ev.location})"
            )
        if q.split is not None:
            out.append(
                f"- **split**: move {', '.join(q.split.tasks)} to `{q.split.new_queue}` "
                f"(`{q.split.command}`)"
            )
    if advice.findings:
        out += ["", "## Findings", "", "| rule | severity | where | message |", "|---|---|---|---|"]
        for f in advice.findings:
            out.append(
                f"| {f.rule} | {f.severity.value} | {f.location or ''} | {_cell(f.message)} |"
            )
    if advice.skipped:
        out += ["", "## Skipped", ""]
        out += [f"- `{s.path}`: {_cell(s.reason)}" for s in advice.skipped]
    return "\n".join(out) + "\n"
