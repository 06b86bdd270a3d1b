"""What confidence means: a function of the evidence each task's kind rests on.

``high`` needs every task resolved from library knowledge (or measured), one kind, and
every call it reaches followed; anything less says why in the queue's reasons.
"""

from __future__ import annotations

from pathlib import Path

from advisor_helpers import advise, task_module

from celery_poolkit.advisor import confidence, unresolved
from celery_poolkit.advisor.confidence import Basis
from celery_poolkit.advisor.profile import Measured
from celery_poolkit.model import Confidence, Evidence, Location, TaskInfo, TaskKind

FETCH = """
import requests

@app.task
def fetch(url):
    return requests.get(url, timeout=5)

@app.task
def post(url):
    return requests.post(url, timeout=5)
"""

#: A module-level object whose class forwards attribute access (Django's LazyObject,
#: a storage proxy): what ``storage.walk()`` runs is decided at run time.
PROXY = """
import requests

class LazyStorage:
    def __getattr__(self, name):
        return getattr(self._wrapped, name)

storage = LazyStorage()

@app.task
def fetch(url):
    return requests.get(url, timeout=5)

@app.task
def index(path):
    requests.post("http://search/", timeout=5)
    for root, dirs, files in storage.walk(path):
        pass
"""


def _line(root: Path, text: str) -> int:
    return (root / "proj/tasks.py").read_text().splitlines().index(text) + 1


def test_resolved_evidence_of_one_kind_is_high_and_says_nothing_more(tmp_path: Path) -> None:
    (queue,) = advise(task_module(tmp_path, FETCH)).queues
    assert queue.confidence is Confidence.HIGH
    assert not [r for r in queue.reasons if r.startswith("confidence")]


def test_a_call_through_a_proxy_is_not_followed_and_keeps_the_queue_medium(
    tmp_path: Path,
) -> None:
    root = task_module(tmp_path, PROXY)
    advice = advise(root)
    (queue,) = advice.queues
    assert queue.confidence is Confidence.MEDIUM
    line = _line(root, "    for root, dirs, files in storage.walk(path):")
    (why,) = [r for r in queue.reasons if r.startswith("confidence medium")]
    assert f"proj/tasks.py:{line}" in why
    assert "LazyStorage.walk" in why
    assert "poolkit advise --profile" in why
    # The task that went through the proxy names it; the other has nothing to name.
    tasks = {t.name.rpartition(".")[2]: t for t in advice.tasks}
    assert [e.call for e in tasks["index"].unresolved] == ["proj.tasks.LazyStorage.walk"]
    assert tasks["fetch"].unresolved == ()


def test_a_method_the_class_defines_is_followed(tmp_path: Path) -> None:
    body = PROXY.replace(
        "    def __getattr__(self, name):\n        return getattr(self._wrapped, name)\n",
        "    def walk(self, path):\n        return []\n",
    )
    (queue,) = advise(task_module(tmp_path, body)).queues
    assert queue.confidence is Confidence.HIGH


CHAIN_ON_SELF = """
class Limits:
    def __init__(self, task):
        self.task = task

    def __call__(self):
        return self.task.client.keys("x")

@app.task
def monitor():
    Limits(object())()
"""


def test_a_chain_below_an_attribute_is_not_a_method_the_receiver_lacks(
    tmp_path: Path,
) -> None:
    # ``self.task.client.keys()``: ``keys`` belongs to whatever ``client`` is, not to
    # ``Limits``; it was reported as "Limits does not define 'keys'".
    advice = advise(task_module(tmp_path, CHAIN_ON_SELF))
    (task,) = advice.tasks
    assert not [e for e in task.unresolved if e.call.endswith("Limits.keys")]


def test_kinds_that_differ_cap_the_queue_at_medium(tmp_path: Path) -> None:
    body = FETCH + (
        "\n@app.task\ndef crunch(path):\n    from PIL import Image\n"
        "    Image.open(path).thumbnail((64, 64))\n"
    )
    (queue,) = advise(task_module(tmp_path, body)).queues
    assert queue.confidence is Confidence.MEDIUM
    assert any("kinds differ (cpu, io)" in r for r in queue.reasons)


