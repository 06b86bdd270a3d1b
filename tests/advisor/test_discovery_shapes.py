"""Ways real projects declare Celery tasks that plain ``@app.task`` matching misses.

Each shape has a must-find project and, where a look-alike exists, a must-not-find one:
discovery is general (how the app is reached), never a list of project names.
"""

from __future__ import annotations

from pathlib import Path

from advisor_helpers import APP, advise_files


def names(tmp_path: Path, files: dict[str, str]) -> set[str]:
    advice = advise_files(tmp_path, {"proj/__init__.py": "", **files})
    return {t.name for t in advice.tasks}


def test_an_app_a_library_makes(tmp_path: Path) -> None:
    # pyramid_celery configures its own app from the .ini file; projects import it.
    found = names(
        tmp_path,
        {
            "proj/tasks.py": """
            from pyramid_celery import celery_app as app

            @app.task(bind=True)
            def a(self): ...
            """,
            "proj/jobs.py": """
            from proj.utils import app

            @app.task
            def b(): ...
            """,
            "proj/utils.py": "from pyramid_celery import celery_app as app\n",
        },
    )
    assert found == {"proj.tasks.a", "proj.jobs.b"}


def test_an_object_whose_method_forwards_to_its_app(tmp_path: Path) -> None:
    found = names(
        tmp_path,
        {
            "proj/ext.py": """
            from celery import Celery

            class Holder:  # an extension object that owns the app
                def __init__(self):
                    self.app = Celery("h")

                def task(self, *args, **kwargs):
                    return self.app.task(*args, **kwargs)

            class Cron:  # given the app; its method decorates through it
                def __init__(self, celery):
                    self.celery = celery

                def job(self, **kwargs):
                    def decorator(func):
                        return self.celery.task(**kwargs)(func)
                    return decorator

            celery = Holder()
            cron = Cron(Celery("c"))
            """,
            "proj/tasks.py": """
            from proj.ext import celery, cron

            @celery.task
            def a(): ...

            @celery.task(queue="q")
            def b(): ...

            @cron.job(hour=1)
            def c(): ...
            """,
        },
    )
    assert found == {"proj.tasks.a", "proj.tasks.b", "proj.tasks.c"}


def test_an_object_whose_task_method_is_not_celerys(tmp_path: Path) -> None:
    found = names(
        tmp_path,
        {
            "proj/ext.py": """
            class Scheduler:
                def __init__(self, huey):
                    self.huey = huey

                def task(self, *args, **kwargs):
                    return self.huey.task(*args, **kwargs)

            scheduler = Scheduler(None)
            """,
            "proj/tasks.py": """
            from proj.ext import scheduler

            @scheduler.task
            def a(): ...
            """,
        },
    )
    assert found == set()


def test_tasks_defined_inside_a_function_given_the_app(tmp_path: Path) -> None:
    found = names(
        tmp_path,
        {
            "proj/setup.py": """
            from celery import Celery

            def setup(app):
                @app.task
                def ping(): ...
                return ping

            def register(worker: Celery):
                @worker.task(name="pong")
                def pong(): ...

            def not_celery(scheduler, huey):
                @scheduler.task
                def a(): ...

                @huey.task()
                def b(): ...
            """,
        },
    )
    assert found == {"proj.setup.setup.ping", "pong"}


def test_class_based_tasks_on_any_celery_task_base(tmp_path: Path) -> None:
    found = names(
        tmp_path,
        {
            "proj/tasks.py": """
            from celery import current_app
            from celery.task import PeriodicTask
            from celery.task.base import Task

            class Export(current_app.Task):
                def run(self): ...

            class Tick(PeriodicTask):
                run_every = 60

                def run(self): ...

            class Old(Task):
                def run(self): ...
            """,
        },
    )
    assert found == {"proj.tasks.Export", "proj.tasks.Tick", "proj.tasks.Old"}


