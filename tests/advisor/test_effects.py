"""Effects follow calls across modules, methods and receivers, to a fixpoint."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from advisor_helpers import APP, advise_files, knowledge

from celery_poolkit.advisor import effects
from celery_poolkit.advisor.knowledge import Knowledge
from celery_poolkit.advisor.project import Project
from celery_poolkit.advisor.visitor import module_facts


def test_via_chain_crosses_modules_classes_and_receivers(tmp_path: Path) -> None:
    advice = advise_files(
        tmp_path,
        {
            "proj/__init__.py": "",
            "proj/celery.py": APP,
            "proj/clients.py": """
            import boto3
            import requests

            s3 = boto3.client("s3")

            class Api:
                def __init__(self):
                    self.session = requests.Session()

                def send(self, payload):
                    return self.session.post("http://x", json=payload)

            def make_api() -> "Api":
                return Api()

            def upload(path):
                s3.upload_file(path, "bucket", "key")
        """,
            "proj/services.py": """
            from proj.clients import make_api, upload

            def notify(payload):
                api = make_api()
                return api.send(payload)

            def archive(path):
                upload(path)
                notify({})
        """,
            "proj/tasks.py": """
            from proj.celery import app
            from proj import services

            @app.task
            def run(path):
                services.archive(path)
        """,
        },
    )
    (task,) = advice.tasks
    ev = {e.call: e for e in task.evidence}
    assert task.kind == "io"
    assert [e.value for e in task.effects] == ["net_io"]
    chain = next(e.via for e in task.evidence if e.kind == "net_io")
    assert chain[0] == "proj.tasks.run"
    assert chain[1] == "proj.services.archive"
    calls = {e.call for e in task.evidence}
    assert calls & {"requests.Session.post", "botocore.client.BaseClient.upload_file"}, ev


def test_recursion_and_later_definitions_reach_a_fixpoint(tmp_path: Path) -> None:
    advice = advise_files(
        tmp_path,
        {
            "proj/__init__.py": "",
            "proj/tasks.py": APP
            + """
@app.task
def walk(n):
    return ping(n)

def ping(n):
    return pong(n - 1) if n else 0

def pong(n):
    import time
    time.sleep(0.1)
    return ping(n)
""",
        },
    )
    (task,) = advice.tasks
    sleep = next(e for e in task.evidence if e.kind == "sleep")
    assert sleep.via == ("proj.tasks.walk", "proj.tasks.ping", "proj.tasks.pong")
    assert sleep.location.path == "proj/tasks.py"


def test_user_knowledge_from_config_adds_library_calls(tmp_path: Path) -> None:
    from celery_poolkit.advisor.config import parse

    config = parse(
        {"knowledge": [{"qualname": "inhouse.rpc.*", "effect": "net_io", "green": "blocks_hub"}]}
    )
    advice = advise_files(
        tmp_path,
        {
            "proj/__init__.py": "",
            "proj/tasks.py": APP
            + """
import inhouse.rpc

@app.task
def call():
    inhouse.rpc.invoke("x")
""",
        },
        config,
    )
    (queue,) = advice.queues
    assert queue.pool.value == "threads"
    assert any(e.kind == "blocks_hub" and e.call == "inhouse.rpc.invoke" for e in queue.evidence)


def test_methods_on_what_a_module_level_client_returns(tmp_path: Path) -> None:
    from celery_poolkit.advisor.config import parse

    config = parse({"knowledge": [
        {"qualname": "kv.connect", "returns": "kv.Client"},
        {"qualname": "kv.Client.pipeline", "returns": "kv.Pipeline"},
        {"qualname": "kv.Pipeline.execute", "effect": "db_io"},
    ]})  # fmt: skip
    advice = advise_files(tmp_path, {
        "proj/__init__.py": "",
        "proj/store.py": """
            import kv

            r = kv.connect("kv://")

            def flush(keys):
                pipe = r.pipeline()
                return pipe.execute()
        """,
        "proj/tasks.py": APP + """
from proj.store import flush

@app.task
def sync():
    flush([])
