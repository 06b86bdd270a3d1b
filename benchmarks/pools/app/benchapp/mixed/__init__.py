"""The mixed workload's tasks (see tasks.py)."""
