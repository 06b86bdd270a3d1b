"""The pool a script names in its own ``app.worker_main([...])`` call, read, never run.

``import celery_poolkit.autopatch`` runs before the script's ``worker_main`` call, whose
argv is not ``sys.argv``: ``app.worker_main(["worker", "-P", "gevent"])`` would start an
unpatched gevent worker. The script's source is parsed (never executed) for
``worker_main`` calls whose first argument is a list or tuple; its string literals are
read as argv (starred or computed parts are left out, as ``sys.argv`` covers forwarded
arguments).
"""

from __future__ import annotations

import ast
import os
import stat
from pathlib import Path

from celery_poolkit.bootstrap.argv import PoolChoice, detect_pool

MAX_SCRIPT_BYTES = 1 << 20  # an entry-point script; anything larger is not read


def worker_main_argvs(source: str) -> list[tuple[int, list[str]]]:
    """(line, literal argv) of every ``worker_main([...])`` call in ``source``."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError):
        return []
    found = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "worker_main"
            and node.args
            and isinstance(node.args[0], (ast.List, ast.Tuple))
        ):
            argv = [
                e.value
                for e in node.args[0].elts
                if isinstance(e, ast.Constant) and isinstance(e.value, str)
            ]
            found.append((node.lineno, argv))
    return sorted(found)


def script_pool(path: str | os.PathLike[str]) -> PoolChoice | None:
    """The pool the first ``worker_main`` call of the script at ``path`` names, or None.

    Only a regular file under :data:`MAX_SCRIPT_BYTES` is read; anything else is None.
    """
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        return None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_SCRIPT_BYTES:
            return None
        with os.fdopen(fd, "rb", closefd=False) as handle:
            data = handle.read(MAX_SCRIPT_BYTES + 1)
    except OSError:
        return None
    finally:
        os.close(fd)
    for line, argv in worker_main_argvs(data.decode("utf-8", "replace")):
        choice = detect_pool(argv, {})  # PoolSelectionError for a bad or ambiguous pool
        if choice is not None:
            where = f"{Path(path).name}:{line}"
            return PoolChoice(choice.pool, f"worker_main {choice.source} in {where}", choice.raw)
    return None
