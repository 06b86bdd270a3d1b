"""Read newer Python than the running one: rewrite a file into syntax ``ast`` accepts.

``ast`` parses only the grammar of the Python that runs poolkit, so a 3.11 run would
skip a file that uses 3.12's generics or f-strings, and every helper in it with it.
When (and only when) ``ast.parse`` fails, the file is read with libcst, whose parser
knows the grammar of every Python from 3.0 to 3.15, and the constructs older parsers
refuse are rewritten into ones they accept, with what the advisor needs kept:

* ``type X[T] = v`` (PEP 695) becomes ``X = v``; ``def f[T]`` / ``class C[T]`` lose
  their type parameters (names only the type checker reads);
* an f-string or t-string older parsers refuse (PEP 701 quotes, PEP 750) becomes the
  tuple of its expressions, so the calls inside them are still seen;
* ``*Ts`` in an annotation or subscript (PEP 646) loses its star;
* ``except* E`` (PEP 654) becomes ``except E``, ``except A, B:`` (PEP 758) ``except (A, B):``.

Every other line is kept byte for byte and a rewrite keeps the line count, so line
numbers in evidence stay right (columns on rewritten lines may move). libcst is
imported here only, and only on that path: a tree of the usual files never loads it.
Only the top-level statements ``ast`` refuses go through libcst (10-15x slower per line),
and the commonest newer syntax, PEP 695 type parameters and aliases on one line, not even
those: it is rewritten line by line first, into the text libcst would write.
"""

from __future__ import annotations

import ast
import functools
import re
from itertools import accumulate
from typing import Any

from celery_poolkit.advisor import outline

#: Parser messages that no newer grammar accepts either: the fallback would only cost time
#: (and deep nesting is what a native parser may not survive).
_NOT_A_VERSION_ISSUE = ("too many nested parentheses", "too many statically nested blocks")


def worth_rewriting(exc: SyntaxError) -> bool:
    """Whether a newer grammar might accept what ``ast`` refused."""
    return not any(text in (exc.msg or "") for text in _NOT_A_VERSION_ISSUE)


#: Failing top-level statements rewritten one by one before the whole file is.
MAX_STATEMENTS = 64


def downgrade(source: str) -> str | None:
    """``source`` in syntax the running ``ast`` reads, or None when nothing can read it
    (libcst not installed, or the file is not valid Python of any version).

    libcst costs 10-15x ``ast`` per line, so the statements ``ast`` refuses are rewritten
    one at a time (a failing line's top-level statement, found by indentation, then the
    parse is retried); only when that does not work is the whole file rewritten.
    """
    lines = _without_type_parameters(source).splitlines(keepends=True)
    for _ in range(MAX_STATEMENTS):
        try:
            ast.parse("".join(lines))
        except SyntaxError as exc:
            span = _statement(lines, (exc.lineno or 1) - 1)
            chunk = "".join(lines[span[0] : span[1]])
            rewritten = _downgrade_all(chunk) if span[1] > span[0] else None
            if rewritten is None or rewritten == chunk:
                break
            lines[span[0] : span[1]] = rewritten.splitlines(keepends=True)
        except (ValueError, RecursionError, MemoryError):
            break
        else:
            return "".join(lines)
    return _downgrade_all(source)


#: A line that opens a PEP 695 construct: ``def f[``, ``class C[``, ``type X =`` or
#: ``type X[``. Older grammars have no line that starts this way (two names side by side,
#: or a name subscripted in a ``def``'s place), so the match cannot hit valid older code.
_GENERIC = re.compile(
    r"^(?P<indent>[ \t]*)(?:"
    r"(?P<head>(?:async[ \t]+)?def[ \t]+\w+|class[ \t]+\w+)[ \t]*(?=\[)"
    r"|type[ \t]+(?P<alias>\w+)[ \t]*(?=[\[=])"
    r")"
)


