"""ReportLab: PDF generation in (mostly) pure Python; CPU-bound, holds the GIL.

**Knows:** ``pdfgen.canvas.Canvas`` drawing and ``save`` / ``showPage``, platypus
``SimpleDocTemplate`` / ``BaseDocTemplate`` ``build`` (layout of flowables, the
expensive part), ``graphics.renderPDF`` / ``renderPM`` drawing export.

**Pools:** layout and PDF serialisation run Python code (the optional C accelerator
``rl_accel`` only speeds small helpers), so big reports are ``CPU``: they scale only
across processes and starve greenlets on a gevent queue.

**Fix:** route report generation to a prefork queue.

**Sources:** ReportLab user guide (platypus, pdfgen); advisor-anchors.md (export/PDF
tasks mixed with IO tasks on single queues).
"""

from __future__ import annotations

from celery_poolkit.plugins._rows import cpu, ctor
from celery_poolkit.plugins.base import Plugin

_CANVAS = "reportlab.pdfgen.canvas.Canvas"
_DOC = "reportlab.platypus.SimpleDocTemplate"
_PY = "pure-Python layout and serialisation"

PLUGIN = Plugin(
    name="reportlab",
    modules=("reportlab",),
    distributions=("reportlab",),
    summary="PDF generation in Python: CPU-bound, prefork.",
    calls=(
        ctor(_CANVAS, _CANVAS),
        cpu(f"{_CANVAS}.save", "serialises the PDF and writes it"),
        cpu(f"{_CANVAS}.showPage", _PY),
        ctor(_DOC, _DOC),
        ctor("reportlab.platypus.BaseDocTemplate", _DOC),
        ctor("reportlab.platypus.doctemplate.SimpleDocTemplate", _DOC),
        cpu(f"{_DOC}.build", _PY),
        cpu("reportlab.graphics.renderPDF.*", _PY),
        cpu("reportlab.graphics.renderPM.*", "rasterises in C, driven from Python"),
    ),
)
