"""The cpu_nogil workload's tasks (see tasks.py)."""
