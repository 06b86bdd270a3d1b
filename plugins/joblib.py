"""joblib: model files on disk, and process fan-out that prefork children cannot do.

**Knows:** ``joblib.load`` / ``joblib.dump`` (pickle files, often compressed: file IO
plus unpickling), ``joblib.Parallel`` (the default loky backend starts worker
processes: ``SPAWNS_PROCESSES``), ``joblib.Memory`` caching.

**Pools:** in a prefork child (a daemonic process) loky cannot start workers; joblib
warns and runs with ``n_jobs=1``, so the parallelism silently disappears. Under gevent,
with threading patched, process pools hang (gevent #1876 family). Threads backend
(``prefer="threads"``) only helps GIL-releasing work.

**Fix:** load models once per worker process (``worker_process_init``), not per task and
not before fork; let Celery's pool provide the parallelism instead of ``Parallel``.

**Sources:** joblib docs ("Embarrassingly parallel for loops": loky, backends,
daemonic processes; "Persistence"); green-runtime.md §6 (multiprocessing row).
"""

from __future__ import annotations

from celery_poolkit.model import Call, Effect, Green, Hazard
from celery_poolkit.plugins._rows import ctor
from celery_poolkit.plugins.base import Plugin

PLUGIN = Plugin(
    name="joblib",
    modules=("joblib",),
    distributions=("joblib",),
    summary="Model persistence (file IO) and process fan-out (not in prefork children).",
    calls=(
        Call("joblib.load", Effect.FILE_IO, note="reads and unpickles (holds the GIL)"),
        Call("joblib.dump", Effect.FILE_IO),
        Call(
            "joblib.Parallel",
            None,
            Green.SAFE,
            frozenset({Hazard.SPAWNS_PROCESSES}),
            "joblib.Parallel",
            "loky worker processes; falls back to n_jobs=1 in daemonic prefork children",
        ),
        Call("joblib.Parallel.__call__", Effect.CPU, Green.SAFE, note="runs the batch"),
        ctor("joblib.Memory", "joblib.Memory"),
        Call("joblib.Memory.cache", None, Green.SAFE, note="decorator: results cached on disk"),
    ),
)
