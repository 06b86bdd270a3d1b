"""Effects read from conventions rather than from a library table: Django's
``call_command`` follows the project's management command, and a session-like name on a
value of unknown class (``request.db.query``) reads as a SQLAlchemy session.

Kept apart from :mod:`inferred` because call resolution (:mod:`effects`) uses these,
while :mod:`inferred` runs the same resolution over a library's source: one module for
both would import itself in a circle.
"""

from __future__ import annotations

from collections.abc import Iterable

from celery_poolkit.advisor.facts import CallSite, Lit
from celery_poolkit.model import Call, Effect, Green

#: Every inferred row's note starts with this (decide.INFERRED_NOTE).
NOTE = "inferred"


# --- management commands ----------------------------------------------------------------
CALL_COMMAND = "django.core.management.call_command"


def command_handlers(project_functions: Iterable[str], site: CallSite) -> list[str]:
    """``call_command("rebuild")`` -> the project's ``….commands.rebuild.Command.handle``."""
    if (
        not site.args
        or not isinstance(site.args[0], Lit)
        or not isinstance(site.args[0].value, str)
    ):
        return []
    suffix = f".management.commands.{site.args[0].value}.Command.handle"
    return sorted(fid for fid in project_functions if fid.endswith(suffix))


def other_app_command(site: CallSite) -> Call:
    """A command the project does not define (Django's or another app's)."""
    name = site.args[0].value if site.args and isinstance(site.args[0], Lit) else "?"
    return Call(
        CALL_COMMAND,
        Effect.DB_IO,
        Green.NEEDS_ADAPTER,
        note=f"{NOTE}: management command {name!r} is not the project's; "
        "commands work on the database",
    )


# --- names ------------------------------------------------------------------------------
def by_name(chain: str) -> Call | None:
    """A session-like attribute chain on a value of unknown class: ``db.query``,
    ``dbsession.execute``, ``session.commit`` (the last two names of ``chain``)."""
    from celery_poolkit.plugins.sqlalchemy import SESSION_METHODS, SESSION_NAMES

    parts = chain.split(".")
    if len(parts) < 2 or parts[-1] not in SESSION_METHODS or parts[-2] not in SESSION_NAMES:
        return None
    return Call(
        f"sqlalchemy.orm.Session.{parts[-1]}",
        Effect.DB_IO,
        Green.NEEDS_ADAPTER,
        note=f"{NOTE} from the name: {'.'.join(parts[-2:])} reads like a SQLAlchemy session",
    )
