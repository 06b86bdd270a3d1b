"""Loaded via PYTHONPATH by test_worker_launcher: imports Django's connection handler at
interpreter start, before any launcher could patch (a hazard the scan must name)."""

import django.db  # noqa: F401
