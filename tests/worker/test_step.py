"""install(app) and the step's options: precedence, bad values, idempotence, lazy import."""

from __future__ import annotations

import subprocess
import sys
import tempfile
import types
from collections.abc import Iterator

import pytest
from celery import Celery

import celery_poolkit
from celery_poolkit.worker import step as bootstep
from celery_poolkit.worker.step import PoolkitStep, StepOptions, install, resolve_options


@pytest.fixture
def app() -> Iterator[Celery]:
    app = Celery("t", broker="memory://")
    yield app
    app.close()


def test_install_adds_the_step_and_options_once(app: Celery) -> None:
    assert install(app) is app
    install(app, strict=True)
    assert PoolkitStep in app.steps["worker"]
    names = [o.name for o in app.user_options["worker"]]
    assert sorted(names) == sorted({*names})  # no duplicates after two installs
    assert "poolkit_strict" in names
    assert "poolkit_block_threshold" in names
    assert resolve_options(app.conf, {}, bootstep.installed_options(app), {}).strict


def test_install_rejects_unknown_options(app: Celery) -> None:
    with pytest.raises(TypeError, match=r"unknown option.*stirct.*known: advise"):
        install(app, stirct=True)


def test_command_line_then_install_then_config_then_environment(app: Celery) -> None:
    app.conf.poolkit_monitor = False
    app.conf.poolkit_block_threshold = "0.25"
    opts = resolve_options(app.conf, {"poolkit_strict": None}, {}, {"POOLKIT_STRICT": "1"})
    assert opts == StepOptions(strict=True, monitor=False, block_threshold=0.25)
    opts = resolve_options(app.conf, {"poolkit_monitor": True}, {"strict": False},
                           {"POOLKIT_STRICT": "1"})  # fmt: skip
    assert opts.monitor is True
    assert opts.strict is False


@pytest.mark.parametrize(
    ("setting", "value", "words"),
    [("poolkit_strict", "maybe", "poolkit_strict must be true or false"),
     ("poolkit_block_threshold", 0.0001, "at least 0.005")],
)  # fmt: skip
def test_bad_settings_name_the_setting(app: Celery, setting: str, value: object,
                                       words: str) -> None:  # fmt: skip
    app.conf[setting] = value
    with pytest.raises(ValueError, match=words):
        resolve_options(app.conf, {}, {}, {})


def test_import_celery_poolkit_stays_light_and_install_is_lazy() -> None:
    code = (
        "import sys; import celery_poolkit; light = 'celery' not in sys.modules; "
        "celery_poolkit.install; print(light, 'celery_poolkit.worker.step' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=60, cwd=tempfile.gettempdir()).stdout  # fmt: skip
    assert out.split() == ["True", "True"]
    assert celery_poolkit.install is install


def test_green_db_release_hook_is_called_when_present(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    stand_in = types.ModuleType("celery_poolkit.plugins.django.tasks")
    stand_in.connect_task_release = lambda: calls.append("connected") or True  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "celery_poolkit.plugins.django.tasks", stand_in)
    import celery_poolkit.plugins.django as django_plugin

    monkeypatch.setattr(django_plugin, "tasks", stand_in, raising=False)
    assert bootstep._connect_green_db_release() is True
    assert calls == ["connected"]


def test_green_db_release_hook_absent_or_incomplete_is_skipped(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import celery_poolkit.plugins.django as django_plugin

    empty = types.ModuleType("celery_poolkit.plugins.django.tasks")  # no connect_task_release
    monkeypatch.setitem(sys.modules, "celery_poolkit.plugins.django.tasks", empty)
    monkeypatch.setattr(django_plugin, "tasks", empty, raising=False)
    assert bootstep._connect_green_db_release() is False
    monkeypatch.setitem(sys.modules, "celery_poolkit.plugins.django.tasks", None)  # ImportError
    monkeypatch.delattr(django_plugin, "tasks")
    assert bootstep._connect_green_db_release() is False


def test_a_failing_release_hook_is_logged_not_raised(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import celery_poolkit.plugins.django as django_plugin

    def boom() -> bool:
        raise RuntimeError("no database")

    stand_in = types.ModuleType("celery_poolkit.plugins.django.tasks")
    stand_in.connect_task_release = boom  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "celery_poolkit.plugins.django.tasks", stand_in)
    monkeypatch.setattr(django_plugin, "tasks", stand_in, raising=False)
    assert bootstep._connect_green_db_release() is False
    assert "no database" in caplog.text


def test_a_replacement_skips_mingle_and_the_banner(monkeypatch: pytest.MonkeyPatch) -> None:
    from celery_poolkit.worker.recycle import HANDOVER_ENV

    monkeypatch.delenv(HANDOVER_ENV, raising=False)
    worker = types.SimpleNamespace(options={}, quiet=False, app=Celery("t", set_as_current=False))
    bootstep._start_as_replacement(worker)
    assert worker.options["without_mingle"] is True
    assert worker.quiet is True  # Celery's on_start prints no banner when quiet