def _without_type_parameters(source: str) -> str:
    """``source`` with the commonest newer syntax, PEP 695's, rewritten without libcst
    (its import alone costs more than parsing a hundred files): on each line (not inside
    a string) that opens a generic ``def``/``class`` or a ``type`` alias, the type
    parameters are dropped and ``type X = v`` becomes ``X = v``, as :func:`_downgrade_all`
    would write them. Only parameters that close on their own line are handled, and only
    when they hold no string; anything else is left for libcst."""
    if "[" not in source and "type" not in source:
        return source
    lines = source.split("\n")  # as outline.py counts lines (a lone \r stays inside one)
    starts = [0, *accumulate(len(line) + 1 for line in lines)][:-1]
    inside = outline.string_lines(source, starts)
    for row, line in enumerate(lines):
        found = _GENERIC.match(line)
        if found is None or row in inside:
            continue
        rewritten = _rewrite_generic(line, found)
        if rewritten is not None:
            lines[row] = rewritten
    return "\n".join(lines)


def _rewrite_generic(line: str, found: re.Match[str]) -> str | None:
    rest = line[found.end() :]
    if rest.startswith("["):
        close = _closing_bracket(rest)
        if close is None:
            return None
        rest = rest[close + 1 :]
    if found.group("alias") is None:  # def f[T](...) / class C[T]: keep the rest
        return f"{found.group('indent')}{found.group('head')}{rest}"
    value = rest.lstrip(" \t")
    if not value.startswith("=") or value.startswith("=="):
        return None
    value = value[1:].lstrip(" \t")
    return f"{found.group('indent')}{found.group('alias')} = {value}"


def _closing_bracket(text: str) -> int | None:
    """Where the ``[`` opening ``text`` closes on this line; None when it does not, or
    when a string or comment is in the way (libcst reads those)."""
    depth = 0
    for index, char in enumerate(text):
        if char in "\"'#\n\\":
            return None
        if char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
            if depth == 0:
                return index if char == "]" else None
    return None


def _statement(lines: list[str], index: int) -> tuple[int, int]:
    """The top-level statement around line ``index``: from the last line that starts at
    column 0 (with its decorators) to the next one that is not a continuation (``else``,
    ``except`` …). A guess where a string spans lines: a wrong one only fails to parse."""
    index = min(max(index, 0), len(lines) - 1) if lines else 0
    start = index
    while start > 0 and not _starts_statement(lines[start]):
        start -= 1
    while start > 0 and lines[start - 1].startswith("@"):
        start -= 1
    end = index + 1
    while end < len(lines) and not (
        _starts_statement(lines[end]) and not lines[end].startswith(_CONTINUATIONS)
    ):
        end += 1
    return start, end


_CONTINUATIONS = ("else", "elif", "except", "finally", "case")


def _starts_statement(line: str) -> bool:
    return bool(line) and not line[0].isspace() and line[0] not in "#)]}"


def _downgrade_all(source: str) -> str | None:
    try:
        import libcst as cst
    except ImportError:
        return None
    try:
        module = cst.parse_module(source)
    except (cst.ParserSyntaxError, RecursionError, ValueError):
        return None
    rewritten: str = module.visit(_downgrader(cst, module)).code
    return rewritten if rewritten.count("\n") == source.count("\n") else _pad(rewritten, source)


def _pad(rewritten: str, source: str) -> str:
    # A rewrite that dropped lines (type parameters over several lines, a triple-quoted
    # f-string) shifts the lines below it; appending blank lines keeps the count, and the
    # evidence after the rewritten construct is off by at most its own height.
    missing = source.count("\n") - rewritten.count("\n")
    return rewritten + "\n" * max(0, missing)


def _downgrader(cst: Any, module: Any) -> Any:
    """A libcst transformer with the rewrites above; built here so libcst stays lazy."""
    return _transformer_class(cst)(cst, module)


@functools.cache
def _transformer_class(cst: Any) -> Any:
    """The transformer class, made once per process from the ``_leave_*`` functions below
    (libcst calls ``leave_<Node>`` by name)."""
    methods = {
        "__init__": _init,
        "visit_ConcatenatedString": _visit_concatenated,
        "leave_TypeAlias": _leave_type_alias,
        "leave_FunctionDef": _leave_generic_def,
        "leave_ClassDef": _leave_generic_def,
        "leave_Index": _leave_index,
        "leave_Annotation": _leave_annotation,
        "leave_TryStar": _leave_try_star,
        "leave_ExceptHandler": _leave_except_handler,
        "leave_FormattedString": _leave_string,
        "leave_TemplatedString": _leave_string,
        "leave_ConcatenatedString": _leave_concatenated,
    }
    return type("Downgrade", (cst.CSTTransformer,), methods)


