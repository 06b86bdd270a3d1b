"""Noise and the tie rule: ranges of repeats that overlap are within noise."""

from __future__ import annotations

import pytest
from poolbench.stats import Ranked, Repeats, best_of, run_noise, within_noise


def test_median_and_spread() -> None:
    r = Repeats((90.0, 100.0, 110.0))
    assert r.median == 100.0
    assert r.spread == pytest.approx(0.2)
    assert Repeats((5.0,)).spread == 0.0


def test_no_repeats_is_an_error() -> None:
    with pytest.raises(ValueError, match="no repeats"):
        Repeats(())


@pytest.mark.parametrize(
    ("a", "b", "tied"),
    [
        ((100.0, 110.0), (105.0, 120.0), True),  # overlap
        ((100.0, 110.0), (110.0, 120.0), True),  # touching counts as overlap
        ((100.0, 109.0), (110.0, 120.0), False),
        ((700.0, 720.0), (19.0, 20.0), False),
    ],
)
def test_within_noise_is_symmetric_overlap(a: tuple[float, ...], b: tuple[float, ...],
                                           tied: bool) -> None:  # fmt: skip
    assert within_noise(Repeats(a), Repeats(b)) is tied
    assert within_noise(Repeats(b), Repeats(a)) is tied


def test_best_of_orders_by_median_and_lists_ties() -> None:
    best = best_of([
        Ranked("solo", Repeats((19.0, 19.5))),
        Ranked("threads", Repeats((640.0, 600.0, 650.0))),
        Ranked("gevent", Repeats((630.0, 655.0, 660.0))),
    ])  # fmt: skip
    assert best is not None
    assert best.winner.name == "gevent"
    assert [t.name for t in best.ties] == ["threads"]
    assert [r.name for r in best.order] == ["gevent", "threads", "solo"]
    assert best_of([]) is None


def test_run_noise_ignores_single_repeats() -> None:
    noise = run_noise([Repeats((100.0, 110.0)), Repeats((10.0, 10.0, 10.0)), Repeats((5.0,))])
    assert noise is not None
    assert noise.configurations == 2
    assert noise.max_spread == pytest.approx(10 / 105)
    assert run_noise([Repeats((1.0,))]) is None
