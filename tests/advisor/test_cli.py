"""``poolkit advise``: formats, exit codes (0 ok, 1 findings, 2 usage/config error)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from advisor_helpers import task_module
from click.testing import CliRunner

from celery_poolkit.cli import poolkit

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "shop"


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(poolkit, ["advise", "--no-cache", *args])
    return result.exit_code, result.stdout, result.stderr


def test_example_project_json_keeps_the_schema() -> None:
    code, out, _ = run(str(EXAMPLE), "--format", "json", "--cores", "2")
    assert code == 0
    data = json.loads(out)
    assert data["schema"] == 1
    assert {"queues", "tasks", "findings", "skipped"} <= set(data)
    queues = {q["name"]: q for q in data["queues"]}
    assert set(queues) == {"default", "http", "db", "images", "email"}
    assert queues["images"]["pool"] == "prefork"
    assert queues["images"]["concurrency"] == 2
    assert queues["default"]["command"].startswith("celery -A shop worker -Q default -P ")
    tasks = {t["name"]: t for t in data["tasks"]}
    assert tasks["shop.send_order_confirmation"]["queue"] == "email"  # a string route
    assert tasks["shop.tasks.payments.charge_card"]["queue"] == "http"  # glob + settings constant
    assert tasks["shop.tasks.maintenance.pause"]["effects"] == ["sleep"]
    assert tasks["shop.tasks.images.fingerprint"]["location"] == {
        "path": "shop/tasks/images.py",
        "line": 24,
        "col": 0,
    }
    for task in tasks.values():
        for ev in task["evidence"]:
            assert {"effect", "call", "location", "via"} <= set(ev)


def test_every_format_renders() -> None:
    for fmt in ("text", "markdown", "sarif"):
        code, out, _ = run(str(EXAMPLE), "--format", fmt)
        assert code == 0 and "images" in out if fmt != "sarif" else code == 0
    sarif = json.loads(run(str(EXAMPLE), "--format", "sarif")[1])
    assert sarif["version"] == "2.1.0"
    assert {r["id"] for r in sarif["runs"][0]["tool"]["driver"]["rules"]} >= {"PK201", "PK305"}
    driver = sarif["runs"][0]["tool"]["driver"]
    assert driver["informationUri"] == "https://celery-poolkit.readthedocs.io/en/latest/"
    assert all(r["helpUri"].startswith(driver["informationUri"] + "rules.html#pk")
               for r in driver["rules"])  # fmt: skip


def test_exit_codes_follow_fail_on(tmp_path: Path) -> None:
    root = task_module(
        tmp_path,
        """
import multiprocessing

@app.task
def fan():
    multiprocessing.Pool(2)
