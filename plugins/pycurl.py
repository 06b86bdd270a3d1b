"""pycurl: libcurl does its own socket IO in C, which gevent cannot make cooperative.

**Knows:** ``pycurl.Curl`` and ``Curl.perform`` / ``perform_rb`` / ``perform_rs``,
``pycurl.CurlMulti.perform`` / ``select``.

**Under gevent:** blocks the hub. ``perform()`` releases the GIL, so it scales on a
threads pool, but under gevent there is one OS thread: every greenlet waits for the
transfer. Monkey-patching changes Python's ``socket`` module, not libcurl's.

**Fix:** use requests or httpx on gevent queues, or run the transfer in
``gevent.get_hub().threadpool``; or route the task to a threads/prefork queue.

**Sources:** pycurl docs ("Thread safety": perform releases the GIL); green-runtime.md §6
("C drivers doing their own DNS/IO block regardless"); Celery eventlet docs on C
extensions that cannot be monkey-patched.
"""

from __future__ import annotations

from celery_poolkit.model import Effect, Green
from celery_poolkit.plugins._rows import ctor, each
from celery_poolkit.plugins.base import Plugin

_NOTE = "libcurl's IO runs in C: gevent cannot switch greenlets while it waits"

PLUGIN = Plugin(
    name="pycurl",
    modules=("pycurl",),
    distributions=("pycurl",),
    summary="libcurl binding: blocks the gevent hub; releases the GIL for threads.",
    calls=(
        ctor("pycurl.Curl", "pycurl.Curl"),
        *each(
            "pycurl.Curl",
            ("perform", "perform_rb", "perform_rs"),
            Effect.NET_IO,
            Green.BLOCKS_HUB,
            note=_NOTE,
        ),
        ctor("pycurl.CurlMulti", "pycurl.CurlMulti"),
        *each(
            "pycurl.CurlMulti", ("perform", "select"), Effect.NET_IO, Green.BLOCKS_HUB, note=_NOTE
        ),
    ),
)
