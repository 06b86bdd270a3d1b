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

#: Every inferred row's note starts with this (confidence.INFERRED_NOTE).
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
    # ``self._db``: a service keeps the session it was given under a private name.
    if (
        len(parts) < 2
        or parts[-1] not in SESSION_METHODS
        or parts[-2].lstrip("_") not in SESSION_NAMES
    ):
        return None
    return Call(
        f"sqlalchemy.orm.Session.{parts[-1]}",
        Effect.DB_IO,
        Green.NEEDS_ADAPTER,
        note=f"{NOTE} from the name: {'.'.join(parts[-2:])} reads like a SQLAlchemy session",
    )


# --- Django relations -------------------------------------------------------------------
MODEL = "django.db.models.Model"
#: Methods only a manager or a queryset has: ``post.tags.all()`` on a relation no table
#: can name (a dict or a list has ``get``, ``update``, ``values``, ``count``; these not).
MANAGER_METHODS = frozenset(
    {
        "all",
        "filter",
        "exclude",
        "exists",
        "select_related",
        "prefetch_related",
        "order_by",
        "values_list",
        "annotate",
        "aggregate",
        "get_or_create",
        "update_or_create",
        "bulk_create",
        "in_bulk",
        "only",
        "defer",
        "distinct",
    }
)


def related_manager(rest: tuple[str, ...]) -> str:
    """The chain below ``Model`` that a relation on a model instance means, or "".

    Django gives every relation a manager: ``post.tags`` (a many-to-many field),
    ``post.children`` (a ``related_name``), ``post.comment_set`` (the default reverse
    name); ``Post.tags.through`` is a model. Their fields are not read, so the
    convention decides: a ``*_set`` attribute, or a method only managers have, is the
    ORM's ``objects`` manager; ``.through.objects…`` the through model's.
    """
    if len(rest) >= 4 and rest[1] == "through" and rest[2] == "objects":
        return ".".join(("objects", *rest[3:]))
    if len(rest) == 2 and (rest[0].endswith("_set") or rest[1] in MANAGER_METHODS):
        return f"objects.{rest[1]}"
    return ""
