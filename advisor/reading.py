"""Read a project file safely: regular files only, bounded in size, never a blocking read.

Every file the advisor reads (sources, pyproject.toml, .gitignore, deployment files,
profiles, the cache) comes through :func:`read_bytes`. A checkout can hold anything
under any name: a FIFO called ``tasks.py`` would block ``open()`` forever, a socket or
a device called ``Procfile`` has no end, and ``/dev/zero`` linked as ``.gitignore``
fills memory. So the path is checked before it is opened, opened without blocking, and
checked again on the open descriptor (it may have been swapped in between), and the
read stops one byte past the limit.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

#: Default cap for small text files (config, ignore files, deployment files).
SMALL = 1024 * 1024

_KINDS = {
    stat.S_IFIFO: "a FIFO (named pipe)",
    stat.S_IFSOCK: "a socket",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFDIR: "a folder",
}


class Unreadable(OSError):
    """The file was not read; ``reason`` says why in words a user can act on."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(errno.EINVAL, reason, str(path))
        self.reason = reason


def read_bytes(path: Path, limit: int = SMALL) -> bytes:
    """The bytes of the regular file ``path``, at most ``limit`` of them.

    Raises :class:`Unreadable` for anything that is not a regular file or is larger
    than ``limit``, and OSError (with ``strerror``) when it cannot be opened or read.
    """
    _check(path, os.stat(path), limit)  # before opening: opening a device can act
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(path, flags)
    try:
        _check(path, os.fstat(fd), limit)  # the same file we checked, not a swapped one
        chunks: list[bytes] = []
        size = 0
        while size <= limit:
            chunk = os.read(fd, min(1024 * 1024, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    finally:
        os.close(fd)
    if size > limit:  # it grew, or it is a /proc-like file that reports size 0
        raise Unreadable(path, _too_big(size, limit))
    return b"".join(chunks)


def read_text(path: Path, limit: int = SMALL) -> str:
    """:func:`read_bytes`, decoded as UTF-8 with undecodable bytes replaced."""
    return read_bytes(path, limit).decode("utf-8", errors="replace")


def _check(path: Path, info: os.stat_result, limit: int) -> None:
    if not stat.S_ISREG(info.st_mode):
        kind = _KINDS.get(stat.S_IFMT(info.st_mode), "not a regular file")
        raise Unreadable(path, f"not a regular file: {kind}")
    if info.st_size > limit:
        raise Unreadable(path, _too_big(info.st_size, limit))


def _too_big(size: int, limit: int) -> str:
    mib = 1024 * 1024
    return f"file is {size / mib:.1f} MiB, over the {limit / mib:g} MiB limit"
