"""One rule-ID space: the advisor's rules and the runtime's (doctor, the guard) agree."""

from __future__ import annotations

import re
from pathlib import Path

from celery_poolkit.advisor.rules import RULES
from celery_poolkit.rules import RUNTIME_RULES, all_rules

REPO = Path(__file__).resolve().parents[1]
_ID = re.compile(r"\bPK\d{3}\b")


def _text(*folders: str, skip: str = "") -> str:
    return "".join(
        p.read_text() for f in folders for p in (REPO / f).rglob("*.py") if p.name != skip
    )


def test_the_runtime_ids_do_not_reuse_the_advisors() -> None:
    assert not set(RULES) & set(RUNTIME_RULES)
    assert all(rule.startswith("PK8") for rule in RUNTIME_RULES)


def test_every_runtime_rule_is_documented_reported_tested_and_in_the_changelog() -> None:
    places = {
        "a docs entry": re.findall(r"^(PK8\d\d) ", (REPO / "docs/rules.rst").read_text(), re.M),
        "code that reports it": _ID.findall(_text("celery_poolkit", "plugins", skip="rules.py")),
        "a test": _ID.findall(_text("tests", skip="test_rules.py")),
        "a changelog line": _ID.findall((REPO / "CHANGELOG.md").read_text()),
    }
    missing = {where: sorted(set(RUNTIME_RULES) - set(ids)) for where, ids in places.items()}
    assert missing == {where: [] for where in places}, missing


def test_every_id_the_runtime_code_reports_is_a_known_rule() -> None:
    """The guard, doctor and the plugins only report documented IDs."""
    used = set(_ID.findall(_text("celery_poolkit", "plugins")))
    assert used <= set(all_rules()), sorted(used - set(all_rules()))
