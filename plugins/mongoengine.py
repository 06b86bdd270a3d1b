"""MongoEngine: a document mapper over PyMongo (``Document.objects``, ``save``).

**Knows:** ``mongoengine.Document`` (and ``DynamicDocument``) subclasses: ``save``,
``delete``, ``reload``, ``update``, ``modify``, ``drop_collection`` round trips, and
``Document.objects`` (called with filters or not) and everything chained on it
(``filter``, ``first``, ``get``, ``count``, ``update``, ``delete``, iteration …): a
queryset built in a task is evaluated there, as Django's are. ``connect`` opens the
PyMongo client (no round trip until first use).

**Under gevent:** as PyMongo underneath: cooperative after patching; the connection
registered by ``connect()`` before fork is a ``MongoClient`` shared with the children.

**Sources:** MongoEngine user guide ("Defining documents", "Querying the database",
"Connecting to MongoDB"); PyMongo FAQ on fork safety.
"""

from __future__ import annotations

from celery_poolkit.model import Call, Effect, Green, Hazard
from celery_poolkit.plugins._rows import each
from celery_poolkit.plugins.base import Plugin

_DOC_IO = ("save", "delete", "reload", "update", "modify", "drop_collection", "ensure_indexes")
_NOTE = "a round trip through PyMongo"


def _document(owner: str) -> tuple[Call, ...]:
    return (
        # ``User.objects(name=...)`` / ``User.objects.filter(...)`` and what follows.
        Call(f"{owner}.objects", Effect.DB_IO, note=f"a queryset evaluated here; {_NOTE}"),
        Call(f"{owner}.objects.**", Effect.DB_IO, note=f"a queryset evaluated here; {_NOTE}"),
        *each(owner, _DOC_IO, Effect.DB_IO, note=_NOTE),
    )


PLUGIN = Plugin(
    name="mongoengine",
    modules=("mongoengine",),
    distributions=("mongoengine",),
    summary="MongoDB document mapper over PyMongo: cooperative after patching.",
    calls=(
        Call(
            "mongoengine.connect",
            None,
            Green.SAFE,
            frozenset({Hazard.FORK_UNSAFE}),
            note="registers a MongoClient: create it in each worker process, after fork",
        ),
        *_document("mongoengine.Document"),
        *_document("mongoengine.DynamicDocument"),
        *_document("mongoengine.document.Document"),
    ),
)
