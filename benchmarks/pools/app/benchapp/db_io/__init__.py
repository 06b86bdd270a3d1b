"""The db_io workload's tasks (see tasks.py)."""
