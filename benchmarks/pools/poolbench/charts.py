"""PNG charts of a run (matplotlib, headless). Reads only the results document.

:func:`series` turns the document into plain numbers (unit-tested); the drawing
functions only lay them out.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from poolbench.report import cell, configs, workloads

Doc = dict[str, Any]


def series(doc: Doc, field: str, ws: list[str] | None = None) -> dict[str, list[float | None]]:
    """config -> one value of ``field`` per workload (None where not measured)."""
    ws = workloads(doc) if ws is None else ws
    out: dict[str, list[float | None]] = {}
    for c in configs(doc):
        values = []
        for w in ws:
            x = cell(doc, c["config"], w)
            values.append(x[field] if x is not None and x["status"] == "ok" else None)
        out[c["config"]] = values
    return out


def _bars(
    ax: Any,
    ws: list[str],
    data: dict[str, list[float | None]],
    errors: dict[str, list[tuple[float, float]]] | None = None,
) -> None:
    n = max(len(data), 1)
    width = 0.8 / n
    for i, (name, values) in enumerate(data.items()):
        xs = [j + (i - (n - 1) / 2) * width for j in range(len(ws))]
        ys = [v if v is not None else 0.0 for v in values]
        err = None
        if errors is not None:
            lo_hi = errors[name]
            err = [
                [y - lo for y, (lo, _) in zip(ys, lo_hi, strict=True)],
                [hi - y for y, (_, hi) in zip(ys, lo_hi, strict=True)],
            ]
        ax.bar(xs, ys, width, label=name, yerr=err, capsize=2)
        for x, v in zip(xs, values, strict=True):
            if v is None:  # not measured: say so where the bar would be
                ax.annotate("n/a", (x, 0), xytext=(0, 3), textcoords="offset points",
                            xycoords=("data", "axes fraction"), ha="center", fontsize=6,
                            rotation=90)  # fmt: skip
    ax.set_xticks(range(len(ws)), ws)
    ax.grid(axis="y", alpha=0.3)


def draw_all(doc: Doc, out_dir: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_dir.mkdir(parents=True, exist_ok=True)
    ws = workloads(doc)
    label = "quick run" if doc["mode"] == "quick" else "full run"
    written: list[Path] = []

    def save(fig: Any, name: str) -> None:
        fig.tight_layout()
        path = out_dir / name
        fig.savefig(path, dpi=80)
        plt.close(fig)
        written.append(path)

    rates = series(doc, "tasks_per_s", ws)
    ranges: dict[str, list[tuple[float, float]]] = {}
    for c in configs(doc):
        ranges[c["config"]] = []
        for w in ws:
            x = cell(doc, c["config"], w)
            ok = x is not None and x["status"] == "ok"
            ranges[c["config"]].append(
                (min(x["repeats"]), max(x["repeats"])) if ok and x else (0.0, 0.0)
            )
    fig, ax = plt.subplots(figsize=(10, 4.5))
    _bars(ax, ws, rates, ranges)
    ax.set_yscale("log")
    ax.set_ylim(bottom=5)
    ax.set_ylabel("tasks/s (log; bars: median, whiskers: min-max)")
    ax.set_title(f"Throughput per pool and workload ({label}, {doc['started_utc']})")
    ax.legend(fontsize=8, ncol=3)
    save(fig, "throughput.png")

    shares = {
        k: [None if v is None else v * 100 for v in vs]
        for k, vs in series(doc, "share_of_limit", ws).items()
    }
    fig, ax = plt.subplots(figsize=(10, 4))
    _bars(ax, ws, shares)
    ax.set_ylim(0, 105)
    ax.set_ylabel("% of the theoretical limit")
    ax.set_title("Share of the theoretical limit (waits: c / 50 ms; CPU: cores / 50 ms)")
    ax.legend(fontsize=8, ncol=3)
    save(fig, "limit_share.png")

    fig, ax = plt.subplots(figsize=(10, 4))
    _bars(ax, ws, series(doc, "peak_pss_mib", ws))
    ax.set_ylabel("MiB (PSS, worker process tree)")
    ax.set_title("Peak worker memory")
    ax.legend(fontsize=8, ncol=3)
    save(fig, "memory.png")

    if "db_io" in ws:
        names = [c["config"] for c in configs(doc)]
        db = [cell(doc, n, "db_io") for n in names]
        ok = [
            (n, x) for n, x in zip(names, db, strict=True) if x is not None and x["status"] == "ok"
        ]
        fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.8))
        from matplotlib.ticker import NullFormatter

        rates_db = [x["tasks_per_s"] for _, x in ok]
        conns = [x["peak_pg_connections"] for _, x in ok]
        left.barh([n for n, _ in ok], rates_db)
        left.set_xlabel("db_io tasks/s (log)")
        left.set_xscale("log")
        left.xaxis.set_minor_formatter(NullFormatter())
        right.barh([n for n, _ in ok], conns)
        right.set_xlabel("peak PostgreSQL connections")
        for axis, values in ((left, rates_db), (right, conns)):
            axis.invert_yaxis()
            axis.grid(axis="x", alpha=0.3)
            for y, v in enumerate(values):
                axis.annotate(f"{v:,.0f}", (v, y), xytext=(3, 0), textcoords="offset points",
                              va="center", fontsize=7)  # fmt: skip
            axis.margins(x=0.15)
        fig.suptitle("psycopg2 queries (pg_sleep 50 ms): throughput and connections held")
        save(fig, "db_io.png")
    return written
