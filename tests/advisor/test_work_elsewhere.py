"""CPU that happens in a child process, GPU state made at import, and honest confidence."""

from __future__ import annotations

from pathlib import Path

from advisor_helpers import advise, task_module

from celery_poolkit.model import Confidence, Effect, Pool

TRANSCODE = """
import subprocess
import shutil
from django.conf import settings

@app.task(queue="media")
def transcode(src, dst):
    subprocess.run(["ffmpeg", "-i", src, dst], check=True)

@app.task(queue="media")
def ocr(path):
    cmd = ["/usr/bin/tesseract", path, "out"]
    subprocess.check_call(cmd)

@app.task(queue="media")
def thumbnail(path):
    subprocess.run([shutil.which("convert"), path, "-resize", "64x64", "t.png"])

@app.task(queue="media")
def render(path):
    subprocess.Popen([settings.LIBREOFFICE_BINARY, "--headless", path]).wait()
"""


def test_cpu_heavy_programs_in_a_child_cap_concurrency_at_the_cores(tmp_path: Path) -> None:
    advice = advise(task_module(tmp_path, TRANSCODE))
    (queue,) = advice.queues
    programs = {
        t.name.rpartition(".")[2]: [e.call for e in t.evidence if e.kind == "cpu_child"]
        for t in advice.tasks
    }
    assert programs == {
        "transcode": ["subprocess.ffmpeg"],
        "ocr": ["subprocess.tesseract"],
        "thumbnail": ["subprocess.convert"],
        "render": ["subprocess.libreoffice"],
    }
    assert all(Effect.CPU_CHILD in t.effects for t in advice.tasks)
    assert queue.concurrency == 2  # the host's cores, not gevent's -c 50
    assert queue.processes == 1
    assert any("runs in a child process" in r and "capped" in r for r in queue.reasons)
    # One process: no reason may still ask for one per core.
    assert not any("worker processes per host" in r for r in queue.reasons)


def test_a_program_that_is_not_cpu_heavy_leaves_the_io_advice_alone(tmp_path: Path) -> None:
    body = """
import subprocess

@app.task
def push():
    subprocess.run(["git", "push"], check=True)
"""
    advice = advise(task_module(tmp_path, body))
    (queue,) = advice.queues
    assert queue.concurrency == 50
    assert [e.kind for e in advice.tasks[0].evidence] == ["subprocess"]


GPU_MODULE = """
import torch

model = torch.jit.load("model.pt").to("cuda")

@app.task
def predict(x):
    return model(x)
"""


def test_a_model_moved_to_the_gpu_at_import_rules_prefork_out(tmp_path: Path) -> None:
    advice = advise(task_module(tmp_path, GPU_MODULE))
    (queue,) = advice.queues
    (task,) = advice.tasks
    assert [e.call for e in task.evidence if e.kind == "fork_unsafe"] == ["torch.nn.Module.to"]
    assert queue.pool is not Pool.PREFORK
    assert queue.pool is Pool.SOLO
    assert any("fork-unsafe state" in r and "import" in r for r in queue.reasons)
    # Calling the model is its forward pass: the task's own work, not "nothing found".
    assert [e.call for e in task.evidence if e.kind == "gpu"] == ["torch.nn.Module.__call__"]
    assert not any("safe choice" in r for r in queue.reasons)


def test_a_queue_with_no_work_under_fork_unsafe_state_does_not_call_prefork_safe(
    tmp_path: Path,
) -> None:
    body = """
import torch

model = torch.jit.load("model.pt").to("cuda")

@app.task
def ping():
    return 1
"""
    (queue,) = advise(task_module(tmp_path, body)).queues
    assert queue.pool is Pool.SOLO
    assert not any("safe choice" in r for r in queue.reasons)
    assert any(r.startswith("no blocking or CPU work found") for r in queue.reasons)


UNKNOWN = """
import requests

@app.task
def fetch(url):
    requests.get(url)

@app.task
def handle(event, handlers):
    handlers[event["kind"]](event)

@app.task
def other(payload, sink):
    sink.write(payload)
"""


def test_a_queue_of_mostly_unresolved_tasks_gets_no_confident_pool(tmp_path: Path) -> None:
    root = task_module(tmp_path, UNKNOWN)
    advice = advise(root)
    (queue,) = advice.queues
    assert queue.confidence is Confidence.LOW
    first = queue.reasons[0]
    assert first.startswith("2 of 3 tasks (handle, other) show no effect")
    # The call on a value passed in is named with its place, for a reviewer to look at.
    line = (root / "proj/tasks.py").read_text().splitlines().index("    sink.write(payload)") + 1
    assert f"could not follow proj/tasks.py:{line} (sink.write)" in first
    assert "poolkit profile collect" in first
    assert "advise --profile" in first


def test_library_evidence_of_one_kind_is_high_and_a_heuristic_is_not(tmp_path: Path) -> None:
    io = advise(
        task_module(tmp_path / "a", "import requests\n@app.task\ndef f():\n    requests.get('u')\n")
    )
    assert io.queues[0].confidence is Confidence.HIGH
    loop = (
        "@app.task\ndef crunch(n):\n    total = 0\n"
        "    for i in range(n):\n        total += i * i\n    return total\n"
    )
    cpu = advise(task_module(tmp_path / "b", loop))
    assert cpu.queues[0].confidence is Confidence.MEDIUM


HASH_KEY = """
import hashlib
import requests

@app.task
def cached_fetch(url):
    key = hashlib.md5(url.encode()).hexdigest()
    return key, requests.get(url)
"""


def test_hashing_a_small_key_is_not_cpu_work(tmp_path: Path) -> None:
    advice = advise(task_module(tmp_path, HASH_KEY))
    (task,) = advice.tasks
    assert task.kind == "io"
    assert advice.queues[0].pool is Pool.GEVENT


