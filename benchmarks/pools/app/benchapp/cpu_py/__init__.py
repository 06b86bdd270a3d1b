"""The cpu_py workload's tasks (see tasks.py)."""
