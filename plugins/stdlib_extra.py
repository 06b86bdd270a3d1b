"""More of the standard library: archives, SQLite, mail retrieval, paths, process waits.

**Knows:** ``zipfile`` / ``tarfile`` archives and ``shutil`` copy/move/archive helpers
(file IO; written compressed, ``ZIP_DEFLATED`` or ``"w:gz"``, GIL-releasing CPU),
``pathlib.Path`` reads and writes (file IO), ``sqlite3`` (database IO in C),
``imaplib`` / ``poplib`` / ``ftplib`` sessions (network IO), ``urllib.request.urlretrieve``
and ``socket.gethostbyname`` (network IO), the remaining subprocess entry points
(``subprocess.getoutput`` / ``getstatusoutput``, ``os.popen``, ``os.waitpid``),
``xml.etree.ElementTree`` parsing, ``hashlib`` constructors (no effect: hashing a key
once is not CPU work; a loop of hashes is, through the loop) and ``update`` /
``file_digest`` (hashing a file chunk by chunk: GIL-releasing CPU), and event loops
started with
``get_event_loop().run_until_complete``.

**Under gevent:** sockets, DNS and subprocess waits are cooperative once patched. Regular
file IO never is (gevent patches no file objects); it counts as file IO, judged by its
effect like ``open``. ``sqlite3`` runs in C: a query, or a wait on a locked database
(``timeout`` defaults to 5 s), blocks the hub.

**Sources:** gevent #1070 (file IO is not cooperative); flake8-async ASYNC220-ASYNC240
and ruff ASYNC240 (subprocess, ``os.wait*``, ``pathlib`` calls); blockbuster's
``sqlite3`` list; Python docs (``sqlite3.connect`` ``timeout``).
"""

from __future__ import annotations

from celery_poolkit.model import Call, Effect, Green, Hazard
from celery_poolkit.plugins._rows import cpu, each, gil_free
from celery_poolkit.plugins.base import Plugin

_FILE = Effect.FILE_IO
_NET = Effect.NET_IO
_SQLITE = "SQLite runs in C and waits on file locks in C: the hub stalls"
# Hashing a key or a payload once is microseconds: calling it CPU work pushed IO tasks
# that build a cache key onto prefork. A loop of hashes is CPU, and the loop says so
# (the visitor's counted-loop hint), not the hash call.
_HASH = "cheap per call (a cache key, a checksum): CPU only in a loop, which the loop shows"
_HASHER = "hashlib._Hash"
_PACK = "an archive written compressed: deflating its contents (zlib/bz2/lzma release the GIL)"

PLUGIN = Plugin(
    name="stdlib_extra",
    modules=(
        "zipfile",
        "tarfile",
        "shutil",
        "pathlib",
        "sqlite3",
        "imaplib",
        "poplib",
        "ftplib",
        "urllib",
        "socket",
        "subprocess",
        "os",
        "xml",
        "hashlib",
        "asyncio",
    ),
    summary="More standard library: archives, SQLite, IMAP/POP/FTP, paths, process waits.",
    calls=(
        Call("zipfile.ZipFile", _FILE, returns="zipfile.ZipFile"),
        *each("zipfile.ZipFile", ("write", "writestr", "read", "extract", "extractall"), _FILE),
        Call("tarfile.open", _FILE, returns="tarfile.TarFile"),
        # Synthetic sites the visitor adds for archives written compressed
        # (advisor/archives.py): deflating every byte is the work, and zlib/bz2/lzma
        # release the GIL while they do it.
        Call("zipfile.compressed", Effect.CPU_RELEASES_GIL, Green.SAFE, note=_PACK),
        Call("tarfile.compressed", Effect.CPU_RELEASES_GIL, Green.SAFE, note=_PACK),
        *each("tarfile.TarFile", ("add", "extract", "extractall", "extractfile"), _FILE),
        *each(
            "shutil",
            ("copy", "copy2", "move", "make_archive", "unpack_archive", "copyfileobj"),
            _FILE,
        ),
        Call("pathlib.Path", None, Green.SAFE, returns="pathlib.Path"),
        *each(
            "pathlib.Path",
            ("read_text", "read_bytes", "write_text", "write_bytes", "open", "unlink"),
            _FILE,
        ),
        Call(
            "sqlite3.connect",
            Effect.DB_IO,
            Green.BLOCKS_HUB,
            returns="sqlite3.Connection",
            note=_SQLITE,
        ),
        *each(
            "sqlite3.Connection",
            ("execute", "executemany", "executescript", "commit"),
            Effect.DB_IO,
            Green.BLOCKS_HUB,
            returns="sqlite3.Cursor",
            note=_SQLITE,
        ),
        *each(
            "sqlite3.Cursor",
            ("execute", "executemany", "fetchone", "fetchmany", "fetchall"),
            Effect.DB_IO,
            Green.BLOCKS_HUB,
            note=_SQLITE,
        ),
        Call("imaplib.IMAP4", _NET, returns="imaplib.IMAP4"),
        Call("imaplib.IMAP4_SSL", _NET, returns="imaplib.IMAP4"),
        Call("imaplib.IMAP4.*", _NET),
        Call("poplib.POP3", _NET, returns="poplib.POP3"),
        Call("poplib.POP3_SSL", _NET, returns="poplib.POP3"),
        Call("poplib.POP3.*", _NET),
        Call("ftplib.FTP.*", _NET),
        Call("ftplib.FTP_TLS", _NET, returns="ftplib.FTP"),
        Call("urllib.request.urlretrieve", _NET),
        Call("socket.gethostbyname", _NET, note="DNS goes through gevent's resolver"),
        *each("subprocess", ("getoutput", "getstatusoutput"), Effect.SUBPROCESS),
        Call("os.popen", Effect.SUBPROCESS, note="runs through subprocess.Popen"),
        *each("os", ("waitpid", "wait"), Effect.SUBPROCESS),
        *(
            Call(f"hashlib.{name}", None, Green.SAFE, returns=_HASHER, note=_HASH)
            for name in ("md5", "sha1", "sha256", "sha512", "blake2b", "new")
        ),
        # Feeding a hasher chunk by chunk is hashing a file or a stream: real work, in C
        # that drops the GIL for chunks over 2 KiB.
        gil_free(f"{_HASHER}.update", "hashing data chunk by chunk: releases the GIL"),
        gil_free("hashlib.file_digest", "hashing a whole file: releases the GIL"),
        cpu("xml.etree.ElementTree.parse", "expat builds Python objects: holds the GIL"),
        cpu("xml.etree.ElementTree.fromstring", "expat builds Python objects: holds the GIL"),
        Call("asyncio.get_event_loop", None, Green.SAFE, returns="asyncio.AbstractEventLoop"),
        Call(
            "asyncio.AbstractEventLoop.run_until_complete",
            None,
            Green.SAFE,
            frozenset({Hazard.RUNS_EVENT_LOOP}),
        ),
    ),
)
