"""Which program a task starts in a child process, as a call the knowledge can describe.

``subprocess.run(["ffmpeg", "-i", src, dst])`` waits on a child, and that child burns a
core: fifty of them at once on a two-core host only queue up in the OS. The visitor
records the launch itself (``subprocess.run``, a ``subprocess`` wait); this module adds
a second call site, ``subprocess.ffmpeg``, so the programs' own table
(``celery_poolkit.plugins.programs``) decides what the child does, like any library row.

The program is read from what the source says literally: the first item of a list or
tuple (also through a local variable assigned one in the same function), the first word
of a command string, ``shutil.which("ffmpeg")``, or a name such as
``settings.FFMPEG_BINARY`` whose words include a program's name.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Iterator

from celery_poolkit.advisor.facts import CallSite

#: The calls that start a program; their first argument (or ``args=``) names it.
LAUNCHERS = frozenset(
    {
        "subprocess.run",
        "subprocess.call",
        "subprocess.check_call",
        "subprocess.check_output",
        "subprocess.Popen",
        "subprocess.getoutput",
        "subprocess.getstatusoutput",
        "os.system",
        "os.popen",
        "asyncio.create_subprocess_exec",
        "asyncio.create_subprocess_shell",
    }
)

#: Where the synthetic call sites live: ``subprocess.<program>``.
PREFIX = "subprocess."

_WORD = re.compile(r"[a-z][a-z0-9]*")
#: Words too common in identifiers to name a program on their own (``convert_cmd``);
#: a literal ``"convert"`` / ``"gs"`` still counts.
_LITERAL_ONLY = frozenset({"convert", "gs", "identify", "montage", "sox", "lame"})


class ChildPrograms:
    """Follows one function body: local command lists, then the launches that use them."""

    def __init__(self, dotted: Callable[[ast.expr], str | None]) -> None:
        self.dotted = dotted
        self.commands: dict[str, tuple[str, ...]] = {}  # local name -> program of its list

    def sites(
        self, stmt: ast.stmt, calls: list[CallSite], expressions: Iterator[ast.AST]
    ) -> Iterator[CallSite]:
        """Synthetic ``subprocess.<program>`` sites for the launches in ``stmt``'s own
        expressions (``calls``: the sites the visitor read there; the expressions are
        walked again only when one of them is a launch); remembers ``cmd = ["ffmpeg",
        ...]`` for later statements."""
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1:
            target = stmt.targets[0]
            if isinstance(target, ast.Name):
                named = self.programs(stmt.value, literal_only=True)
                if named:
                    self.commands[target.id] = named
                else:
                    self.commands.pop(target.id, None)
        if not any(site.target in LAUNCHERS for site in calls):
            return
        for expr in expressions:
            for node in ast.walk(expr):
                if not isinstance(node, ast.Call) or self.dotted(node.func) not in LAUNCHERS:
                    continue
                first = node.args[0] if node.args else _keyword(node, "args")
                for program in self.programs(first) if first is not None else ():
                    yield CallSite(f"{PREFIX}{program}", node.lineno, node.col_offset)

    def programs(self, node: ast.expr, *, literal_only: bool = False) -> tuple[str, ...]:
        """The program ``node`` may name, as identifiers (``("ffmpeg",)``). A literal
        names one; a variable's name gives each of its words (at most a few), and only
        the ones the programs' table knows will mean anything."""
        if isinstance(node, ast.List | ast.Tuple):
            return self.programs(node.elts[0]) if node.elts else ()
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return _executable(node.value)
        if isinstance(node, ast.JoinedStr) and node.values:
            first = node.values[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                return _executable(first.value)
            return ()
        if literal_only:
            return ()
        if isinstance(node, ast.Name) and node.id in self.commands:
            return self.commands[node.id]
        if isinstance(node, ast.Call) and node.args and self.dotted(node.func) == "shutil.which":
            return self.programs(node.args[0])
        if isinstance(node, ast.Name | ast.Attribute):
            name = node.id if isinstance(node, ast.Name) else node.attr
            words = [w for w in _WORD.findall(name.lower()) if w not in _LITERAL_ONLY]
            return tuple(words[:4])
        return ()


def _executable(command: str) -> tuple[str, ...]:
    """``"/usr/bin/ffmpeg -i x"`` -> ``("ffmpeg",)``; ``soffice.exe`` -> ``("soffice",)``."""
    words = command.split(maxsplit=1)
    if not words:
        return ()
    base = words[0].rpartition("/")[2].removesuffix(".exe").lower()
    name = re.sub(r"\W", "_", base)
    return (name,) if name.isidentifier() else ()


def _keyword(call: ast.Call, name: str) -> ast.expr | None:
    return next((k.value for k in call.keywords if k.arg == name), None)
