"""Every rule ID appears in the code, docs/rules.rst, a test, and the changelog."""

from __future__ import annotations

import re
from pathlib import Path

from celery_poolkit.advisor.rules import RULES

REPO = Path(__file__).resolve().parents[2]


def test_every_rule_is_documented_tested_and_in_the_changelog() -> None:
    docs = (REPO / "docs" / "rules.rst").read_text()
    tests = "".join(p.read_text() for p in (REPO / "tests" / "advisor").rglob("*.py"))
    changelog = (REPO / "CHANGELOG.md").read_text()
    code = "".join(p.read_text() for p in (REPO / "advisor").rglob("*.py") if p.name != "rules.py")
    for rule in RULES:
        assert re.search(rf"^{rule}\b", docs, re.MULTILINE), f"{rule} has no docs entry"
        assert rule in tests, f"{rule} has no test"
        assert rule in code, f"{rule} is never reported by the code"
        assert rule in changelog, f"{rule} is not in the changelog"


def test_docs_name_no_unknown_rule() -> None:
    from celery_poolkit.rules import all_rules  # the advisor's and the runtime's PK8xx

    docs = (REPO / "docs" / "rules.rst").read_text()
    assert set(re.findall(r"^(PK\d{3})\b", docs, re.MULTILINE)) == set(all_rules())


def test_findings_are_made_from_each_rules_template() -> None:
    import pytest

    from celery_poolkit.advisor.rules import TEMPLATES, finding
    from celery_poolkit.model import Severity

    assert set(TEMPLATES) <= set(RULES)
    made = finding("PK602", None, queue="mail", count=3)
    assert made.message == "queue 'mail' has 3 task(s) but no deployment command consumes it"
    assert (made.severity, made.queue) == (Severity.WARNING, "mail")
    # One message shape per rule: a templated rule does not take a message made elsewhere.
    with pytest.raises(TypeError, match="PK602 has a template"):
        finding("PK602", None, queue="mail", message="free text")
