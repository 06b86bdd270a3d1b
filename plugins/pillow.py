"""Pillow (``PIL``): image decoding, resizing and encoding in C, mostly without the GIL.

**Knows:** ``Image.open`` (lazy: reads the header; pixels decode on first use),
``Image.Image`` operations (``load``, ``resize``, ``thumbnail``, ``convert``, ``rotate``,
``transpose``, ``transform``, ``filter``, ``reduce``, ``quantize``, ``save``) and the
``ImageOps`` helpers (``exif_transpose``, ``fit``, ``contain``, ``pad``,
``grayscale``).

**Pools:** the heavy C loops (resampling, conversion, filters, decoders and encoders)
run between ``ImagingSectionEnter``/``Leave``, which release the GIL:
``CPU_RELEASES_GIL``. They scale on threads and processes, not on gevent (one OS
thread, and the hub waits while a greenlet computes). Python-level pixel loops
(``getpixel``/``putpixel`` in a loop) hold the GIL. Re-encoding one image (``convert``
then ``save``: a fetched thumbnail stored as JPEG) is one payload compressed, so the
advisor counts those two only when they repeat over items (``PER_ITEM_CPU``);
resampling and filters count wherever they run.

**Fix:** put image work on a prefork (or threads) queue, never on the gevent queue that
serves HTTP/e-mail tasks.

**Sources:** Pillow source (``src/libImaging/*.c``: ``ImagingSectionEnter``); Pillow
docs (Image module); pool-benchmark.md (GIL-releasing C work scales on threads);
advisor-anchors.md (bookwyrm runs Pillow on a threads pool).
"""

from __future__ import annotations

from celery_poolkit.model import Call, Effect
from celery_poolkit.plugins._rows import gil_free
from celery_poolkit.plugins.base import Plugin

_IMG = "PIL.Image.Image"
_C_LOOP = "C loop between ImagingSectionEnter/Leave: the GIL is released"

PLUGIN = Plugin(
    name="pillow",
    modules=("PIL",),
    distributions=("Pillow",),
    summary="Image processing in C that releases the GIL: threads or processes, not gevent.",
    calls=(
        Call(
            "PIL.Image.open",
            Effect.FILE_IO,
            returns=_IMG,
            note="lazy: reads the header; decoding happens on load()/first operation",
        ),
        *(
            gil_free(f"{_IMG}.{name}", _C_LOOP, returns=_IMG)
            for name in (
                "load",
                "resize",
                "convert",
                "rotate",
                "transpose",
                "transform",
                "filter",
                "reduce",
                "quantize",
                "copy",
            )
        ),
        gil_free(f"{_IMG}.thumbnail", _C_LOOP),
        gil_free(f"{_IMG}.save", "encodes in C (GIL released), then writes the file"),
        *(
            gil_free(f"PIL.ImageOps.{name}", _C_LOOP, returns=_IMG)
            for name in ("exif_transpose", "fit", "contain", "pad", "grayscale")
        ),
    ),
)
