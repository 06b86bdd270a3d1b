"""The profile's bounds and numbers, the greenlet switch clock, the guard's verdicts."""

from __future__ import annotations

import logging
import time
import types
from pathlib import Path
from typing import Any

import greenlet
import pytest

from celery_poolkit.model import Pool
from celery_poolkit.worker import guard, profile
from celery_poolkit.worker.monitor import SwitchClock
from celery_poolkit.worker.step import StepOptions


def test_profile_is_bounded_and_computes_percentiles(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(profile, "MAX_TASKS", 3)
    p = profile.Profile()
    for i in range(1, 101):
        p.add("a", wall=i / 100, cpu=i / 200, failed=i % 10 == 0)
    for name in ("b", "c", "d", "e"):
        p.add(name, 1.0, 0.0, False)
    tasks = {t.name: t for t in p.tasks()}
    assert set(tasks) == {"a", "b", "c", profile.OTHER}  # d and e folded in: bounded
    assert tasks[profile.OTHER].count == 2
    a = tasks["a"]
    assert (a.count, a.failures) == (100, 10)
    assert a.wall_p50 == pytest.approx(0.51)
    assert a.wall_p95 == pytest.approx(0.96)
    assert a.cpu_share == pytest.approx(0.5)


def test_samples_per_task_are_bounded() -> None:
    p = profile.Profile()
    for _ in range(profile.SAMPLES * 3):
        p.add("a", 0.1, 0.0, False)
    assert len(p._stats["a"].samples) == profile.SAMPLES
    assert p.tasks()[0].count == profile.SAMPLES * 3


def test_worker_profile_round_trips_and_rejects_garbage() -> None:
    block = profile.Block("t", "id", "<g>", 0.5, ("f.py:1 in x",), 1.0)
    worker = profile.WorkerProfile("w@h", "gevent", 10, ("q",), "greenlet", 0.0,
                                   (profile.TaskProfile("t", 1, 0, 1.0, 1.0, 1.0, 0.5, 1, 0.5),),
                                   blocks=1, recent_blocks=(block,))  # fmt: skip
    assert profile.worker_profile_from_dict(worker.as_dict()) == worker
    with pytest.raises(ValueError, match="malformed"):
        profile.worker_profile_from_dict({"schema": 1, "hostname": "x"})


def _burn(seconds: float) -> None:
    # CPU seconds, not wall: on a busy machine a wall-clock loop gets less CPU.
    deadline = time.thread_time() + seconds
    while time.thread_time() < deadline:
        pass


def test_switch_clock_gives_each_greenlet_its_own_cpu_and_block_length() -> None:
    clock = SwitchClock()
    previous = greenlet.settrace(clock)
    measured: dict[str, float] = {}
    try:

        def busy() -> None:
            me = greenlet.getcurrent()
            clock.track(me)
            _burn(0.05)
            hub.switch()  # hand over, as a task does when it waits
            _burn(0.05)
            measured["busy"] = clock.untrack(me)

        def idle() -> None:
            me = greenlet.getcurrent()
            clock.track(me)
            # What gevent's monitor thread does while a blocking call holds the thread.
            clock.stuck = (me, clock.since, ("stack.py:1 in idle",))
            time.sleep(0.05)  # blocks without CPU
            measured["idle"] = clock.untrack(me)

        hub = greenlet.getcurrent()
        clock.threshold, clock.hub = 0.03, hub  # the hub's own slices are never blocks
        a, b = greenlet.greenlet(busy), greenlet.greenlet(idle)
        clock.tasks[b] = ("idle", "id-1")
        a.switch()
        time.sleep(0.05)  # the hub holds the thread: not a block
        b.switch()
        c = greenlet.greenlet(lambda: time.sleep(0.05))  # long, no CPU, unseen: not a block
        c.switch()
        a.switch()
    finally:
        greenlet.settrace(previous)
    assert measured["busy"] == pytest.approx(0.1, abs=0.01)
    assert measured["idle"] < 0.02
    # a burned the CPU twice for 0.05 s, b was seen stuck in a blocking sleep.
    assert [e[0] for e in clock.ended] == [a, b, a]
    assert [e[3] for e in clock.ended] == [None, ("idle", "id-1"), None]
    assert [e[2] for e in clock.ended] == [(), ("stack.py:1 in idle",), ()]
    assert all(0.04 <= e[1] < 2.0 for e in clock.ended)  # wall time held


def test_a_slice_the_host_starved_is_no_block_and_a_blocking_call_is() -> None:
    """Wall time that this thread spent waiting for a CPU (other processes had it) is
    taken off the slice: on a busy host the main greenlet is not reported as blocked."""
    waited = [0.0]  # the thread's run-queue wait, as Linux's schedstat would count it
    clock = SwitchClock(run_delay=lambda: waited[0])
    previous = greenlet.settrace(clock)
    try:

        def starved() -> None:
            started = time.perf_counter()
            time.sleep(0.05)  # 0.05 s or more of wall time (more on a busy machine) ...
            # ... all but 5 ms of it runnable, waiting for a CPU other processes held.
            waited[0] += time.perf_counter() - started - 0.005

        hub = greenlet.getcurrent()
        clock.threshold, clock.hub = 0.03, hub
        s = greenlet.greenlet(starved)
        s.switch()
        b = greenlet.greenlet(lambda: time.sleep(0.05))  # a blocking call, unseen: a block
        b.switch()
        c = greenlet.greenlet(lambda: _burn(0.05))  # CPU: a block
        c.switch()

        def overcounted() -> None:
            _burn(0.05)
            # Two threads' waits summed can exceed the slice (they waited at once): the
            # CPU it burned is still a block.
            waited[0] += 10.0

        d = greenlet.greenlet(overcounted)
        d.switch()
    finally:
        greenlet.settrace(previous)
    assert [e[0] for e in clock.ended] == [b, c, d]
    assert clock.starved == 1


def test_the_run_delay_clock_reads_this_threads_wait() -> None:
    from celery_poolkit.worker.monitor import run_delay_clock

    read = run_delay_clock()
    if read is None:  # not Linux: the clock falls back to CPU time and gevent's monitor
        assert not Path("/proc/thread-self/schedstat").exists()
        return
    first = read()
    _burn(0.02)
    assert 0.0 <= first <= read()


def test_a_task_that_ends_before_its_greenlet_switches_still_owns_the_block() -> None:
    """No yield between the task body and task_postrun (no result backend): the block is
    measured at the switch after the task ended, and is still the task's."""
    clock = SwitchClock()
    previous = greenlet.settrace(clock)
    try:

        def task() -> None:
            me = greenlet.getcurrent()
            clock.tasks[me] = ("proj.render", "id-9")  # task_prerun
            _burn(0.05)
            clock.task_ended(me, clock.tasks.pop(me))  # task_postrun, same slice

        hub = greenlet.getcurrent()
        clock.threshold, clock.hub = 0.03, hub
        glet = greenlet.greenlet(task)
        glet.switch()
        glet2 = greenlet.greenlet(lambda: _burn(0.05))  # no task: a greenlet's block
        glet2.switch()
    finally:
        greenlet.settrace(previous)
    assert [e[3] for e in clock.ended] == [("proj.render", "id-9"), None]
    assert clock.finished == {}  # cleared at the switch


def test_worker_pool_names_celerys_pool_classes() -> None:
    from celery.concurrency import get_implementation

    assert guard.worker_pool(get_implementation("threads"))[0] is Pool.THREADS
    assert guard.worker_pool(get_implementation("solo"))[0] is Pool.SOLO
    assert guard.worker_pool("my.pools:Custom") == (None, "my.pools:Custom")


def _fake_worker(pool: str) -> Any:
    from celery import Celery
    from celery.concurrency import get_implementation

    app = Celery("t", broker="memory://")
    return types.SimpleNamespace(pool_cls=get_implementation(pool), app=app)


def test_strict_guard_refuses_an_unpatched_gevent_pool_with_the_fix(
    caplog: pytest.LogCaptureFixture,
) -> None:
    worker = _fake_worker("gevent")  # this test process is not monkey patched
    found = guard.run(worker, StepOptions(advise=False))  # not strict: logged only
    assert [(f.rule, f.subject) for f in found if f.rule in guard.REFUSE] == [
        ("PK801", "patch-state")
    ]
    with pytest.raises(SystemExit) as exit_info:
        guard.run(worker, StepOptions(strict=True, advise=False))
    assert exit_info.value.code == 78
    assert "poolkit worker" in caplog.text
    assert "celery_poolkit.patch()" in caplog.text


def test_a_failing_check_is_logged_and_never_stops_the_worker(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(facts: guard.WorkerFacts) -> Any:
        raise RuntimeError("check exploded")

    monkeypatch.setattr(guard, "hazards", broken)
    caplog.set_level(logging.WARNING, "celery_poolkit")
    found = guard.run(_fake_worker("threads"), StepOptions(strict=True, advise=False))
    assert found == ()
    assert "the hazards check failed" in caplog.text
    assert "check exploded" in caplog.text


def test_prefork_children_send_their_numbers_to_the_parent_through_the_pipe() -> None:
    import os
    import threading

    from celery_poolkit.worker.recorder import TaskRecorder

    read, write = os.pipe()
    os.set_blocking(read, False)
    os.set_blocking(write, False)
    runtime = TaskRecorder(
        hostname="w@h",
        pool=Pool.PREFORK,
        pool_name="prefork",
        concurrency=2,
        queues=("q",),
        options=StepOptions(),
        parent_pid=-1,
        pipe=(read, write),
    )  # "in a child"; fmt: skip
    runtime.profile.dropped = 3  # the child could not send three earlier samples
    task = types.SimpleNamespace(name="t")
    runtime.on_prerun(task_id="1", task=task)
    _burn(0.02)
    runtime.on_postrun(task_id="1", state="FAILURE")
    assert runtime.profile.dropped == 0  # sent: the count travelled with the line
    assert runtime.profile.tasks() == ()  # nothing recorded in the "child" itself
    reader = threading.Thread(target=runtime._read_children)
    reader.start()
    time.sleep(0.5)
    runtime.stopping.set()
    reader.join(timeout=5)
    os.close(read)
    os.close(write)
    (measured,) = runtime.profile.tasks()
    assert (measured.name, measured.count, measured.failures) == ("t", 1, 1)
    assert measured.cpu_total >= 0.015
    assert runtime.profile.dropped == 3


@pytest.mark.parametrize("wait_clock", [False, True])
def test_a_garbage_collection_in_a_task_is_a_gc_pause_not_the_tasks_block(
    wait_clock: bool,
) -> None:
    import _thread
    import gc

    clock = SwitchClock(run_delay=(lambda: 0.0) if wait_clock else None)
    clock.gc_thread = _thread.get_ident()
    previous = greenlet.settrace(clock)
    gc.callbacks.append(clock.on_gc)
    try:

        def collected() -> None:
            # What a full collection in the task's greenlet looks like to the clock
            # (a real one of that length needs a huge heap): 0.08 s of CPU inside it.
            clock.on_gc("start", {"generation": 2})
            _burn(0.08)
            clock.on_gc("stop", {"generation": 2})
            gc.collect()  # a real one too, through gc.callbacks: short, counted as GC

        def busy() -> None:
            clock.on_gc("start", {"generation": 0})
            _burn(0.01)
            clock.on_gc("stop", {"generation": 0})
            _burn(0.08)  # the task's own: a block even without the collection

        hub = greenlet.getcurrent()
        clock.threshold, clock.hub = 0.05, hub
        gc_task, busy_task = greenlet.greenlet(collected), greenlet.greenlet(busy)
        clock.tasks[gc_task] = ("gc", "id-gc")
        clock.tasks[busy_task] = ("busy", "id-busy")
        gc_task.switch()
        busy_task.switch()
    finally:
        gc.callbacks.remove(clock.on_gc)
        greenlet.settrace(previous)
    assert [e[3] for e in clock.ended] == [("busy", "id-busy")]
    assert [e[4] for e in clock.gc_pauses] == [("gc", "id-gc")]
    _, held, gc_held, generation, _ = clock.gc_pauses[0]
    assert generation == 2
    assert 0.08 <= gc_held <= held
    assert clock.starved == 0


def test_the_gc_clock_ignores_other_threads() -> None:
    clock = SwitchClock()
    clock.gc_thread = -1  # not this thread
    clock.on_gc("start", {"generation": 2})
    time.sleep(0.01)
    clock.on_gc("stop", {"generation": 2})
    assert clock.gc_seconds == 0.0
    assert clock.gc_generation == -1


def test_a_gc_pause_is_logged_as_gc_and_not_counted_against_the_task(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from celery_poolkit.worker.monitor import HubMonitor

    p = profile.Profile()
    monitor = HubMonitor(0.05, p, {})
    monitor.clock = SwitchClock()
    monitor.clock.gc_pauses.append((object(), 0.3, 0.25, 2, ("t", "id-1")))
    with caplog.at_level("WARNING", logger="celery_poolkit"):
        monitor.drain()
    assert "garbage collection (generation 2, 0.250s) paused the gevent hub" in caplog.text
    assert "task t[id-1]" in caplog.text
    assert (monitor.gc_pauses, monitor.count) == (1, 0)
    assert p.blocks == 0
