"""``poolkit profile collect``: every worker's per-task profile, in one JSON file;
``poolkit profile report``: that file as an HTML page.

Glue only: load the app as ``celery -A`` does, broadcast ``poolkit_profile`` over the
broker (:func:`celery_poolkit.worker.profile.collect`), write the file. Exit codes: 0 written,
1 no worker answered with a profile, 2 the app could not be loaded.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

EPILOG = """\b
Examples:
  poolkit profile collect -A proj -o profile.json
  poolkit advise --profile profile.json      measured evidence in the advice
"""


@click.group()
def profile() -> None:
    """Per-task CPU/wall profiles measured by poolkit's worker bootstep."""


@profile.command(epilog=EPILOG)
@click.option("-A", "--app", "app_spec", required=True, help="The Celery app, as for celery -A.")
@click.option(
    "--timeout",
    type=click.FloatRange(min=0.1, max=600),
    default=5.0,
    show_default=True,
    help="Seconds to wait for the workers' answers.",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the JSON here [default: stdout].",
)
def collect(app_spec: str, timeout: float, output: Path | None) -> None:
    """Gather the profile of every running worker of APP over the broker.

    Workers answer when their app calls ``celery_poolkit.install(app)``.
    """
    from celery_poolkit.worker.profile import collect as collect_profiles

    if "" not in sys.path and "." not in sys.path:
        sys.path.insert(0, "")  # what `celery -A` does with the working directory
    try:
        from celery.app.utils import find_app

        app = find_app(app_spec)
    except Exception as exc:  # the user's code can raise anything while importing
        click.echo(
            f"poolkit: error: cannot load the app {app_spec!r} ({type(exc).__name__}: {exc}); "
            "give it as for celery -A, from the project's folder",
            err=True,
        )
        sys.exit(2)
    found = collect_profiles(app, app_spec, timeout)
    for hostname, error in found.errors:
        click.echo(f"poolkit: warning: {hostname}: {error}", err=True)
    if not found.workers:
        click.echo(
            f"poolkit: error: no worker answered with a profile within {timeout:g}s; are "
            "workers running on this broker with celery_poolkit.install(app)? Try a longer "
            "--timeout for busy workers",
            err=True,
        )
        sys.exit(1)
    text = json.dumps(found.as_dict(), indent=2, sort_keys=True) + "\n"
    if output is None:
        click.echo(text, nl=False)
    else:
        try:
            output.write_text(text)
        except OSError as exc:
            click.echo(f"poolkit: error: cannot write {output}: {exc.strerror}", err=True)
            sys.exit(2)
    tasks = sum(len(w.tasks) for w in found.workers)
    click.echo(
        f"poolkit: {len(found.workers)} worker(s), {tasks} task profile(s)"
        + (f" -> {output}" if output else ""),
        err=True,
    )


REPORT_EPILOG = """\b
Examples:
  poolkit profile collect -A proj -o profile.json
  poolkit profile report profile.json -o profile.html
"""


@profile.command(epilog=REPORT_EPILOG)
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the HTML here [default: FILE with .html].",
)
def report(file: Path, output: Path | None) -> None:
    """A self-contained HTML page of a collected profile: per queue, each task's CPU share
    against its wall time, its hub blocks and the advisor's measured verdict."""
    from celery_poolkit.advisor.profile import load
    from celery_poolkit.advisor.profile_page import render
    from celery_poolkit.errors import ConfigError

    try:
        page = render(load(file))
    except ConfigError as exc:
        click.echo(f"poolkit: error: {exc}", err=True)
        sys.exit(2)
    target = output or file.with_suffix(".html")
    try:
        target.write_text(page, encoding="utf-8")
    except OSError as exc:
        click.echo(f"poolkit: error: cannot write {target}: {exc.strerror}", err=True)
        sys.exit(2)
    click.echo(f"poolkit: {target}", err=True)
