"""Every task-definition and routing form the advisor must recognise."""

from __future__ import annotations

from pathlib import Path

from advisor_helpers import APP, advise_files


def queues(tmp_path: Path, files: dict[str, str]) -> dict[str, str]:
    advice = advise_files(tmp_path, {"proj/__init__.py": "", **files})
    return {t.name: t.queue for t in advice.tasks}


def test_decorator_forms_with_and_without_arguments(tmp_path: Path) -> None:
    found = queues(
        tmp_path,
        {
            "proj/celery.py": APP,
            "proj/tasks.py": """
            from celery import shared_task
            import celery
            from proj.celery import app
            from invoke import task

            @app.task
            def a(): ...

            @app.task(name="custom.b")
            def b(): ...

            @shared_task
            def c(): ...

            @shared_task(queue="q")
            def d(): ...

            @celery.shared_task()
            def e(): ...

            @task
            def not_celery(ctx): ...
        """,
        },
    )
    assert found == {
        "proj.tasks.a": "celery",
        "custom.b": "celery",
        "proj.tasks.c": "celery",
        "proj.tasks.d": "q",
        "proj.tasks.e": "celery",
    }


def test_any_app_name_wrappers_and_class_based_tasks(tmp_path: Path) -> None:
    found = queues(
        tmp_path,
        {
            "proj/worker.py": "from celery import Celery\ncelery_app = Celery('x')\n",
            "proj/deco.py": """
            from proj.worker import celery_app

            def instrumented_task(name, queue=None, **kw):
                def wrapped(func):
                    return celery_app.task(name=name, queue=queue, **kw)(func)
                return wrapped
        """,
            "proj/tasks.py": """
            from celery import Task
            from proj.worker import celery_app
            from proj.deco import instrumented_task

            @celery_app.task(queue="x")
            def a(): ...

            @instrumented_task(name="sentry.b", queue="y")
            def b(): ...

            class Base(celery_app.Task):
                queue = "z"

            class Export(Base):
                name = "proj.export"

                def run(self):
                    return 1

            class Plain(Task):
                def run(self):
                    return 2
        """,
        },
    )
    assert found == {
        "proj.tasks.a": "x",
        "sentry.b": "y",
        "proj.export": "z",
        "proj.tasks.Plain": "celery",
    }


def test_task_routes_dict_globs_regexes_and_router_lists(tmp_path: Path) -> None:
    found = queues(
        tmp_path,
        {
            "proj/celeryconfig.py": """
            import re
            task_default_queue = "fallback"
            task_routes = ([
                ("proj.tasks.exact", {"queue": "exact"}),
                ("proj.tasks.glob_*", "globbed"),
                (re.compile(r"proj\\.tasks\\.re_\\w+"), {"queue": "regexed"}),
            ],)
        """,
            "proj/celery.py": APP + "app.config_from_object('proj.celeryconfig')\n",
            "proj/tasks.py": """
            from proj.celery import app

            @app.task
            def exact(): ...

            @app.task
            def glob_one(): ...

            @app.task
            def re_two(): ...

            @app.task
            def other(): ...

            @app.task(queue="own")
            def glob_own(): ...
        """,
        },
    )
    assert found == {
        "proj.tasks.exact": "exact",
        "proj.tasks.glob_one": "globbed",
        "proj.tasks.re_two": "regexed",
        "proj.tasks.other": "fallback",
        "proj.tasks.glob_own": "own",
    }


def test_conf_update_attribute_assignment_and_settings_constants(tmp_path: Path) -> None:
    found = queues(
        tmp_path,
        {
            "proj/settings.py": "HTTP = 'http'\nDB_QUEUE = 'db'\n",
            "proj/celery.py": APP
            + """
from proj import settings
app.conf.update(task_routes={"proj.tasks.a": {"queue": settings.HTTP}})
app.conf.task_default_queue = "dflt"
""",
            "proj/tasks.py": """
            from proj.celery import app
            from proj.settings import DB_QUEUE

            @app.task
            def a(): ...

            @app.task(queue=DB_QUEUE)
            def b(): ...

            @app.task
            def c(): ...
        """,
        },
    )
    assert found == {"proj.tasks.a": "http", "proj.tasks.b": "db", "proj.tasks.c": "dflt"}