def _init(self: Any, cst: Any, module: Any) -> None:
    cst.CSTTransformer.__init__(self)
    self.cst = cst
    self.module = module
    # Parts of an implicit concatenation are judged with it, not alone: libcst cannot
    # concatenate a tuple, and "a" f"{x}" must turn into one tuple.
    self.parts = set()


def _visit_concatenated(self: Any, node: Any) -> bool:
    self.parts.update((id(node.left), id(node.right)))
    return True


def _leave_type_alias(self: Any, original: Any, updated: Any) -> Any:
    cst = self.cst
    return cst.Assign(targets=[cst.AssignTarget(updated.name)], value=updated.value)


def _leave_generic_def(self: Any, original: Any, updated: Any) -> Any:
    return updated.with_changes(type_parameters=None)


def _leave_index(self: Any, original: Any, updated: Any) -> Any:
    return updated.with_changes(star=None) if updated.star else updated


def _leave_annotation(self: Any, original: Any, updated: Any) -> Any:
    if isinstance(updated.annotation, self.cst.StarredElement):
        return updated.with_changes(annotation=updated.annotation.value)
    return updated


def _leave_try_star(self: Any, original: Any, updated: Any) -> Any:
    cst = self.cst
    handlers = [
        cst.ExceptHandler(
            body=h.body,
            type=h.type,
            name=h.name,
            leading_lines=h.leading_lines,
            whitespace_after_except=cst.SimpleWhitespace(" "),
            whitespace_before_colon=h.whitespace_before_colon,
        )
        for h in updated.handlers
    ]
    return cst.Try(
        body=updated.body,
        handlers=handlers,
        orelse=updated.orelse,
        finalbody=updated.finalbody,
        leading_lines=updated.leading_lines,
        whitespace_before_colon=updated.whitespace_before_colon,
    )


def _leave_except_handler(self: Any, original: Any, updated: Any) -> Any:
    kind = updated.type
    if isinstance(kind, self.cst.Tuple) and not kind.lpar:
        kind = kind.with_changes(lpar=[self.cst.LeftParen()], rpar=[self.cst.RightParen()])
        return updated.with_changes(type=kind)
    return updated


def _leave_string(self: Any, original: Any, updated: Any) -> Any:
    """An f-string or t-string: kept when the running parser reads it, else the tuple of
    its expressions."""
    if id(original) in self.parts or _parses(self.module, updated):
        return updated
    return _as_tuple(self.cst, self.module, original, _expressions(updated))


def _leave_concatenated(self: Any, original: Any, updated: Any) -> Any:
    if id(original) in self.parts or _parses(self.module, updated):
        return updated
    flat: list[Any] = []
    todo = [updated]
    while todo:
        node = todo.pop()
        if isinstance(node, self.cst.ConcatenatedString):
            todo.extend((node.right, node.left))
        else:
            flat.extend(_expressions(node))
    return _as_tuple(self.cst, self.module, original, flat)


def _parses(module: Any, node: Any) -> bool:
    try:
        ast.parse(f"({module.code_for_node(node)})", mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return True


def _as_tuple(cst: Any, module: Any, original: Any, exprs: list[Any]) -> Any:
    # (a, b,) keeps the calls in the expressions; a 1-tuple needs its comma, and an
    # f-string without expressions becomes the empty tuple.
    elements = [cst.Element(e, comma=cst.Comma()) for e in exprs]
    lines = module.code_for_node(original).count("\n")
    rpar = cst.RightParen()
    if lines:
        rpar = cst.RightParen(
            whitespace_before=cst.ParenthesizedWhitespace(
                empty_lines=[cst.EmptyLine(indent=False)] * (lines - 1)
            )
        )
    return cst.Tuple(elements, lpar=[cst.LeftParen()], rpar=[rpar])


def _expressions(node: Any) -> list[Any]:
    parts: list[Any] = []
    for part in getattr(node, "parts", ()):
        expression = getattr(part, "expression", None)
        if expression is not None:
            parts.append(expression)
    return parts
