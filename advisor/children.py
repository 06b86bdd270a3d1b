"""Which program a task starts in a child process, as a call the knowledge can describe.

``subprocess.run(["ffmpeg", "-i", src, dst])`` waits on a child, and that child burns a
core: fifty of them at once on a two-core host only queue up in the OS. The visitor
records the launch itself (``subprocess.run``, a ``subprocess`` wait); this module adds
a second call site, ``subprocess.ffmpeg``, so the programs' own table
(``celery_poolkit.plugins.programs``) decides what the child does, like any library row.

The program is read from what the source says literally: the first item of a list or
tuple (also through a local variable assigned one in the same function, and through
``[...] + args``, ``shlex.split("...")`` and ``" ".join([...])``), the first word of a
command string, ``shutil.which("ffmpeg")``, or a name such as
``settings.FFMPEG_BINARY`` whose words include a program's name; a module constant
(``BINARY = "/usr/bin/ffmpeg"``) is read for its value.

Projects often launch through a wrapper of their own (``run_command(cmd)``) whose
argument is built by its callers; inside the wrapper the program is only a parameter.
So the caller's literal decides: a command list whose first item names a program the
tables know (``["ffmpeg", "-i", src]``, or a local variable holding one), passed to any
call, is a launch of that program at that call. A helper that returns such a list
(``def transcode_cmd(src): return ["ffmpeg", "-i", src, ...]``) is called to run it:
its ``return`` counts as the launch. Only the tables' programs count there,
and a list of bare names (``["ffmpeg", "ffprobe"]``, a check that they are installed)
is not a command: the rest of a command list holds an option or a value. A command
string counts the same way when its literal start holds an option (``"nmap -sV " +
host``, or ``cmd = f"naabu -json ..."; cmd += ...`` then ``run_command(cmd)``), and so
does a variable named as a command: ``cmd = f"geoiplookup {host}"``, or ``nmap_cmd =
get_nmap_cmd(...)`` (a helper's result, named after a program the tables know).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Iterator

from celery_poolkit.advisor import nodes
from celery_poolkit.advisor.facts import CallSite
from celery_poolkit.plugins.programs import CPU_PROGRAMS, NET_PROGRAMS

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
#: Programs a command list passed to a project wrapper may name (see the module's doc).
_KNOWN = frozenset(CPU_PROGRAMS) | frozenset(NET_PROGRAMS)


class ChildPrograms:
    """Follows one function body: local command lists, then the launches that use them."""

    def __init__(
        self,
        dotted: Callable[[ast.expr], str | None],
        constant: Callable[[str], str | None] = lambda name: None,
    ) -> None:
        self.dotted = dotted
        self.constant = constant  # a module's ``NAME = "..."`` constant, by name
        self.commands: dict[str, tuple[str, ...]] = {}  # local name -> program of its list
        self.lists: set[str] = set()  # the local names among them bound to a command list

    def sites(
        self, stmt: ast.stmt, calls: list[CallSite], expressions: Iterator[ast.AST]
    ) -> Iterator[CallSite]:
        """Synthetic ``subprocess.<program>`` sites for the launches in ``stmt``'s own
        expressions (``calls``: the sites the visitor read there; the expressions are
        walked again only when one of them is a launch); remembers ``cmd = ["ffmpeg",
        ...]`` for later statements."""
        self._remember(stmt)
        if isinstance(stmt, ast.Return) and stmt.value is not None:
            yield from self._returned(stmt.value, stmt.lineno, stmt.col_offset)
        wrapped = [site for site in calls if site.target not in LAUNCHERS]
        if len(wrapped) == len(calls):
            yield from self._wrapped(expressions) if wrapped else ()
            return
        for expr in expressions:
            for node in ast.walk(expr):
                if not isinstance(node, ast.Call):
                    continue
                if self.dotted(node.func) not in LAUNCHERS:
                    yield from self._passed(node)
                    continue
                first = node.args[0] if node.args else _keyword(node, "args")
                for program in self.programs(first) if first is not None else ():
                    yield CallSite(f"{PREFIX}{program}", node.lineno, node.col_offset)

    def _remember(self, stmt: ast.stmt) -> None:
        """``cmd = ["ffmpeg", ...]`` (also annotated): the program of ``cmd`` from now on."""
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1:
            target, value = stmt.targets[0], stmt.value
        elif isinstance(stmt, ast.AnnAssign) and stmt.value is not None:
            target, value = stmt.target, stmt.value
        else:
            return
        if not isinstance(target, ast.Name):
            return
        named = self.programs(value, literal_only=True)
        self.lists.discard(target.id)
        if named:
            self.commands[target.id] = named
            if _command_list(value) or _command_string(value) or _names_a_command(target.id):
                self.lists.add(target.id)
        else:
            self.commands.pop(target.id, None)

    def _wrapped(self, expressions: Iterator[ast.AST]) -> Iterator[CallSite]:
        for expr in expressions:
            for node in nodes.below(expr, ast.Call):
                yield from self._passed(node)

    def _returned(self, value: ast.expr, line: int, col: int) -> Iterator[CallSite]:
        """``return ["ffmpeg", "-i", src, dst]`` (or a local list holding it): a helper
        that builds a known program's command line is called to run it, by a caller
        that only sees a value (``subprocess.run(build_cmd(src))``); the launch is
        counted here, in the caller's reach."""
        if isinstance(value, ast.Name) and value.id in self.lists:
            named = self.commands[value.id]
        elif _command_list(value):
            named = self.programs(value, literal_only=True)
        else:
            return
        for program in named:
            if program in _KNOWN:
                yield CallSite(f"{PREFIX}{program}", line, col)

    def _passed(self, call: ast.Call) -> Iterator[CallSite]:
        """A command list of a known program handed to a wrapper (``run(cmd)``)."""
        if _reports(call):
            return  # log.info("running %s", cmd): the command is only shown
        for arg in [*call.args, *(k.value for k in call.keywords)]:
            if isinstance(arg, ast.Name) and arg.id in self.lists:
                named = self.commands[arg.id]
            elif isinstance(arg, ast.Name) and _names_a_command(arg.id):
                named = tuple(w for w in _WORD.findall(arg.id.lower()) if w in _KNOWN)
            elif _command_list(arg) or _command_string(arg):
                named = self.programs(arg, literal_only=True)
            else:
                continue
            for program in named:
                if program in _KNOWN:
                    yield CallSite(f"{PREFIX}{program}", call.lineno, call.col_offset)

    def programs(self, node: ast.expr, *, literal_only: bool = False) -> tuple[str, ...]:
        """The program ``node`` may name, as identifiers (``("ffmpeg",)``). A literal
        names one; a variable's name gives each of its words (at most a few), and only
        the ones the programs' table knows will mean anything."""
        if isinstance(node, ast.List | ast.Tuple):
            return self.programs(node.elts[0]) if node.elts else ()
        if (inner := self._carried(node)) is not None:
            return self.programs(inner, literal_only=literal_only)
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return _executable(node.value)
        if isinstance(node, ast.JoinedStr) and node.values:
            first = node.values[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                return _executable(first.value)
            return ()
        if literal_only:
            return ()
        if isinstance(node, ast.Call) and node.args and self.dotted(node.func) == "shutil.which":
            return self.programs(node.args[0])
        if isinstance(node, ast.Name | ast.Attribute):
            return self._named(node)
        return ()

    def _named(self, node: ast.Name | ast.Attribute) -> tuple[str, ...]:
        """A local command list, a module constant's value, else the name's words."""
        if isinstance(node, ast.Name) and node.id in self.commands:
            return self.commands[node.id]
        if isinstance(node, ast.Name) and (value := self.constant(node.id)) is not None:
            return _executable(value)  # BIN = "/usr/bin/gs"
        name = node.id if isinstance(node, ast.Name) else node.attr
        words = [w for w in _WORD.findall(name.lower()) if w not in _LITERAL_ONLY]
        return tuple(words[:4])

    def _carried(self, node: ast.expr) -> ast.expr | None:
        """The command inside ``[prog, ...] + args``, ``shlex.split(...)`` or
        ``" ".join([...])``: it names the program, the wrapping does not change it."""
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            return node.left
        if not isinstance(node, ast.Call) or len(node.args) != 1:
            return None
        func = node.func
        if self.dotted(func) == "shlex.split" or (
            isinstance(func, ast.Attribute)
            and func.attr == "join"
            and isinstance(func.value, ast.Constant)
            and isinstance(func.value.value, str)
        ):
            return node.args[0]
        return None


def _executable(command: str) -> tuple[str, ...]:
    """``"/usr/bin/ffmpeg -i x"`` -> ``("ffmpeg",)``; ``soffice.exe`` -> ``("soffice",)``."""
    words = command.split(maxsplit=1)
    if not words:
        return ()
    base = words[0].rpartition("/")[2].removesuffix(".exe").lower()
    name = re.sub(r"\W", "_", base)
    return (name,) if name.isidentifier() else ()


def _command_list(node: ast.expr) -> bool:
    """A list whose first item is a literal program and whose rest has an option or a
    value: ``["ffmpeg", "-i", src]``, not a list of names ``["ffmpeg", "ffprobe"]``."""
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return _command_list(node.left) or (
            isinstance(node.left, ast.List | ast.Tuple)
            and len(node.left.elts) == 1
            and _literal_word(node.left.elts[0]) is not None
        )
    if not isinstance(node, ast.List | ast.Tuple) or len(node.elts) < 2:
        return False
    first, rest = node.elts[0], node.elts[1:]
    if _literal_word(first) is None:
        return False
    return any(
        not (isinstance(e, ast.Constant) and isinstance(e.value, str)) or e.value.startswith("-")
        for e in rest
    )


#: Words that make a variable a command line: ``cmd = f"geoiplookup {host}"``, or a
#: helper's result named after its program (``nmap_cmd = build_nmap_cmd(...)``).
_COMMAND_WORDS = frozenset({"cmd", "command", "cmdline"})


_REPORTERS = frozenset({"debug", "info", "warning", "warn", "error", "exception", "critical"})


def _reports(call: ast.Call) -> bool:
    """A logging or print call: the command it is given is shown, not run."""
    func = call.func
    if isinstance(func, ast.Name):
        return func.id == "print"
    return isinstance(func, ast.Attribute) and func.attr in _REPORTERS


def _names_a_command(name: str) -> bool:
    lowered = name.lower()
    if "cmd" not in lowered and "command" not in lowered:  # most names: no regex needed
        return False
    return any(w in _COMMAND_WORDS for w in _WORD.findall(lowered))


def _command_string(node: ast.expr) -> bool:
    """A shell command line whose literal start names a program and holds an option:
    ``"nmap -sV " + host``, ``f"naabu -json -host {h}"``; not a message that happens to
    start with a program's name (``"curl failed"``)."""
    while isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        node = node.left
    if isinstance(node, ast.JoinedStr):
        head = node.values[0] if node.values else None
        text = head.value if isinstance(head, ast.Constant) else None
    else:
        text = node.value if isinstance(node, ast.Constant) else None
    if not isinstance(text, str):
        return False
    words = text.split()
    return len(words) > 1 and any(w.startswith("-") for w in words[1:])


def _literal_word(node: ast.expr) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        named = _executable(node.value)
        return named[0] if named else None
    return None


def _keyword(call: ast.Call, name: str) -> ast.expr | None:
    return next((k.value for k in call.keywords if k.arg == name), None)
