"""Localisation catalogues: parsing and serialising message files in pure Python.

**Knows:** ``moz.l10n.resource.parse_resource`` / ``serialize_resource`` (moz-l10n:
gettext, Fluent, .properties, Android, XLIFF …), ``fluent.syntax`` (``parse``,
``serialize``, ``FluentParser.parse``, ``FluentSerializer.serialize``), ``polib``
(``pofile``, ``mofile``, ``save`` …) and Babel's ``read_po`` / ``write_po`` /
``write_mo``.

**Pools:** every one builds or walks a tree of Python objects per message and holds the
GIL: ``CPU``. One file is small next to a task's waiting; a sync of every resource of a
project, or a build of every locale's catalogue, is the work. So these rows count as
CPU only where they repeat over items (``advisor/knowledge.py``, ``PER_ITEM_CPU``).

**Fix:** run project-wide syncs and catalogue builds on a prefork queue.

**Sources:** moz-l10n README ("parse_resource", "serialize_resource"); python-fluent
docs (``fluent.syntax``: parser and serializer in pure Python); polib and Babel docs
(``babel.messages.pofile``).
"""

from __future__ import annotations

from celery_poolkit.model import Effect, Green
from celery_poolkit.plugins._rows import cpu, ctor, each
from celery_poolkit.plugins.base import Plugin

_PARSE = "parses a whole message file into Python objects: holds the GIL"
_WRITE = "serialises a whole catalogue in Python: holds the GIL"
_FP = "fluent.syntax.FluentParser"
_FS = "fluent.syntax.FluentSerializer"
_PO = "polib._BaseFile"
_WRITERS = ("save", "save_as_mofile", "save_as_pofile")

PLUGIN = Plugin(
    name="l10n",
    modules=("moz", "fluent", "polib", "babel"),
    distributions=("moz-l10n", "fluent.syntax", "polib", "Babel"),
    summary="Localisation files parsed and serialised in pure Python: CPU when repeated.",
    calls=(
        cpu("moz.l10n.resource.parse_resource", _PARSE),
        cpu("moz.l10n.resource.serialize_resource", _WRITE),
        cpu("fluent.syntax.parse", _PARSE),
        cpu("fluent.syntax.serialize", _WRITE),
        ctor(_FP, _FP),
        ctor(_FS, _FS),
        cpu(f"{_FP}.parse", _PARSE),
        cpu(f"{_FP}.parse_entry", _PARSE),
        cpu(f"{_FS}.serialize", _WRITE),
        # POFile and MOFile share their writers on polib._BaseFile.
        cpu("polib.pofile", _PARSE, returns=_PO),
        cpu("polib.mofile", _PARSE, returns=_PO),
        *each(_PO, _WRITERS, Effect.CPU, Green.SAFE, note=_WRITE),
        cpu("babel.messages.pofile.read_po", _PARSE),
        cpu("babel.messages.pofile.write_po", _WRITE),
        cpu("babel.messages.mofile.write_mo", _WRITE),
    ),
)
