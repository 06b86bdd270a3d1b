"""``poolkit advise``: recommend a pool and concurrency for every queue."""

from __future__ import annotations

import click

_PLANNED = """\
poolkit advise will read the Celery project under {paths} without importing or running it,
and print for every queue: the pool to run (prefork, threads, gevent or solo), the
concurrency, the evidence (task -> helper -> library call, file:line), the conflicts it
found, and the exact `celery -A ... worker -Q ... -P ... -c ...` command.

The static advisor is not in this release yet; nothing was analysed.
Follow https://celery-poolkit.readthedocs.io/ for the release that adds it."""


@click.command()
@click.argument("paths", nargs=-1, type=click.Path(exists=True, file_okay=True, dir_okay=True))
def advise(paths: tuple[str, ...]) -> None:
    """Recommend a pool and concurrency for every queue of the project at PATHS.

    PATHS default to the current directory. The code is read, never imported or run.
    """
    shown = ", ".join(paths) if paths else "."
    click.echo(_PLANNED.format(paths=shown))
