"""NumPy: array math in C that releases the GIL, with a few pure-Python traps.

**Knows:** BLAS/LAPACK and FFT work (``dot``, ``matmul``, ``tensordot``, ``linalg.*``,
``fft.*``), sorting (``sort``, ``argsort``, ``unique``), ``convolve``: all
``CPU_RELEASES_GIL`` for numeric dtypes. The traps that hold the GIL: ``vectorize`` and
``frompyfunc`` (a Python call per element), ``apply_along_axis`` (a Python loop),
``genfromtxt`` / ``loadtxt`` / ``savetxt`` (text parsing and formatting). File IO:
``load``, ``save``, ``savez``, ``savez_compressed``, ``fromfile``.

**Pools:** GIL-free kernels scale on threads and processes. BLAS may start its own
threads (OpenBLAS/MKL): with prefork set ``OPENBLAS_NUM_THREADS``/``OMP_NUM_THREADS`` so
``concurrency x BLAS threads`` does not oversubscribe the cores. ``dtype=object`` arrays
hold the GIL for everything.

**Sources:** NumPy docs ("Thread safety": "many NumPy operations release the GIL";
``numpy.vectorize`` notes: "provided primarily for convenience, not for performance …
essentially a for loop"); pool-benchmark.md.
"""

from __future__ import annotations

from celery_poolkit.model import Call, Effect
from celery_poolkit.plugins._rows import cpu, gil_free
from celery_poolkit.plugins.base import Plugin

_NOGIL = "numeric dtypes: the C loop releases the GIL"
_PY_LOOP = "calls Python per element or row: holds the GIL"

PLUGIN = Plugin(
    name="numpy",
    modules=("numpy",),
    distributions=("numpy",),
    summary="Array math that releases the GIL, except vectorize/apply_along_axis/text IO.",
    calls=(
        *(
            gil_free(f"numpy.{name}", _NOGIL)
            for name in ("dot", "matmul", "tensordot", "sort", "argsort", "unique", "convolve")
        ),
        gil_free("numpy.linalg.*", "LAPACK/BLAS: releases the GIL"),
        gil_free("numpy.fft.*", "pocketfft: releases the GIL"),
        cpu("numpy.vectorize", _PY_LOOP),
        cpu("numpy.frompyfunc", _PY_LOOP),
        cpu("numpy.apply_along_axis", _PY_LOOP),
        cpu("numpy.genfromtxt", "text parsing in Python"),
        cpu("numpy.loadtxt", "text parsing holds the GIL"),
        cpu("numpy.savetxt", "formats every value in Python"),
        *(
            Call(f"numpy.{name}", Effect.FILE_IO)
            for name in ("load", "save", "savez", "savez_compressed", "fromfile")
        ),
    ),
)
