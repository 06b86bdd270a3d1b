"""Configuration module of ``poolprobe.configured``."""

worker_pool = "gevent"
task_default_queue = "default"