def test_django_settings_with_the_celery_namespace(tmp_path: Path) -> None:
    found = queues(
        tmp_path,
        {
            "site/settings/base.py": """
            CELERY_TASK_DEFAULT_QUEUE = "main"
            CELERY_TASK_ROUTES = {"shop.tasks.mail": {"queue": "email"}}
            EMAIL_QUEUE = "email"
        """,
            "site/__init__.py": "",
            "site/settings/__init__.py": "",
            "site/celery.py": """
            import os
            from celery import Celery
            os.environ.setdefault("DJANGO_SETTINGS_MODULE", "site.settings.base")
            app = Celery("site")
            app.config_from_object("django.conf:settings", namespace="CELERY")
        """,
            "shop/__init__.py": "",
            "shop/tasks.py": """
            from celery import shared_task
            from django.conf import settings

            @shared_task
            def mail(): ...

            @shared_task
            def other(): ...

            @shared_task(queue=settings.EMAIL_QUEUE)
            def by_setting(): ...
        """,
        },
    )
    assert found == {
        "shop.tasks.mail": "email",
        "shop.tasks.other": "main",
        "shop.tasks.by_setting": "email",
    }


def test_call_site_queues_apply_async_set_and_send_task(tmp_path: Path) -> None:
    advice = advise_files(
        tmp_path,
        {
            "proj/__init__.py": "",
            "proj/celery.py": APP,
            "proj/tasks.py": """
            from proj.celery import app

            @app.task
            def a(): ...

            @app.task
            def b(): ...

            @app.task
            def c(): ...

            @app.task
            def start():
                a.apply_async((), queue="qa")
                b.s().set(queue="qb").delay()
                app.send_task("proj.tasks.c", queue="qc")
        """,
        },
    )
    also = {t.name: t.also_queues for t in advice.tasks}
    assert also["proj.tasks.a"] == ("qa",)
    assert also["proj.tasks.b"] == ("qb",)
    assert also["proj.tasks.c"] == ("qc",)
    assert {q.name for q in advice.queues} == {"celery", "qa", "qb", "qc"}


def test_task_queues_and_unresolvable_routes_are_findings(tmp_path: Path) -> None:
    advice = advise_files(
        tmp_path,
        {
            "proj/__init__.py": "",
            "proj/celery.py": APP
            + """
import os
from kombu import Queue
app.conf.task_queues = (Queue("a"), Queue("b", routing_key="b"))
app.conf.task_routes = ["proj.routers.MyRouter", {"proj.tasks.t": {"queue": "a"}}]
""",
            "proj/tasks.py": """
            import os
            from proj.celery import app

            @app.task
            def t(): ...

            @app.task(queue=os.environ["DYNAMIC_QUEUE"])
            def u(): ...
        """,
        },
    )
    rules = sorted(f.rule for f in advice.findings)
    assert "PK101" in rules  # the router class named by a string
    assert "PK102" in rules  # the queue read from the environment with no default
    assert {t.name: t.queue for t in advice.tasks}["proj.tasks.t"] == "a"


