"""The benchmark's Celery project: ``celery -A benchapp worker -P <pool> -Q <workload>``.

Each workload lives in its own package (``benchapp/<workload>/tasks.py``), written the way
users write tasks, so that ``poolkit advise benchapp/<workload>`` sees exactly one kind of
work. The measuring hooks live apart, in :mod:`benchapp.instrument`.
"""
