"""WeasyPrint: HTML/CSS to PDF in pure Python; CPU-bound, and it may fetch resources.

**Knows:** ``weasyprint.HTML(...)`` (parses; fetches the document when given a URL),
``HTML.write_pdf`` / ``render`` (CSS cascade, layout and drawing: the expensive part),
``weasyprint.CSS(...)``.

**Pools:** layout is pure Python and takes seconds for long documents: ``CPU``. Images
and stylesheets referenced by URL are fetched through ``url_fetcher`` (urllib) during
rendering, which is network IO inside a CPU task.

**Fix:** prefork queue; pass a ``base_url`` to local files or a custom ``url_fetcher``
that serves static assets from disk.

**Sources:** WeasyPrint docs ("API reference": HTML, CSS, ``url_fetcher``; "Common use
cases"); advisor-anchors.md.
"""

from __future__ import annotations

from celery_poolkit.model import Call, Green
from celery_poolkit.plugins._rows import cpu
from celery_poolkit.plugins.base import Plugin

_HTML = "weasyprint.HTML"

PLUGIN = Plugin(
    name="weasyprint",
    modules=("weasyprint",),
    distributions=("weasyprint",),
    summary="HTML to PDF in Python: CPU-bound (plus resource fetches), prefork.",
    calls=(
        Call(
            _HTML,
            None,
            Green.SAFE,
            returns=_HTML,
            note="parses; fetches the document when given a URL",
        ),
        cpu(f"{_HTML}.write_pdf", "CSS cascade, layout and drawing in Python"),
        cpu(f"{_HTML}.render", "CSS cascade and layout in Python"),
        cpu("weasyprint.CSS", "parses the stylesheet; fetches it when given a URL"),
    ),
)
