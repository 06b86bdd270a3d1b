"""The pool benchmark suite: real workers, real servers, one configuration at a time.

Pure logic (what to run, limits, noise and tie rules, the advisor check, rendering) lives
in small modules that the unit tests in ``tests/benchmarks/`` import; the side effects
(servers, workers, sampling ``/proc``) live in :mod:`poolbench.servers`,
:mod:`poolbench.cell`, :mod:`poolbench.procfs` and :mod:`poolbench.cli`.
"""
