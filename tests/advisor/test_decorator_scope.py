"""A task's decorator is read in the scope around the function, not in its body."""

from __future__ import annotations

from pathlib import Path

from advisor_helpers import advise_files

FILES = {
    "proj/__init__.py": "",
    "proj/celeryconf.py": 'from celery import Celery\napp = Celery("proj")\n',
    "proj/models.py": "from django.db import models\n\nclass App(models.Model):\n    pass\n",
    "proj/tasks.py": """
from proj.celeryconf import app
from proj.models import App


@app.task(bind=True)
def refresh(self, app_id):
    # a local named like the Celery app, built by a chain the advisor can type
    app = App.objects.filter(id=app_id).first()
    return app
""",
}


def test_a_local_named_like_the_app_does_not_hide_the_task(tmp_path: Path) -> None:
    advice = advise_files(tmp_path, FILES)
    assert [t.name for t in advice.tasks] == ["proj.tasks.refresh"]
