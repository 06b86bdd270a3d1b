"""``python benchmarks/pools/run.py``: the whole pool benchmark, one command.

Starts Redis, PostgreSQL and the slow HTTP upstream on loopback, asks ``poolkit advise``
about every workload, runs every (pool, workload) cell with one real worker at a time,
checks the advice against the measurements, and writes ``results.json``,
``results.md`` and PNG charts. The run is bounded: every batch has a deadline and the
whole run has a time budget (cells left over are reported as not run, never dropped).
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Any

from poolbench import report
from poolbench.advisor_check import AdvisorUnavailable, Measured, Recommendation, check
from poolbench.cell import QUICK, Cell, Plan, record, unavailable
from poolbench.guard import Guard
from poolbench.results import CellResult
from poolbench.spec import LATENCY_S, WORKLOADS, PoolConfig, SpecError, grid, parse_only
from poolbench.stats import run_noise

HERE = Path(__file__).resolve().parent.parent
APP_ROOT = HERE / "app"
REPO = HERE.parent.parent
MAX_ADVISED_CONCURRENCY = 250  # PostgreSQL is started with max_connections=300
NEEDED = ("celery", "redis", "psycopg2", "requests", "gevent", "eventlet", "matplotlib")


class UsageError(Exception):
    """Bad input or a missing prerequisite: printed as one line, no traceback."""


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="benchmarks/pools/run.py",
        description="Measure every Celery pool on every workload with real workers, and "
        "check `poolkit advise` against the measurements.",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="short batches, 2 repeats: for development, not for the docs",
    )
    parser.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="SPEC",
        help="pool=NAME[,NAME…][,workload=NAME[,NAME…]] (repeatable)",
    )
    parser.add_argument("--repeats", type=int, help="timed batches per cell (default 3)")
    parser.add_argument(
        "--budget-minutes",
        type=float,
        default=17.0,
        help="start no cell after this many minutes (default 17: the whole run stays < 20)",
    )
    parser.add_argument(
        "--out", type=Path, help="output directory (default benchmarks/results/<UTC time>)"
    )
    parser.add_argument(
        "--publish",
        type=Path,
        metavar="DIR",
        help="also copy the charts and reST tables to DIR (docs/_static/bench)",
    )
    parser.add_argument(
        "--render",
        type=Path,
        metavar="RESULTS_JSON",
        help="only re-render the report and charts of a saved results.json",
    )
    parser.add_argument(
        "--plan",
        action="store_true",
        help="check the arguments and print what would run (cells, batches, outputs); "
        "start nothing",
    )
    args = parser.parse_args(argv)
    if args.repeats is not None and not 1 <= args.repeats <= 20:
        parser.error("--repeats must be between 1 and 20")
    if args.budget_minutes <= 0:
        parser.error("--budget-minutes must be positive")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        if args.plan:
            return show_plan(args)
        if args.render:
            return render_saved(args.render, args.publish)
        return run(args)
    except (UsageError, SpecError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; servers and workers were stopped", file=sys.stderr)
        return 130


def load_results(path: Path) -> dict[str, Any]:
    try:
        doc = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise UsageError(f"cannot read {path}: {exc}") from None
    if not isinstance(doc, dict) or doc.get("schema") != 1 or "cells" not in doc:
        raise UsageError(f"{path} is not a results.json written by this suite (schema 1)")
    return doc


def render_saved(path: Path, publish: Path | None) -> int:
    write_outputs(load_results(path), path.parent, publish)
    return 0


def show_plan(args: argparse.Namespace) -> int:
    """``--plan``: the same argument checks as a run, then what it would do; nothing starts.

    The cells listed are the grid; an unfiltered run adds the advisor's own configuration
    for a workload when it is not on the grid (known only once the advisor has run).
    """
    if args.publish is not None and args.publish.exists() and not args.publish.is_dir():
        raise UsageError(f"--publish {args.publish}: not a directory")
    if args.render:
        doc = load_results(args.render)
        print(
            f"would re-render {len(doc['cells'])} cells of {args.render} into {args.render.parent}"
        )
        if args.publish:
            print(f"and copy the charts and tables to {args.publish}")
        return 0
    selection = parse_only(args.only)
    plan = QUICK if args.quick else Plan()
    if args.repeats:
        plan = Plan(**{**plan.__dict__, "repeats": args.repeats})
    cores = len(os.sched_getaffinity(0))
    cells = [
        (p.name, w.name) for w in WORKLOADS for p in grid(cores) if selection.wants(p.name, w.name)
    ]
    print(f"plan: {'quick' if args.quick else 'full'}, {plan.repeats} timed batches per cell, "
          f"budget {args.budget_minutes:g} min, {cores} cores")  # fmt: skip
    for pool, workload in cells:
        print(f"  {workload:10} {pool}")
    extra = "" if args.only else " (plus the advisor's configuration where it is off the grid)"
    print(f"{len(cells)} cells{extra}")
    if args.publish:
        print(f"charts and tables copied to {args.publish}")
    return 0


def preflight() -> None:
    # find_spec, not import: importing eventlet or gevent here would patch nothing but
    # would print eventlet's deprecation banner into every run.
    missing = [name for name in NEEDED if importlib.util.find_spec(name) is None]
    if missing:
        raise UsageError(
            f"missing Python packages: {', '.join(missing)}; "
            'install the suite\'s dependencies with: pip install -e ".[bench]"'
        )


def versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for dist in (
        "celery",
        "kombu",
        "gevent",
        "greenlet",
        "eventlet",
        "psycopg2-binary",
        "psycogreen",
        "requests",
        "redis",
        "celery-poolkit",
    ):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = "not installed"
    redis_v = subprocess.run(
        ["redis-server", "--version"], capture_output=True, text=True, check=False
    ).stdout.split()
    out["redis-server"] = next((w[2:] for w in redis_v if w.startswith("v=")), "?")
    return out


def machine() -> dict[str, Any]:
    mem = Path("/proc/meminfo").read_text().splitlines()[0].split()[1]
    return {
        "cores": len(os.sched_getaffinity(0)),
        "memory_gib": round(int(mem) / 1024 / 1024, 1),
        "kernel": platform.release(),
        "loadavg_at_start": list(os.getloadavg()),
    }


def run(args: argparse.Namespace) -> int:
    from harness.servers import postgres_server, redis_server
    from poolbench.advisor_run import advise, launcher_unavailable
    from poolbench.calibrate import calibrate
    from poolbench.servers import upstream_server

    selection = parse_only(args.only)  # bad input first, before anything is started
    preflight()
    plan = QUICK if args.quick else Plan()
    if args.repeats:
        plan = Plan(**{**plan.__dict__, "repeats": args.repeats})
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    out = args.out or REPO / "benchmarks" / "results" / (stamp + ("-quick" if args.quick else ""))
    out.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    deadline = started + args.budget_minutes * 60
    cores = len(os.sched_getaffinity(0))
    host = machine()  # before the run: its load average is the machine's state at start
    guard = Guard()
    say(f"output: {out}")
    say("calibrating the CPU tasks to ~50 ms")
    calibration = calibrate()
    say(
        f"  cpu_py: {calibration['cpu_py_rounds']} rounds = {calibration['cpu_py_ms']:.1f} ms; "
        f"pbkdf2: {calibration['pbkdf2_iterations']} iterations = {calibration['pbkdf2_ms']:.1f} ms"
    )
    workloads = [w for w in WORKLOADS if w.name in selection.workloads]
    launcher_problem = launcher_unavailable()
    runs: list[tuple[PoolConfig, CellResult]] = []
    advice: dict[str, tuple[Recommendation | AdvisorUnavailable, str]] = {}
    with (
        redis_server() as rsrv,
        postgres_server(max_connections=300) as pg,
        upstream_server(LATENCY_S) as upstream_url,
    ):
        for w in workloads:
            advice[w.name] = advise(w, APP_ROOT)
            say(f"advisor, {w.name}: {describe(advice[w.name][0])}")
        base_env = {
            "UPSTREAM_URL": upstream_url,
            "DATABASE_DSN": pg.dsn,
            "PYTHONPATH": str(APP_ROOT),
        }
        todo = plan_cells(workloads, selection, advice, cores, bool(args.only))
        for i, (config, w) in enumerate(todo, 1):
            db_url = rsrv.url_for(i % 15 + 1)
            # This cell's fair share of what is left of the budget (cells that cannot run
            # take no time, so they get no share).
            left = sum(1 for c, _ in todo[i - 1 :] if not skip_reason(c, launcher_problem))
            share = (deadline - time.monotonic()) / max(left, 1)
            patience_until = time.monotonic() + max(share, 0.0)
            shown = config.name if config.advised else f"{config.name} -c {config.concurrency}"
            say(f"[{i}/{len(todo)}] {w.name:9} {shown:24}", end=" ")
            result = measure(
                config,
                w,
                launcher_problem=launcher_problem,
                deadline=deadline,
                budget=args.budget_minutes,
                cores=cores,
                cell=Cell(
                    config,
                    w,
                    app_root=APP_ROOT,
                    env={**base_env, "BENCH_BROKER_URL": db_url, "BENCH_REDIS_URL": db_url},
                    redis_url=db_url,
                    pg_dsn=pg.dsn,
                    task_args=calibration,
                    plan=plan,
                    guard=guard,
                    log_dir=out / "logs" / f"{i:02d}-{w.name}-{config.pool}",
                    cores=cores,
                    patience_until=patience_until,
                ),
            )
            runs.append((config, result))
            print(status_line(result), flush=True)
    checks = [
        check(w.name, advice[w.name][0], [measured(p, c) for p, c in runs if c.workload == w.name])
        for w in workloads
    ]
    cells = [c for _, c in runs]
    doc = document(
        args, stamp=stamp, started=started, host=host, plan=plan, cores=cores,
        calibration=calibration, cells=cells,
        advisor=[{**c.__dict__, "advisor_command": advice[c.workload][1]} for c in checks],
    )  # fmt: skip
    (out / "results.json").write_text(json.dumps(doc, indent=2) + "\n")
    write_outputs(doc, out, args.publish)
    print(report.markdown(doc))
    failed_cells = [c for c in cells if c.status == "failed"]
    failed_checks = [c for c in checks if not c.passed]
    say(
        f"done in {(time.monotonic() - started) / 60:.1f} min: {len(cells)} cells "
        f"({len(failed_cells)} failed), advisor checks {len(checks) - len(failed_checks)}/"
        f"{len(checks)} passed; results in {out}"
    )
    return 1 if failed_cells or failed_checks else 0


def document(
    args: argparse.Namespace,
    *,
    stamp: str,
    started: float,
    host: dict[str, Any],
    plan: Plan,
    cores: int,
    calibration: dict[str, float],
    cells: list[CellResult],
    advisor: list[dict[str, Any]],
) -> dict[str, Any]:
    """The results.json document: everything the report and charts are made from."""
    noise = run_noise([r for c in cells if (r := c.repeats) is not None])
    return {
        "schema": 1,
        "mode": "quick" if args.quick else "full",
        "started_utc": stamp,
        "duration_s": time.monotonic() - started,
        "argv": sys.argv,
        "machine": host,
        "versions": versions(),
        "settings": {
            "latency_s": LATENCY_S,
            "cores": cores,
            "plan": plan.__dict__,
            "only": args.only,
            "budget_minutes": args.budget_minutes,
        },
        "calibration": calibration,
        "noise": noise.__dict__ if noise else None,
        "guard": guard_summary(cells),
        "cells": [c.as_dict() for c in cells],
        "advisor": advisor,
    }


def plan_cells(
    workloads: list[Any],
    selection: Any,
    advice: dict[str, tuple[Recommendation | AdvisorUnavailable, str]],
    cores: int,
    filtered: bool,
) -> list[tuple[PoolConfig, Any]]:
    """The grid, plus the advisor's configuration where it is not on the grid (only in
    unfiltered runs: ``--only`` measures exactly what it names)."""
    rows = grid(cores)
    todo: list[tuple[PoolConfig, Any]] = []
    for w in workloads:
        todo += [(p, w) for p in rows if selection.wants(p.name, w.name)]
        rec = advice[w.name][0]
        if isinstance(rec, Recommendation) and not filtered:
            wanted = rec.config(rows)
            if wanted.advised:
                todo.append((wanted, w))
    return todo


def measure(
    config: PoolConfig,
    w: Any,
    *,
    launcher_problem: str | None,
    deadline: float,
    budget: float,
    cores: int,
    cell: Cell,
) -> CellResult:
    reason = skip_reason(config, launcher_problem)
    if reason:
        return unavailable(config, w, reason, cores)
    if time.monotonic() > deadline:
        return unavailable(config, w, f"not run: the {budget:g}-minute budget was used up", cores)
    try:
        return cell.run()
    except Exception as exc:  # one broken cell must not lose the rest of the run
        return record(config, w, cell.limit, "failed", f"{type(exc).__name__}: {exc}")


def skip_reason(config: PoolConfig, launcher_problem: str | None) -> str | None:
    """Why this configuration cannot be measured here at all, or None."""
    if config.launcher == "poolkit" and launcher_problem:
        return launcher_problem
    if config.concurrency > MAX_ADVISED_CONCURRENCY:
        return (
            f"concurrency {config.concurrency} is above the suite's limit of "
            f"{MAX_ADVISED_CONCURRENCY} (PostgreSQL runs with max_connections=300)"
        )
    return None


def measured(config: PoolConfig, c: CellResult) -> Measured:
    return Measured(config, c.repeats, None if c.status == "ok" else c.reason.splitlines()[0])


def guard_summary(cells: list[CellResult]) -> dict[str, Any]:
    batches = [b for c in cells for b in c.batches]
    used = [b for b in batches if b.used]
    foreign = sorted(b.load.foreign_cores for b in used)
    return {
        "batches": len(batches),
        "retried": len(batches) - len(used),
        "used_disturbed": sum(b.load.disturbed for b in used),
        "foreign_cores_median": foreign[len(foreign) // 2] if foreign else None,
        "foreign_cores_max": foreign[-1] if foreign else None,
        "rule": "disturbed = foreign processes >= 0.3 cores while the machine was >= 85% busy",
    }


def write_outputs(doc: dict[str, Any], out: Path, publish: Path | None) -> None:
    from poolbench import charts

    (out / "results.md").write_text(report.markdown(doc))
    pngs = charts.draw_all(doc, out / "charts")
    if publish:
        publish.mkdir(parents=True, exist_ok=True)
        for png in pngs:
            shutil.copy2(png, publish / png.name)
        (publish / "results.json").write_text(json.dumps(doc, indent=2) + "\n")
        (publish / "results.inc").write_text(report.rst_tables(doc))
        (publish / "numbers.inc").write_text(report.rst_substitutions(doc))
        say(f"published charts and tables to {publish}")


def describe(rec: Recommendation | AdvisorUnavailable) -> str:
    if isinstance(rec, AdvisorUnavailable):
        return rec.reason
    return f"{rec.pool} -c {rec.concurrency} ({rec.launcher})"


def status_line(c: CellResult) -> str:
    d = c.as_dict()
    if c.status != "ok":
        return f"{c.status}: {c.reason.splitlines()[0]}"
    return (
        f"{d['tasks_per_s']:8.1f}/s ({d['share_of_limit']:.0%} of {c.limit:g}), "
        f"spread {d['spread']:.0%}, {c.seconds:.0f}s" + (" [disturbed]" if d["disturbed"] else "")
    )


def say(text: str, end: str = "\n") -> None:
    print(text, end=end, flush=True)
