"""Read, parse and visit every file, in parallel and through the content-hash cache.

The only stage that touches the disk (besides the cache). Each file is either turned
into :class:`~.facts.ModuleFacts` or into a :class:`~celery_poolkit.model.Skipped` entry
with a reason a user can act on; nothing here raises for bad input.
"""

from __future__ import annotations

import hashlib
import io
import os
import sys
import threading
import tokenize
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from functools import partial
from typing import TypeVar

from celery_poolkit.advisor import collector, outline, salvage, syntax
from celery_poolkit.advisor.cache import Cache
from celery_poolkit.advisor.facts import ModuleFacts
from celery_poolkit.advisor.files import SourceFile
from celery_poolkit.advisor.reading import Unreadable, read_bytes
from celery_poolkit.advisor.visitor import module_facts
from celery_poolkit.model import Skipped

Result = tuple[str, ModuleFacts | None, Skipped | None]  # (content hash, facts, skipped)

#: Files above this size are reported, not parsed: generated code, data dumped as Python.
MAX_FILE_BYTES = 4 * 1024 * 1024
_PARALLEL_MIN_BYTES = 2 * 1024 * 1024  # below this, starting workers costs more than it saves


Loaded = tuple[SourceFile, bytes, str]  # (file, its bytes, its content key)


def read_all(files: Sequence[SourceFile]) -> tuple[list[Loaded], list[Skipped]]:
    """Every file's bytes and content key (hash, path, module); unreadable ones skipped."""
    loaded: list[Loaded] = []
    skipped: list[Skipped] = []
    for file in files:
        try:
            data = read_bytes(file.path, MAX_FILE_BYTES)
        except Unreadable as exc:
            skipped.append(Skipped(file.rel, exc.reason))
            continue
        except OSError as exc:
            skipped.append(Skipped(file.rel, _os_reason(exc)))
            continue
        digest = hashlib.blake2b(data, digest_size=16).hexdigest()
        loaded.append((file, data, f"{digest}:{file.rel}:{file.module}"))
    return loaded, skipped


