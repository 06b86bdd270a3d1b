"""OpenCV (``cv2``): every wrapped function releases the GIL while it runs.

**Knows:** every ``cv2.*`` function (``cvtColor``, ``resize``, ``GaussianBlur``,
``Canny``, ``findContours``, ``matchTemplate``, ``imdecode``, ``imencode`` …):
``CPU_RELEASES_GIL``; ``imread`` / ``imwrite`` and ``dnn.readNet*`` read or write files;
``VideoCapture`` (files, cameras, streams) and its ``read`` / ``grab``.

**Pools:** the generated bindings wrap each call in ``PyAllowThreads``, so work scales on
threads and processes, not on gevent. OpenCV also runs its own thread pool per call:
with prefork set ``cv2.setNumThreads(0)`` or a small number per child so concurrency x
threads fits the cores. ``VideoCapture`` over a network stream is network IO done in
C (FFmpeg/GStreamer): it blocks the gevent hub.

**Sources:** OpenCV source (``modules/python/src2/cv2.cpp``: ``ERRWRAP2`` with
``PyAllowThreads``); OpenCV docs (``cv::setNumThreads``, ``VideoCapture``).
"""

from __future__ import annotations

from celery_poolkit.model import Call, Effect, Green
from celery_poolkit.plugins._rows import gil_free
from celery_poolkit.plugins.base import Plugin

_CAP = "cv2.VideoCapture"

PLUGIN = Plugin(
    name="opencv",
    modules=("cv2",),
    distributions=("opencv-python", "opencv-python-headless", "opencv-contrib-python"),
    summary="Computer vision in C++ that releases the GIL: threads or processes.",
    calls=(
        gil_free("cv2.*", "bindings release the GIL (PyAllowThreads) for every call"),
        Call("cv2.imread", Effect.FILE_IO, note="reads and decodes (GIL released)"),
        Call("cv2.imwrite", Effect.FILE_IO, note="encodes and writes (GIL released)"),
        Call("cv2.dnn.readNet", Effect.FILE_IO),
        Call("cv2.dnn.readNetFromONNX", Effect.FILE_IO),
        Call(
            _CAP,
            Effect.FILE_IO,
            Green.BLOCKS_HUB,
            returns=_CAP,
            note="opens a file, device or stream in C (FFmpeg/GStreamer)",
        ),
        Call(f"{_CAP}.read", Effect.FILE_IO, Green.BLOCKS_HUB, note="decodes a frame in C"),
        Call(f"{_CAP}.grab", Effect.FILE_IO, Green.BLOCKS_HUB),
    ),
)
