"""paramiko (and pysftp): SSH and SFTP in pure Python; cooperative once gevent has patched.

**Knows:** ``SSHClient`` (``connect``, ``exec_command``, ``open_sftp``, ``close``),
``Transport`` (connects when given an address), ``SFTPClient`` (``put``, ``get``,
``listdir``, ``open``, ``stat``, ``remove`` …; ``from_transport``), and
``pysftp.Connection`` (a paramiko wrapper).

**Under gevent:** safe after patching: sockets are Python's and each ``Transport`` runs
its reader in a ``threading.Thread`` (a greenlet once patched). Import paramiko after
patching: a Transport thread started before patching makes gevent raise
``LoopExit`` at exit. Key exchange and ciphers run in ``cryptography`` (C): a little CPU
per connection.

**Fix:** patch first; reuse one SSH connection per task rather than per file.

**Sources:** paramiko docs (SSHClient, Transport, SFTPClient); gevent #747 (LoopExit
with paramiko threads); pysftp docs (Connection).
"""

from __future__ import annotations

from celery_poolkit.model import Call, Effect
from celery_poolkit.plugins._rows import ctor, each
from celery_poolkit.plugins.base import Plugin

_SSH = "paramiko.SSHClient"
_SFTP = "paramiko.SFTPClient"
_T = "paramiko.Transport"

PLUGIN = Plugin(
    name="paramiko",
    modules=("paramiko", "pysftp"),
    distributions=("paramiko", "pysftp"),
    summary="SSH/SFTP in pure Python: cooperative after patching.",
    calls=(
        ctor(_SSH, _SSH),
        ctor("paramiko.client.SSHClient", _SSH),
        *each(_SSH, ("connect", "exec_command", "close"), Effect.NET_IO),
        Call(f"{_SSH}.open_sftp", Effect.NET_IO, returns=_SFTP),
        Call(_T, Effect.NET_IO, returns=_T, note="connects when given (host, port)"),
        *each(_T, ("connect", "start_client", "open_session", "close"), Effect.NET_IO),
        Call(f"{_SFTP}.from_transport", Effect.NET_IO, returns=_SFTP),
        Call(f"{_SFTP}.*", Effect.NET_IO),
        Call("pysftp.Connection", Effect.NET_IO, returns="pysftp.Connection"),
        Call("pysftp.Connection.*", Effect.NET_IO),
    ),
)
