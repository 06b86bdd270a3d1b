"""``import celery_poolkit.autopatch``: patch at import, for entry points poolkit does not launch.

Make it the first line of a ``manage.py``-style script or any custom entry point that
ends up starting a worker (``app.worker_main(...)``, a Django management command)::

    import celery_poolkit.autopatch  # noqa: F401  (must stay the first import)

The pool comes from the script's argv (``-P gevent``, ``-Pgevent``, ``--pool=gevent``),
``CELERY_WORKER_POOL``, or else the literal argv of the script's own
``app.worker_main([..., "-P", "gevent"])`` call (read from its source, never run);
nothing is patched for prefork, threads or solo.
``POOLKIT_STRICT=1`` refuses to patch late (raises
:class:`~celery_poolkit.errors.PatchOrderError`) and ``POOLKIT_DISABLE=1`` turns it off.
The report is kept as ``celery_poolkit.autopatch.report``.
"""

from __future__ import annotations

import sys

from celery_poolkit.bootstrap import patch as _patch
from celery_poolkit.bootstrap._state import strict_from_env as _strict
from celery_poolkit.bootstrap.script import script_pool as _script_pool

report = _patch("auto", strict=_strict())
if report.pool is None and not report.disabled and not report.notes:
    # Nothing in sys.argv or the environment: the argv the script hands worker_main().
    _main = getattr(sys.modules.get("__main__"), "__file__", None)
    _choice = _script_pool(_main) if _main else None
    if _choice is not None:
        report = _patch(_choice, strict=_strict())
