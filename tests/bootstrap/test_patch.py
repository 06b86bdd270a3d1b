"""``celery_poolkit.patch()``: one scenario per child interpreter.

Monkey patching cannot be undone, so every scenario runs in a fresh ``python -c`` (the
rule gevent's own tests follow). The child prints its report as JSON on the last line.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path
from typing import Any

import pytest

_DUMP = """
import json as _json, sys as _sys
def dump(report, **extra):
    data = {
        "pool": report.pool.value if report.pool else None,
        "source": report.source,
        "patched_now": report.patched_now,
        "already_patched": report.already_patched,
        "disabled": report.disabled,
        "modules": list(report.modules),
        "hazards": [h.kind for h in report.hazards],
        "adapters": {a.plugin: a.status.value for a in report.adapters},
        "notes": list(report.notes),
        **extra,
    }
    print("\\n" + _json.dumps(data))
"""


def child(
    code: str, *, env: dict[str, str] | None = None, argv: tuple[str, ...] = ()
) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items()
                if not k.startswith(("CELERY_", "POOLKIT_"))}  # fmt: skip
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *argv],
        capture_output=True, text=True, timeout=120, env=full_env, check=False,
        # not the source tree: `python -c` puts the working directory first on sys.path
        cwd=tempfile.gettempdir(),
    )  # fmt: skip


def scenario(code: str, **kwargs: Any) -> dict[str, Any]:
    """Run ``code`` (which calls ``dump(report)``) and return what it dumped."""
    proc = child(_DUMP + textwrap.dedent(code), **kwargs)
    assert proc.returncode == 0, proc.stderr
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    result["stderr"] = proc.stderr
    return result


def test_gevent_patch_reports_modules_and_runs_adapters() -> None:
    out = scenario("""
        import celery_poolkit
        report = celery_poolkit.patch("gevent")
        import socket, psycopg2.extensions
        cb = psycopg2.extensions.get_wait_callback()
        dump(report, socket=socket.socket.__module__, callback=cb.__module__)
    """)
    assert out["pool"] == "gevent"
    assert out["patched_now"] is True
    assert {"socket", "ssl", "threading", "time", "select"} <= set(out["modules"])
    assert out["hazards"] == []
    assert out["adapters"]["psycopg2"] == "applied"
    assert out["adapters"]["urllib3"] == "nothing_to_do"
    assert out["socket"].startswith("gevent")
    assert out["callback"] == "celery_poolkit.greendb.psycopg2"


def test_patch_twice_is_a_no_op_and_celery_patching_after_is_too() -> None:
    out = scenario("""
        import celery_poolkit
        first = celery_poolkit.patch("gevent")
        second = celery_poolkit.patch("gevent")
        import gevent.monkey
        again = gevent.monkey.patch_all()  # what `celery worker -P gevent` does next
        dump(second, first=first.patched_now, again=again)
    """)
    assert out["first"] is True
    assert out["patched_now"] is False
    assert out["already_patched"] is True
    assert out["again"] is None  # gevent: nothing new to patch, no re-patch warning
    assert "MonkeyPatchWarning" not in out["stderr"]


def test_auto_reads_argv_in_every_spelling() -> None:
    out = scenario(
        """
        import celery_poolkit
        dump(celery_poolkit.patch())
        """,
        argv=("worker", "-Pgevent"),
    )
    assert (out["pool"], out["source"], out["patched_now"]) == ("gevent", "argv -Pgevent", True)


def test_auto_with_no_green_pool_patches_nothing() -> None:
    out = scenario(
        """
        import sys, celery_poolkit
        report = celery_poolkit.patch()
        dump(report, gevent_loaded="gevent" in sys.modules)
        """,
        argv=("worker", "-P", "threads"),
    )
    assert out["pool"] == "threads"
    assert out["patched_now"] is False
    assert out["gevent_loaded"] is False


def test_late_patch_finds_each_hazard_and_fixes_what_it_can() -> None:
    out = scenario("""
        import threading, time, warnings
        import requests, psycopg, psycopg_pool, django.db   # all before patching
        threading.Thread(target=time.sleep, args=(5,), name="early-bird", daemon=True).start()
        import celery_poolkit
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            report = celery_poolkit.patch("gevent")
        import urllib3.connectionpool
        queue = urllib3.connectionpool.ConnectionPool.QueueCls
        dump(report, queue=queue.__module__,
             warned=sorted({w.category.__name__ for w in caught}))
    """)
    assert set(out["hazards"]) == {
        "late-ssl", "urllib3-queue", "psycopg-wait", "psycopg-pool-threads",
        "django-connections", "native-threads",
    }  # fmt: skip
    assert out["patched_now"] is True
    assert out["adapters"]["urllib3"] == "applied"
    assert out["queue"].startswith("gevent")  # the adapter reset QueueCls
    assert out["adapters"]["psycopg"] == "failed"  # wait_c cannot be swapped: said so
    assert "LatePatchWarning" in out["warned"]


def test_strict_refuses_to_patch_late_and_leaves_nothing_patched() -> None:
    out = scenario("""
        import django.db
        import celery_poolkit
        from celery_poolkit.errors import PatchOrderError
        try:
            celery_poolkit.patch("gevent", strict=True)
        except PatchOrderError as exc:
            import socket
            print("\\n" + _json.dumps({"error": str(exc), "socket": socket.socket.__module__,
                                       "hazards": [h.kind for h in exc.hazards]}))
    """)
    assert out["hazards"] == ["django-connections"]
    assert out["socket"] == "socket"
    assert "refusing to patch for gevent late (strict=True); nothing was patched" in out["error"]
    assert "import Django (django.setup()) after patching" in out["error"]


def test_running_asyncio_loop_is_a_hazard() -> None:
    out = scenario("""
        import asyncio, celery_poolkit
        from celery_poolkit.bootstrap.hazards import scan
        from celery_poolkit.model import Pool
        async def main():
            return [h.kind for h in scan(Pool.GEVENT)]
        print("\\n" + _json.dumps({"kinds": asyncio.run(main())}))
    """)
    assert "asyncio-loop" in out["kinds"]


@pytest.mark.parametrize(
    ("code", "message"),
    [
        (
            """
            import threading, celery_poolkit
            errors = []
            def run():
                try:
                    celery_poolkit.patch("gevent")
                except Exception as exc:
                    errors.append(f"{type(exc).__name__}: {exc}")
            t = threading.Thread(target=run, name="side"); t.start(); t.join()
            print(errors[0])
            """,
            "PatchError: celery_poolkit.patch('gevent') was called from thread 'side': "
            "monkey patching must run in the main thread",
        ),
        (
            """
            import sys; sys.modules["gevent"] = None  # as if gevent were not installed
            import celery_poolkit
            try:
                celery_poolkit.patch("gevent")
            except Exception as exc:
                print(f"{type(exc).__name__}: {exc}")
            """,
            "PatchError: the gevent pool needs gevent, which is not importable",
        ),
        (
            """
            import celery_poolkit
            try:
                celery_poolkit.patch("greenlet")
            except Exception as exc:
                print(f"{type(exc).__name__}: {exc}")
            """,
            "PoolSelectionError: celery_poolkit.patch(): unknown pool 'greenlet'",
        ),
        (
            """
            import celery_poolkit
            celery_poolkit.patch("gevent")
            try:
                celery_poolkit.patch("eventlet")
            except Exception as exc:
                print(f"{type(exc).__name__}: {exc}")
            """,
            "PatchError: this process is already patched by gevent; it cannot also be "
            "patched by eventlet",
        ),
        (
            # eventlet's patched threading makes the main thread look like another one:
            # the error must name the other library, not "must run in the main thread".
            """
            import warnings; warnings.simplefilter("ignore")
            import eventlet; eventlet.monkey_patch()
            import celery_poolkit
            try:
                celery_poolkit.patch("gevent")
            except Exception as exc:
                print(f"{type(exc).__name__}: {exc}")
            """,
            "PatchError: this process is already patched by eventlet; it cannot also be "
            "patched by gevent",
        ),
    ],
    ids=[
        "non-main-thread",
        "gevent-missing",
        "unknown-pool",
        "gevent-then-eventlet",
        "eventlet-then-gevent",
    ],
)
def test_faults_are_clear_errors_and_leave_the_process_unpatched(code: str, message: str) -> None:
    proc = child(
        textwrap.dedent(code) + "\nimport socket; print('socket module:', socket.socket.__module__)"
    )
    assert proc.returncode == 0, proc.stderr
    assert message in proc.stdout
    expected = "socket"
    if "already patched by" in message:  # the first library's patches stay
        expected = message.split("already patched by ", 1)[1].split(";", 1)[0]
    assert f"socket module: {expected}" in proc.stdout


def test_poolkit_disable_turns_everything_off() -> None:
    out = scenario(
        """
        import celery_poolkit, gevent.monkey, socket
        report = celery_poolkit.patch("gevent")
        gevent.monkey.patch_all()   # Celery's own patching still works, adapters stay off
        import psycopg2.extensions
        dump(report, callback=repr(psycopg2.extensions.get_wait_callback()))
        """,
        env={"POOLKIT_DISABLE": "1"},
    )
    assert out["disabled"] is True
    assert out["patched_now"] is False
    assert out["callback"] == "None"


def test_eventlet_is_patched_with_its_deprecation_and_a_way_out() -> None:
    out = scenario("""
        import warnings
        warnings.simplefilter("always")
        import celery_poolkit
        report = celery_poolkit.patch("eventlet")
        import socket, psycopg2.extensions
        cb = psycopg2.extensions.get_wait_callback()
        dump(report, socket=socket.socket.__module__, callback=cb.__module__)
    """)
    assert out["pool"] == "eventlet"
    assert out["patched_now"] is True
    assert out["socket"].startswith("eventlet")
    # eventlet greens psycopg2 itself; poolkit detects that instead of installing twice.
    assert out["adapters"]["psycopg2"] == "nothing_to_do"
    assert out["callback"].startswith("eventlet")
    assert out["adapters"]["psycopg"] == "failed"  # psycopg 3 has no eventlet support
    assert "move to gevent" in out["notes"][0]
    assert "eventlet is deprecated upstream" in out["stderr"]


def test_autopatch_import_patches_from_argv() -> None:
    out = scenario(
        """
        import celery_poolkit.autopatch
        dump(celery_poolkit.autopatch.report)
        """,
        argv=("celery_worker", "--pool=gevent"),
    )
    assert (out["pool"], out["patched_now"]) == ("gevent", True)


def test_autopatch_reads_the_pool_of_the_scripts_worker_main(tmp_path: Path) -> None:
    """sys.argv names no pool: the script's own worker_main([...]) argv does."""
    run = tmp_path / "run.py"
    run.write_text(
        _DUMP
        + textwrap.dedent("""
        import celery_poolkit.autopatch
        dump(celery_poolkit.autopatch.report)
        if __name__ == "__never__":  # read by autopatch, never run here
            app.worker_main(["worker", *sys.argv[1:], "-c", "10", "-P", "gevent"])
    """)
    )
    proc = subprocess.run([sys.executable, str(run)], capture_output=True, text=True,
                          timeout=120, cwd=tempfile.gettempdir(), check=False)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert (out["pool"], out["patched_now"]) == ("gevent", True)
    assert out["source"] == "worker_main argv -P gevent in run.py:21"


