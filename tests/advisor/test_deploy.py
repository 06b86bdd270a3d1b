"""Worker command lines in deployment files, as the advisor reads them."""

from __future__ import annotations

from pathlib import Path

import pytest

from celery_poolkit.advisor.deploy import find_commands, parse_command
from celery_poolkit.model import Location, Pool

HERE = Location("Procfile", 1)


@pytest.mark.parametrize(
    ("line", "pool", "queues", "app", "concurrency"),
    [
        ("worker: celery -A proj worker -Q a,b -P gevent -c 100", Pool.GEVENT, ("a", "b"),
         "proj", "100"),
        ("command: celery --app=proj.celery:app worker --pool=threads --concurrency=20",
         Pool.THREADS, (), "proj.celery:app", "20"),
        ('exec celery -A proj worker -P"${CELERY_WORKER_POOL:-eventlet}" -Qhttp',
         Pool.EVENTLET, ("http",), "proj", ""),
        ('command: ["celery", "-A", "proj", "worker", "-P", "solo"]', Pool.SOLO, (), "proj", ""),
        ("celery multi start 4 -A proj -Q db -P prefork -c 8", Pool.PREFORK, ("db",), "proj",
         "8"),
        ("celery -A proj worker", None, (), "proj", ""),
        # clustered flags, as click reads them (the bootstrap's argv parser): the README's
        # warning case, once read as prefork
        ("worker: celery -A proj worker -EPgevent -c20 -Qa,b", Pool.GEVENT, ("a", "b"),
         "proj", "20"),
        ("celery -Aproj worker -BEc 4 --pool gevent", Pool.GEVENT, (), "proj", "4"),
        ("celery -A proj worker -n -P -Q x", None, ("x",), "proj", ""),  # -n's value is -P
    ],
)  # fmt: skip
def test_command_forms(
    line: str, pool: Pool | None, queues: tuple[str, ...], app: str, concurrency: str
) -> None:
    cmd = parse_command(line, HERE)
    assert cmd is not None
    assert (cmd.pool, cmd.queues, cmd.app, cmd.concurrency) == (pool, queues, app, concurrency)


def test_a_procfile_with_clustered_flags_reads_as_gevent(tmp_path: Path) -> None:
    (tmp_path / "Procfile").write_text("worker: celery -A shop worker -EPgevent -c 50\n")
    (cmd,) = find_commands(tmp_path)
    assert (cmd.pool, cmd.concurrency, cmd.app) == (Pool.GEVENT, "50", "shop")


def test_which_queues_a_command_consumes() -> None:
    named = parse_command("celery -A proj worker -Q a,b", HERE)
    default = parse_command("celery -A proj worker", HERE)
    assert named is not None
    assert default is not None
    assert (named.consumes("a"), named.consumes("celery")) == (True, False)
    assert (default.consumes("celery"), default.consumes("default"), default.consumes("a")) == (
        True,
        True,
        False,
    )


def test_not_a_worker_command() -> None:
    assert parse_command("celery -A proj beat", HERE) is None
    assert parse_command("echo worker", HERE) is None


def test_flags_and_files(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "run.sh").write_text("celery -A proj worker -P gevent\n")
    (tmp_path / "deploy.sh").write_text(
        "#!/bin/sh\n# celery -A proj worker -P eventlet (commented out)\n"
        "celery -A proj worker -B --autoscale=10,2 \\\n  --max-tasks-per-child 5 --time-limit 30\n"
    )
    (cmd,) = find_commands(tmp_path)  # docs/ holds examples, not deployments
    assert cmd.location == Location("deploy.sh", 3)
    assert (cmd.beat, cmd.autoscale, cmd.max_tasks_per_child, cmd.time_limit) == (
        True, "10,2", "5", "30")  # fmt: skip


def test_extensionless_scripts_are_read_when_they_start_with_a_shebang(tmp_path: Path) -> None:
    run = tmp_path / "docker" / "s6-rc.d" / "svc-worker" / "run"
    run.parent.mkdir(parents=True)
    run.write_text("#!/command/with-contenv bash\nexec celery --app proj worker -P gevent\n")
    (tmp_path / "entrypoint").write_text("#!/bin/sh\ncelery -A proj worker -Q io -P threads\n")
    # Not scripts: no shebang, or too large to be one.
    (tmp_path / "NOTES").write_text("celery -A proj worker -P solo\n")
    (tmp_path / "blob").write_text("#!/bin/sh\n" + "celery -A proj worker -P solo\n" * 4000)
    found = {(c.location.path, c.pool, c.queues) for c in find_commands(tmp_path)}
    assert found == {
        ("docker/s6-rc.d/svc-worker/run", Pool.GEVENT, ()),
        ("entrypoint", Pool.THREADS, ("io",)),
    }


def test_procfile_variants_systemd_and_supervisord(tmp_path: Path) -> None:
    (tmp_path / "Procfile.worker").write_text("io: celery -A proj worker -Q io -P gevent\n")
    (tmp_path / "worker.service").write_text(
        "[Service]\nExecStart=/venv/bin/celery -A proj worker -Q cpu -c 4\n"
    )
    (tmp_path / "supervisord.conf").write_text(
        "[program:w]\ncommand=celery -A proj worker -Q mail -P threads\n"
    )
    found = {(c.location.path, c.queues, c.pool) for c in find_commands(tmp_path)}
    assert found == {
        ("Procfile.worker", ("io",), Pool.GEVENT),
        ("worker.service", ("cpu",), None),
        ("supervisord.conf", ("mail",), Pool.THREADS),
    }


def test_yaml_command_lists_and_kubernetes_args(tmp_path: Path) -> None:
    (tmp_path / "docker-compose.yml").write_text(
        "services:\n"
        "  worker:\n"
        "    command:\n"
        "      - celery\n"
        "      - -A\n"
        "      - proj\n"
        "      - worker\n"
        "      - -Q\n"
        '      - "io,mail"\n'
        "      - --pool=gevent\n"
        "  beat:\n"
        "    command: celery -A proj beat\n"
        "  cpu:\n"
        "    command: celery -A proj worker -Q a,b -c 2\n"
    )
    k8s = tmp_path / "deploy" / "k8s"
    k8s.mkdir(parents=True)
    (k8s / "worker.yaml").write_text(
        "apiVersion: apps/v1\n"
        "kind: Deployment\n"
        "spec:\n"
        "  template:\n"
        "    spec:\n"
        "      containers:\n"
        "        - name: worker\n"
        '          command: ["celery"]\n'
        '          args: ["-A", "proj", "worker", "-Q", "gpu", "-P", "solo"]\n'
        "        - name: other\n"
        "          args:\n"
        "            - celery -A proj worker -Q threads_q -P threads\n"
    )
    # A CI workflow is YAML too, but not a deployment.
    (tmp_path / "ci.yml").write_text("jobs:\n  test:\n    run: celery -A proj worker -P solo\n")
    found = {(c.location.path, c.location.line, c.queues, c.pool) for c in find_commands(tmp_path)}
    assert found == {
        ("docker-compose.yml", 3, ("io", "mail"), Pool.GEVENT),
        ("docker-compose.yml", 14, ("a", "b"), None),
        ("deploy/k8s/worker.yaml", 8, ("gpu",), Pool.SOLO),
        ("deploy/k8s/worker.yaml", 11, ("threads_q",), Pool.THREADS),
    }
