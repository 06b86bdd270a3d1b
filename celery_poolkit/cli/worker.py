"""``poolkit worker [celery worker options...]``: patch first, then run Celery's worker.

The launcher finds the pool the worker will run (argv in every spelling, then
``CELERY_WORKER_POOL``/``CELERY_CUSTOM_WORKER_POOL``, then the app's ``worker_pool``
setting read in a child process), patches for it before celery or the app is imported,
and runs ``celery ... worker ...`` in this same process with the options unchanged.
``-A``/``--app`` and celery's other global options may come before or after ``worker``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

import click

from celery_poolkit.bootstrap.argv import (
    GLOBAL_FLAG_OPTS,
    GLOBAL_VALUE_OPTS,
    PoolChoice,
    app_name,
    detaches,
    detect_pool,
    split_global_options,
    with_plain_pool_option,
)
from celery_poolkit.errors import PoolkitError, PoolSelectionError
from celery_poolkit.model import Pool

# What celery does with these global options before it imports the app; the child
# that reads worker_pool must see the same configuration.
_OPTION_ENV = {"--broker": "CELERY_BROKER_URL", "-b": "CELERY_BROKER_URL",
               "--result-backend": "CELERY_RESULT_BACKEND", "--loader": "CELERY_LOADER",
               "--config": "CELERY_CONFIG_MODULE"}  # fmt: skip


def split_worker_command(argv: Sequence[str]) -> tuple[list[str], list[str]] | None:
    """``[globals..., "worker", rest...]`` -> ``(globals, rest)``; None for other commands.

    >>> split_worker_command(["-A", "shop", "worker", "-P", "gevent"])
    (['-A', 'shop'], ['-P', 'gevent'])
    >>> split_worker_command(["advise", "."]) is None
    True
    """
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "worker":
            return list(argv[:i]), list(argv[i + 1 :])
        if arg in GLOBAL_VALUE_OPTS:
            i += 2
        elif (
            arg.partition("=")[0] in GLOBAL_VALUE_OPTS
            or arg in GLOBAL_FLAG_OPTS
            or (arg.startswith("-A") and len(arg) > 2)
        ):
            i += 1
        else:
            return None
    return None


def _global_option_values(global_args: Sequence[str]) -> dict[str, str]:
    values: dict[str, str] = {}
    for i, arg in enumerate(global_args):
        name, eq, value = arg.partition("=")
        if not eq and name in GLOBAL_VALUE_OPTS and i + 1 < len(global_args):
            value = global_args[i + 1]
        if name in GLOBAL_VALUE_OPTS:
            values[name] = value
    return values


def choose_pool(global_args: Sequence[str], worker_args: Sequence[str]) -> PoolChoice | None:
    """The pool ``celery <global_args> worker <worker_args>`` will run."""
    choice = detect_pool(worker_args, os.environ)
    app = app_name(global_args)
    # Celery replaces prefork (its default, so also an explicit -P prefork) by the app's
    # worker_pool setting; only then does the configuration matter.
    if app is None or (choice is not None and choice.pool is not Pool.PREFORK):
        return choice
    from celery_poolkit.bootstrap.probe import config_worker_pool

    options = _global_option_values(global_args)
    env = dict(os.environ)
    env.update({var: options[opt] for opt, var in _OPTION_ENV.items() if opt in options})
    configured = config_worker_pool(app, env=env, cwd=options.get("--workdir"))
    if configured is None or configured.strip().lower() in ("prefork", "processes"):
        return choice  # celery's default value: the configuration names no pool
    try:
        from_config = PoolChoice(Pool.parse(configured), f"worker_pool in {app}", configured)
    except ValueError:
        from_config = PoolChoice(None, f"worker_pool in {app}", configured)
    if choice is not None:
        raise PoolSelectionError(
            f"conflicting pools: {choice.describe()} but {from_config.describe()}, and "
            f"celery would run the configured one; drop {choice.source.removeprefix('argv ')} "
            "or the worker_pool setting"
        )
    return from_config


def launch(global_args: Sequence[str], worker_args: Sequence[str]) -> int:
    """Patch for the worker's pool, then run ``celery ... worker ...`` here (never returns
    normally: celery exits). Returns 2 with a message for bad input."""
    from celery_poolkit.bootstrap import patch
    from celery_poolkit.bootstrap._state import strict_from_env

    moved, rest = split_global_options(worker_args)
    globals_ = [*global_args, *moved]
    try:
        choice = choose_pool(globals_, rest)
        report = patch(
            choice or PoolChoice(Pool.PREFORK, "celery's default", "prefork"),
            strict=strict_from_env(),
        )
    except PoolkitError as exc:
        click.echo(f"poolkit worker: error: {exc}", err=True)
        return 2
    click.echo(report.summary(), err=True)
    for note in (*report.notes, *(str(h) for h in report.hazards)):
        click.echo(f"poolkit: {note}", err=True)
    if report.pool is not None and report.patched and detaches(rest):
        # --detach re-executes `python -m celery` with these arguments: spell the pool the
        # one way Celery's own early patching recognises, so the detached worker is
        # patched too (and poolkit's adapters run there from gevent's entry points).
        rest = with_plain_pool_option(rest, report.pool)
        click.echo(f"poolkit: detaching; the worker is started with -P {report.pool.value}",
                   err=True)  # fmt: skip
    sys.argv = ["celery", *globals_, "worker", *rest]
    from celery.__main__ import main as celery_main

    celery_main()
    return 0


@click.command(
    context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
    add_help_option=False,
)
@click.argument("celery_args", nargs=-1, type=click.UNPROCESSED)
def worker(celery_args: tuple[str, ...]) -> None:
    """Patch for the pool, then run `celery worker` with the same options.

    \b
    poolkit worker -A proj -P gevent -c 100 -Q http
    python -m celery_poolkit worker -A proj -Pgevent
    CELERY_WORKER_POOL=gevent poolkit worker -A proj

    Every option is celery worker's own (`poolkit worker --help` shows them).
    """
    if "celery.bin.celery" in sys.modules:
        # `celery poolkit worker`: celery already imported ssl, kombu and threads.
        raise click.UsageError(
            "`celery poolkit worker` starts after celery has imported ssl, sockets and "
            "threads, too late to patch; run `poolkit worker ...` or "
            "`python -m celery_poolkit worker ...` instead"
        )
    sys.exit(launch([], list(celery_args)))
