"""The http_io workload's tasks (see tasks.py)."""
