"""Archives written compressed, as a call the knowledge can describe.

``zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED)`` and ``tarfile.open(mode="w:gz")``
deflate every byte written into them: zipping a bundle of documents or an export is CPU
work, while the same archive stored uncompressed is only file IO. What decides it is an
argument, not the function, so the visitor adds a second call site,
``zipfile.compressed`` or ``tarfile.compressed``, whose table row (the ``stdlib_extra``
plugin) says what compressing costs. The argument is read literally, also on a project
subclass (``MyTarFile.open(mode="w:gz")``): the mode string and the ``ZIP_*`` constants
are distinctive enough on their own.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Iterable, Iterator

from celery_poolkit.advisor.facts import CallSite

#: Names a call that opens an archive ends in (``zipfile.ZipFile``, ``tarfile.open``,
#: ``MyTarFile.open``); other calls are never walked again.
OPENERS = frozenset({"ZipFile", "PyZipFile", "TarFile", "open"})
ZIP_SITE = "zipfile.compressed"
TAR_SITE = "tarfile.compressed"

_ZIP_METHODS = frozenset({"ZIP_DEFLATED", "ZIP_BZIP2", "ZIP_LZMA"})
_TAR_WRITE = re.compile(r"^[wx][:|](gz|bz2|xz)$")


def sites(
    calls: Iterable[CallSite],
    expressions: Iterator[ast.AST],
    dotted: Callable[[ast.expr], str | None],
) -> Iterator[CallSite]:
    """``zipfile.compressed`` / ``tarfile.compressed`` sites for archives a statement opens
    for writing with compression (``calls``: the sites the visitor read in it)."""
    if not any(site.target.rpartition(".")[2] in OPENERS for site in calls):
        return
    for expr in expressions:
        for node in ast.walk(expr):
            if isinstance(node, ast.Call):
                kind = _compressed(node, dotted)
                if kind:
                    yield CallSite(kind, node.lineno, node.col_offset)


def _compressed(call: ast.Call, dotted: Callable[[ast.expr], str | None]) -> str:
    values = [*call.args, *(k.value for k in call.keywords if k.arg in ("mode", "compression"))]
    modes = [v.value for v in values if isinstance(v, ast.Constant) and isinstance(v.value, str)]
    if any(_TAR_WRITE.match(mode) for mode in modes):
        return TAR_SITE
    if any(mode.startswith("r") for mode in modes):
        return ""  # reading: the cost is the reader's, and small next to writing
    for value in values:
        if isinstance(value, ast.Name | ast.Attribute):
            own = value.id if isinstance(value, ast.Name) else value.attr
            name = (dotted(value) or own).rpartition(".")[2]
            if name in _ZIP_METHODS:
                return ZIP_SITE
    return ""
