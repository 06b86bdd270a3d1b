"""pypdf (and PyPDF2): PDF parsing and writing in pure Python; CPU-bound.

**Knows:** ``PdfReader`` (parses the cross-reference table from a path or stream),
``PageObject.extract_text`` (content-stream interpretation, slow), ``PdfWriter``
``add_page`` / ``append`` / ``merge`` / ``encrypt`` / ``write``, ``PdfMerger``, and the
same names under the legacy ``PyPDF2`` package.

**Pools:** everything is Python (``cryptography`` only for AES): ``CPU``; file reads and
writes are incidental. Text extraction from large PDFs takes seconds per document.

**Fix:** prefork queue.

**Sources:** pypdf docs (PdfReader, PdfWriter, "Extract Text"); PyPDF2 was renamed pypdf
in 2022 (pypdf docs, "History").
"""

from __future__ import annotations

from celery_poolkit.model import Call
from celery_poolkit.plugins._rows import cpu, ctor
from celery_poolkit.plugins.base import Plugin

_PY = "pure-Python PDF parsing"


def _rows(pkg: str) -> tuple[Call, ...]:
    reader, writer, page = f"{pkg}.PdfReader", f"{pkg}.PdfWriter", f"{pkg}.PageObject"
    return (
        cpu(reader, "parses the cross-reference table", returns=reader),
        cpu(f"{reader}.decrypt", _PY),
        cpu(f"{page}.extract_text", "interprets the content stream in Python"),
        ctor(writer, writer),
        *(cpu(f"{writer}.{name}", _PY) for name in ("add_page", "append", "merge", "encrypt")),
        cpu(f"{writer}.write", "serialises in Python, then writes"),
        ctor(f"{pkg}.PdfMerger", f"{pkg}.PdfMerger"),
        cpu(f"{pkg}.PdfMerger.append", _PY),
        cpu(f"{pkg}.PdfMerger.write", _PY),
    )


PLUGIN = Plugin(
    name="pypdf",
    modules=("pypdf", "PyPDF2"),
    distributions=("pypdf", "PyPDF2"),
    summary="PDF parsing and writing in Python: CPU-bound, prefork.",
    calls=(*_rows("pypdf"), *_rows("PyPDF2")),
)
