"""``poolkit advise --import-app``: read the live app's routes and pool.

The one place the advisor's CLI imports the user's code, and only when asked: the app is
loaded the way ``celery -A APP`` loads it, its task modules are imported, and each
task's queue is asked of Celery's own router, so router functions resolve too.
"""

from __future__ import annotations

import sys
from pathlib import Path

from celery_poolkit.advisor.engine import LiveConfig
from celery_poolkit.errors import ConfigError
from celery_poolkit.worker.routes import live_routes


def read_app(spec: str, path: Path) -> LiveConfig:
    folder = str((path if path.is_dir() else path.parent).resolve())
    if folder not in sys.path:
        sys.path.insert(0, folder)  # what `celery -A` does with the working directory
    try:
        from celery.app.utils import find_app

        app = find_app(spec)
        app.loader.import_default_modules()
        routes = {name: queue for name, (queue, _task) in live_routes(app).items()}
        pool = app.conf.worker_pool
    except Exception as exc:  # the user's code can raise anything while importing
        raise ConfigError(
            f"--import-app {spec}: importing the app failed ({type(exc).__name__}: {exc}); "
            "check the name (as for celery -A) or run without --import-app"
        ) from exc
    return LiveConfig(routes=routes, pool=str(pool) if pool else None)
