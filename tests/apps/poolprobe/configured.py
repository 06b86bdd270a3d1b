"""An app that selects gevent the way Celery's docs say never to: ``worker_pool`` in config.

``celery -A poolprobe.configured worker`` runs a gevent pool unpatched;
``poolkit worker -A poolprobe.configured`` reads the setting in a child process and
patches before importing this module.
"""

from __future__ import annotations

from poolprobe.app import make_app

app = make_app("poolprobe-configured")
app.config_from_object("poolprobe.gevent_config")