WRAPPERS = {
    "proj/celery.py": APP,
    "proj/deco.py": """
    import functools
    from functools import partial, wraps
    from celery import shared_task
    from proj.celery import app

    class retryable_task:  # treeherder: a class whose __call__ applies shared_task
        def __init__(self, *args, **kwargs):
            self.task_args, self.task_kwargs = args, kwargs

        def __call__(self, f):
            @wraps(f)
            def inner(*args, **kwargs):
                return f(*args, **kwargs)

            task_func = shared_task(*self.task_args, **self.task_kwargs)(inner)
            return task_func

    def instrumented_task(name, queue=None, **kwargs):  # sentry's shape
        def wrapped(func):
            @wraps(func)
            def _wrapped(*args, **kw):
                return func(*args, **kw)

            return app.task(name=name, queue=queue, **kwargs)(_wrapped)

        return wrapped

    def io_task(**options):  # returns a decorated inner function
        def decorate(func):
            @app.task(queue="io", **options)
            @wraps(func)
            def run(*args, **kwargs):
                return func(*args, **kwargs)

            return run

        return decorate

    def ml_task(**options):  # fixes a queue for every task it makes
        return app.task(queue="ml", **options)

    def nightly(**options):  # a wrapper of a wrapper
        return ml_task(soft_time_limit=60, **options)

    task = app.task  # addons-server's olympia.amo.celery.task
    bound = partial(shared_task, bind=True, queue="bound")
    retried = functools.partial(retryable_task, max_retries=3)
    """,
}


def test_project_wrappers_of_every_shape_make_tasks(tmp_path: Path) -> None:
    found = queues(
        tmp_path,
        {
            **WRAPPERS,
            "proj/tasks.py": """
            from proj.deco import (
                bound, instrumented_task, io_task, ml_task, nightly, retried, retryable_task, task
            )

            @retryable_task(name="store-pulse-tasks", max_retries=10)
            def a(): ...

            @retryable_task()
            def b(): ...

            @instrumented_task(name="sentry.tasks.c", queue="sentry")
            def c(): ...

            @io_task()
            def d(): ...

            @ml_task(name="ml.e")
            def e(): ...

            @ml_task(queue="gpu")
            def f(): ...

            @nightly()
            def g(): ...

            @task
            def h(): ...

            @bound(max_retries=3)
            def i(self): ...

            @retried(name="retried.j")
            def j(): ...
            """,
        },
    )
    assert found == {
        "store-pulse-tasks": "celery",
        "proj.tasks.b": "celery",
        "sentry.tasks.c": "sentry",
        "proj.tasks.d": "io",
        "ml.e": "ml",
        "proj.tasks.f": "gpu",
        "proj.tasks.g": "ml",
        "proj.tasks.h": "celery",
        "proj.tasks.i": "bound",
        "retried.j": "celery",
    }


def test_look_alike_wrappers_make_no_tasks(tmp_path: Path) -> None:
    found = queues(
        tmp_path,
        {
            "proj/celery.py": APP,
            "proj/deco.py": """
            from functools import partial, wraps
            from proj.celery import app

            class cached:  # a decorator class that never touches Celery
                def __call__(self, f):
                    @wraps(f)
                    def inner(*a):
                        return f(*a)
                    return inner

            timed = partial(print, "timing")

            def register():  # not a decorator: its nested task is a real one
                @app.task
                def ping(): ...
                return ping
            """,
            "proj/views.py": """
            from proj.deco import cached, timed

            @cached()
            def a(): ...

            @timed
            def b(): ...
            """,
        },
    )
    assert found == {"proj.deco.register.ping": "celery"}


def test_an_app_made_by_a_project_factory_beside_a_script_named_celery(tmp_path: Path) -> None:
    advice = advise_files(
        tmp_path,
        {
            "proj/__init__.py": "",
            # readthedocs: a loose settings script named like the library does not hide it
            "dockerfiles/settings/celery.py": "CELERY_ALWAYS_EAGER = False\n",
            "proj/worker.py": """
            from celery import Celery

            def create_application():
                application = Celery("proj")
                application.config_from_object("django.conf:settings", namespace="CELERY")
                return application

            app = create_application()
            """,
            "proj/tasks.py": """
            from proj.worker import app

            @app.task(queue="web")
            def a(): ...
            """,
        },
    )
    assert {t.name: t.queue for t in advice.tasks} == {"proj.tasks.a": "web"}
    assert advice.app == "proj.worker"
