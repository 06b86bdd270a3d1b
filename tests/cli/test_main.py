"""The ``poolkit`` entry points: console script, ``celery poolkit``, ``python -m``."""

from __future__ import annotations

import subprocess
import sys

from click.testing import CliRunner

import celery_poolkit
from celery_poolkit.cli import poolkit
from harness.workers import script


def run(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)


def test_version_matches_distribution_metadata() -> None:
    result = CliRunner().invoke(poolkit, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"poolkit, version {celery_poolkit.__version__}"
    assert celery_poolkit.__version__ != "0+unknown"


def test_console_script_version() -> None:
    proc = run(script("poolkit"), "--version")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("poolkit, version ")


def test_python_dash_m_runs_the_same_group() -> None:
    proc = run(sys.executable, "-m", "celery_poolkit", "--help")
    assert proc.returncode == 0, proc.stderr
    assert "advise" in proc.stdout


def test_celery_lists_and_runs_the_poolkit_command() -> None:
    listing = run(script("celery"), "--help")
    assert listing.returncode == 0, listing.stderr
    assert "poolkit" in listing.stdout
    proc = run(script("celery"), "poolkit", "--help")
    assert proc.returncode == 0, proc.stderr
    assert "Usage: celery poolkit" in proc.stdout
    assert "advise" in proc.stdout


def test_unknown_subcommand_is_a_usage_error() -> None:
    result = CliRunner().invoke(poolkit, ["nope"])
    assert result.exit_code == 2
    assert "No such command 'nope'" in result.output