""",
    )
    assert run(str(root))[0] == 1  # PK502 is an error: the default threshold
    assert run(str(root), "--fail-on", "never")[0] == 0
    (root / "pyproject.toml").write_text('[tool.poolkit]\nignore = ["PK502"]\n')
    assert run(str(root))[0] == 0


def test_configuration_errors_exit_2_with_advice(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.poolkit]\nquues = {}\n")
    code, _, err = run(str(tmp_path))
    assert code == 2
    assert "unknown key(s) quues" in err
    assert "allowed:" in err
    assert "Traceback" not in err
    (tmp_path / "pyproject.toml").write_text('[tool.poolkit.queues.http]\npool = "greenlet"\n')
    code, _, err = run(str(tmp_path))
    assert code == 2
    assert "unknown pool 'greenlet'" in err
    (tmp_path / "pyproject.toml").write_text("[tool.poolkit\n")
    assert run(str(tmp_path))[0] == 2
    assert run(str(tmp_path / "missing"))[0] == 2  # click's usage error


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ("tool = 5", "'tool' must be a table"),
        ("[tool]\npoolkit = 5", "[tool.poolkit] must be a table"),
        ("[tool.poolkit]\nqueues = 5", "queues must be a table"),
        ("[tool.poolkit.queues]\nio = 5", "[tool.poolkit.queues.io] accepts"),
        ("[tool.poolkit.queues.io]\npool = 5", "queues.io.pool must be a pool name"),
        ("[tool.poolkit.queues.io]\nconcurrency = 99999999999999999999999999999",
         "queues.io.concurrency must be a whole number from 1 to 100,000"),
        ("[tool.poolkit.queues.io]\nconcurrency = 9999999999", "queues.io.concurrency must be a "
         "whole number from 1 to 100,000 (the worker's -c), not 9999999999"),
        ("[tool.poolkit.queues.io]\nconcurrency = true", "queues.io.concurrency must be a whole"),
        ("[tool.poolkit.queues.io]\nprocesses = 0", "queues.io.processes must be a whole"),
        ("[tool.poolkit.queues.io]\nprocesses = 1.5", "queues.io.processes must be a whole"),
        ("[tool.poolkit]\ncores = true", "cores must be a whole number from 1 to 4,096"),
        ("[tool.poolkit]\ncores = 100000", "cores must be a whole number from 1 to 4,096"),
        ("[tool.poolkit]\ndb-max-connections = 10000000", "db-max-connections must be a whole"),
        ("[tool.poolkit]\nfail-on = 5", "fail-on must be one of error, warning, info, never"),
        ("[tool.poolkit]\nfail-on = ['never']", "fail-on must be one of"),
        ("[tool.poolkit]\nselect = 5", "select must be a list of strings"),
        ("[[tool.poolkit.knowledge]]\nqualname = 5", "knowledge qualname must be a dotted name"),
        ("[[tool.poolkit.knowledge]]\nqualname = 'a.b'\nhazards = 5",
         "knowledge row 'a.b': hazards must be a list of strings, not 5"),
        ("[[tool.poolkit.knowledge]]\nqualname = 'a.b'\nhazards = [5]", "hazards must be a list"),
        ("[[tool.poolkit.knowledge]]\nqualname = 'a.b'\neffect = 5", "effect must be a string"),
        ("[[tool.poolkit.knowledge]]\nqualname = 'a.b'\nnote = []", "note must be a string"),
        ("[tool.poolkit]\nx = " + "[" * 5000 + "]" * 5000, "nested too deeply"),
        ("[tool.poolkit]\nx = " + "{a = " * 5000 + "1" + "}" * 5000, "nested too deeply"),
    ],
)  # fmt: skip
def test_every_config_key_is_type_and_range_checked(
    tmp_path: Path, toml: str, message: str
) -> None:
    (tmp_path / "pyproject.toml").write_text(toml + "\n")
    code, out, err = run(str(tmp_path))
    assert (code, out) == (2, "")
    assert message in err
    assert "Traceback" not in err


def test_usage_errors_and_crashes_exit_2_not_the_findings_code(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, _, err = run(str(EXAMPLE), "-o", str(tmp_path / "nonexistent" / "x"))
    assert code == 2
    assert "Could not open file" in err

    def crash(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("boom")

    from celery_poolkit.advisor import engine

    monkeypatch.setattr(engine, "analyze", crash)
    code, _, err = run(str(EXAMPLE))
    assert code == 2
    assert "poolkit: internal error: RuntimeError: boom (a bug in poolkit" in err
    assert "Traceback" in err  # the report a user can file


def test_queue_override_from_config(tmp_path: Path) -> None:
    root = task_module(
        tmp_path,
        """
import time

@app.task(queue="slow")
def wait():
    time.sleep(1)
