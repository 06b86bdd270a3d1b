"""passlib: password hashing front-end; the backend decides whether the GIL is released.

**Knows:** ``CryptContext`` ``hash`` / ``verify`` / ``verify_and_update``, and the
handlers ``passlib.hash.bcrypt``, ``pbkdf2_sha256``, ``pbkdf2_sha512``, ``argon2``,
``sha512_crypt`` (``hash`` / ``verify``).

**Pools:** the common backends release the GIL: bcrypt (the ``bcrypt`` package),
PBKDF2 (``hashlib.pbkdf2_hmac``) and argon2 (argon2-cffi: cffi releases the GIL during
the C call), so ``CPU_RELEASES_GIL``. ``sha512_crypt`` / ``sha256_crypt`` use the C
``crypt()`` when available and a pure-Python fallback otherwise (holds the GIL); the
fallback also applies to bcrypt when no bcrypt backend is installed.

**Fix:** install the ``bcrypt`` / ``argon2-cffi`` backends; hashing tasks go to threads
or prefork, not gevent.

**Sources:** passlib docs ("CryptContext", "passlib.hash.bcrypt" backends,
"pbkdf2_digest"); cffi docs ("releases the GIL" on calls); CPython ``hashlib``.
"""

from __future__ import annotations

from celery_poolkit.plugins._rows import cpu, ctor, gil_free
from celery_poolkit.plugins.base import Plugin

_CTX = "passlib.context.CryptContext"
_BACKEND = "bcrypt, hashlib and argon2-cffi backends release the GIL"

PLUGIN = Plugin(
    name="passlib",
    modules=("passlib",),
    distributions=("passlib",),
    summary="Password hashing; the usual backends release the GIL.",
    calls=(
        ctor(_CTX, _CTX),
        *(
            gil_free(f"{_CTX}.{name}", _BACKEND)
            for name in ("hash", "verify", "verify_and_update", "encrypt")
        ),
        *(
            gil_free(f"passlib.hash.{handler}.{method}", _BACKEND)
            for handler in ("bcrypt", "pbkdf2_sha256", "pbkdf2_sha512", "argon2")
            for method in ("hash", "verify")
        ),
        *(
            cpu(f"passlib.hash.{handler}.{method}", "C crypt() or a pure-Python fallback")
            for handler in ("sha512_crypt", "sha256_crypt")
            for method in ("hash", "verify")
        ),
    ),
)