""",
    }, config)  # fmt: skip
    (task,) = advice.tasks
    assert [(e.kind, e.call) for e in task.evidence] == [("db_io", "kv.Pipeline.execute")]


def test_a_branch_that_runs_only_under_debug_is_not_the_task_s_work(tmp_path: Path) -> None:
    """``if settings.DEBUG:`` (a key made on a developer's machine) is not what the task
    does on a worker; the other branch, and a real condition using the flag, still are."""
    advice = advise_files(
        tmp_path,
        {
            "proj/__init__.py": "",
            "proj/celery.py": APP,
            "proj/keys.py": """
            import requests
            from cryptography.hazmat.primitives.asymmetric import rsa
            from django.conf import settings

            def _debug_key():
                return rsa.generate_private_key(public_exponent=65537, key_size=2048)

            def private_key():
                if settings.DEBUG:
                    return _debug_key()
                return requests.get("http://vault/key").text

            def production_only():
                if not settings.DEBUG:
                    requests.get("http://vault/key")
                else:
                    _debug_key()

            def flag_and_more(big):
                if settings.DEBUG and big:
                    _debug_key()
        """,
            "proj/tasks.py": """
            from proj.celery import app
            from proj.keys import flag_and_more, private_key, production_only

            @app.task
            def sign():
                private_key()

            @app.task
            def sign_in_production():
                production_only()

            @app.task
            def conditional(big):
                flag_and_more(big)
        """,
        },
    )
    effects = {t.name.rpartition(".")[2]: [e.value for e in t.effects] for t in advice.tasks}
    assert effects["sign"] == ["net_io"]
    assert effects["sign_in_production"] == ["net_io"]
    assert "cpu" in effects["conditional"]


def test_an_archive_written_compressed_is_cpu_and_a_stored_one_is_file_io(
    tmp_path: Path,
) -> None:
    """The compression argument decides: ZIP_DEFLATED or "w:gz" deflate every byte (also
    through a project subclass of TarFile); ZIP_STORED, a plain "w" or reading do not."""
    advice = advise_files(
        tmp_path,
        {
            "proj/__init__.py": "",
            "proj/celery.py": APP,
            "proj/tasks.py": """
            import tarfile
            import zipfile
            from zipfile import ZIP_LZMA
            from proj.celery import app

            class ExportTar(tarfile.TarFile):
                pass

            @app.task
            def bundle(paths, out):
                with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
                    for p in paths:
                        zf.write(p)

            @app.task
            def bundle_local(paths, out):
                comp = zipfile.ZIP_DEFLATED
                with zipfile.ZipFile(out, "w", compression=comp) as zf:
                    for p in paths:
                        zf.write(p)

            @app.task
            def stored_local(out):
                comp = zipfile.ZIP_STORED
                with zipfile.ZipFile(out, "w", compression=comp) as zf:
                    zf.write("x")

            @app.task
            def bundle_lzma(out):
                zipfile.ZipFile(out, mode="w", compression=ZIP_LZMA).close()

            @app.task
            def export(fileobj):
                with ExportTar.open(mode="w:gz", fileobj=fileobj) as tar:
                    tar.add("x")

            @app.task
            def stored(out):
                with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as zf:
                    zf.write("x")

            @app.task
            def unpack(path):
                with tarfile.open(path, "r:gz") as tar:
                    tar.extractall("dst")
        """,
        },
    )
    effects = {t.name.rpartition(".")[2]: {e.value for e in t.effects} for t in advice.tasks}
    for name in ("bundle", "bundle_local", "bundle_lzma", "export"):
        assert "cpu_releases_gil" in effects[name], (name, effects[name])
    assert effects["stored"] == effects["stored_local"] == {"file_io"}
    assert effects["unpack"] == {"file_io"}
    tasks = {t.name.rpartition(".")[2]: t for t in advice.tasks}
    (ev,) = [e for e in tasks["export"].evidence if e.kind == "cpu_releases_gil"]
    assert ev.call == "tarfile.compressed"


def test_each_function_is_read_once_per_project(monkeypatch: pytest.MonkeyPatch) -> None:
    """Reachability after each round, the summaries and each task's unresolved calls
    walk the same functions of one project: each function's own part is found once."""
    source = APP + textwrap.dedent(
        """
        import requests

        def helper():
            return requests.get("http://x")

        @app.task
        def a():
            helper()

        @app.task
        def b():
            helper()
        """
    )
    facts = module_facts(source, "proj/tasks.py", "proj.tasks", is_package=False)
    project = Project([facts], Knowledge(knowledge()))
    read: list[str] = []
    real = effects._direct

    def counted(project: Project, fid: str, methods: effects.MethodIndex) -> object:
        read.append(fid)
        return real(project, fid, methods)

    monkeypatch.setattr(effects, "_direct", counted)
    roots = ["proj.tasks.a", "proj.tasks.b"]
    assert effects.reachable(project, roots) == {*roots, "proj.tasks.helper"}
    summaries = effects.summarize(project, roots)
    assert effects.reachable(project, ["proj.tasks.b"]) == {"proj.tasks.b", "proj.tasks.helper"}
    assert "net_io" in summaries["proj.tasks.a"]
    assert sorted(read) == sorted({*roots, "proj.tasks.helper"})  # once each
    # A new project (the next round's) is read afresh.
    effects.reachable(Project([facts], Knowledge(knowledge())), ["proj.tasks.a"])
    assert len(read) == 5
