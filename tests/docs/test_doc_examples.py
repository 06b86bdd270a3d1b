"""Every code example in docs/ and README.md runs, in page order (see pages.py for how).

Run them with ``scripts/test -e examples`` (tox's ``examples`` environment); a page's
examples share its state, so run a whole page, not one example, when you change it.
"""

from __future__ import annotations

import json
import re
import sys
import textwrap
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from sybil import Document, Example, Region
from sybil.parsers.markdown.lexers import DirectiveInHTMLCommentLexer, FencedCodeBlockLexer
from sybil.parsers.rest.lexers import DirectiveInCommentLexer, DirectiveLexer

from harness.doc_pages import (
    REPO,
    Page,
    assert_matches,
    check_pip_install,
    matches,
    run_console,
    run_python,
    write_file,
)

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - the examples env runs on 3.11
    tomllib = None

pytestmark = pytest.mark.examples

PAGES = [*sorted((REPO / "docs").glob("*.rst")), REPO / "README.md"]
LANGUAGES = ("python", "console", "toml", "yaml", "json", "text")


@dataclass(frozen=True)
class Snippet:
    language: str
    source: str
    hidden: bool  # an invisible-code-block: test code, not shown to readers


class SnippetParser:
    """Sybil lexers for reST (and Markdown) code blocks, visible and invisible."""

    def __call__(self, document: Document) -> Iterable[Region]:
        if document.path.endswith(".md"):
            lexers = [
                (FencedCodeBlockLexer(language=r"[\w-]+"), "language", False),
                (DirectiveInHTMLCommentLexer(directive="invisible-code-block"), "arguments", True),
            ]
        else:
            lexers = [
                (DirectiveLexer(directive=r"(sourcecode|code-block|code)"), "arguments", False),
                (DirectiveInCommentLexer(directive="invisible-code-block"), "arguments", True),
            ]
        for lexer, language_key, hidden in lexers:
            for region in lexer(document):
                language = (region.lexemes.get(language_key) or "").strip()
                region.parsed = Snippet(language, str(region.lexemes["source"]), hidden)
                region.evaluator = evaluate
                yield region


def evaluate(example: Example) -> None:
    snippet: Snippet = example.parsed
    page: Page = example.namespace["page"]
    if snippet.hidden:
        assert snippet.language == "python", f"hidden blocks are python, not {snippet.language}"
        # Line numbers in tracebacks point into the page.
        padding = "\n" * (example.line + 1)
        code = compile(padding + textwrap.dedent(snippet.source), example.path, "exec")
        exec(code, example.namespace)
    elif page.files_dir is not None and snippet.language in (
        "python",
        "text",
        "toml",
        "yaml",
        "json",
    ):
        write_file(page, snippet.source)
    elif snippet.language == "python":
        run_python(page, snippet.source, example.line)
    elif snippet.language == "console":
        run_console(page, snippet.source)
    elif snippet.language in LANGUAGES:
        page.block = textwrap.dedent(snippet.source)
    else:
        raise AssertionError(f"no way to run a {snippet.language!r} block")


def documents() -> Iterator[Document]:
    for path in PAGES:
        yield Document.parse(str(path), SnippetParser())


def all_examples() -> Iterator[Any]:
    for document in documents():
        name = Path(document.path).name
        for example in document.examples():
            yield pytest.param(example, id=f"{name}:{example.line}")


_pages: list[Page] = []


@pytest.fixture(scope="module", autouse=True)
def _stop_background_workers() -> Iterator[None]:
    yield
    for page in _pages:
        page.stop_all()


@pytest.fixture(autouse=True)
def _page(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> None:
    example = (
        request.node.callspec.params.get("example") if hasattr(request.node, "callspec") else None
    )
    if example is None:
        return
    ns = example.namespace
    if "page" not in ns:
        name = Path(example.path).stem
        _pages.append(Page(name=name, scratch=tmp_path_factory.mktemp(f"docs-{name}")))
        ns.update(
            page=_pages[-1],
            json=json, re=re, yaml=yaml, tomllib=tomllib, Path=Path, REPO=REPO,
            matches=matches, assert_matches=assert_matches, check_pip_install=check_pip_install,
        )  # fmt: skip
    ns["page"].request = request


@pytest.mark.parametrize("example", list(all_examples()))
def test_example(example: Example) -> None:
    example.evaluate()


def test_every_block_is_run() -> None:
    """No example escapes: every block has a known language, and every block that is not
    a program (toml, yaml, text; or project files) is followed by a hidden check."""
    for document in documents():
        regions = [r for _, r in document.regions]
        for i, region in enumerate(regions):
            snippet: Snippet = region.parsed
            where = f"{document.path}, {document.line_column(region.start)}"
            assert snippet.language in LANGUAGES, f"{where}: unknown language {snippet.language!r}"
            if snippet.hidden or snippet.language in ("python", "console"):
                continue
            following = [r.parsed for r in regions[i + 1 :]]
            checked = next(
                (s for s in following if s.hidden or s.language in ("python", "console")), None
            )
            unchecked = f"{where}: this {snippet.language} block has no hidden check after it"
            assert checked is not None, unchecked
            assert checked.hidden, unchecked


def test_no_untested_literal_blocks() -> None:
    """``::`` literal blocks would escape the examples test: pages use code-block."""
    for path in sorted((REPO / "docs").glob("*.rst")):
        lines = path.read_text().splitlines()
        for n, line in enumerate(lines, 1):
            stripped = line.strip()
            if stripped.endswith("::") and not stripped.startswith(".."):
                raise AssertionError(f"{path.name}:{n}: a '::' literal block; use .. code-block::")
