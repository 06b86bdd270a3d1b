"""The advisor's stages run one way: the project is indexed once, tasks are found once.

Parse rounds read in full the modules tasks reach; they patch the one project built
after round one (:meth:`Project.with_modules`) instead of building another, and the
tasks found on that project are the ones every later stage uses.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from advisor_helpers import advise, knowledge, write

from celery_poolkit.advisor import discovery, engine
from celery_poolkit.advisor.config import AdvisorConfig
from celery_poolkit.advisor.project import Project

#: A task in a seed module whose helper lives in a module without Celery words: the
#: helper's module is an outline after round one and is read in full in round two.
FILES = {
    "proj/__init__.py": "",
    "proj/celery.py": "from celery import Celery\napp = Celery('proj')\n",
    "proj/tasks.py": """
        from proj.celery import app
        from proj.helpers import fetch

        @app.task
        def pull(url):
            return fetch(url)
    """,
    "proj/helpers.py": """
        import requests

        def fetch(url):
            return requests.get(url, timeout=5)
    """,
}


def test_tasks_are_discovered_once_per_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    real = discovery.find_tasks

    def counted(project: Project) -> list[discovery.TaskDef]:
        calls.append(1)
        return real(project)

    monkeypatch.setattr(discovery, "find_tasks", counted)
    advice = advise(write(tmp_path, FILES))
    assert len(calls) == 1
    # ... and the second round did happen: the helper's body was read and followed.
    (task,) = advice.tasks
    assert "net_io" in {e.kind for e in task.evidence}


def test_parse_rounds_patch_the_project_instead_of_rebuilding_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    built: list[int] = []
    real_init = Project.__init__

    def counted(self: Project, *args: object, **kwargs: object) -> None:
        built.append(1)
        real_init(self, *args, **kwargs)  # type: ignore[arg-type]

    patched: list[int] = []
    real_with = Project.with_modules

    def counted_with(self: Project, modules: object) -> Project:
        patched.append(1)
        return real_with(self, modules)  # type: ignore[arg-type]

    monkeypatch.setattr(Project, "__init__", counted)
    monkeypatch.setattr(Project, "with_modules", counted_with)
    advise(write(tmp_path, FILES))
    assert len(built) == 1
    assert patched  # the helper's module was read in a later round


def test_the_index_counts_every_module_read(tmp_path: Path) -> None:
    advice = advise(write(tmp_path, FILES))
    assert advice.files == 4


def test_focus_filters_the_tasks_found_once(tmp_path: Path) -> None:
    files = {
        **FILES,
        "proj/other.py": """
            from proj.celery import app

            @app.task
            def elsewhere():
                return 1
        """,
    }
    root = write(tmp_path, files)
    advice = engine.analyze(
        [root / "proj" / "other.py"], AdvisorConfig(), plugin_calls=knowledge(), cores=2, root=root
    )
    assert [t.name.rpartition(".")[2] for t in advice.tasks] == ["elsewhere"]
