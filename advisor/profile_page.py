"""``poolkit profile report FILE``: a collected profile as one self-contained HTML page.

Per queue, each task's CPU share against its wall time (an SVG chart and a table), its
hub blocks, and the advisor's measured verdict (:mod:`celery_poolkit.advisor.profile`:
CPU-bound at >= 60 % CPU, waits at <= 25 %, after 5 runs). Inline CSS and SVG only: no
script, no external asset, readable from a file with no server.

Every string from the file (task, host and queue names) is escaped: a profile is data a
worker sent, never markup.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from html import escape

from celery_poolkit.advisor.profile import CPU_BOUND, MIN_RUNS, WAITS, Measured, measured
from celery_poolkit.worker.profile import ClusterProfile, TaskProfile, WorkerProfile

#: Pools on which a CPU-bound task starves the others (one process, one GIL).
_ONE_PROCESS = ("gevent", "eventlet", "threads")
_COLORS = {"cpu": "#c0392b", "io": "#2471a3", "mixed": "#b9770e", "few": "#7f8c8d"}
_W, _H, _PAD = 560, 260, 44  # the chart's size and margin, px


@dataclass(frozen=True, slots=True)
class Row:
    """One task on one queue's workers, with the advisor's verdict on its measurement."""

    task: TaskProfile
    pool: str
    hosts: tuple[str, ...]
    verdict: str  # cpu, io, mixed, few
    wrong_pool: bool  # CPU-bound on a one-process pool


def verdict(m: Measured) -> str:
    if m.runs < MIN_RUNS:
        return "few"
    return m.kind.value if m.kind else "mixed"


def _label(row: Row) -> str:
    text = {"cpu": "CPU-bound", "io": "waits", "mixed": "mixed",
            "few": f"too few runs (< {MIN_RUNS})"}[row.verdict]  # fmt: skip
    if row.wrong_pool:
        text += f": wrong pool, prefork would run it in parallel ({row.pool} is one process)"
    return text


def rows_by_queue(profile: ClusterProfile) -> dict[str, list[Row]]:
    """Queue name -> the tasks its workers ran (a worker on several queues: all of them),
    each with the verdict on its measurement over the whole cluster."""
    overall = measured(profile)
    out: dict[str, list[Row]] = {}
    for worker in profile.workers:
        queue = ", ".join(worker.queues) or "(no queue)"
        for task in worker.tasks:
            kind = verdict(overall[task.name])
            out.setdefault(queue, []).append(Row(
                task=task, pool=worker.pool, hosts=(worker.hostname,), verdict=kind,
                wrong_pool=kind == "cpu" and worker.pool in _ONE_PROCESS,
            ))  # fmt: skip
    return {q: sorted(rows, key=lambda r: (-r.task.cpu_share, r.task.name))
            for q, rows in sorted(out.items())}  # fmt: skip


def _x(seconds: float, low: float, high: float) -> float:
    """Wall time on a log axis."""
    span = math.log10(high) - math.log10(low)
    return _PAD + (math.log10(max(seconds, low)) - math.log10(low)) / span * (_W - 2 * _PAD)


def _y(share: float) -> float:
    return _H - _PAD - share * (_H - 2 * _PAD)


def chart(rows: list[Row]) -> str:
    """CPU share (y, 0-1) against median wall time (x, log): one dot per task."""
    walls = [r.task.wall_p50 for r in rows if r.task.wall_p50 > 0] or [0.001]
    low = 10 ** math.floor(math.log10(min(walls)))
    high = max(10 ** math.ceil(math.log10(max(walls))), low * 10)
    parts = [f'<svg class="chart" viewBox="0 0 {_W} {_H}" width="{_W}" height="{_H}" '
             'role="img" aria-label="CPU share against median wall time">']  # fmt: skip
    for share, name in ((CPU_BOUND, "CPU-bound"), (WAITS, "waits")):
        y = _y(share)
        parts.append(f'<line x1="{_PAD}" x2="{_W - _PAD}" y1="{y:.1f}" y2="{y:.1f}" '
                     f'class="limit"/><text x="{_W - _PAD}" y="{y - 4:.1f}" class="tick" '
                     f'text-anchor="end">{name} ({share:.0%})</text>')  # fmt: skip
    parts.append(f'<line x1="{_PAD}" x2="{_PAD}" y1="{_PAD}" y2="{_H - _PAD}" class="axis"/>'
                 f'<line x1="{_PAD}" x2="{_W - _PAD}" y1="{_H - _PAD}" y2="{_H - _PAD}" '
                 'class="axis"/>')  # fmt: skip
    for share in (0, 0.5, 1):
        parts.append(f'<text x="{_PAD - 6}" y="{_y(share) + 4:.1f}" class="tick" '
                     f'text-anchor="end">{share:.0%}</text>')  # fmt: skip
    decade = low
    while decade <= high * 1.0001:
        x = _x(decade, low, high)
        label = f"{decade * 1000:g} ms" if decade < 1 else f"{decade:g} s"
        parts.append(f'<text x="{x:.1f}" y="{_H - _PAD + 16}" class="tick" '
                     f'text-anchor="middle">{label}</text>')  # fmt: skip
        decade *= 10
    parts.append(f'<text x="{_W / 2:.0f}" y="{_H - 6}" class="tick" text-anchor="middle">'
                 "median wall time per run</text>"
                 f'<text x="12" y="{_H / 2:.0f}" class="tick" text-anchor="middle" '
                 f'transform="rotate(-90 12 {_H / 2:.0f})">CPU share</text>')  # fmt: skip
    for row in rows:
        x, y = _x(row.task.wall_p50, low, high), _y(row.task.cpu_share)
        radius = 5 + min(6.0, math.log10(max(row.task.count, 1)) * 2)
        parts.append(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{radius:.1f}" fill="{_COLORS[row.verdict]}"'
            f' class="{"wrong" if row.wrong_pool else "dot"}"><title>{escape(row.task.name)}: '
            f"{row.task.cpu_share:.0%} CPU, p50 {row.task.wall_p50 * 1000:.1f} ms</title>"
            f'</circle><text x="{x + radius + 3:.1f}" y="{y + 4:.1f}" class="name">'
            f"{escape(_short(row.task.name))}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def _short(name: str, limit: int = 40) -> str:
    return name if len(name) <= limit else "…" + name[1 - limit :]


def _table(rows: list[Row]) -> str:
    head = ("<tr><th>task</th><th>pool</th><th>runs</th><th>failed</th><th>CPU share</th>"
            "<th>wall p50 / p95</th><th>hub blocks</th><th>verdict</th></tr>")  # fmt: skip
    body = []
    for row in rows:
        t = row.task
        bar = (f'<span class="bar"><span style="width:{t.cpu_share * 100:.0f}%;background:'
               f'{_COLORS[row.verdict]}"></span></span> {t.cpu_share:.0%}')  # fmt: skip
        blocks = f"{t.blocks} ({t.block_seconds:.2f} s)" if t.blocks else "0"
        body.append(
            f'<tr class="{"wrong" if row.wrong_pool else ""}"><td><code>{escape(t.name)}</code>'
            f"</td><td>{escape(row.pool)}</td><td>{t.count}</td><td>{t.failures}</td>"
            f"<td>{bar}</td><td>{t.wall_p50 * 1000:.1f} / {t.wall_p95 * 1000:.1f} ms</td>"
            f'<td class="{"blocks" if t.blocks else ""}">{blocks}</td>'
            f"<td>{escape(_label(row))}</td></tr>"
        )
    return f"<table>{head}{''.join(body)}</table>"


def _workers(workers: Iterable[WorkerProfile]) -> str:
    items = (f"<li><code>{escape(w.hostname)}</code>: {escape(w.pool)} -c {w.concurrency}, "
             f"queues {escape(', '.join(w.queues))}, CPU clock {escape(w.cpu_clock)}"
             + (f", {w.dropped} runs not reported" if w.dropped else "") + "</li>"
             for w in workers)  # fmt: skip
    return f"<ul>{''.join(items)}</ul>"


_CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px auto;
max-width:1100px;padding:0 16px;color:#1c2833;background:#fff}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;
border-bottom:1px solid #d5d8dc;padding-bottom:4px}.meta{color:#566573;margin:0 0 12px}
table{border-collapse:collapse;width:100%;margin:8px 0}th,td{text-align:left;
padding:4px 8px;border-bottom:1px solid #eaecee;vertical-align:middle}th{background:#f4f6f7}
tr.wrong td{background:#fdedec}td.blocks{color:#922b21;font-weight:600}
.bar{display:inline-block;width:90px;height:10px;background:#eaecee;vertical-align:middle}
.bar span{display:block;height:10px}.chart{display:block;margin:8px 0}
.axis{stroke:#566573}.limit{stroke:#aab7b8;stroke-dasharray:4 3}
.tick{font-size:11px;fill:#566573}.name{font-size:11px;fill:#1c2833}
.dot{stroke:#fff}.wrong{stroke:#1c2833;stroke-width:2}
.legend span{display:inline-block;width:10px;height:10px;border-radius:5px;margin:0 4px 0 12px}
"""


