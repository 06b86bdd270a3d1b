"""The standard library: sockets, HTTP, SMTP, sleeps, subprocesses, hashing, compression.

**Knows:** ``time.sleep``; sockets, DNS, ``urllib.request``, ``http.client``, ``smtplib``
and ``ftplib`` (network IO); ``subprocess`` waits and ``os.system``; ``open`` and
``shutil`` copies (file IO); ``hashlib.pbkdf2_hmac``/``scrypt`` and the compressors
(C work that releases the GIL); ``multiprocessing`` / ``ProcessPoolExecutor`` and
``asyncio.run`` / ``new_event_loop`` (hazards, whatever the pool).

**Under gevent:** every socket, DNS and sleep call here is cooperative once
``gevent.monkey.patch_all()`` ran, and blocks the whole hub when it did not.
``os.system`` waits in C and is never cooperative; regular file IO is not either
(gevent patches no file objects). Under prefork, ``multiprocessing`` fails inside
daemonic children ("daemonic processes are not allowed to have children").

**Sources:** gevent's ``monkey`` module docs (what ``patch_all`` replaces); gevent #1070
(file IO); CPython ``hashlib``/``zlib`` sources (``Py_BEGIN_ALLOW_THREADS`` around the
digest and compression loops); billiard's daemonic-process check.
"""

from __future__ import annotations

from celery_poolkit.model import Call, Effect, Green, Hazard
from celery_poolkit.plugins.base import Plugin

_NET = Effect.NET_IO

PLUGIN = Plugin(
    name="stdlib",
    modules=(
        "time",
        "socket",
        "http",
        "urllib",
        "smtplib",
        "ftplib",
        "subprocess",
        "os",
        "hashlib",
        "zlib",
        "gzip",
        "bz2",
        "lzma",
        "multiprocessing",
        "asyncio",
        "shutil",
        "concurrent",
    ),
    summary="Python's standard library: green once gevent has patched it.",
    calls=(
        Call("time.sleep", Effect.SLEEP),
        Call("socket.create_connection", _NET),
        Call("socket.socket", None, returns="socket.socket"),
        Call("socket.socket.connect", _NET),
        Call("socket.socket.recv", _NET),
        Call("socket.socket.sendall", _NET),
        Call("socket.getaddrinfo", _NET, note="DNS lookups go through gevent's resolver"),
        Call("urllib.request.urlopen", _NET),
        Call("http.client.HTTPConnection", None, returns="http.client.HTTPConnection"),
        Call("http.client.HTTPSConnection", None, returns="http.client.HTTPConnection"),
        Call("http.client.HTTPConnection.request", _NET),
        Call("http.client.HTTPConnection.getresponse", _NET),
        Call("smtplib.SMTP", _NET, returns="smtplib.SMTP"),
        Call("smtplib.SMTP_SSL", _NET, returns="smtplib.SMTP"),
        Call("smtplib.SMTP.send_message", _NET),
        Call("smtplib.SMTP.sendmail", _NET),
        Call("ftplib.FTP", _NET, returns="ftplib.FTP"),
        Call("subprocess.run", Effect.SUBPROCESS),
        Call("subprocess.call", Effect.SUBPROCESS),
        Call("subprocess.check_call", Effect.SUBPROCESS),
        Call("subprocess.check_output", Effect.SUBPROCESS),
        Call("subprocess.Popen", None, returns="subprocess.Popen"),
        Call("subprocess.Popen.wait", Effect.SUBPROCESS),
        Call("subprocess.Popen.communicate", Effect.SUBPROCESS),
        Call(
            "os.system",
            Effect.SUBPROCESS,
            green=Green.BLOCKS_HUB,
            note="os.system waits in C; gevent cannot make it cooperative",
        ),
        Call("open", Effect.FILE_IO),
        Call("shutil.copyfile", Effect.FILE_IO),
        Call("shutil.copytree", Effect.FILE_IO),
        Call("shutil.rmtree", Effect.FILE_IO),
        Call("hashlib.pbkdf2_hmac", Effect.CPU_RELEASES_GIL, green=Green.SAFE),
        Call("hashlib.scrypt", Effect.CPU_RELEASES_GIL, green=Green.SAFE),
        Call("zlib.compress", Effect.CPU_RELEASES_GIL, green=Green.SAFE),
        Call("zlib.decompress", Effect.CPU_RELEASES_GIL, green=Green.SAFE),
        Call("gzip.compress", Effect.CPU_RELEASES_GIL, green=Green.SAFE),
        Call("bz2.compress", Effect.CPU_RELEASES_GIL, green=Green.SAFE),
        Call("lzma.compress", Effect.CPU_RELEASES_GIL, green=Green.SAFE),
        Call(
            "multiprocessing.Pool",
            None,
            hazards=frozenset({Hazard.SPAWNS_PROCESSES}),
            note="daemonic prefork children cannot have children",
        ),
        Call("multiprocessing.Process", None, hazards=frozenset({Hazard.SPAWNS_PROCESSES})),
        Call(
            "concurrent.futures.ProcessPoolExecutor",
            None,
            hazards=frozenset({Hazard.SPAWNS_PROCESSES}),
        ),
        Call("asyncio.run", None, hazards=frozenset({Hazard.RUNS_EVENT_LOOP})),
        Call("asyncio.new_event_loop", None, hazards=frozenset({Hazard.RUNS_EVENT_LOOP})),
    ),
)
