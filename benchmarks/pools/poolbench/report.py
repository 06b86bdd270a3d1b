"""Render a run (the ``results.json`` document) as markdown, and as reST for the docs.

Pure functions of the document: the same JSON always renders the same text, so a saved
run can be re-rendered (``run.py --render``) and the rendering is unit-tested on fixed
inputs.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from poolbench.stats import Ranked, Repeats, best_of

WORKLOAD_ORDER = ("http_io", "db_io", "sleep", "cpu_py", "cpu_nogil", "mixed")
Doc = dict[str, Any]
Cell = dict[str, Any]


def workloads(doc: Doc) -> list[str]:
    seen = {c["workload"] for c in doc["cells"]}
    return [w for w in WORKLOAD_ORDER if w in seen]


def configs(doc: Doc) -> list[Cell]:
    """One representative cell per configuration, in the order they were run."""
    out: dict[str, Cell] = {}
    for c in doc["cells"]:
        out.setdefault(c["config"], c)
    return list(out.values())


def cell(doc: Doc, config: str, workload: str) -> Cell | None:
    return next(
        (c for c in doc["cells"] if c["config"] == config and c["workload"] == workload), None
    )


def _repeats(c: Cell) -> Repeats | None:
    return Repeats(tuple(c["repeats"])) if c["status"] == "ok" and c["repeats"] else None


def ranking(doc: Doc, workload: str, *, include_deprecated: bool = True) -> Any:
    ranked = [
        Ranked(c["config"], r)
        for c in doc["cells"]
        if c["workload"] == workload
        and (r := _repeats(c)) is not None
        and (include_deprecated or not c["deprecated"])
    ]
    return best_of(ranked)


def fmt_rate(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:,.0f}" if value >= 100 else f"{value:.1f}"


def throughput_cell(c: Cell | None, *, marks: bool = True) -> str:
    if c is None:
        return "-"
    if c["status"] != "ok":
        return "unavailable" if c["status"] == "unavailable" else c["status"]
    text = (
        f"**{fmt_rate(c['tasks_per_s'])}** ({c['share_of_limit']:.0%} of "
        f"{c['limit']:,.0f}) ±{c['spread'] / 2:.0%}"
    )
    return text + (" ⚠" if marks and c["disturbed"] else "")


def _table(header: list[str], rows: Iterable[list[str]], align: str = "") -> list[str]:
    spec = align or "|".join(["---"] + ["---:"] * (len(header) - 1))
    return [
        "| " + " | ".join(header) + " |",
        "|" + spec + "|",
        *("| " + " | ".join(r) + " |" for r in rows),
    ]


def _header(doc: Doc) -> list[str]:
    v, m = doc["versions"], doc["machine"]
    mode = (
        "**quick run** (short batches, for development: not the recorded numbers)"
        if doc["mode"] == "quick"
        else "full run"
    )
    cal = doc["calibration"]
    return [
        f"# Pool benchmark: {mode}, {doc['started_utc']}",
        "",
        f"{m['cores']} cores, {m['memory_gib']} GiB, Linux {m['kernel']}; Python {v['python']}, "
        f"celery {v['celery']}, gevent {v['gevent']}, eventlet {v['eventlet']}, "
        f"psycopg2 {v['psycopg2-binary']}, psycogreen {v['psycogreen']}, "
        f"celery-poolkit {v['celery-poolkit']}. Run took {doc['duration_s'] / 60:.1f} min.",
        f"CPU tasks calibrated to ~50 ms: cpu_py {cal['cpu_py_rounds']:,} rounds "
        f"({cal['cpu_py_ms']:.1f} ms), pbkdf2 {cal['pbkdf2_iterations']:,} iterations "
        f"({cal['pbkdf2_ms']:.1f} ms).",
        "",
    ]


def _noise_lines(doc: Doc) -> list[str]:
    noise, guard = doc.get("noise"), doc["guard"]
    lines = []
    if noise:
        lines.append(
            f"Run-to-run noise (spread = (max - min) / median of the repeats of one "
            f"configuration): median {noise['median_spread']:.0%}, max "
            f"{noise['max_spread']:.0%} over {noise['configurations']} configurations. "
            "± in the tables is half the spread."
        )
        lines.append("")
    fc = guard.get("foreign_cores_median")
    lines.append(
        f"Shared-machine guard: {guard['batches']} timed batches, {guard['retried']} retried "
        f"because the machine was disturbed, {guard['used_disturbed']} kept while still "
        f"disturbed (⚠); foreign CPU during kept batches: median "
        f"{fc if fc is None else round(fc, 2)} cores, max "
        f"{round(guard['foreign_cores_max'] or 0, 2)} ({guard['rule']})."
    )
    return [*lines, ""]


def _best_lines(doc: Doc) -> list[str]:
    lines = []
    for w in workloads(doc):
        best = ranking(doc, w)
        if best is None:
            lines.append(f"- **{w}**: nothing measured")
            continue
        head = best.winner
        tie = ", ".join(t.name for t in best.ties)
        order = " > ".join(f"{r.name} {fmt_rate(r.repeats.median)}" for r in best.order)
        slowest = best.order[-1]
        ratio = head.repeats.median / slowest.repeats.median if slowest.repeats.median else 0
        lines.append(
            f"- **{w}**: **{head.name}** {fmt_rate(head.repeats.median)}/s"
            + (f", within noise: {tie}" if tie else "")
            + (f"; {ratio:.1f}x {slowest.name}" if len(best.order) > 1 else "")
            + f". Order: {order}."
        )
    return lines


ADVISOR_HEADER = ["workload", "recommended", "tasks/s", "best (non-deprecated)", "ratio",
                  "verdict", "why"]  # fmt: skip
DB_HEADER = ["configuration", "-c", "peak connections", "per timed batch",
             "wait callback in the worker", "tasks/s"]  # fmt: skip


def _mib(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


def throughput_rows(doc: Doc, ws: list[str]) -> list[list[str]]:
    return [
        [c["config"], str(c["concurrency"])]
        + [throughput_cell(cell(doc, c["config"], w)) for w in ws]
        for c in configs(doc)
    ]


def advisor_rows(doc: Doc) -> list[list[str]]:
    return [
        [
            a["workload"],
            a["recommended"] or "-",
            fmt_rate(a["recommended_tps"]),
            f"{a['best'] or '-'} {fmt_rate(a['best_tps'])}",
            "-" if a["ratio"] is None else f"{a['ratio']:.2f}",
            "PASS" if a["passed"] else "**FAIL**",
            a["reason"].replace("|", "/"),
        ]
        for a in doc["advisor"]
    ]


def memory_rows(doc: Doc, ws: list[str]) -> list[list[str]]:
    rows = []
    for c in configs(doc):
        cells = [cell(doc, c["config"], w) for w in ws]
        procs = max((x["processes"] or 0 for x in cells if x and x["processes"]), default=0)
        rows.append(
            [c["config"], str(procs or "-")]
            + [
                f"{_mib(x['peak_rss_mib'])} / {_mib(x['peak_pss_mib'])}"
                if x and x["status"] == "ok"
                else "-"
                for x in cells
            ]
        )
    return rows


def db_rows(doc: Doc) -> list[list[str]]:
    rows = []
    for c in configs(doc):
        x = cell(doc, c["config"], "db_io")
        if x is None or x["status"] != "ok":
            continue
        per = [b["pg_connections"] for b in x["batches"] if b["used"]]
        rows.append(
            [
                x["config"],
                str(x["concurrency"]),
                str(x["peak_pg_connections"]),
                str(per),
                f"``{x['worker'].get('psycopg2_wait_callback')}``",
                fmt_rate(x["tasks_per_s"]),
            ]
        )
    return rows


def _advisor_title(doc: Doc) -> str:
    passed = sum(a["passed"] for a in doc["advisor"])
    return f"Advisor check: {passed}/{len(doc['advisor'])} passed"


ADVISOR_RULE = (
    "`poolkit advise --format json benchapp/<workload>` against the measurements: the "
    "recommended configuration must reach >= 0.95x the best non-deprecated pool, or be "
    "within its measured noise."
)
THROUGHPUT_TITLE = "Median tasks/s (share of the theoretical limit) ± half the spread"
THROUGHPUT_NOTE = (
    "Limit: concurrency / 0.05 s for waits (http_io, db_io, sleep); cores / 0.05 s for "
    "CPU (cpu_py, cpu_nogil), for every pool; mixed: both bounds for the mean task. "
    "⚠ = kept a batch the shared-machine guard flagged."
)
MEMORY_TITLE = "Peak worker memory, MiB (RSS / PSS, summed over the worker's processes)"
DB_TITLE = "db_io: PostgreSQL connections and the psycopg2 wait callback"


def _problem_lines(doc: Doc) -> list[str]:
    rows = [c for c in doc["cells"] if c["status"] != "ok"]
    return [
        f"- {c['workload']} / {c['config']}: {c['status']}: {c['reason'].splitlines()[0]}"
        for c in rows
    ]


def markdown(doc: Doc) -> str:
    ws = workloads(doc)
    db = db_rows(doc)
    problems = _problem_lines(doc)
    lines = [
        *_header(doc),
        f"## Throughput: {THROUGHPUT_TITLE[0].lower()}{THROUGHPUT_TITLE[1:]}",
        "",
        THROUGHPUT_NOTE,
        "",
        *_table(["configuration", "-c", *ws], throughput_rows(doc, ws)),
        "",
        *_noise_lines(doc),
        "## Best pool per workload",
        "",
        *_best_lines(doc),
        "",
        f"## {_advisor_title(doc)}",
        "",
        ADVISOR_RULE,
        "",
        *_table(ADVISOR_HEADER, advisor_rows(doc), "---|---|---:|---|---:|---|---"),
        "",
        *([f"## {DB_TITLE}", "", *_table(DB_HEADER, db, "---|---:|---:|---|---|---:"), ""]
          if db else []),
        f"## {MEMORY_TITLE}",
        "",
        *_table(["configuration", "procs", *ws], memory_rows(doc, ws)),
        "",
        *(["## Not measured", "", *problems, ""] if problems else []),
    ]  # fmt: skip
    return "\n".join(lines).rstrip() + "\n"


def _rst_list_table(title: str, header: list[str], rows: list[list[str]]) -> list[str]:
    out = [f".. list-table:: {title}", "   :header-rows: 1", ""]
    for row in [header, *rows]:
        out.append(f"   * - {row[0]}")
        out += [f"     - {value}" for value in row[1:]]
    return [*out, ""]


def rst_tables(doc: Doc) -> str:
    """The same tables as :func:`markdown`, as reST, for ``.. include::`` in the docs."""
    ws = workloads(doc)
    db = db_rows(doc)
    problems = _problem_lines(doc)
    rows = [[v.replace("⚠", "(!)") for v in row] for row in throughput_rows(doc, ws)]
    lines = [
        ".. This file is generated by benchmarks/pools/run.py --publish; do not edit.",
        "",
        *_rst_list_table(THROUGHPUT_TITLE, ["configuration", "-c", *ws], rows),
        THROUGHPUT_NOTE.replace("⚠", "(!)"),
        "",
        *[line.replace("⚠", "(!)") for line in _noise_lines(doc)],
        "Best pool per workload:",
        "",
        *_best_lines(doc),
        "",
        ADVISOR_RULE.replace("`", "``"),
        "",
        *_rst_list_table(_advisor_title(doc), ADVISOR_HEADER, advisor_rows(doc)),
        *(_rst_list_table(DB_TITLE, DB_HEADER, db) if db else []),
        *_rst_list_table(MEMORY_TITLE, ["configuration", "procs", *ws], memory_rows(doc, ws)),
        *(["Not measured:", "", *problems, ""] if problems else []),
    ]
    return "\n".join(lines)


def _subst_name(*parts: str) -> str:
    return "_".join(re.sub(r"[^a-z0-9]+", "_", p.lower()).strip("_") for p in parts)


def rst_substitutions(doc: Doc) -> str:
    """``|http_io_threads|``-style substitutions so the prose in the docs quotes the run.

    Every (grid configuration, workload) pair gets ``|<workload>_<config>|`` (tasks/s),
    ``|<workload>_<config>_share|`` and, for db_io, ``|db_io_<config>_conns|``; missing
    cells read "n/a", so the docs build whatever a run measured.
    """
    from poolbench.spec import POOLS, WORKLOADS

    subs: dict[str, str] = {}
    for w in WORKLOADS:
        for p in POOLS:
            c = cell(doc, p.name, w.name)
            ok = c if c is not None and c["status"] == "ok" else None
            key = _subst_name(w.name, p.name)
            subs[key] = fmt_rate(ok["tasks_per_s"]) if ok else "n/a"
            subs[key + "_share"] = f"{ok['share_of_limit']:.0%}" if ok else "n/a"
            subs[_subst_name(p.name, w.name, "rss")] = _mib(ok["peak_rss_mib"]) if ok else "n/a"
            if w.name == "db_io":
                subs[key + "_conns"] = str(ok["peak_pg_connections"]) if ok else "n/a"
    noise = doc.get("noise") or {}
    subs["noise_median"] = f"{noise['median_spread']:.0%}" if noise else "n/a"
    subs["noise_max"] = f"{noise['max_spread']:.0%}" if noise else "n/a"
    subs["run_date"] = doc["started_utc"]
    subs["run_mode"] = "full run" if doc["mode"] == "full" else "quick run (development)"
    subs["run_minutes"] = f"{doc['duration_s'] / 60:.1f}"
    subs["advisor_passed"] = f"{sum(a['passed'] for a in doc['advisor'])}/{len(doc['advisor'])}"
    lines = [".. Generated by benchmarks/pools/run.py --publish; do not edit.", ""]
    lines += [f".. |{k}| replace:: {v}" for k, v in sorted(subs.items())]
    return "\n".join(lines) + "\n"
