"""Bad input to the benchmark command: one clear line, exit code 2, nothing started."""

from __future__ import annotations

from pathlib import Path

import pytest
from poolbench.cli import main


def test_unknown_pool_is_a_one_line_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--only", "pool=green"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --only 'pool=green': no pool named 'green'; choose from")
    assert "Traceback" not in err


def test_unreadable_results_file_is_a_one_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "results.json"
    broken.write_text("{")
    assert main(["--render", str(broken)]) == 2
    assert capsys.readouterr().err.startswith(f"error: cannot read {broken}:")


def test_foreign_json_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    other = tmp_path / "results.json"
    other.write_text('{"schema": 1, "queues": []}')
    assert main(["--render", str(other)]) == 2
    assert "is not a results.json written by this suite" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [["--repeats", "0"], ["--budget-minutes", "-1"]])
def test_out_of_range_options_are_usage_errors(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
    assert "must be" in capsys.readouterr().err


def test_cells_that_cannot_run_here_say_why() -> None:
    from poolbench.cli import skip_reason
    from poolbench.spec import PoolConfig

    launcher = PoolConfig("gevent+poolkit", "gevent", 50, launcher="poolkit")
    assert skip_reason(launcher, "`poolkit worker` is not in this poolkit") is not None
    assert skip_reason(launcher, None) is None
    huge = PoolConfig("gevent -c 1000 (advised)", "gevent", 1000, advised=True)
    assert "above the suite's limit of 250" in (skip_reason(huge, None) or "")
    assert skip_reason(PoolConfig("threads", "threads", 50), "no poolkit") is None
