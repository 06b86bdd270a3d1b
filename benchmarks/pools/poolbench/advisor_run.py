"""Ask the installed ``poolkit advise`` about one workload's task directory."""

from __future__ import annotations

import subprocess
from pathlib import Path

from harness.workers import script
from poolbench.advisor_check import AdvisorUnavailable, Recommendation, parse_advice
from poolbench.spec import Workload


def advise(workload: Workload, app_root: Path) -> tuple[Recommendation | AdvisorUnavailable, str]:
    """The recommendation (or why there is none) and the command that was run."""
    argv = [script("poolkit"), "advise", "--format", "json", workload.module_dir]
    shown = " ".join(["poolkit", *argv[1:]])
    try:
        proc = subprocess.run(
            argv, cwd=app_root, capture_output=True, text=True, timeout=120, check=False
        )
    except FileNotFoundError:
        return AdvisorUnavailable("advisor unavailable: no `poolkit` command installed"), shown
    except subprocess.TimeoutExpired:
        return AdvisorUnavailable("advisor unavailable: no answer within 120 s"), shown
    return parse_advice(proc.stdout, proc.returncode, workload.queue, proc.stderr), shown


def launcher_unavailable() -> str | None:
    """Why ``poolkit worker`` cannot be used here, or None when it can."""
    try:
        proc = subprocess.run(
            [script("poolkit"), "worker", "--help"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    except FileNotFoundError:
        return "no `poolkit` command installed"
    except subprocess.TimeoutExpired:
        return "`poolkit worker --help` did not answer within 60 s"
    if proc.returncode != 0:
        said = (proc.stderr or proc.stdout).strip().splitlines()
        why = said[-1] if said else f"exit code {proc.returncode}"
        return f"`poolkit worker` is not in this poolkit ({why})"
    return None
