"""Repeat statistics, the noise the suite reports, and the rule for "within noise".

A configuration is measured in several timed batches. Its throughput is the median; its
noise is the spread ``(max - min) / median``. Two configurations are *within noise* of
each other when their ranges of repeats overlap: the faster one's slowest batch is not
faster than the slower one's fastest batch. That is the tie rule the report and the
advisor check share.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Repeats:
    """Throughput of the timed batches of one configuration, tasks/s."""

    values: tuple[float, ...]

    def __post_init__(self) -> None:
        if not self.values:
            raise ValueError("no repeats")

    @property
    def median(self) -> float:
        return float(statistics.median(self.values))

    @property
    def low(self) -> float:
        return min(self.values)

    @property
    def high(self) -> float:
        return max(self.values)

    @property
    def spread(self) -> float:
        """``(max - min) / median``: 0.05 means the repeats lie within 5% of each other."""
        return (self.high - self.low) / self.median if self.median > 0 else 0.0


def within_noise(a: Repeats, b: Repeats) -> bool:
    """True when the two ranges of repeats overlap (either may be the faster)."""
    return a.low <= b.high and b.low <= a.high


@dataclass(frozen=True)
class Noise:
    """The run's noise: spreads over every configuration measured."""

    median_spread: float
    max_spread: float
    configurations: int


def run_noise(all_repeats: Sequence[Repeats]) -> Noise | None:
    spreads = [r.spread for r in all_repeats if len(r.values) > 1]
    if not spreads:
        return None
    return Noise(float(statistics.median(spreads)), max(spreads), len(spreads))


@dataclass(frozen=True)
class Ranked:
    name: str
    repeats: Repeats


@dataclass(frozen=True)
class Best:
    """The fastest configuration, and those within noise of it (ties)."""

    winner: Ranked
    ties: tuple[Ranked, ...]
    order: tuple[Ranked, ...]


def best_of(candidates: Sequence[Ranked]) -> Best | None:
    """Rank by median tasks/s; ties are the ones within noise of the winner."""
    if not candidates:
        return None
    order = tuple(sorted(candidates, key=lambda c: c.repeats.median, reverse=True))
    winner = order[0]
    ties = tuple(c for c in order[1:] if within_noise(c.repeats, winner.repeats))
    return Best(winner=winner, ties=ties, order=order)
