"""pdfkit: HTML to PDF by running the ``wkhtmltopdf`` executable in a subprocess.

**Knows:** ``pdfkit.from_url``, ``from_string``, ``from_file`` and
``pdfkit.PDFKit(...).to_pdf``; ``pdfkit.configuration`` only locates the binary.

**Pools:** each call runs ``wkhtmltopdf`` with ``subprocess.Popen`` and waits:
``SUBPROCESS`` (cooperative under gevent once ``subprocess`` is patched). The child
renders with QtWebKit, using a core and fetching every URL the page references, so
concurrency beyond the core count only queues work. wkhtmltopdf is archived upstream
(2023); WeasyPrint or a headless browser are the maintained alternatives.

**Sources:** pdfkit README and ``pdfkit/pdfkit.py`` (``subprocess.Popen``);
wkhtmltopdf status page (archived).
"""

from __future__ import annotations

from celery_poolkit.model import Call, Effect, Green
from celery_poolkit.plugins._rows import ctor, each
from celery_poolkit.plugins.base import Plugin

_RUN = "runs wkhtmltopdf via subprocess.Popen and waits"

PLUGIN = Plugin(
    name="pdfkit",
    modules=("pdfkit",),
    distributions=("pdfkit",),
    summary="HTML to PDF through wkhtmltopdf: a subprocess per call.",
    calls=(
        *each("pdfkit", ("from_url", "from_string", "from_file"), Effect.SUBPROCESS, note=_RUN),
        ctor("pdfkit.PDFKit", "pdfkit.PDFKit"),
        Call("pdfkit.PDFKit.to_pdf", Effect.SUBPROCESS, note=_RUN),
        Call("pdfkit.configuration", None, Green.SAFE, note="locates the wkhtmltopdf binary"),
    ),
)
