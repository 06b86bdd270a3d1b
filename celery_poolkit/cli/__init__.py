"""The ``poolkit`` command group, also reachable as ``celery poolkit``.

Celery imports this module on *every* ``celery …`` run (its ``celery.commands`` entry
point is loaded eagerly), so it imports only click here; each subcommand loads the
library code it needs inside its callback. The commands are glue: parse options, call
the library, render, map :class:`~celery_poolkit.errors.PoolkitError` to exit codes.
"""

from __future__ import annotations

import sys

import click

from celery_poolkit.cli.advise import advise
from celery_poolkit.cli.doctor import doctor
from celery_poolkit.cli.profile import profile
from celery_poolkit.cli.worker import launch, split_worker_command, worker

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}

#: Exit codes of every command: 1 is reserved for "findings" (or "no worker answered"),
#: so CI can tell a result from a failure; usage errors and crashes are both 2.
EXIT_USAGE = EXIT_CRASH = 2


class _Group(click.Group):
    """The ``poolkit`` group: click's errors and poolkit's own crashes exit 2, never 1."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.Abort):
            raise
        except click.ClickException as exc:
            # click exits 1 for FileError (``-o /nonexistent/x``) and ClickException:
            # both are usage errors here.
            exc.exit_code = EXIT_USAGE  # type: ignore[misc]  # click reads it per instance
            raise
        except Exception as exc:
            import traceback

            traceback.print_exc(file=sys.stderr)
            click.echo(
                f"poolkit: internal error: {type(exc).__name__}: {exc} (a bug in poolkit: "
                "please report it with the traceback above)",
                err=True,
            )
            raise click.exceptions.Exit(EXIT_CRASH) from exc


@click.group(cls=_Group, context_settings=CONTEXT_SETTINGS)
@click.version_option(package_name="celery-poolkit", prog_name="poolkit")
def poolkit() -> None:
    """Pick, launch and trust a Celery worker pool.

    \b
    poolkit advise [PATHS]      recommend a pool and concurrency for every queue
    poolkit worker [OPTIONS]    patch for the pool, then run celery worker
    poolkit doctor [-A APP]     versions, known-bad combinations, patch state
    poolkit profile collect     every worker's measured per-task profile (JSON)
    """


poolkit.add_command(advise)
poolkit.add_command(doctor)
poolkit.add_command(worker)
poolkit.add_command(profile)


def main() -> None:
    """Console-script entry point.

    ``poolkit [celery global options] worker ...`` goes straight to the launcher, before
    click parses anything: the worker's options are celery's, and ``-A app`` may come
    before ``worker`` as it does for ``celery``.
    """
    split = split_worker_command(sys.argv[1:])
    if split is not None:
        sys.exit(launch(*split))
    poolkit(prog_name="poolkit")