def test_a_heuristic_alone_is_inferred_not_resolved(tmp_path: Path) -> None:
    body = (
        "@app.task\ndef crunch(n):\n    total = 0\n"
        "    for i in range(n):\n        total += i * i\n    return total\n"
    )
    advice = advise(task_module(tmp_path, body))
    (task,) = advice.tasks
    assert confidence.basis(task) is Basis.INFERRED
    (queue,) = advice.queues
    assert queue.confidence is Confidence.MEDIUM
    assert any("heuristic or an inferred library only (crunch)" in r for r in queue.reasons)


def test_a_measured_kind_counts_as_evidence_for_high(tmp_path: Path) -> None:
    body = "@app.task(name='handle')\ndef handle(event, handlers):\n    handlers[event]()\n"
    root = task_module(tmp_path, body)
    (static,) = advise(root).queues
    assert static.confidence is Confidence.LOW  # nothing resolved: a default pool
    enough = Measured("handle", runs=20, wall=2.0, cpu=1.9, blocks=0, block_seconds=0.0,
                      hosts=("w1",))  # fmt: skip
    (measured,) = advise(root, measured={"handle": enough}).queues
    assert measured.confidence is Confidence.HIGH
    few = Measured("handle", runs=2, wall=0.2, cpu=0.19, blocks=0, block_seconds=0.0,
                   hosts=("w1",))  # fmt: skip
    (guess,) = advise(root, measured={"handle": few}).queues
    assert guess.confidence is Confidence.LOW  # two runs are no sample


# -- the function itself, on tasks made by hand ----------------------------------------------

_HERE = Location("proj/tasks.py", 1)


def _task(name: str, kind: TaskKind, *evidence: Evidence, lost: int = 0) -> TaskInfo:
    unfollowed = tuple(
        Evidence(unresolved.KIND, f"proj.X.m{i}", Location("proj/x.py", 10 + i), (name,))
        for i in range(lost)
    )
    return TaskInfo(name, name, "celery", _HERE, evidence=evidence, kind=kind,
                    unresolved=unfollowed)  # fmt: skip


_NET = Evidence("net_io", "requests.get", _HERE, ("t",))
_LOOP = Evidence("cpu", "python: for-loop over range(n)", _HERE, ("t",))
_INFERRED = Evidence("net_io", "vendorlib.send", _HERE, ("t",), "inferred from its source")


def test_judge_levels_and_reasons() -> None:
    io = _task("a", TaskKind.IO, _NET)
    assert confidence.judge([io, _task("b", TaskKind.IO, _NET)]).level is Confidence.HIGH
    # One of two unknown: medium; two of three unknown: low.
    idle = _task("c", TaskKind.UNKNOWN)
    half = confidence.judge([io, idle])
    assert half.level is Confidence.MEDIUM
    assert half.why == ("1 of 2 task(s) show no effect",)
    most = confidence.judge([io, idle, _task("d", TaskKind.UNKNOWN)])
    assert most.level is Confidence.LOW
    # Inferred library evidence is not a table's.
    assert confidence.basis(_task("e", TaskKind.IO, _INFERRED)) is Basis.INFERRED
    assert confidence.judge([_task("e", TaskKind.IO, _INFERRED)]).level is Confidence.MEDIUM
    # Table evidence beside a heuristic: the table decides, the task is resolved.
    both = _task("f", TaskKind.CPU, _LOOP, Evidence("cpu", "PIL.Image.Image.thumbnail", _HERE))
    assert confidence.basis(both) is Basis.RESOLVED
    # An unfollowed call anywhere in a task's reach: medium, naming file:line.
    lost = confidence.judge([io, _task("g", TaskKind.IO, _NET, lost=2)])
    assert lost.level is Confidence.MEDIUM
    assert "proj/x.py:10 (proj.X.m0), proj/x.py:11 (proj.X.m1)" in lost.why[0]
    # ... unless a measurement decided that task's kind.
    assert confidence.judge([io, _task("g", TaskKind.IO, _NET, lost=2)], measured={"g"}).level is (
        Confidence.HIGH
    )


def test_explain_says_nothing_for_high() -> None:
    assert confidence.explain(confidence.Judged(Confidence.HIGH)) is None
    text = confidence.explain(confidence.Judged(Confidence.MEDIUM, ("x", "y")))
    assert text is not None
    assert text.startswith("confidence medium: x; y; `poolkit profile")
