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


def test_every_rule_has_one_template_and_one_constructor() -> None:
    """Rules are data made in one place: a template per ID in rules.py, and every
    finding the advisor reports made by ``finding()`` from it."""
    import pytest

    from celery_poolkit.advisor.rules import TEMPLATES, finding
    from celery_poolkit.model import Severity

    assert set(TEMPLATES) == set(RULES)
    made = finding("PK602", None, queue="mail", count=3)
    assert made.message == "queue 'mail' has 3 task(s) but no deployment command consumes it"
    assert (made.severity, made.queue) == (Severity.WARNING, "mail")
    # A field the template needs and the caller forgot fails where the finding is made.
    with pytest.raises(KeyError, match="count"):
        finding("PK602", None, queue="mail", message="free text")
    # No module builds a Finding, or a message for one, by itself.
    for path in (REPO / "advisor").rglob("*.py"):
        text = path.read_text()
        if path.name != "rules.py":
            assert "Finding(" not in text, f"{path.name} builds a Finding without finding()"
            assert not re.search(r"finding\([^)]*message=", text), path.name


def test_docs_headings_match_the_rules_table() -> None:
    """Each docs/rules.rst heading is ``ID name (severity)`` and its first paragraph opens
    with the table's summary: the docs and the table cannot drift apart."""
    docs = (REPO / "docs" / "rules.rst").read_text()
    for rule in RULES.values():
        heading = f"{rule.id} {rule.name} ({rule.severity.value})"
        match = re.search(rf"^{re.escape(heading)}\n-+\n\n(.+?)\n\n", docs, re.MULTILINE | re.S)
        assert match, f"docs/rules.rst has no heading {heading!r}"
        first = " ".join(match.group(1).split()).replace("``", "")
        opens = first.lower()[: len(rule.summary) + 1]
        assert opens in (f"{rule.summary.lower()}.", f"{rule.summary.lower()}:"), rule.id
