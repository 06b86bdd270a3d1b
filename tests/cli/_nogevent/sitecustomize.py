"""Loaded via PYTHONPATH by test_worker_launcher: makes ``import gevent`` fail like a missing
install (an entry in sys.modules set to None raises ImportError on import)."""

import sys

sys.modules["gevent"] = None  # type: ignore[assignment]
