"""The sleep workload's tasks (see tasks.py)."""
