"""``import celery_poolkit.autopatch``: patch at import, for entry points poolkit does not launch.

Make it the first line of a ``manage.py``-style script or any custom entry point that
ends up starting a worker (``app.worker_main(...)``, a Django management command)::

    import celery_poolkit.autopatch  # noqa: F401  (must stay the first import)

The pool comes from the script's argv (``-P gevent``, ``-Pgevent``, ``--pool=gevent``)
or ``CELERY_WORKER_POOL``; nothing is patched for prefork, threads or solo.
``POOLKIT_STRICT=1`` refuses to patch late (raises
:class:`~celery_poolkit.errors.PatchOrderError`) and ``POOLKIT_DISABLE=1`` turns it off.
The report is kept as ``celery_poolkit.autopatch.report``.
"""

from __future__ import annotations

from celery_poolkit.bootstrap import patch as _patch
from celery_poolkit.bootstrap._state import strict_from_env as _strict

report = _patch("auto", strict=_strict())
