"""Check ``poolkit advise`` against the measurements: is its pool the best one?

For each workload the suite runs ``poolkit advise --format json benchapp/<workload>``
and reads the queue of that workload from the JSON contract::

    {"schema": 1,
     "queues": [{"name", "pool", "concurrency", "tasks", "command", ...}],
     "tasks": [...], "findings": [...], "skipped": [...]}

The recommendation passes when the configuration it names (pool, concurrency, and
``poolkit worker`` vs ``celery … worker`` as its command says) reaches at least
:data:`MIN_RATIO` of the best measured pool that is not deprecated, or is within the
measured noise of it (:func:`poolbench.stats.within_noise`). Anything else fails, and so
does an advisor that is missing or whose output is not that JSON: a check that could not
be made is never a pass.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from poolbench.spec import PoolConfig
from poolbench.stats import Ranked, Repeats, best_of, within_noise

MIN_RATIO = 0.95
POOL_ALIASES = {
    "processes": "prefork",
    "thread": "threads",
    "threads": "threads",
    "prefork": "prefork",
    "gevent": "gevent",
    "eventlet": "eventlet",
    "solo": "solo",
}
DEPRECATED_POOLS = frozenset({"eventlet"})


@dataclass(frozen=True)
class Recommendation:
    queue: str
    pool: str
    concurrency: int
    launcher: str  # "celery" or "poolkit", from the recommended command
    command: str

    def config(self, grid: Sequence[PoolConfig]) -> PoolConfig:
        """The configuration to measure: a grid row if one matches, else a new row."""
        # The advice is run as given, with whatever poolkit is installed active: a grid row
        # that disables poolkit (the plain gevent control) is not what the advice says.
        for row in grid:
            if row.key == (self.pool, self.concurrency, self.launcher, False):
                return row
        base = self.pool + ("+poolkit" if self.launcher == "poolkit" else "")
        return PoolConfig(
            name=f"{base} -c {self.concurrency} (advised)",
            pool=self.pool,
            concurrency=self.concurrency,
            launcher=self.launcher,
            deprecated=self.pool in DEPRECATED_POOLS,
            advised=True,
        )


@dataclass(frozen=True)
class AdvisorUnavailable:
    """The advisor could not be asked, or did not answer in the JSON contract."""

    reason: str


def _launcher(command: str) -> str:
    try:
        words = shlex.split(command)
    except ValueError:
        words = command.split()
    for i, word in enumerate(words[:-1]):
        if word.rsplit("/", 1)[-1] == "poolkit" and words[i + 1] == "worker":
            return "poolkit"
    return "celery"


def _line(text: str, *, last: bool = False) -> str:
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    line = (lines[-1] if last else lines[0]) if lines else ""
    return line[:120] or "(no output)"


def parse_advice(
    stdout: str, returncode: int, queue: str, stderr: str = ""
) -> Recommendation | AdvisorUnavailable:
    """Read the recommendation for ``queue`` out of ``poolkit advise --format json``."""
    try:
        doc: Any = json.loads(stdout)
    except ValueError:
        # click prints "Usage: …" first and the actual error last.
        said = _line(stdout) if stdout.strip() else _line(stderr, last=True)
        return AdvisorUnavailable(
            f"advisor unavailable: output is not JSON (exit code {returncode}): {said}"
        )
    if not isinstance(doc, dict) or doc.get("schema") != 1:
        return AdvisorUnavailable(
            'advisor unavailable: JSON without "schema": 1 (not the advisor\'s JSON contract)'
        )
    queues = doc.get("queues")
    if not isinstance(queues, list) or not all(isinstance(q, dict) for q in queues):
        return AdvisorUnavailable('advisor unavailable: "queues" is not a list of objects')
    named = [q for q in queues if q.get("name") == queue]
    if not named and len(queues) == 1:
        named = queues
    if len(named) != 1:
        names = ", ".join(repr(q.get("name")) for q in queues) or "none"
        return AdvisorUnavailable(
            f"advisor gave no single recommendation for queue {queue!r} (queues: {names})"
        )
    entry = named[0]
    pool = POOL_ALIASES.get(str(entry.get("pool", "")).lower())
    concurrency = entry.get("concurrency")
    if pool is None:
        return AdvisorUnavailable(f"advisor recommended an unknown pool {entry.get('pool')!r}")
    if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
        return AdvisorUnavailable(
            f"advisor recommended concurrency {concurrency!r}; expected a positive integer"
        )
    command = str(entry.get("command") or "")
    return Recommendation(
        queue=str(entry.get("name", queue)),
        pool=pool,
        concurrency=concurrency,
        launcher=_launcher(command),
        command=command,
    )


@dataclass(frozen=True)
class Measured:
    """One configuration of one workload, as the run left it."""

    config: PoolConfig
    repeats: Repeats | None
    unavailable: str | None = None


@dataclass(frozen=True)
class CheckResult:
    workload: str
    passed: bool
    reason: str
    recommended: str | None = None  # configuration name
    command: str | None = None
    recommended_tps: float | None = None
    best: str | None = None
    best_tps: float | None = None
    ratio: float | None = None
    within_noise: bool | None = None


def check(
    workload: str, advice: Recommendation | AdvisorUnavailable, measured: Sequence[Measured]
) -> CheckResult:
    """The verdict for one workload; see the module docstring for the rule."""
    if isinstance(advice, AdvisorUnavailable):
        return CheckResult(workload, passed=False, reason=advice.reason)
    grid = [m.config for m in measured]
    wanted = advice.config(grid)
    base = {"recommended": wanted.name, "command": advice.command or None}
    if advice.pool in DEPRECATED_POOLS:
        return CheckResult(
            workload, passed=False, reason=f"recommends {advice.pool}, which is deprecated", **base
        )
    mine = next((m for m in measured if m.config.key == wanted.key), None)
    if mine is None or mine.repeats is None:
        why = mine.unavailable if mine is not None and mine.unavailable else "not measured"
        return CheckResult(
            workload, passed=False, reason=f"recommended configuration {wanted.name}: {why}", **base
        )
    ranked = [
        Ranked(m.config.name, m.repeats)
        for m in measured
        if m.repeats is not None and not m.config.deprecated
    ]
    best = best_of(ranked)
    assert best is not None  # ``mine`` itself is a candidate
    ratio = mine.repeats.median / best.winner.repeats.median
    tied = within_noise(mine.repeats, best.winner.repeats)
    passed = ratio >= MIN_RATIO or tied
    if wanted.name == best.winner.name:
        reason = "recommended configuration is the fastest measured"
    elif passed:
        how = f"{ratio:.2f}x of the best" + (", within noise" if tied else "")
        reason = f"{how} ({best.winner.name})"
    else:
        reason = (
            f"reaches {ratio:.2f}x of {best.winner.name} (< {MIN_RATIO}x) "
            "and is outside the measured noise"
        )
    return CheckResult(
        workload,
        passed=passed,
        reason=reason,
        recommended_tps=mine.repeats.median,
        best=best.winner.name,
        best_tps=best.winner.repeats.median,
        ratio=ratio,
        within_noise=tied,
        **base,
    )
