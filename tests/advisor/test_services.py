"""Services fetched from a registry at run time (pyramid_services) are their factories'.

``request.find_service(name="search_index")`` is whatever the factory registered under
that name returns; ``find_service(AnnotationWriteService)`` is an instance of that
class (or of what the factory registered for it returns).
"""

from __future__ import annotations

from pathlib import Path

from advisor_helpers import advise_files, kinds

FILES = {
    "proj/__init__.py": "",
    "proj/services/__init__.py": """
from proj.services.writer import AnnotationWriteService


def includeme(config):
    config.register_service_factory("proj.services.search.factory", name="search_index")
    config.register_service_factory(
        "proj.services.writer.service_factory", iface=AnnotationWriteService
    )
    config.register_service_factory("proj.services.mail:factory", name="mail")
""",
    "proj/services/search.py": """
import requests


class SearchIndexService:
    def add_annotation_by_id(self, annotation_id):
        requests.put(f"http://search.internal/annotations/{annotation_id}")


def factory(context, request):
    return SearchIndexService()
""",
    "proj/services/writer.py": """
class AnnotationWriteService:
    def __init__(self, db):
        self._db = db

    def upsert(self, annotation):
        self._db.session.merge(annotation)
        self._db.session.commit()


def service_factory(context, request) -> AnnotationWriteService:
    return AnnotationWriteService(request.db)
""",
    "proj/services/mail.py": """
from pyramid_mailer import IMailer, get_mailer


class EmailService:
    def __init__(self, mailer: IMailer):
        self._mailer = mailer

    def send(self, message):
        self._mailer.send_immediately(message)


def factory(context, request):
    return EmailService(mailer=get_mailer(request))
""",
    "proj/tasks.py": """
from celery import Celery

from proj.services.writer import AnnotationWriteService

celery = Celery("proj")


@celery.task
def index(annotation_id):
    search_index = celery.request.find_service(name="search_index")
    search_index.add_annotation_by_id(annotation_id)


@celery.task
def write(annotation):
    celery.request.find_service(AnnotationWriteService).upsert(annotation)


@celery.task
def mail(message):
    celery.request.find_service(name="mail").send(message)


@celery.task
def not_registered(x):
    celery.request.find_service(name="nowhere").run(x)
""",
}


def test_a_service_by_name_or_interface_is_what_its_factory_makes(tmp_path: Path) -> None:
    found = kinds(advise_files(tmp_path, FILES))
    assert "net_io" in found["index"]
    assert "db_io" in found["write"]
    assert "net_io" in found["mail"]  # pyramid_mailer: SMTP
    assert found["not_registered"] == set()