""",
    )
    (root / "pyproject.toml").write_text(
        '[tool.poolkit.queues.slow]\npool = "threads"\nconcurrency = 8\n'
    )
    data = json.loads(run(str(root), "-f", "json")[1])
    (queue,) = data["queues"]
    assert (queue["pool"], queue["concurrency"]) == ("threads", 8)
    assert "set to threads in [tool.poolkit]" in queue["reasons"][0]


def test_import_app_mode_is_explicit_and_says_so(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, "-m", "celery_poolkit", "advise", str(EXAMPLE), "--no-cache",
         "--import-app", "shop", "--format", "json", "--cores", "2"],
        capture_output=True, text=True, timeout=120, check=False, cwd=tmp_path,
        env={**os.environ, "SHOP_DATA_DIR": str(tmp_path / "data")},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "importing shop to read its live configuration" in proc.stderr
    data = json.loads(proc.stdout)
    assert data["imported_app"] is True
    tasks = {t["name"]: t["queue"] for t in data["tasks"]}
    assert tasks["shop.send_order_confirmation"] == "email"  # Celery's own router said so
    assert tasks["shop.tasks.payments.charge_card"] == "http"


def test_import_app_failure_is_a_configuration_error(tmp_path: Path) -> None:
    code, _, err = run(str(tmp_path), "--import-app", "no_such_module_here")
    assert code == 2
    assert "--import-app no_such_module_here: importing the app failed" in err


def test_colour_only_when_asked() -> None:
    from advisor_helpers import advise

    from celery_poolkit.advisor.report import text

    advice = advise(EXAMPLE)
    assert "\033[1mqueue db" in text.render(advice, True)
    assert "\033[" not in text.render(advice, False)
    code, out, _ = run(str(EXAMPLE))  # CliRunner's stdout is not a TTY: no colour
    assert code == 0
    assert "\033[" not in out


def test_a_package_folder_or_one_of_its_files_finds_the_tasks_above_it() -> None:
    package = EXAMPLE / "shop"
    code, out, _ = run(str(package), "-f", "json", "--cores", "2")
    assert code == 0
    whole = json.loads(run(str(EXAMPLE), "-f", "json", "--cores", "2")[1])
    assert json.loads(out) == whole  # the import root is the folder above the package
    code, out, _ = run(str(package / "tasks" / "images.py"), "-f", "json", "--cores", "2")
    data = json.loads(out)
    assert [t["name"] for t in data["tasks"]] == [
        "shop.tasks.images.make_thumbnail",
        "shop.tasks.images.fingerprint",
    ]
    assert data["tasks"][0]["location"]["path"] == "shop/tasks/images.py"
    assert [q["name"] for q in data["queues"]] == ["images"]


def test_nothing_found_is_said_and_fails_under_fail_on(tmp_path: Path) -> None:
    code, out, err = run(str(tmp_path))  # an empty folder
    assert code == 0
    assert "No Celery tasks found in 0 Python file(s)" in out
    assert "poolkit: no Celery tasks found in 0 Python file(s) under" in err
    assert run(str(tmp_path), "--fail-on", "error")[0] == 1
    assert run(str(tmp_path), "--fail-on", "never")[0] == 0
    (tmp_path / "util.py").write_text("def helper():\n    return 1\n")
    code, _, err = run(str(tmp_path), "--fail-on", "warning", "-f", "json")
    assert code == 1
    assert "no Celery tasks found in 1 Python file(s)" in err


def test_alternatives_say_why_not_never_argue_for_themselves() -> None:
    data = json.loads(run(str(EXAMPLE), "-f", "json", "--cores", "2")[1])
    db = next(q for q in data["queues"] if q["name"] == "db")
    assert db["pool"] == "gevent"
    threads = next(a["why_not"] for a in db["alternatives"] if a["pool"] == "threads")
    assert "no time limit on threads" in threads  # why gevent wins the tie
    for queue in data["queues"]:
        for alternative in queue["alternatives"]:
            assert "pick it" not in alternative["why_not"], (queue["name"], alternative)


def test_pk307_says_it_could_not_check_a_broker_from_the_environment(tmp_path: Path) -> None:
    source = (Path(__file__).parent / "eval_files" / "pk307_redis_pool_env_broker.py").read_text()
    root = task_module(tmp_path, "")
    (root / "proj" / "tasks.py").write_text(source)
    (root / "Procfile").write_text("worker: celery -A proj worker -Q default -P gevent -c 50\n")
    data = json.loads(run(str(root), "-f", "json")[1])
    (finding,) = [f for f in data["findings"] if f["rule"] == "PK307"]
    assert finding["severity"] == "info"  # unknown is not a warning, and not silence
    assert finding["message"].startswith(
        "queue 'default' (deployed -P gevent -c 50): could not check it"
    ), finding["message"]
    assert "the broker URL is read from the environment ($BROKER_URL)" in finding["message"]


def test_control_characters_from_the_source_never_reach_the_terminal(tmp_path: Path) -> None:
    root = task_module(
        tmp_path,
        '\n@app.task(name="evil\\x1b]0;owned\\x07\\x1b[2J", queue="q\\x1b[31m")\n'
        "def evil():\n    import time\n    time.sleep(1)\n",
    )
    for fmt in ("text", "markdown"):
        code, out, _ = run(str(root), "-f", fmt)
        assert code == 0
        assert "q\\x1b[31m" in out  # the queue name, shown escaped
        assert "\x1b" not in out
        assert "\x07" not in out
    data = json.loads(run(str(root), "-f", "json")[1])
    assert data["tasks"][0]["name"] == "evil\x1b]0;owned\x07\x1b[2J"  # JSON keeps the data


def test_the_walk_up_stops_at_the_projects_own_root(tmp_path: Path) -> None:
    # A project root that is also a package (an __init__.py next to pyproject.toml): its
    # siblings' deployment files are none of its business.
    root = task_module(tmp_path / "work" / "mine", "")
    (root / "__init__.py").write_text("")
    (root / "pyproject.toml").write_text("[project]\nname = 'mine'\n")
    sibling = tmp_path / "work" / "mine" / "other"
    sibling.mkdir()
    (sibling / "Procfile").write_text("worker: celery -A other worker -P eventlet\n")
    data = json.loads(run(str(root), "-f", "json")[1])
    assert data["root"] == str(root)
