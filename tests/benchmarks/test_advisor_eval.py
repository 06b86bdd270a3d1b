"""The advisor evaluation's scoring (benchmarks/advisor_eval/score.py): mapping and arithmetic.

Synthetic reports in the JSON schema of docs/advise.rst; one end-to-end run of the real
``poolkit advise`` on a tiny project written here. No network.
"""

from __future__ import annotations

import importlib.util
import json
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

SCORE_PY = Path(__file__).resolve().parents[2] / "benchmarks" / "advisor_eval" / "score.py"


def _load() -> Any:
    spec = importlib.util.spec_from_file_location("advisor_eval_score", SCORE_PY)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


score = _load()


def label(task: str, labels: str, line: int = 10, file: str = "app/tasks.py") -> Any:
    return score.Label(
        set="holdout",
        project="demo",
        repo="acme/demo",
        commit="0" * 40,
        file=file,
        line=line,
        task=task,
        labels=score.parse_labels(labels),
    )


def task(
    name: str, effects: list[str], line: int = 10, file: str = "app/tasks.py"
) -> dict[str, Any]:
    return {
        "name": f"app.tasks.{name}",
        "qualname": f"app.tasks.{name}",
        "queue": "celery",
        "location": {"path": file, "line": line, "col": 0},
        "effects": effects,
    }


def queue(name: str, pool: str, confidence: str, tasks: list[str]) -> dict[str, Any]:
    return {
        "name": name,
        "pool": pool,
        "confidence": confidence,
        "tasks": [f"app.tasks.{t}" for t in tasks],
    }


def test_effects_map_to_the_three_classes():
    assert score.map_effects(["net_io", "db_io"]) == {"net", "db"}
    assert score.map_effects(["cpu_releases_gil"]) == {"cpu"}
    assert score.map_effects(["gpu", "cpu"]) == {"cpu"}
    assert score.map_effects(["cpu_child"]) == {"cpu"}
    # Waiting on a child says nothing of what it does (ffprobe, git, nmap): not labelled.
    assert score.map_effects(["subprocess"]) == frozenset()
    # Not labelled work, and names a newer advisor may add, are ignored.
    assert score.map_effects(["file_io", "sleep", "broker_io", "teleport"]) == frozenset()


def test_jaccard():
    assert score.jaccard(frozenset(), frozenset()) == 1.0
    assert score.jaccard(frozenset({"db"}), frozenset()) == 0.0
    assert score.jaccard(frozenset({"db", "net"}), frozenset({"db"})) == 0.5
    assert score.jaccard(frozenset({"db", "net"}), frozenset({"db", "cpu"})) == pytest.approx(1 / 3)


def test_labels_parse_and_reject_unknown_classes():
    assert score.parse_labels("db;cpu") == {"db", "cpu"}
    assert score.parse_labels(" ") == frozenset()
    assert score.parse_labels("unknown") is None
    with pytest.raises(ValueError, match="file"):
        score.parse_labels("db;file")


def test_pool_rule():
    assert score.acceptable_pools([frozenset({"net"}), frozenset({"cpu", "db"})]) == {
        "prefork",
        "solo",
    }
    assert score.acceptable_pools([frozenset({"net"}), frozenset({"db"})]) == {
        "gevent",
        "eventlet",
        "threads",
    }
    assert score.acceptable_pools([frozenset()]) == score.ANY_POOL


def test_a_missed_task_scores_zero_and_is_counted():
    labels = [label("fetch", "net;db"), label("gone", "db", line=40), label("noop", "", line=60)]
    report = {
        "tasks": [task("fetch", ["net_io", "broker_io"]), task("noop", ["file_io"], line=60)],
        "queues": [],
    }
    project = score.score_project(labels, report)
    by_name = {t.task: t for t in project.tasks}
    assert by_name["fetch"].jaccard == 0.5
    assert by_name["fetch"].found == ("net",)
    assert by_name["gone"].found is None
    assert by_name["gone"].jaccard == 0.0
    assert by_name["noop"].jaccard == 1.0  # empty and empty agree
    summary = score.summarize([project])
    assert (summary.tasks, summary.missed) == (3, 1)
    assert summary.mean_jaccard == pytest.approx(0.5)
    assert summary.classes["db"] == score.ClassScore(tp=0, fp=0, fn=2)
    assert summary.classes["net"].recall == 1.0
    assert summary.classes["net"].precision == 1.0


def test_matching_falls_back_to_a_nearby_line_in_the_same_file():
    labels = [label("encode", "cpu", line=20)]
    report = {
        "tasks": [
            task("run", ["subprocess", "cpu_child"], line=19),
            task("encode", ["net_io"], file="other.py"),
        ]
    }
    (scored,) = score.score_project(labels, report).tasks
    assert scored.found == ("cpu",)


def test_unknown_labels_are_not_scored_and_leave_their_queue_unjudged():
    labels = [label("a", "net"), label("b", "unknown", line=30), label("c", "db", line=50)]
    report = {
        "tasks": [task("a", ["net_io"]), task("b", [], line=30), task("c", ["db_io"], line=50)],
        "queues": [
            queue("mixed", "gevent", "high", ["a", "b"]),
            queue("io", "gevent", "high", ["c"]),
        ],
    }
    project = score.score_project(labels, report)
    assert [t.task for t in project.tasks] == ["a", "c"]
    assert [q.queue for q in project.queues] == ["io"]


