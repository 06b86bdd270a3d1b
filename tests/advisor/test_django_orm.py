"""The Django ORM through model classes the advisor does not see defined.

Models inherit from library bases (``AbstractUser``, ``PolymorphicModel``), come from
installed apps (``django.contrib.auth.models.User``, ``get_user_model()``) or have
managers of their own: their calls are still the ORM. Look-alikes are not.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from advisor_helpers import APP, advise_files, task_module

from celery_poolkit.advisor.engine import analyze  # noqa: F401  (the module under test)

MODELS = """
from django.contrib.auth.models import AbstractUser
from django.db import models
from polymorphic.models import PolymorphicModel


class DeletedManager(models.Manager):
    def purge(self):
        return self.filter(gone=True).delete()


class User(AbstractUser):
    def notify(self):
        import requests
        requests.post("http://example.com")


class Page(PolymorphicModel):
    trash = DeletedManager()


class Plain:
    objects = []
"""


def _evidence(tmp_path: Path, body: str) -> dict[str, set[str]]:
    advice = advise_files(
        tmp_path,
        {
            "proj/__init__.py": "",
            "proj/models.py": MODELS,
            "proj/tasks.py": APP + "from proj.models import User, Page, Plain\n" + body,
        },
    )
    return {t.name.rpartition(".")[2]: {e.call for e in t.evidence} for t in advice.tasks}


@pytest.mark.parametrize(
    ("body", "call"),
    [
        ("User.objects.get(id=1)", "django.contrib.auth.models.AbstractUser.objects.get"),
        ("Page.objects.filter(x=1)", "polymorphic.models.PolymorphicModel.objects.filter"),
        ("Page._default_manager.all()", "polymorphic.models.PolymorphicModel._default_manager.all"),
        ("Page.trash.filter(x=1)", "django.db.models.Manager.filter"),
        ("Page.trash.purge()", "django.db.models.QuerySet.delete"),  # the IO, not the lazy filter
        ("u = User(name='x')\n    u.delete()", "django.contrib.auth.models.AbstractUser.delete"),
        (
            "from django.contrib.auth import get_user_model\n"
            "    get_user_model().objects.filter(x=1)",
            "django.db.models.Model.objects.filter",
        ),
        (
            "from django.contrib.auth.models import Group\n    Group.objects.create(name='x')",
            "django.contrib.auth.models.Group.objects.create",
        ),
        (
            "from django.shortcuts import get_object_or_404\n    get_object_or_404(Page, pk=1)",
            "django.shortcuts.get_object_or_404",
        ),
    ],
)
def test_orm_calls_through_unseen_model_classes_are_db_io(
    tmp_path: Path, body: str, call: str
) -> None:
    found = _evidence(tmp_path, f"\n@app.task\ndef run():\n    {body}\n")
    assert call in found["run"], found


@pytest.mark.parametrize(
    "get",
    [
        "User.objects.get(id=1)",
        "User.objects.create(name='x')",
        "User._default_manager.first()",
    ],
)
def test_what_a_single_row_query_returns_is_the_model_itself(tmp_path: Path, get: str) -> None:
    found = _evidence(
        tmp_path,
        "\nfrom django.shortcuts import get_object_or_404\n\n@app.task\ndef run():\n"
        f"    user = {get}\n    user.refresh_from_db()\n\n"
        f"@app.task\ndef other():\n    user = {get}\n    user.notify()\n",
    )
    assert "requests.post" in found["other"], found


def test_a_model_instance_from_a_queryset_follows_the_projects_own_methods(
    tmp_path: Path,
) -> None:
    found = _evidence(
        tmp_path, "\n@app.task\ndef run():\n    user = User.objects.get(id=1)\n    user.notify()\n"
    )
    assert "requests.post" in found["run"], found


def test_module_level_user_model_is_a_model(tmp_path: Path) -> None:
    advice = advise_files(
        tmp_path,
        {
            "proj/__init__.py": "",
            "proj/tasks.py": APP
            + """
from django.contrib.auth import get_user_model
User = get_user_model()

@app.task
def run():
    User.objects.filter(active=True).update(active=False)
""",
        },
    )
    (task,) = advice.tasks
    assert task.kind == "io"
    assert {e.kind for e in task.evidence} >= {"db_io"}


@pytest.mark.parametrize(
    "body",
    [
        "Plain.objects.append(1)",  # .objects on a class that is not a model
        "from PIL import Image\n    im = Image.new('RGB', (1, 1))\n    im.save('x.png')",
        "u = User(name='x')\n    u.profile.save()",  # an attribute's save: unknown, not guessed
        "import redis\n    r = redis.Redis()\n    r.objects.get(1)",  # a library's attribute chain
    ],
)
def test_look_alikes_are_not_the_orm(tmp_path: Path, body: str) -> None:
    found = _evidence(tmp_path, f"\n@app.task\ndef run():\n    {body}\n")
    assert not any(c.startswith("django.") or "objects" in c for c in found["run"]), found


def test_an_unknown_model_from_the_registry_keeps_unknown_managers_unknown(
    tmp_path: Path,
) -> None:
    root_body = """
from django.apps import apps

@app.task
def run(name):
    model = apps.get_model("app", name)
    model.all_objects.get(pk=1)
"""
    advice = advise_files(tmp_path, {"proj/__init__.py": "", "proj/tasks.py": APP + root_body})
    (task,) = advice.tasks
    assert task.kind == "unknown", task.evidence


def test_a_transaction_atomic_decorator_is_db_io(tmp_path: Path) -> None:
    root = task_module(
        tmp_path,
        """
from django.db import transaction

@transaction.atomic
def move():
    pass

@app.task
def run():
    move()
""",
    )
    from advisor_helpers import advise

    (task,) = advise(root).tasks
    assert any(e.call == "django.db.transaction.atomic" for e in task.evidence), task.evidence


def test_related_managers_and_reverse_relations_are_the_orm(tmp_path: Path) -> None:
    """``post.tags.all()``, ``post.children.filter()``, ``post.comment_set.count()`` and
    ``Post.tags.through.objects`` are managers of relations; a field holding a dict
    (``post.meta.get``) is not."""
    models = """
from django.db import models

class Tag(models.Model):
    name = models.CharField(max_length=10)

class Post(models.Model):
    tags = models.ManyToManyField(Tag)
    meta = models.JSONField(default=dict)
"""
    body = """
from proj.models import Post

@app.task
def m2m(post: Post):
    return list(post.tags.all())

@app.task
def reverse(pk):
    post = Post.objects.get(pk=pk)
    return post.children.filter(x=1).exists()

@app.task
def default_name(post: Post):
    return post.comment_set.count()

@app.task
def through():
    Post.tags.through.objects.filter(post_id=1).delete()

@app.task
def json_field(post: Post):
    return post.meta.get("k")
"""
    files = {"proj/__init__.py": "", "proj/models.py": models, "proj/tasks.py": APP + body}
    advice = advise_files(tmp_path, files)
    effects = {t.name.rpartition(".")[2]: [e.value for e in t.effects] for t in advice.tasks}
    for name in ("m2m", "reverse", "default_name", "through"):
        assert effects[name] == ["db_io"], (name, effects[name])
    assert effects["json_field"] == []