def render(profile: ClusterProfile) -> str:
    """The page, as one HTML string."""
    when = datetime.fromtimestamp(profile.collected_at, tz=timezone.utc)
    legend = "".join(f'<span style="background:{_COLORS[k]}"></span>{label}'
                     for k, label in (("cpu", "CPU-bound"), ("io", "waits"),
                                      ("mixed", "mixed"), ("few", "too few runs")))  # fmt: skip
    sections = []
    for queue, rows in rows_by_queue(profile).items():
        sections.append(f"<h2>queue {escape(queue)}</h2>{chart(rows)}{_table(rows)}")
    errors = "".join(f"<li><code>{escape(host)}</code>: {escape(error)}</li>"
                     for host, error in profile.errors)  # fmt: skip
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>poolkit profile: {escape(profile.app)}</title><style>{_CSS}</style></head>"
        f"<body><h1>poolkit profile of <code>{escape(profile.app)}</code></h1>"
        f'<p class="meta">collected {when:%Y-%m-%d %H:%M:%S} UTC from '
        f"{len(profile.workers)} worker(s). CPU share is CPU time over wall time; the "
        f"advisor calls a task CPU-bound at &ge; {CPU_BOUND:.0%}, waiting at &le; "
        f"{WAITS:.0%}, once it ran {MIN_RUNS} times. A CPU-bound task on a gevent, "
        "eventlet or threads queue (outlined) holds the one process it shares.</p>"
        f'<p class="legend">{legend}</p>{_workers(profile.workers)}{"".join(sections)}'
        + (f"<h2>workers that did not answer</h2><ul>{errors}</ul>" if errors else "")
        + "</body></html>\n"
    )