def test_an_abstract_task_class_is_a_base_not_a_task(tmp_path: Path) -> None:
    found = names(
        tmp_path,
        {
            "proj/tasks.py": """
            from celery import Task

            class Base(Task):
                abstract = True

                def run(self):
                    raise NotImplementedError

            class Real(Base):
                abstract = False

                def run(self): ...

            class Stub(Task):  # a base by its run alone
                def run(self):
                    # implemented by subclasses
                    raise NotImplementedError()

            class Concrete(Stub):
                def run(self):
                    return print("done")

            class Logged(Task):  # wraps the run of the tasks made with base=Logged
                def run(self, *args, **kwargs):
                    print("start")
                    return super().run(*args, **kwargs)
            """,
        },
    )
    assert found == {"proj.tasks.Real", "proj.tasks.Concrete"}


def test_functions_made_tasks_by_calling_the_decorator(tmp_path: Path) -> None:
    advice = advise_files(
        tmp_path,
        {
            "proj/__init__.py": "",
            "proj/celery.py": APP,
            "proj/mail.py": "def send(): ...\n",
            "proj/tasks.py": """
            from celery import shared_task
            from proj.celery import app
            from proj.mail import send

            def other(): ...
            def third(): ...
            def plain(): ...

            send_task = app.task(send)
            other_task = app.task(queue="q")(other)
            third_task = shared_task(third)
            print(plain)
            """,
        },
    )
    found = {t.name: t.queue for t in advice.tasks}
    assert found == {
        "proj.mail.send": "celery",
        "proj.tasks.other": "q",
        "proj.tasks.third": "celery",
    }


def test_calling_a_look_alike_decorator_makes_no_task(tmp_path: Path) -> None:
    found = names(
        tmp_path,
        {
            "proj/tasks.py": """
            from invoke import task

            def build(ctx): ...

            build_task = task(build)
            """,
        },
    )
    assert found == set()


def test_an_app_the_resolver_cannot_pin_to_celery(tmp_path: Path) -> None:
    found = names(
        tmp_path,
        {
            "proj/optional.py": """
            try:
                from celery import Celery
                app = Celery("x")
            except ImportError:  # the last assignment is not the only one
                app = None
            """,
            "proj/current.py": """
            from celery import current_app
            celery = current_app
            """,
            "proj/factory.py": """
            from celery import Celery
            from flask import Flask

            def create_app():
                return Flask("x"), Celery("x")

            flask_app, celery = create_app()  # unpacked: nothing says which is which
            """,
            "proj/ext.py": """
            from flask_celeryext import FlaskCeleryExt
            ext = FlaskCeleryExt()
            celery = ext.celery
            """,
            "proj/worker.py": """
            from celery import Celery
            celery_app: Celery = None  # filled at start-up

            def init():
                global celery_app
                celery_app = Celery("x")
            """,
            "proj/tasks.py": """
            from proj import worker
            from proj.current import celery as current
            from proj.ext import celery as extension
            from proj.factory import celery as unpacked
            from proj.optional import app

            @app.task
            def a(): ...

            @current.task
            def b(): ...

            @unpacked.task
            def c(): ...

            @extension.task
            def d(): ...

            @worker.celery_app.task
            def e(): ...
            """,
        },
    )
    assert found == {f"proj.tasks.{n}" for n in "abcde"}


def test_objects_named_unlike_an_app_make_no_tasks(tmp_path: Path) -> None:
    found = names(
        tmp_path,
        {
            "proj/ext.py": """
            from huey import RedisHuey
            from proj.loader import make

            huey = RedisHuey()
            scheduler, queue = make()
            runner = None
            """,
            "proj/loader.py": "def make():\n    return 1, 2\n",
            "proj/tasks.py": """
            from prefect import task
            from proj.ext import huey, runner, scheduler

            @huey.task()
            def a(): ...

            @scheduler.task
            def b(): ...

            @runner.task
            def c(): ...

            @task
            def d(): ...
            """,
        },
    )
    assert found == set()
