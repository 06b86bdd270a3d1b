"""The ``poolkit`` command group, also reachable as ``celery poolkit``.

Celery imports this module on *every* ``celery …`` run (its ``celery.commands`` entry
point is loaded eagerly), so it imports only click here; each subcommand loads the
library code it needs inside its callback. The commands are glue: parse options, call
the library, render, map :class:`~celery_poolkit.errors.PoolkitError` to exit codes.
"""

from __future__ import annotations

import click

from celery_poolkit.cli.advise import advise

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


@click.group(context_settings=CONTEXT_SETTINGS)
@click.version_option(package_name="celery-poolkit", prog_name="poolkit")
def poolkit() -> None:
    """Pick, launch and trust a Celery worker pool.

    \b
    poolkit advise [PATHS]   recommend a pool and concurrency for every queue
    """


poolkit.add_command(advise)


def main() -> None:
    """Console-script entry point."""
    poolkit(prog_name="poolkit")
