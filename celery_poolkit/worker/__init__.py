"""Everything that runs inside a Celery worker, installed by ``celery_poolkit.install(app)``.

* :mod:`~celery_poolkit.worker.step` -- the bootstep, its options and ``install(app)``;
* :mod:`~celery_poolkit.worker.guard` -- the start-up guard;
* :mod:`~celery_poolkit.worker.recorder` -- the task recorder (task clock, pipe from
  prefork children) that feeds the profile and the hub monitor;
* :mod:`~celery_poolkit.worker.monitor` -- the gevent hub monitor;
* :mod:`~celery_poolkit.worker.profile` -- the per-task profile values and ``collect``;
* :mod:`~celery_poolkit.worker.control` -- the ``poolkit_profile`` remote-control command;
* :mod:`~celery_poolkit.worker.routes` -- the queue of each task, asked of Celery's router.

Importing this package imports nothing: each module imports celery itself.
"""
