"""The static pool advisor, installed as ``celery_poolkit.advisor``.

It reads a project's task code without importing or running it and recommends a pool
and concurrency for every queue. It never imports celery, gevent or the user's code.

>>> from pathlib import Path
>>> from celery_poolkit.advisor import analyze, load_config
>>> advice = analyze([Path("examples/shop")])  # doctest: +SKIP
>>> [(q.name, q.pool.value) for q in advice.queues]  # doctest: +SKIP
[('db', 'gevent'), ('default', 'gevent'), ('email', 'gevent'), ('http', 'gevent'), ...]
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from celery_poolkit.advisor.cache import default_dir
from celery_poolkit.advisor.config import AdvisorConfig, find_pyproject, load
from celery_poolkit.advisor.engine import analyze as _analyze
from celery_poolkit.advisor.knowledge import plugin_calls
from celery_poolkit.model import Advice

__all__ = ["AdvisorConfig", "analyze", "load_config"]


def load_config(path: Path | None, start: Path) -> AdvisorConfig:
    """``[tool.poolkit]`` from ``path``, or from the nearest pyproject.toml above ``start``."""
    return load(path if path is not None else find_pyproject(start))


def analyze(
    paths: Sequence[Path],
    config: AdvisorConfig | None = None,
    *,
    cache: bool = True,
    jobs: int | None = None,
    cores: int | None = None,
) -> Advice:
    """Advise on the Celery project at ``paths`` with the installed library knowledge."""
    calls, _errors = plugin_calls(project=paths)
    return _analyze(
        paths,
        config or AdvisorConfig(),
        plugin_calls=calls,
        cache_dir=default_dir() if cache else None,
        jobs=jobs,
        cores=cores,
    )
