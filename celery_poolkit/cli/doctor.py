"""``poolkit doctor [-A APP] [-P POOL] [--format text|json]``: is this worker setup sound?

Reports versions and known-bad combinations, then, for a green pool, patches this
process the way ``poolkit worker`` would (so the patch state, hazards and adapters are
exactly what a launched worker gets), imports the app after patching, and checks which
installed drivers are green. Exit code 1 when something is broken, 2 for bad input.
"""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING

import click

from celery_poolkit.errors import PoolkitError

if TYPE_CHECKING:  # the checks load lazily: this module is imported on every `celery` run
    from celery_poolkit.bootstrap.diagnosis import Diagnosis
    from celery_poolkit.model import Finding

_SEVERITY_MARK = {"info": "info", "warning": "WARN", "error": "FAIL"}


@click.command()
@click.option("-A", "--app", "app", help="The Celery app (as for `celery -A`).")
@click.option("-P", "--pool", "pool", help="The pool to check (default: argv/env/app config).")
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
def doctor(app: str | None, pool: str | None, fmt: str) -> None:
    """Check versions, known-bad combinations, patch state and green drivers.

    \b
    poolkit doctor -A proj                 pool from proj's worker_pool setting
    poolkit doctor -A proj -P gevent       as `poolkit worker -A proj -P gevent` would run
    poolkit doctor --format json
    """
    try:
        diagnosis = diagnose(app, pool)
    except PoolkitError as exc:
        raise click.UsageError(str(exc)) from None
    if fmt == "json":
        click.echo(json.dumps(diagnosis.as_dict(), indent=2))
    else:
        click.echo(render_text(diagnosis))
    sys.exit(1 if diagnosis.broken else 0)


def diagnose(app: str | None, pool: str | None) -> Diagnosis:
    """Run every check; patches this process when the pool is green."""
    from celery_poolkit.bootstrap import current_pool, patch
    from celery_poolkit.bootstrap.diagnosis import (
        Diagnosis,
        driver_findings,
        driver_states,
        installed_versions,
        known_bad,
        patch_findings,
        python_version,
    )
    from celery_poolkit.cli.worker import choose_pool
    from celery_poolkit.errors import PatchError
    from celery_poolkit.model import Finding
    from celery_poolkit.rules import severity

    patched_before = current_pool()
    choice = choose_pool(["-A", app] if app else [], ["-P", pool] if pool else [])
    chosen = choice.pool if choice else None
    versions = installed_versions()
    findings = known_bad(versions, python_version(), chosen)
    report = drivers = None
    if choice is not None and chosen is not None and chosen.is_green:
        try:
            report = patch(choice)
        except PatchError as exc:
            findings.append(Finding("PK812", severity("PK812"), str(exc), subject="patch"))
        else:
            findings += patch_findings(report)
            if app:
                _import_app(app, findings)
            drivers = tuple(driver_states(chosen))
            findings += driver_findings(drivers, chosen)
    return Diagnosis(
        python=".".join(map(str, python_version())),
        versions=tuple(versions.items()),
        pool=chosen,
        pool_source=choice.source if choice else "celery's default (prefork)",
        patched_before=patched_before,
        patch=report,
        drivers=drivers or (),
        findings=tuple(findings),
    )


def _import_app(app: str, findings: list[Finding]) -> None:
    """Import the app after patching, as the worker will, so its drivers are loaded."""
    from celery_poolkit.model import Finding
    from celery_poolkit.rules import severity

    try:
        from celery.app.utils import find_app

        find_app(app)
    except Exception as exc:
        findings.append(Finding("PK813", severity("PK813"), f"cannot import {app!r}: {exc}",
                                subject="app"))  # fmt: skip


def render_text(diagnosis: Diagnosis) -> str:
    lines = [f"Python {diagnosis.python}"]
    lines += [f"  {name:<13} {version or '-'}" for name, version in diagnosis.versions]
    pool = diagnosis.pool.value if diagnosis.pool else "prefork"
    lines.append(f"Pool: {pool} (from {diagnosis.pool_source})")
    before = diagnosis.patched_before
    lines.append(f"Patched before doctor: {before.value if before else 'no'}")
    report = diagnosis.patch
    if report is not None:
        lines.append(f"Patched now: {', '.join(report.modules) or '-'}")
        for adapter in report.adapters:
            lines.append(f"  adapter {adapter.plugin:<9} {adapter.status.value}: {adapter.detail}")
    for driver in diagnosis.drivers:
        lines.append(f"  driver  {driver.name:<9} {'green' if driver.green else 'BLOCKS'}: "
                     f"{driver.detail}")  # fmt: skip
    if diagnosis.findings:
        lines.append("Findings:")
    for finding in diagnosis.findings:
        lines.append(f"  {_SEVERITY_MARK[finding.severity.value]} {finding.one_line()}")
    lines.append("Broken: yes" if diagnosis.broken else "Nothing broken.")
    return "\n".join(lines)