def test_hashing_a_file_chunk_by_chunk_is_gil_releasing_cpu_work(tmp_path: Path) -> None:
    body = """
import hashlib

@app.task
def checksum(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(65536):
            h.update(chunk)
    return h.hexdigest()
"""
    (task,) = advise(task_module(tmp_path, body)).tasks
    assert [e.call for e in task.evidence if e.kind == "cpu_releases_gil"] == [
        "hashlib._Hash.update"
    ]


QUADRATIC = """
@app.task
def closest_pair(points):
    best = None
    for a in points:
        for b in points:
            d = (a[0] - b[0]) ** 2 + (a[1] - b[1]) ** 2
            if best is None or d < best:
                best = d
    return best

@app.task
def order_total(orders):
    total = 0
    for order in orders:
        for line in order.lines:
            total += line.amount
    return total
"""


def test_a_quadratic_loop_over_a_list_is_cpu_work_but_rows_and_children_are_not(
    tmp_path: Path,
) -> None:
    advice = advise(task_module(tmp_path, QUADRATIC))
    tasks = {t.name.rpartition(".")[2]: t for t in advice.tasks}
    (ev,) = tasks["closest_pair"].evidence
    assert (ev.kind, ev.call) == ("cpu", "python: nested Python loops over points and points")
    assert tasks["order_total"].kind == "unknown"


def test_a_child_program_no_table_names_makes_no_confident_pool(tmp_path: Path) -> None:
    """``subprocess.run(["make", "html"])`` may be the task's real work (a docs build): the
    IO advice stands, but not at high confidence; a named program keeps the table's say."""
    build = """
import subprocess
import requests

@app.task
def build(path):
    requests.get("http://api/start")
    subprocess.run(["make", "-C", path, "html"], check=True)
"""
    advice = advise(task_module(tmp_path / "a", build))
    assert advice.queues[0].confidence is Confidence.MEDIUM
    advice = advise(task_module(tmp_path / "b", TRANSCODE))
    assert advice.queues[0].confidence is Confidence.HIGH


WRAPPED = """
import shlex
import subprocess
from django.conf import settings

FFMPEG = "/usr/bin/ffmpeg"


def run_command(cmd):
    return subprocess.run(cmd, check=True, capture_output=True)


def run(cmd, shell=False):
    return subprocess.check_output(cmd, shell=shell)


@app.task(queue="media")
def transcode(src, dst):
    cmd = [settings.FFMPEG_COMMAND, "-i", src, dst]
    subprocess.run(cmd)

@app.task(queue="media")
def wrapped(src, dst):
    run_command(["ffmpeg", "-i", src, "-vf", "scale=640:-1", dst])

@app.task(queue="media")
def wrapped_variable(path):
    cmd: list[str] = ["tesseract", path, "out"] + ["-l", "eng"]
    run(cmd)

@app.task(queue="media")
def shell_string(path):
    subprocess.run(shlex.split("gs -sDEVICE=png16m -o out.png " + path))

@app.task(queue="media")
def constant(src, dst):
    subprocess.run([FFMPEG, "-i", src, dst])

@app.task(queue="media")
def joined(path):
    run(" ".join(["pdftoppm", "-png", path, "out"]), shell=True)


def whisper_command(path):
    cmd = ["whisper", path, "--model", "base"]
    return cmd


def ocr_command(path):
    return ["tesseract", path, "out", "-l", "eng"]


@app.task(queue="media")
def returned(path):
    subprocess.run(whisper_command(path))


@app.task(queue="media")
def returned_to_a_wrapper(path):
    run_command(ocr_command(path))
"""


def test_a_program_built_in_a_variable_or_passed_to_a_wrapper_is_a_cpu_child(
    tmp_path: Path,
) -> None:
    advice = advise(task_module(tmp_path, WRAPPED))
    programs = {
        t.name.rpartition(".")[2]: sorted({e.call for e in t.evidence if e.kind == "cpu_child"})
        for t in advice.tasks
    }
    assert programs == {
        "transcode": ["subprocess.ffmpeg"],
        "wrapped": ["subprocess.ffmpeg"],
        "wrapped_variable": ["subprocess.tesseract"],
        "shell_string": ["subprocess.gs"],
        "joined": ["subprocess.pdftoppm"],
        "constant": ["subprocess.ffmpeg"],
        "returned": ["subprocess.whisper"],
        "returned_to_a_wrapper": ["subprocess.tesseract"],
    }
    (queue,) = advice.queues
    assert queue.concurrency == 2


NOT_A_COMMAND = """
import subprocess


def which_missing(names):
    return [n for n in names if not shutil.which(n)]


def run_command(cmd):
    return subprocess.run(cmd, check=True)


TOOL = "/usr/bin/ffmpeg"


@app.task
def hidden(TOOL):
    subprocess.run([TOOL, "--version"])

def required_tools():
    return ["ffmpeg", "ffprobe"]


@app.task
def check_tools():
    which_missing(["ffmpeg", "ffprobe"])
    which_missing(required_tools())
    log("ffmpeg", "-i")

@app.task
def push(branch):
    run_command(["git", "push", "origin", branch])
    cmd = ["ffmpeg", "-i", "x"]
    cmd = ["git", "pull"]
    run_command(cmd)
"""


def test_program_names_that_are_not_a_command_run_nothing(tmp_path: Path) -> None:
    advice = advise(task_module(tmp_path, NOT_A_COMMAND))
    assert all(Effect.CPU_CHILD not in t.effects for t in advice.tasks)
    (queue,) = advice.queues
    assert queue.concurrency == 50
