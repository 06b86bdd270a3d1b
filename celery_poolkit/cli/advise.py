"""``poolkit advise``: recommend a pool and concurrency for every queue.

Glue only: parse options, call :func:`celery_poolkit.advisor.engine.analyze`, render,
and map the outcome to exit codes: 0 ok, 1 findings at or above ``--fail-on``, 2 usage
or configuration error.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TextIO

import click

from celery_poolkit.errors import PoolkitError

EPILOG = """\b
Examples:
  poolkit advise                      the project in the current folder
  poolkit advise src/ --format json   machine-readable (schema 1)
  poolkit advise --format sarif > poolkit.sarif   for GitHub code scanning
  poolkit advise --fail-on warning    CI: exit 1 on warnings or errors
"""


@click.command(epilog=EPILOG)
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option(
    "-f",
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "sarif", "markdown"]),
    default="text",
    show_default=True,
    help="Output format.",
)
@click.option(
    "--fail-on",
    type=click.Choice(["error", "warning", "info", "never"]),
    default=None,
    help="Exit 1 when a finding is at or above this severity [default: from config, else error].",
)
@click.option(
    "--config",
    "config_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="pyproject.toml to read [tool.poolkit] from [default: the nearest one].",
)
@click.option(
    "--cores", type=click.IntRange(min=1), help="Cores per worker host [default: this machine's]."
)
@click.option(
    "-j",
    "--jobs",
    type=click.IntRange(min=1),
    help="Parallel parse processes [default: idle cores].",
)
@click.option(
    "--no-cache", is_flag=True, help="Do not read or write the cache (POOLKIT_CACHE_DIR)."
)
@click.option(
    "--import-app",
    metavar="APP",
    help="Import the Celery app (like celery -A APP) to read its live routes and pool. "
    "This runs the project's code; without it nothing is imported.",
)
@click.option(
    "--profile",
    "profile_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Measured evidence from `poolkit profile collect`: a task's measured CPU share "
    "overrides the static guess (PK701, PK702).",
)
@click.option(
    "--trust-project-plugins",
    is_flag=True,
    help="Load celery_poolkit.plugins entry points that come from inside the analysed "
    "project (an .egg-info folder in the checkout): this runs the project's code.",
)
@click.option("-o", "--output", type=click.File("w"), default="-", help="Write the report here.")
def advise(  # noqa: PLR0917 - click passes every option positionally
    paths: tuple[Path, ...],
    fmt: str,
    fail_on: str | None,
    config_path: Path | None,
    cores: int | None,
    jobs: int | None,
    no_cache: bool,
    import_app: str | None,
    profile_path: Path | None,
    trust_project_plugins: bool,
    output: TextIO,
) -> None:
    """Recommend a pool and concurrency for every queue of the project at PATHS.

    PATHS default to the current directory. The code is read, never imported or run
    (unless --import-app asks for it).
    """
    from celery_poolkit.advisor.cache import default_dir
    from celery_poolkit.advisor.config import find_pyproject, load, parse_fail_on
    from celery_poolkit.advisor.engine import analyze
    from celery_poolkit.advisor.files import find_root
    from celery_poolkit.advisor.knowledge import plugin_calls
    from celery_poolkit.advisor.report import FORMATS

    targets = [p for p in paths] or [Path(".")]
    try:
        pyproject = config_path or find_pyproject(targets[0].resolve())
        config = load(pyproject)
        threshold = parse_fail_on(fail_on) if fail_on else config.fail_on
        # The checkout: the given paths, their import root and the pyproject.toml's folder
        # (where a flat layout's *.egg-info sits).
        checkout = [*targets, find_root(targets), *([pyproject.parent] if pyproject else [])]
        calls, errors = plugin_calls(project=checkout, trust_project=trust_project_plugins)
        for error in errors:
            click.echo(f"poolkit: warning: {error}", err=True)
        live = None
        if import_app:
            from celery_poolkit.cli.live import read_app

            click.echo(
                f"poolkit: importing {import_app} to read its live configuration "
                "(--import-app runs the project's code)",
                err=True,
            )
            live = read_app(import_app, targets[0])
        measured = None
        if profile_path is not None:
            from celery_poolkit.advisor import profile

            cluster = profile.load(profile_path)
            for hostname, error in cluster.errors:
                click.echo(f"poolkit: warning: --profile: {hostname}: {error}", err=True)
            measured = profile.measured(cluster)
        advice = analyze(
            targets,
            config,
            plugin_calls=calls,
            cache_dir=None if no_cache else default_dir(),
            jobs=jobs,
            cores=cores,
            live=live,
            measured=measured,
        )
    except PoolkitError as exc:
        click.echo(f"poolkit: error: {exc}", err=True)
        sys.exit(2)
    color = fmt == "text" and output.name == "<stdout>" and sys.stdout.isatty()
    output.write(FORMATS[fmt](advice, color))
    if not advice.tasks:
        click.echo(
            f"poolkit: no Celery tasks found in {advice.files} Python file(s) under "
            f"{advice.root}: give the project's folder, and check that [tool.poolkit] "
            "exclude (or .gitignore) does not leave its tasks out",
            err=True,
        )
        if fail_on not in (None, "never"):
            sys.exit(1)  # CI asked for a verdict: an analysis of nothing is not a pass
    if threshold is not None and any(f.severity.rank >= threshold.rank for f in advice.findings):
        sys.exit(1)
