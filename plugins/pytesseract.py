"""pytesseract: OCR by running the ``tesseract`` executable in a subprocess.

**Knows:** ``image_to_string``, ``image_to_data``, ``image_to_boxes``, ``image_to_osd``,
``image_to_pdf_or_hocr``, ``image_to_alto_xml``, ``run_and_get_output``,
``get_tesseract_version``, ``get_languages``.

**Pools:** each call writes the image to a temporary file, runs ``tesseract`` with
``subprocess.Popen`` and waits: ``CPU_CHILD`` (a subprocess that burns a core). The
waiting task holds no GIL and, under gevent, ``subprocess`` is patched, so the wait is
cooperative; but the OCR itself burns a whole core in the child (tesseract also uses
OpenMP threads), so concurrency above the core count only queues work (the advisor caps
``-c`` at the cores). Set ``OMP_THREAD_LIMIT=1`` when running several
in parallel.

**Fix:** a dedicated OCR queue with concurrency ~ cores (threads or prefork both work).

**Sources:** pytesseract README and ``pytesseract/pytesseract.py``
(``subprocess.Popen``, ``run_tesseract``); tesseract docs (``OMP_THREAD_LIMIT``).
"""

from __future__ import annotations

from celery_poolkit.model import Effect
from celery_poolkit.plugins._rows import each
from celery_poolkit.plugins.base import Plugin

PLUGIN = Plugin(
    name="pytesseract",
    modules=("pytesseract",),
    distributions=("pytesseract",),
    summary="OCR through the tesseract executable: a CPU-heavy subprocess per call.",
    calls=(
        *each(
            "pytesseract",
            (
                "image_to_string",
                "image_to_data",
                "image_to_boxes",
                "image_to_osd",
                "image_to_pdf_or_hocr",
                "image_to_alto_xml",
                "run_and_get_output",
            ),
            Effect.CPU_CHILD,
            note="runs tesseract via subprocess.Popen; the OCR uses a core in the child",
        ),
        *each(
            "pytesseract",
            ("get_tesseract_version", "get_languages"),
            Effect.SUBPROCESS,
            note="a short tesseract --version/--list-langs",
        ),
    ),
)
