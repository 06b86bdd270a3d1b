"""bcrypt: password hashing in Rust that releases the GIL while it hashes.

**Knows:** ``bcrypt.hashpw``, ``bcrypt.checkpw`` (deliberately slow: ~0.1-0.3 s at the
default cost 12), ``bcrypt.kdf``, ``bcrypt.gensalt`` (cheap).

**Pools:** ``hashpw`` and ``checkpw`` run ``bcrypt::hash_with_salt`` inside
``py.allow_threads``: ``CPU_RELEASES_GIL``, so they scale on threads and processes. Under
gevent the greenlet still holds the only OS thread for the whole hash: other greenlets
(and the broker heartbeat) wait.

**Fix:** hashing tasks go to a threads or prefork queue, not gevent.

**Sources:** pyca/bcrypt ``src/_bcrypt/src/lib.rs`` (``py.allow_threads``); bcrypt
README ("Adjustable Work Factor").
"""

from __future__ import annotations

from celery_poolkit.plugins._rows import gil_free
from celery_poolkit.plugins.base import Plugin

_SLOW = "deliberately slow; the hash runs without the GIL"

PLUGIN = Plugin(
    name="bcrypt",
    modules=("bcrypt",),
    distributions=("bcrypt",),
    summary="Password hashing that releases the GIL: threads or prefork, not gevent.",
    calls=(
        gil_free("bcrypt.hashpw", _SLOW),
        gil_free("bcrypt.checkpw", _SLOW),
        gil_free("bcrypt.kdf", "bcrypt_pbkdf: rounds x slow"),
    ),
)