class Parser:
    """Parses files, through the cache, on a process pool that lives as long as the run.

    The engine parses in rounds (outlines first, then the full facts of the modules a
    task reaches), so the pool is started once, on the first round big enough to need
    it, and reused; ``close()`` (or ``with``) shuts it down.
    """

    def __init__(
        self, cache: Cache | None, jobs: int, settle: Callable[[], None] = lambda: None
    ) -> None:
        self.cache = cache
        self.jobs = jobs
        #: Called after each round: its facts live on (see collector.settling).
        self.settle = settle
        self._pool: ProcessPoolExecutor | None = None

    def __enter__(self) -> Parser:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None

    def parse(
        self, loaded: Sequence[Loaded], full: Callable[[SourceFile, bytes], bool]
    ) -> tuple[list[ModuleFacts], list[Skipped]]:
        """Facts for ``loaded``; ``full(file, data)`` says which need function bodies."""
        facts: list[ModuleFacts] = []
        skipped: list[Skipped] = []
        todo: list[tuple[SourceFile, bytes, str, bool]] = []
        for file, data, key in loaded:
            want_full = full(file, data)
            hit = self._cached(key, want_full)
            if isinstance(hit, ModuleFacts):
                facts.append(hit)
            elif isinstance(hit, Skipped):
                skipped.append(hit)
            else:
                todo.append((file, data, key, want_full))
        # A round's facts and their cache entries are acyclic and bounded by the files;
        # settled before the collector runs again, they are never walked by it.
        with collector.paused():
            for key, result, skip in self._run(todo):
                # A file read in part has both facts and a note: not cached, so the note
                # is reported on every run (such files are rare; salvage.py).
                if self.cache is not None and (result is None or skip is None):
                    self.cache.put(key, result if result is not None else skip)
                if result is not None:
                    facts.append(result)
                if skip is not None:
                    skipped.append(skip)
            self.settle()
        return facts, skipped

    def _cached(self, key: str, want_full: bool) -> object | None:
        if self.cache is None:
            return None
        # Full facts serve an outline request too; a skipped file is skipped in any mode.
        hit = self.cache.get(f"{key}:full")
        if hit is None and not want_full:
            hit = self.cache.get(f"{key}:outline")
        return hit

    def _run(self, todo: list[tuple[SourceFile, bytes, str, bool]]) -> list[Result]:
        work = [
            (f.rel, f.module, f.is_package, data, f"{key}:{'full' if want else 'outline'}", want)
            for f, data, key, want in todo
        ]
        total = sum(len(item[3]) for item in work)
        # Starting workers costs more than a small batch; once they run, any batch pays.
        small = total < _PARALLEL_MIN_BYTES and self._pool is None
        if self.jobs <= 1 or small or len(work) < 4:
            return [analyse_one(*item) for item in work]
        # Big files first, so one large module does not finish last on a lone core.
        work.sort(key=lambda item: len(item[3]), reverse=True)
        chunk = max(1, len(work) // (self.jobs * 8))
        if self._pool is None:
            self._pool = ProcessPoolExecutor(max_workers=self.jobs)
        return list(self._pool.map(_analyse_packed, work, chunksize=chunk))


def _source(rel: str, data: bytes) -> str | Skipped:
    """The file's text in its declared encoding, or why it is not Python source."""
    if len(data) > MAX_FILE_BYTES:
        size = len(data) / 1024 / 1024
        reason = f"file is {size:.1f} MiB, over the {MAX_FILE_BYTES // 1024 // 1024} MiB limit"
        return Skipped(rel, reason)
    if b"\0" in data:
        return Skipped(rel, "contains NUL bytes: a binary file, not Python source")
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
        return data.decode(encoding)
    except (SyntaxError, UnicodeDecodeError, LookupError) as exc:
        return Skipped(rel, f"cannot decode: {_first_line(exc)}")


def _analyse_packed(item: tuple[str, str, bool, bytes, str, bool]) -> Result:
    return analyse_one(*item)


def analyse_one(  # noqa: PLR0917 - called with a packed work item
    rel: str, module: str, is_package: bool, data: bytes, key: str, full: bool = True
) -> Result:
    """Facts for one file, or the reason it was skipped. Never raises for bad input."""
    # An AST has no cycles, and one file's garbage is bounded by MAX_FILE_BYTES.
    with collector.paused():
        return _analyse(rel, module, is_package, data, key, full)


def _analyse(  # noqa: PLR0917 - analyse_one's arguments
    rel: str, module: str, is_package: bool, data: bytes, key: str, full: bool
) -> Result:
    source = _source(rel, data)
    if isinstance(source, Skipped):
        return key, None, source
    visit = partial(_visit, rel=rel, module=module, is_package=is_package, full=full)
    if not full:
        blanked = outline.without_bodies(source)
        if blanked is not None:
            try:
                return key, visit(source, parsed=blanked), None
            except (SyntaxError, RecursionError, MemoryError, ValueError):
                pass  # the blanking guessed wrong, or the file is bad: read it whole
    try:
        return key, visit(source), None
    except SyntaxError as exc:
        # Only when the parse failed: read the file as a newer Python would, rather
        # than lose every task and helper in it (see syntax.py).
        facts = _newer_syntax(source, exc, visit)
        return (key, facts, None) if facts is not None else _salvaged(rel, key, source, exc, visit)
    except (RecursionError, MemoryError):
        return key, None, Skipped(rel, "expressions nested too deeply to analyse")
    except ValueError as exc:  # e.g. a source the parser refuses outright
        return key, None, Skipped(rel, f"cannot parse: {_first_line(exc)}")


def _visit(
    source: str, *, rel: str, module: str, is_package: bool, full: bool, parsed: str | None = None
) -> ModuleFacts:
    """:func:`.visitor.module_facts`, on a big stack for a big file."""
    work = partial(
        module_facts, source, rel, module, is_package=is_package, full=full, parsed=parsed
    )
    return _on_big_stack(work) if len(source) >= _BIG_STACK_MIN else work()


def _newer_syntax(
    source: str, exc: SyntaxError, visit: Callable[[str], ModuleFacts]
) -> ModuleFacts | None:
    """The facts of a file ``ast`` refused, read through the first rewrite that works."""
    for rewrite in _rewrites(exc):
        try:
            big = len(source) >= _BIG_STACK_MIN
            rewritten = _on_big_stack(partial(rewrite, source)) if big else rewrite(source)
            if rewritten is not None:
                return visit(rewritten)
        except (SyntaxError, RecursionError, MemoryError, ValueError):
            continue  # something else is wrong too: report the first error
    return None


def _salvaged(
    rel: str, key: str, source: str, exc: SyntaxError, visit: Callable[[str], ModuleFacts]
) -> Result:
    """The file read without the statements this Python refuses (Python 2 prints in a
    body: salvage.py), with a note saying which lines were left out; or skipped."""
    reason = _syntax_reason(exc)
    work = partial(salvage.salvage, source, exc, _whole_file_rewrite)
    try:
        saved = _on_big_stack(work) if len(source) >= _BIG_STACK_MIN else work()
        facts = visit(saved.source) if saved is not None else None
    except (SyntaxError, RecursionError, MemoryError, ValueError):
        return key, None, Skipped(rel, reason)
    if saved is None or facts is None:
        return key, None, Skipped(rel, reason)
    shown = ", ".join(map(str, saved.dropped[:5])) + (", …" if len(saved.dropped) > 5 else "")
    note = (
        f"read in part: {len(saved.dropped)} line(s) this Python cannot parse left out "
        f"(lines {shown}), first {reason}"
    )
    return key, facts, Skipped(rel, note)


def _whole_file_rewrite(source: str, exc: SyntaxError) -> str | None:
    """For salvage: ``except A, B:`` (Python 2's ``except E, e:`` too) parenthesized."""
    return _parenthesize_excepts(source) if _is_pep758(exc) else None


def _rewrites(exc: SyntaxError) -> list[Callable[[str], str | None]]:
    """How to try reading a file ``ast`` refused, cheapest first."""
    found: list[Callable[[str], str | None]] = []
    if _is_pep758(exc):
        found.append(_parenthesize_excepts)  # tokenize only: no libcst needed for it
    if syntax.worth_rewriting(exc):
        found.append(syntax.downgrade)
    return found


def _syntax_reason(exc: SyntaxError) -> str:
    where = f" at line {exc.lineno}" if exc.lineno else ""
    running = sys.version_info[:2]
    for needle, version in _NEWER_SYNTAX:
        if needle in (exc.msg or "") and running < version:
            wanted = ".".join(map(str, version))
            return (
                f"syntax error{where}: {exc.msg}: needs Python {wanted} syntax; "
                f"run poolkit advise under Python >= {wanted} to read it"
            )
    python = f"Python {running[0]}.{running[1]}"
    return f"syntax error{where}: {exc.msg} (parsed as {python})"


#: Parser messages that mean "valid in a newer Python": (message part, version).
_NEWER_SYNTAX = (("multiple exception types must be parenthesized", (3, 14)),)


def _is_pep758(exc: SyntaxError) -> bool:
    return sys.version_info < (3, 14) and "multiple exception types" in (exc.msg or "")


def _parenthesize_excepts(source: str) -> str | None:
    """``except A, B:`` (PEP 758, Python 3.14) rewritten as ``except (A, B):``, so older
    parsers read the file; None when there is nothing to rewrite or the source does not
    tokenize. Only that construct changes, and only by inserting two characters on its
    own lines, so every line number (and every column outside those clauses) stays."""
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (tokenize.TokenError, SyntaxError):
        return None
    edits: list[tuple[tuple[int, int], str]] = []
    for index, token in enumerate(tokens):
        if token.type == tokenize.NAME and token.string == "except":
            first = index + 1
            if first < len(tokens) and tokens[first].string == "*":
                first += 1  # except* A, B:
            edits.extend(_except_edits(tokens, first))
    if not edits:
        return None
    lines = source.splitlines(keepends=True)
    for (row, col), text in sorted(edits, reverse=True):
        line = lines[row - 1]
        lines[row - 1] = line[:col] + text + line[col:]
    return "".join(lines)


def _except_edits(
    tokens: list[tokenize.TokenInfo], first: int
) -> list[tuple[tuple[int, int], str]]:
    """The two insertions that parenthesise the clause after ``except`` at ``first``,
    or none when it needs none (one type, already parenthesised, or ``as`` bound)."""
    depth, comma, named = 0, False, False
    for current in tokens[first:]:
        if current.type not in (tokenize.OP, tokenize.NAME):
            continue
        text = current.string
        if text in "([{":
            depth += 1
        elif text in ")]}":
            depth -= 1
        elif depth != 0:
            continue
        elif text == ",":
            comma = True
        elif text == "as":
            named = True  # ``except A, B as e`` is an error in 3.14 too
        elif text == ":":
            if comma and not named:
                return [(tokens[first].start, "("), (current.start, ")")]
            return []
    return []


#: Files this big are parsed on a thread with a large C stack. CPython 3.10's parser has
#: no depth guard: ``x = 1 + 1 + …`` with 200,000 terms overflows the C stack of the main
#: thread and kills the process (3.11+ raise RecursionError). A deep tree needs a big file,
#: so small files, nearly all of them, skip the thread.
_BIG_STACK_MIN = 64 * 1024
_BIG_STACK = 512 * 1024 * 1024  # virtual: only the pages a deep parse touches are used
_stack_lock = threading.Lock()

T = TypeVar("T")


def _on_big_stack(work: Callable[[], T]) -> T:
    """Run ``work`` on a fresh thread with a large stack; re-raise what it raised."""
    box: list[T] = []
    error: list[BaseException] = []

    def run() -> None:
        try:
            box.append(work())
        except BaseException as exc:  # handed back to the caller, who sorts it out
            error.append(exc)

    with _stack_lock:  # threading.stack_size is process-wide: set, start, restore
        previous = threading.stack_size(_BIG_STACK)
        try:
            thread = threading.Thread(target=run, name="poolkit-parse")
            thread.start()
        finally:
            threading.stack_size(previous)
    thread.join()
    if error:
        raise error[0]
    return box[0]


def default_jobs() -> int:
    """Parse processes: the cores no one else is using (by the 1-minute load average),
    at least one and at most eight.

    A second process pays only on an idle core: forking and sending the facts back cost
    a cold run on saleor about a sixth more CPU, and on a busy 2-core machine (load
    average 3 and up) two processes finished no sooner than one. ``--jobs`` overrides.
    """
    cores = os.cpu_count() or 1
    try:
        load = os.getloadavg()[0]
    except OSError:  # no load average on this platform: assume the cores are free
        load = 0.0
    return max(1, min(cores, 8, int(cores - load + 0.5)))


def _os_reason(exc: OSError) -> str:
    if isinstance(exc, PermissionError):
        return "permission denied: cannot read the file"
    if exc.errno == 40:  # ELOOP
        return "symlink loop"
    if isinstance(exc, FileNotFoundError):
        return "broken symlink or file vanished while reading"
    return f"cannot read: {exc.strerror or exc}"


def _first_line(exc: BaseException) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
