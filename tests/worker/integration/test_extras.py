"""Each extra of the distribution gives a working worker on a fresh machine (issue 16).

For every extra (and none), a fresh venv gets the built wheel with that extra and nothing
else (no test dependencies: pip resolves the rest from the index, as a user's would),
``pip check`` must pass, and a real ``poolkit worker`` launched from that venv, with the
bootstep installed, runs a task that imports the extra's libraries and poolkit's module
for them. The broker is kombu's dependency-free filesystem transport, or the suite's real
Redis for the ``redis`` extra (kombu's Redis transport needs ``packaging``, which a bare
``redis`` requirement does not bring).

About 20 s per extra (mostly pip); ``-k redis`` runs one. Marked ``extras`` as well as
``integration``: tox's ``extras`` environment runs it, not ``integration``, because
``scripts/test`` runs it beside the CPU-bound unit environments, where its waits on pip
cost nothing.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from celery import Celery

from harness.procs import free_port
from harness.wheel import the_wheel
from harness.workers import WorkerProcess

pytestmark = pytest.mark.extras

# extra -> (pool, modules the task imports: the extra's libraries and poolkit's for them)
EXTRAS: dict[str, tuple[str, list[str]]] = {
    "": ("prefork", ["celery_poolkit.bootstrap", "celery_poolkit.advisor.engine"]),
    "gevent": ("gevent", ["gevent", "psycogreen"]),
    "eventlet": ("eventlet", ["eventlet", "psycogreen"]),
    "postgres": ("prefork", ["psycopg2", "celery_poolkit.greendb.psycopg2"]),
    "psycopg": ("prefork", ["psycopg", "psycopg_pool", "celery_poolkit.greendb.psycopg"]),
    "django": ("prefork", ["django", "celery_poolkit.plugins.django.tasks"]),
    "sqlalchemy": ("prefork", ["sqlalchemy", "celery_poolkit.greendb.sqlalchemy"]),
    "redis": ("prefork", ["redis", "kombu.transport.redis"]),
    "metrics": ("prefork", ["prometheus_client", "celery_poolkit.worker.metrics"]),
    "otel": ("prefork", ["opentelemetry.metrics", "celery_poolkit.worker.otel"]),
}

APP = """
import importlib, json, os, socket

from celery import Celery

import celery_poolkit

app = Celery("smoke", broker=os.environ["SMOKE_BROKER"])
if app.conf.broker_url.startswith("filesystem"):
    folder = os.environ["SMOKE_FOLDER"]
    app.conf.broker_transport_options = {
        "data_folder_in": folder, "data_folder_out": folder, "control_folder": folder,
    }
celery_poolkit.install(app)


@app.task(name="smoke.touch")
def touch(path, modules):
    for name in modules:
        importlib.import_module(name)
    with open(path + ".part", "w") as out:
        json.dump({"socket": socket.socket.__module__, "modules": modules}, out)
    os.replace(path + ".part", path)
"""


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return the_wheel(tmp_path_factory.mktemp("wheel"))


@pytest.fixture
def client_for() -> Iterator[Callable[[str, dict[str, str]], Celery]]:
    apps: list[Celery] = []

    def make(broker: str, options: dict[str, str]) -> Celery:
        app = Celery("client", broker=broker)
        app.conf.broker_transport_options = options
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.close()


@pytest.mark.parametrize("extra", list(EXTRAS), ids=[e or "none" for e in EXTRAS])
def test_the_extra_alone_gives_a_working_worker(
    extra: str,
    *,
    wheel: Path,
    tmp_path: Path,
    redis_url: str,
    worker_factory: Callable[..., WorkerProcess],
    client_for: Callable[[str, dict[str, str]], Celery],
) -> None:
    pool, modules = EXTRAS[extra]
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    requirement = f"{wheel}[{extra}]" if extra else str(wheel)
    started = time.monotonic()
    installed = subprocess.run(
        # --no-compile: byte-compiling every installed file is much of pip's time, and
        # the worker compiles what it imports anyway.
        [str(python), "-m", "pip", "install", "--quiet", "--no-compile",
         "--disable-pip-version-check", requirement],
        capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip
    assert installed.returncode == 0, installed.stderr[-3000:]
    print(f"[{extra or 'none'}] pip install: {time.monotonic() - started:.1f}s")
    checked = subprocess.run([str(python), "-m", "pip", "check"], capture_output=True,
                             text=True, timeout=120, check=False)  # fmt: skip
    assert checked.returncode == 0, checked.stdout + checked.stderr
    # Nothing of the test extra leaked in: this venv is a user's, not the suite's.
    assert subprocess.run([str(python), "-c", "import pytest"], capture_output=True,
                          timeout=60, check=False).returncode != 0  # fmt: skip

    project = tmp_path / "project"
    project.mkdir()
    (project / "smoke.py").write_text(textwrap.dedent(APP))
    folder = tmp_path / "queue"
    folder.mkdir()
    broker = redis_url if extra == "redis" else "filesystem://"
    # control_folder too: its default is "control" in the working directory.
    options = {} if extra == "redis" else {"data_folder_in": str(folder),
                                           "data_folder_out": str(folder),
                                           "control_folder": str(folder)}  # fmt: skip
    env = {"SMOKE_BROKER": broker, "SMOKE_FOLDER": str(folder)}
    # Without its extra the metrics options change nothing but a line saying what to
    # install; with it, the port serves them.
    port = free_port()
    metrics = (["--poolkit-metrics-port", str(port), "--poolkit-metrics-address", "127.0.0.1",
                "--poolkit-otel"] if extra in ("", "metrics") else [])  # fmt: skip
    worker = worker_factory(
        [str(venv / "bin" / "poolkit"), "worker", "-A", "smoke", "-P", pool, "-c", "2",
         "--without-gossip", "--without-mingle", "--without-heartbeat", *metrics],
        cwd=project, env=env, timeout=120,
    )  # fmt: skip
    done = tmp_path / "done.json"
    client_for(broker, options).send_task("smoke.touch", (str(done), modules))
    deadline = time.monotonic() + 60
    while not done.exists() and time.monotonic() < deadline and worker.proc.poll() is None:
        time.sleep(0.2)
    assert done.exists(), worker.tail()
    seen = json.loads(done.read_text())
    assert seen["modules"] == modules
    if pool in ("gevent", "eventlet"):
        assert seen["socket"].startswith(pool), seen  # the launcher patched
    assert "Traceback" not in worker.output(), worker.tail()
    if extra == "":
        assert "pip install 'celery-poolkit[metrics]'" in worker.output(), worker.tail()
        assert "pip install 'celery-poolkit[otel]'" in worker.output(), worker.tail()
    if extra == "metrics":  # the run ends after the file is written: poll for it
        scraped, deadline = "", time.monotonic() + 30
        while 'poolkit_task_runs_total{task="smoke.touch"} 1.0' not in scraped:
            assert time.monotonic() < deadline, scraped
            time.sleep(0.2)
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as page:
                scraped = page.read().decode()
