"""A module's source with its function bodies blanked out, for outline parses.

An outline (see :func:`.visitor.module_facts`) reads everything at module and class
level but no function body, and on a large project most of the text is function bodies:
on saleor, ``ast.parse`` of the blanked sources costs 0.4x of parsing them whole. A cold
run parses every file as an outline first, so this is most of what it saves.

The blanking works on lines, without tokenizing: a ``def`` line (not inside a string)
starts a function; its header ends at the first ``:`` outside brackets and strings; the
body is every following line that is blank, a comment, indented deeper than the ``def``,
inside a string, or after a ``\\`` continuation. The body becomes one ``...`` line and
blank lines, so every line number and every column outside bodies stays. When the
guess is wrong the blanked text does not parse (a bracket closed on a line the guess put
outside the body), and the caller parses the original instead: the result is then
the same outline at the full price, never a different one (checked against the whole
parse on every file of the evaluation corpus, tests/advisor/test_outline.py).
"""

from __future__ import annotations

import functools
import re
from bisect import bisect_right
from itertools import accumulate

#: String literals and comments, found the way the tokenizer scans: left to right, so a
#: quote inside a comment and a ``#`` inside a string are not mistaken for the other.
#: A prefix (``r``, ``f``, ``b`` …) does not move where a string ends, so it is not
#: matched; the loops are unrolled (``[^"\\]*`` runs) for the regex engine's sake.
_LITERALS = re.compile(
    r"#[^\n]*"
    r'|"""[^"\\]*(?:(?:\\.|"(?!""))[^"\\]*)*"""'
    r"|'''[^'\\]*(?:(?:\\.|'(?!''))[^'\\]*)*'''"
    r'|"[^"\\\n]*(?:\\.[^"\\\n]*)*"'
    r"|'[^'\\\n]*(?:\\.[^'\\\n]*)*'",
    re.DOTALL,  # a backslash before a newline escapes it too
)
_DEF = re.compile(r"^( *)(?:async[ \t]+)?def[ \t]", re.MULTILINE)
_HEADER_TOKENS = re.compile(
    r"""[()\[\]{}:#]|[rRbBuUfFtT]{0,2}(?:"(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*')"""
)

#: Headers longer than this (in lines) are left alone: generated code, not worth it.
_MAX_HEADER_LINES = 200


def without_bodies(source: str) -> str | None:
    """``source`` with every function body replaced by ``...`` and blank lines, or None
    when there is nothing to blank (no ``def``, only one-line functions, or tabs, which
    this leaves to the parser)."""
    if "def" not in source or not _plain(source):
        return None
    # Where each line starts (C loops only: this runs on every line of the project).
    starts = [0, *accumulate(map((1).__add__, map(len, source.split("\n"))))][:-1]
    inside = string_lines(source, starts)
    pieces: list[str] = []
    done = 0  # source[:done] is in pieces
    position = 0  # where to look for the next ``def``: never inside a blanked body
    while (match := _DEF.search(source, position)) is not None:
        position = match.end()
        row = bisect_right(starts, match.start()) - 1
        if row in inside:
            continue
        header = _header_end(source, starts, row)
        if header is None:  # a one-line function, or a header this cannot read
            continue
        indent = len(match.group(1))
        end = _body_end(source, starts, inside, header + 1, indent)
        if end <= header + 1:
            continue
        body_start = starts[header + 1]
        body_stop = starts[end] if end < len(starts) else len(source)
        pieces.append(source[done:body_start])
        # As many line ends as the body had (the last line may have none).
        pieces.append(" " * indent + " ..." + "\n" * source.count("\n", body_start, body_stop))
        done = position = body_stop
    if not pieces:
        return None
    pieces.append(source[done:])
    return "".join(pieces)


def _plain(source: str) -> bool:
    """Whether lines are what this module assumes: indented with spaces only (a tab, a
    form feed or a vertical tab changes how Python counts indentation) and ended by
    ``\\n`` or ``\\r\\n`` (a lone ``\\r`` ends a line for Python, not here)."""
    if "\t" in source or "\f" in source or "\v" in source:
        return False
    return "\r" not in source or source.count("\r") == source.count("\r\n")


def string_lines(source: str, starts: list[int]) -> set[int]:
    """The lines that start inside a string literal (a triple-quoted string, or one
    continued with a backslash, that began on an earlier line)."""
    inside: set[int] = set()
    for match in _LITERALS.finditer(source):
        start, end = match.span()
        if source[start] == "#" or source.find("\n", start, end) < 0:
            continue
        inside.update(range(bisect_right(starts, start), bisect_right(starts, end - 1)))
    return inside


def _line(source: str, starts: list[int], row: int) -> str:
    return source[starts[row] : starts[row + 1] if row + 1 < len(starts) else len(source)]


def _header_end(source: str, starts: list[int], start: int) -> int | None:
    """The line holding the ``:`` that ends the ``def`` header starting at ``start``."""
    depth = 0
    for row in range(start, min(start + _MAX_HEADER_LINES, len(starts))):
        line = _line(source, starts, row)
        for match in _HEADER_TOKENS.finditer(line):
            token = match.group()
            if token == "#":
                break
            if token in "([{":
                depth += 1
            elif token in ")]}":
                depth -= 1
            elif token == ":" and depth == 0:
                rest = line[match.end() :].strip()
                # ``def f(): return 1``: a one-line body, kept as it is.
                return row if not rest or rest.startswith("#") else None
    return None


@functools.cache
def _dedent(indent: int) -> re.Pattern[str]:
    """A line of code (not blank, not a comment) indented ``indent`` columns or less."""
    return re.compile(rf"^ {{0,{indent}}}[^ \t\r\n\f#]", re.MULTILINE)


def _body_end(source: str, starts: list[int], inside: set[int], first: int, indent: int) -> int:
    """The first line after the body that starts at line ``first`` (of a ``def``
    indented ``indent`` columns): the next line of code indented no deeper than the
    ``def`` that neither continues a string nor follows a ``\\`` continuation."""
    position = starts[first] if first < len(starts) else len(source)
    row = len(starts)
    while position < len(source):
        found = _dedent(indent).search(source, position)
        if found is None:
            break
        row = bisect_right(starts, found.start()) - 1
        # A comment ending in ``\`` continues nothing: with a ``#`` on the line the body
        # ends early, which at worst does not parse.
        previous = _line(source, starts, row - 1).rstrip("\r\n")
        if row not in inside and not (previous.endswith("\\") and "#" not in previous):
            break
        position = starts[row + 1] if row + 1 < len(starts) else len(source)
        row = len(starts)
    # Blank lines before what follows stay: nothing changes where nothing is blanked.
    while row > first and not _line(source, starts, row - 1).strip():
        row -= 1
    return row
