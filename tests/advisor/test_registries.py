"""Dispatch tables filled entry by entry, and values a function returns under a condition.

``SYSTEMS = {}`` then ``SYSTEMS["password"] = password`` at module level is the same
table as a literal one: a call through it is the union of its entries. A method that
returns ``self.user or User(...)`` returns a ``User``; a method called on what
``self.get_user()`` returns is that class's method.
"""

from __future__ import annotations

from pathlib import Path

from advisor_helpers import advise_files, kinds

FILES = {
    "proj/__init__.py": "",
    "proj/mailer.py": """
from django.core.mail import send_mail


def send_message(user_id, subject, body):
    send_mail(subject, body, "noreply@example.com", [user_id])
""",
    "proj/quiet.py": """
def send_message(user_id, subject, body):
    return None
""",
    "proj/registry.py": """
from proj import mailer, quiet

SYSTEMS = {}
SYSTEMS["password"] = mailer
SYSTEMS["dev"] = quiet
""",
    "proj/models.py": """
from django.db import models

from proj.registry import SYSTEMS


class User(models.Model):
    def send_message(self, subject, body):
        SYSTEMS[self.user_type].send_message(self.user_id, subject, body)


class Voter(models.Model):
    user = models.ForeignKey("proj.User", null=True, on_delete=models.CASCADE)

    def get_user(self):
        return self.user or User(user_type="password", user_id=self.email)

    def get_user_or_none(self):
        return User(user_id=self.email) if self.email else None

    def send_message(self, subject, body):
        self.get_user().send_message(subject, body)
""",
    "proj/tasks.py": """
from celery import shared_task

from proj.models import Voter
from proj.registry import SYSTEMS


@shared_task
def through_the_registry(kind, user_id):
    SYSTEMS[kind].send_message(user_id, "s", "b")


@shared_task
def through_a_model(uuid):
    voter = Voter.objects.get(uuid=uuid)
    voter.send_message("s", "b")


@shared_task
def through_a_conditional_return(uuid):
    Voter.objects.get(uuid=uuid).get_user_or_none().send_message("s", "b")
""",
}


def test_a_registry_filled_at_module_level_is_a_dispatch_table(tmp_path: Path) -> None:
    found = kinds(advise_files(tmp_path, FILES))
    assert "net_io" in found["through_the_registry"]


def test_methods_on_what_self_methods_return_are_followed(tmp_path: Path) -> None:
    found = kinds(advise_files(tmp_path, FILES))
    assert {"db_io", "net_io"} <= found["through_a_model"]
    assert "net_io" in found["through_a_conditional_return"]


def test_a_filled_table_that_is_reassigned_is_no_longer_that_table(tmp_path: Path) -> None:
    files = dict(FILES)
    files["proj/registry.py"] = FILES["proj/registry.py"] + "\nSYSTEMS = {}\n"
    found = kinds(advise_files(tmp_path, files))
    assert "net_io" not in found["through_the_registry"]
