"""pdfplumber and pdfminer.six: PDF text and table extraction in pure Python; CPU-bound.

**Knows:** ``pdfplumber.open`` (reads the file, returns a ``PDF``), ``PDF.pages`` pages'
``extract_text`` / ``extract_words`` / ``extract_tables`` / ``extract_table`` /
``to_image``, and pdfminer.six's ``high_level.extract_text`` / ``extract_pages`` /
``extract_text_to_fp``.

**Pools:** pdfminer interprets content streams and lays out characters in Python; a
long PDF takes seconds to minutes: ``CPU``. ``to_image`` renders through pypdfium2 (C).

**Fix:** prefork queue, with a time limit (prefork is the only pool with soft limits).

**Sources:** pdfplumber README ("Extracting text", "Extracting tables"); pdfminer.six
docs ("High-level functions"); advisor-anchors.md (paperless/dify document parsing).
"""

from __future__ import annotations

from celery_poolkit.model import Call, Effect, Green
from celery_poolkit.plugins._rows import cpu, gil_free
from celery_poolkit.plugins.base import Plugin

_PDF = "pdfplumber.pdf.PDF"
_PAGE = "pdfplumber.page.Page"
_LAYOUT = "pdfminer layout analysis in pure Python"

PLUGIN = Plugin(
    name="pdfplumber",
    modules=("pdfplumber", "pdfminer"),
    distributions=("pdfplumber", "pdfminer.six"),
    summary="PDF text/table extraction in Python: CPU-bound, prefork.",
    calls=(
        Call("pdfplumber.open", Effect.FILE_IO, returns=_PDF),
        Call(f"{_PDF}.close", None, Green.SAFE),
        *(
            cpu(f"{_PAGE}.{name}", _LAYOUT)
            for name in ("extract_text", "extract_words", "extract_tables", "extract_table")
        ),
        gil_free(f"{_PAGE}.to_image", "renders with pypdfium2 (C)"),
        *(
            cpu(f"pdfminer.high_level.{name}", _LAYOUT)
            for name in ("extract_text", "extract_pages", "extract_text_to_fp")
        ),
    ),
)