def test_calibration_counts_high_queues_with_an_acceptable_pool():
    labels = [
        label("fetch", "net"),
        label("encode", "db;cpu", line=30),
        label("mail", "net", line=50),
    ]
    report = {
        "tasks": [
            task("fetch", ["net_io"]),
            task("encode", ["db_io"], line=30),
            task("mail", [], line=50),
        ],
        "queues": [
            queue("io", "gevent", "high", ["fetch"]),
            queue("media", "gevent", "high", ["encode"]),  # CPU on a green pool: wrong
            queue("mail", "prefork", "low", ["mail"]),
            queue("unlabelled", "prefork", "high", ["other"]),  # not judged
        ],
    }
    summary = score.summarize([score.score_project(labels, report)])
    assert summary.calibration == {"high": (1, 2), "medium": (0, 0), "low": (0, 1)}
    assert summary.cpu_recall == 0.0


def test_a_failed_advisor_run_counts_every_task_as_missed():
    project = score.score_project(
        [label("a", "net"), label("b", "", line=30)], None, "exit 2: boom"
    )
    summary = score.summarize([project])
    assert (summary.missed, summary.mean_jaccard) == (2, 0.0)
    assert "ERROR: exit 2: boom" in score.render([project])


def test_the_committed_labels_meet_the_issue_minimums():
    labels = score.load_labels(score.HERE / "labels.csv")
    holdout = [lb for lb in labels if lb.set == "holdout"]
    assert len({lb.project for lb in holdout}) >= 10
    for name in score.CLASSES:
        assert sum(1 for lb in holdout if lb.labels and name in lb.labels) >= 20, name
    assert all(len(lb.commit) == 40 for lb in labels)
    listing = score.fetch_list(labels)
    assert "pypi/warehouse@" in listing
    assert "git -C pypi+warehouse checkout" in listing


def test_the_dev_set_is_separate_from_the_other_two(capsys):
    labels = score.load_labels(score.HERE / "labels.csv")
    dev = [lb for lb in labels if lb.set == "dev"]
    others = {lb.repo for lb in labels if lb.set != "dev"}
    assert len({lb.project for lb in dev}) >= 8
    assert not {lb.repo for lb in dev} & others  # a project belongs to one set only
    for project, rows in score.by_project(dev).items():
        assert len({lb.commit for lb in rows}) == 1, project  # one labelled commit each
    for name in score.CLASSES:
        assert sum(1 for lb in dev if lb.labels and name in lb.labels) >= 10, name
    assert score.main(["--fetch-list", "--set", "dev"]) == 0
    listing = capsys.readouterr().out
    assert "# dev h hypothesis/h@" in listing
    assert "# holdout" not in listing
    assert "# corpus" not in listing


def test_the_dev2_set_is_separate_and_listed_on_its_own(capsys):
    labels = score.load_labels(score.HERE / "labels.csv")
    dev2 = [lb for lb in labels if lb.set == "dev2"]
    others = {lb.repo for lb in labels if lb.set != "dev2"}
    assert len({lb.project for lb in dev2}) >= 6
    assert len(dev2) >= 50
    assert not {lb.repo for lb in dev2} & others  # a project belongs to one set only
    for project, rows in score.by_project(dev2).items():
        assert len({lb.commit for lb in rows}) == 1, project  # one labelled commit each
    for name in score.CLASSES:
        assert sum(1 for lb in dev2 if lb.labels and name in lb.labels) >= 10, name
    assert score.main(["--fetch-list", "--set", "dev2"]) == 0
    listing = capsys.readouterr().out
    assert "# dev2 onadata onaio/onadata@" in listing
    assert "# dev " not in listing
    assert "# holdout" not in listing
    assert "# corpus" not in listing


def test_a_row_of_an_unknown_set_is_an_error(tmp_path):
    labels_csv = tmp_path / "labels.csv"
    labels_csv.write_text(
        "set,project,repo,commit,file,line,task,labels,notes\n"
        f"develop,demo,acme/demo,{'0' * 40},app/tasks.py,8,fetch,net,\n"
    )
    with pytest.raises(SystemExit, match=r"labels\.csv:2: unknown set 'develop'"):
        score.load_labels(labels_csv)


def test_end_to_end_on_a_tiny_project(tmp_path, capsys):
    project = tmp_path / "checkouts" / "acme+demo"
    (project / "app").mkdir(parents=True)
    (project / "app" / "__init__.py").write_text("")
    (project / "app" / "tasks.py").write_text(
        textwrap.dedent("""\
        import requests
        from celery import Celery

        app = Celery("app")


        @app.task
        def fetch(url):
            return requests.get(url, timeout=5).text
    """)
    )
    labels_csv = tmp_path / "labels.csv"
    labels_csv.write_text(
        "set,project,repo,commit,file,line,task,labels,notes\n"
        f"holdout,demo,acme/demo,{'0' * 40},app/tasks.py,8,fetch,net,requests.get\n"
        f"holdout,demo,acme/demo,{'0' * 40},app/tasks.py,99,vanished,db,\n"
    )
    out = tmp_path / "scores.json"
    code = score.main(
        [str(tmp_path / "checkouts"), "--labels", str(labels_csv), "--json-out", str(out)]
    )
    assert code == 0
    assert "holdout: 2 tasks, 1 missed, mean Jaccard 0.50" in capsys.readouterr().out
    data = json.loads(out.read_text())
    assert data["sets"]["holdout"]["classes"]["net"]["tp"] == 1
    (demo,) = data["projects"]
    assert demo["error"] is None
