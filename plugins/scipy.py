"""SciPy: LAPACK/FFT/KD-tree kernels release the GIL; callback-driven solvers hold it.

**Knows:** ``scipy.linalg.*`` (LAPACK wrappers) and ``scipy.fft.*`` (pocketfft):
``CPU_RELEASES_GIL``; ``KDTree`` / ``cKDTree`` construction and ``query`` (C++ under
``nogil``); ``scipy.optimize.*`` and ``scipy.integrate.*`` call your Python function at
every step and ``scipy.sparse.linalg.*`` iterative/ARPACK solvers drive the loop from
Python: ``CPU``. ``scipy.io.loadmat`` / ``savemat`` are file IO.

**Pools:** optimisation-heavy tasks only scale across processes; linear algebra and FFT
also scale on threads (mind BLAS threads x prefork concurrency).

**Sources:** SciPy docs ("Thread safety in SciPy"; ``scipy.optimize.minimize`` calls
``fun`` per iteration; ``scipy.spatial.KDTree.query`` ``workers``); pool-benchmark.md.
"""

from __future__ import annotations

from celery_poolkit.model import Call, Effect
from celery_poolkit.plugins._rows import cpu, gil_free
from celery_poolkit.plugins.base import Plugin

_TREE = "scipy.spatial.KDTree"
_CALLBACK = "calls the Python objective/integrand at every step: holds the GIL"

PLUGIN = Plugin(
    name="scipy",
    modules=("scipy",),
    distributions=("scipy",),
    summary="Scientific kernels: LAPACK/FFT release the GIL; optimize/integrate hold it.",
    calls=(
        gil_free("scipy.linalg.*", "LAPACK/BLAS wrappers release the GIL"),
        gil_free("scipy.fft.*", "pocketfft releases the GIL"),
        gil_free(_TREE, "tree construction in C++", returns=_TREE),
        gil_free("scipy.spatial.cKDTree", "tree construction in C++", returns=_TREE),
        gil_free(f"{_TREE}.query", "C++ query loop under nogil"),
        gil_free(f"{_TREE}.query_ball_point", "C++ query loop under nogil"),
        cpu("scipy.optimize.*", _CALLBACK),
        cpu("scipy.integrate.*", _CALLBACK),
        cpu("scipy.sparse.linalg.*", "iterative/ARPACK solvers are driven from Python"),
        Call("scipy.io.loadmat", Effect.FILE_IO),
        Call("scipy.io.savemat", Effect.FILE_IO),
    ),
)
