"""Helpers for the advisor's tests: write a small project to disk, advise on it.

The library knowledge here is test-local (a few rows per library the tests use), so the
advisor's tests do not depend on the plugin modules other branches ship.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from pathlib import Path

from celery_poolkit.advisor.config import AdvisorConfig
from celery_poolkit.advisor.engine import analyze
from celery_poolkit.advisor.profile import Measured
from celery_poolkit.model import Advice, Call, Effect, Green, Hazard
from celery_poolkit.plugins import builtin_plugins

TEST_KNOWLEDGE: tuple[Call, ...] = (
    Call("requests.get", Effect.NET_IO),
    Call("requests.post", Effect.NET_IO),
    Call("requests.Session", None, returns="requests.Session"),
    Call("requests.Session.get", Effect.NET_IO),
    Call("requests.Session.post", Effect.NET_IO),
    Call("psycopg2.connect", Effect.DB_IO, Green.NEEDS_ADAPTER),
    Call("MySQLdb.connect", Effect.DB_IO, Green.BLOCKS_HUB, note="libmysqlclient waits in C"),
    Call("boto3.client", None, returns="botocore.client.BaseClient"),
    Call("botocore.client.BaseClient.*", Effect.NET_IO),
    Call("PIL.Image.open", Effect.FILE_IO, returns="PIL.Image.Image"),
    Call("PIL.Image.Image.thumbnail", Effect.CPU),
    Call("numpy.dot", Effect.CPU_RELEASES_GIL),
    Call("torch.cuda.init", Effect.GPU, hazards=frozenset({Hazard.FORK_UNSAFE})),
    Call("torch.matmul", Effect.GPU),
    Call(
        "legacycache.Client",
        None,
        returns="legacycache.Client",
        hazards=frozenset({Hazard.THREAD_UNSAFE}),
    ),
    Call("legacycache.Client.get", Effect.NET_IO, hazards=frozenset({Hazard.THREAD_UNSAFE})),
)


def knowledge() -> list[Call]:
    return [*(c for p in builtin_plugins() for c in p.calls), *TEST_KNOWLEDGE]


def write(base: Path, files: dict[str, str]) -> Path:
    """Write ``{relative path: source}`` under ``base/root`` and return that folder."""
    root = base / "root"
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip())
    return root


def advise(
    root: Path,
    config: AdvisorConfig | None = None,
    cache_dir: Path | None = None,
    *,
    measured: Mapping[str, Measured] | None = None,
) -> Advice:
    return analyze(
        [root],
        config or AdvisorConfig(),
        plugin_calls=knowledge(),
        cache_dir=cache_dir,
        cores=2,
        measured=measured,
    )


def kinds(advice: Advice, *, short: bool = True) -> dict[str, set[str]]:
    """Each task's evidence kinds, by task name (its last part when ``short``)."""
    return {
        (t.name.rpartition(".")[2] if short else t.name): {e.kind for e in t.evidence}
        for t in advice.tasks
    }


def task_module(base: Path, body: str) -> Path:
    """A project with one package, ``proj``, whose ``tasks.py`` is the app plus ``body``."""
    return write(base, {"proj/__init__.py": "", "proj/tasks.py": APP + body})


def advise_files(base: Path, files: dict[str, str], config: AdvisorConfig | None = None) -> Advice:
    return advise(write(base, files), config)


APP = """
from celery import Celery
app = Celery("proj")
"""
