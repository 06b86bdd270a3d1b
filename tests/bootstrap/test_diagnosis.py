"""``poolkit doctor``: known-bad combinations (table-driven) and the command's output."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from celery_poolkit.bootstrap.diagnosis import known_bad, version_tuple
from celery_poolkit.model import Pool, Severity
from celery_poolkit.rules import all_rules
from harness.workers import script

GOOD = {"celery": "5.7.0", "kombu": "5.7.0", "gevent": "26.9.0", "greenlet": "3.5.6",
        "psycopg2": "2.9.13", "psycogreen": "1.0.2", "psycopg": "3.3.9",
        "psycopg-pool": "3.3.3", "eventlet": None, "grpcio": None, "urllib3": "2.7.0",
        "mysqlclient": None}  # fmt: skip
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "shop"


def test_version_tuple() -> None:
    assert version_tuple("3.1.14") == (3, 1, 14)
    assert version_tuple("26.9.0.dev1") == (26, 9, 0)
    assert version_tuple("3.0rc1") == (3, 0)
    assert version_tuple(None) == ()


def test_a_good_gevent_setup_has_no_findings() -> None:
    assert known_bad(GOOD, (3, 11, 7), Pool.GEVENT) == []


@pytest.mark.parametrize(
    ("changes", "python", "pool", "rule", "subject"),
    [
        ({"greenlet": "2.0.2"}, (3, 11, 0), Pool.GEVENT, "PK807", "greenlet"),
        ({"gevent": "25.4.1"}, (3, 11, 0), Pool.GEVENT, "PK808", "gevent-queue"),
        ({"psycogreen": None}, (3, 12, 0), Pool.GEVENT, "PK809", "psycogreen"),
        # a library below its plugin's min_version (data, not a row of the table)
        ({"psycopg": "3.1.13"}, (3, 12, 0), None, "PK806", "psycopg"),
        ({"eventlet": "0.41.3"}, (3, 12, 0), Pool.EVENTLET, "PK810", "psycopg-eventlet"),
        ({"eventlet": "0.41.3"}, (3, 12, 0), Pool.EVENTLET, "PK305", "eventlet"),
        ({"gevent": None, "greenlet": None}, (3, 12, 0), Pool.GEVENT, "PK811",
         "gevent-missing"),
    ],
)  # fmt: skip
def test_known_bad_combinations(
    changes: dict[str, str | None],
    python: tuple[int, ...],
    pool: Pool | None,
    rule: str,
    subject: str,
) -> None:
    findings = known_bad({**GOOD, **changes}, python, pool)
    assert (rule, subject) in {(f.rule, f.subject) for f in findings}
    assert all(f.fix for f in findings)
    # one severity per rule, whoever reports it
    assert all(f.severity is all_rules()[f.rule].severity for f in findings)


def test_a_psycopg_below_its_minimum_is_fine_off_gevent() -> None:
    assert known_bad({**GOOD, "psycopg": "3.1.13"}, (3, 12, 0), Pool.PREFORK) == []
    (finding,) = known_bad({**GOOD, "psycopg": "3.1.13"}, (3, 12, 0), Pool.GEVENT)
    assert finding.severity is Severity.ERROR
    assert finding.fix == "pip install -U 'psycopg>=3.1.14'"


def test_greenlet_2_is_fine_before_python_3_11() -> None:
    assert known_bad({**GOOD, "greenlet": "2.0.2"}, (3, 10, 13), Pool.GEVENT) == []


def _doctor(*argv: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("CELERY_", "POOLKIT_"))}
    return subprocess.run(
        [script("poolkit"), "doctor", *argv], capture_output=True, text=True, timeout=120,
        cwd=EXAMPLE, env={**clean, "SHOP_DATA_DIR": "/tmp/poolkit-doctor-test"}, check=False,
    )  # fmt: skip


def test_doctor_patches_like_the_launcher_and_finds_green_drivers() -> None:
    proc = _doctor("-A", "shop", "-P", "gevent", "--format", "json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads(proc.stdout)
    assert report["pool"] == "gevent"
    assert report["patched_before_doctor"] is False  # the text's "no", never null
    assert report["patch"]["patched"] is True
    assert report["patch"]["hazards"] == []
    drivers = {d["name"]: d["green"] for d in report["drivers"]}
    assert drivers["psycopg2"] is True
    assert drivers["psycopg"] is True
    assert report["broken"] is False


def test_doctor_exits_1_when_a_driver_blocks() -> None:
    # POOLKIT_DISABLE keeps the adapters off, so psycopg2 has no wait callback.
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("CELERY_", "POOLKIT_"))}
    proc = subprocess.run(
        [script("poolkit"), "doctor", "-P", "gevent"], capture_output=True, text=True,
        timeout=120, env={**clean, "POOLKIT_DISABLE": "1"}, check=False,
    )  # fmt: skip
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "FAIL PK804 [psycopg2]: psycopg2 is not green" in proc.stdout
    assert "Broken: yes" in proc.stdout


def test_doctor_text_for_the_default_pool() -> None:
    proc = _doctor()
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Pool: prefork (from celery's default (prefork))" in proc.stdout
    assert "gevent" in proc.stdout


def test_doctor_bad_pool_is_a_usage_error() -> None:
    proc = _doctor("-P", "greenlet")
    assert proc.returncode == 2
    assert "unknown pool 'greenlet'" in proc.stderr


def test_doctor_reports_an_app_it_cannot_import_as_pk813() -> None:
    proc = _doctor("-A", "poolkit_no_such_app", "-P", "gevent")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "FAIL PK813 [app]: cannot import 'poolkit_no_such_app'" in proc.stdout


def test_doctor_reports_a_patch_it_could_not_do_as_pk812(monkeypatch: pytest.MonkeyPatch) -> None:
    from celery_poolkit import bootstrap
    from celery_poolkit.cli.doctor import diagnose
    from celery_poolkit.errors import PatchError

    def refuse(*args: object, **kwargs: object) -> None:
        raise PatchError("already patched by eventlet")

    monkeypatch.setattr(bootstrap, "patch", refuse)  # never patch the test process
    diagnosis = diagnose(None, "gevent")
    assert ("PK812", "already patched by eventlet") in {
        (f.rule, f.message) for f in diagnosis.findings
    }
    assert diagnosis.broken
