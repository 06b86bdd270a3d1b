"""A tiny Celery project for the launch-form tests (``tests/cli/integration/test_launch_*``).

Unlike ``examples/shop`` it has variants the tests need without touching the example's
defaults: ``poolprobe.configured`` selects gevent through ``worker_pool`` in its config.
"""
