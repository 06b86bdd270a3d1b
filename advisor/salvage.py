"""Read what Python 3 can of a file it refuses, rather than lose every task in it.

Projects still ship modules with Python 2 statements in a few function bodies (``print
"x"``, ``exec code``, backticks, ``0777``), and one of them makes ``ast.parse`` refuse
the whole file: every task and helper defined there would be lost. Here each statement
the parser refuses is replaced, one at a time, by ``pass`` at its own indentation (a
refused line that continues a statement is blanked, a refused block header becomes ``if
True:`` so its block stays), and the file is parsed again. Lines keep their numbers. A
refused ``def``, ``class`` or decorator line is never left out: the file is broken, not
written for another Python, and is skipped with the parser's reason.

Bounded: at most :data:`MAX_DROPS` lines and :data:`MAX_PARSED` bytes parsed per file
(each try is a parse of the whole file), and only for files the parser and the
newer-syntax rewrites (parse.py) already refused. When the error does not
move forward (an unclosed bracket, mixed tabs), it gives up and the file is skipped as
before. The caller reports which lines were left out.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from dataclasses import dataclass

#: Lines given up per file: a few dozen Python 2 prints in a command-line helper is
#: common; hundreds is a file that is not Python 3 at all, not worth a parse per line.
MAX_DROPS = 100
#: Bytes parsed in all per file (about a second of parsing): a large file gets fewer tries.
MAX_PARSED = 8 * 1024 * 1024


#: Lines that define the module's structure: never left out (the file is reported).
_STRUCTURE = ("def ", "async def ", "class ", "@")


@dataclass(frozen=True, slots=True)
class Salvaged:
    source: str  # the file with the refused lines replaced, line numbers unchanged
    dropped: tuple[int, ...]  # the lines left out
    first: str  # the parser's first message, for the report


def salvage(
    source: str, exc: SyntaxError, rewrite: Callable[[str, SyntaxError], str | None]
) -> Salvaged | None:
    """``source`` with each line the parser refuses replaced, or None when that does not
    make it parse within :data:`MAX_DROPS` lines. ``rewrite(text, error)`` is tried first
    on every new error (a whole-file rewrite that keeps the line, like parenthesizing
    ``except A, B:``); it returns None when it does not apply."""
    lines = source.split("\n")
    dropped: list[int] = []
    first = f"line {exc.lineno}: {exc.msg}"
    error: SyntaxError = exc
    for _ in range(min(MAX_DROPS * 2, MAX_PARSED // max(len(source), 1))):
        text = "\n".join(lines)
        rewritten = rewrite(text, error)
        if rewritten is not None and rewritten != text:
            lines = rewritten.split("\n")
        elif not _drop(lines, error, dropped):
            return None
        try:
            ast.parse("\n".join(lines))
        except SyntaxError as again:
            error = again
            continue
        except (ValueError, RecursionError, MemoryError):
            return None
        return Salvaged("\n".join(lines), tuple(sorted(set(dropped))), first)
    return None


def _drop(lines: list[str], error: SyntaxError, dropped: list[int]) -> bool:
    """Replace the refused line in place; False when there is nothing left to try (no
    line, the bound reached, or the line already blanked and still refused)."""
    row = (error.lineno or 0) - 1
    if not 0 <= row < len(lines) or len(set(dropped)) >= MAX_DROPS:
        return False
    text = lines[row]
    code = text.strip()
    if not code or code.startswith(_STRUCTURE):
        # Blanked already and still refused (the cause is elsewhere), or a definition's
        # own header is broken: that is a broken file, not a statement to leave out.
        return False
    indent = text[: len(text) - len(text.lstrip())]
    if row + 1 in dropped or code == "pass":
        lines[row] = ""  # pass was refused here too: a continuation line
    elif code.endswith(":") and not code.startswith("#"):
        lines[row] = f"{indent}if True:"  # a block header: keep the block under it
    else:
        lines[row] = f"{indent}pass"
    dropped.append(row + 1)
    return True