@pytest.mark.parametrize(
    ("source", "argvs"),
    [
        ('app.worker_main(["worker", "-Pgevent"])', [(1, ["worker", "-Pgevent"])]),
        ("app.worker_main(('worker', *argv, '--pool=eventlet'))",
         [(1, ["worker", "--pool=eventlet"])]),
        ("app.worker_main(argv)", []),  # computed: sys.argv covers it
        ("worker_main(['-P', 'gevent'])", []),  # not the app's method
        ("def f(:", []),
    ],
)  # fmt: skip
def test_worker_main_argvs_reads_only_literals(
    source: str, argvs: list[tuple[int, list[str]]]
) -> None:
    from celery_poolkit.bootstrap.script import worker_main_argvs

    assert worker_main_argvs(source) == argvs


def test_autopatch_strict_from_environment() -> None:
    proc = child(
        "import django.db\nimport celery_poolkit.autopatch",
        env={"POOLKIT_STRICT": "1", "CELERY_WORKER_POOL": "gevent"},
    )
    assert proc.returncode == 1
    assert "PatchOrderError: refusing to patch for gevent late" in proc.stderr


def test_gevent_entry_points_run_adapters_in_a_bare_patch_all() -> None:
    """No poolkit call at all: the installed entry points fire inside patch_all()."""
    out = scenario("""
        import gevent.monkey
        gevent.monkey.patch_all()
        from celery_poolkit.bootstrap import _state
        import psycopg2.extensions
        cb = psycopg2.extensions.get_wait_callback()
        print("\\n" + _json.dumps({"adapters": {k: v.status.value
                                                for k, v in _state.adapters.items()},
                                   "scanned": _state.early_hazards is not None,
                                   "callback": cb.__module__ if cb else None}))
    """)
    assert out["adapters"]["psycopg2"] == "applied"
    assert out["callback"] == "celery_poolkit.greendb.psycopg2"
    assert out["scanned"] is True


def test_grpc_adapter_calls_init_gevent(tmp_path: Path) -> None:
    """grpcio is not a test dependency; a stand-in package records the call."""
    fake = tmp_path / "grpc" / "experimental"
    fake.mkdir(parents=True)
    (tmp_path / "grpc" / "__init__.py").write_text("")
    (fake / "__init__.py").write_text("")
    (fake / "gevent.py").write_text("calls = []\ndef init_gevent():\n    calls.append(1)\n")
    out = scenario(
        """
        import celery_poolkit
        report = celery_poolkit.patch("gevent")
        from grpc.experimental import gevent as g
        dump(report, calls=len(g.calls))
        """,
        env={"PYTHONPATH": str(tmp_path)},
    )
    assert out["adapters"]["grpc"] == "applied"
    assert out["calls"] == 1
