"""cryptography: OpenSSL-backed primitives; cheap except key generation and KDFs.

**Knows:** ``Fernet`` ``encrypt`` / ``decrypt`` (microseconds per message), RSA and EC
key generation (``rsa.generate_private_key``: tens to hundreds of milliseconds for
2048-4096 bits), password KDFs (``PBKDF2HMAC``, ``Scrypt``: ``derive`` / ``verify``,
deliberately slow), X.509 loading (``x509.load_pem_x509_certificate``).

**Pools:** poolkit does not assume these release the GIL (the Rust bindings are not
documented to), so they count as ``CPU``: a task doing many key generations or KDF
derivations scales across processes only. For password hashing prefer ``bcrypt`` or
``hashlib.pbkdf2_hmac``, which are known to release the GIL.

**Sources:** cryptography docs (Fernet, RSA, "Key derivation functions"); bcrypt and
CPython ``hashlib`` sources for the GIL-releasing alternatives.
"""

from __future__ import annotations

from celery_poolkit.plugins._rows import cpu, ctor
from celery_poolkit.plugins.base import Plugin

_F = "cryptography.fernet.Fernet"
_KDF = "cryptography.hazmat.primitives.kdf"
_ASYM = "cryptography.hazmat.primitives.asymmetric"
_SLOW = "deliberately slow key derivation"

PLUGIN = Plugin(
    name="cryptography",
    modules=("cryptography",),
    distributions=("cryptography",),
    summary="OpenSSL primitives: key generation and KDFs are CPU work.",
    calls=(
        ctor(_F, _F),
        cpu(f"{_F}.encrypt", "microseconds per message"),
        cpu(f"{_F}.decrypt", "microseconds per message"),
        cpu(f"{_F}.generate_key"),
        cpu(f"{_ASYM}.rsa.generate_private_key", "prime search: 10-1000 ms"),
        cpu(f"{_ASYM}.ec.generate_private_key"),
        ctor(f"{_KDF}.pbkdf2.PBKDF2HMAC", f"{_KDF}.pbkdf2.PBKDF2HMAC"),
        cpu(f"{_KDF}.pbkdf2.PBKDF2HMAC.derive", _SLOW),
        cpu(f"{_KDF}.pbkdf2.PBKDF2HMAC.verify", _SLOW),
        ctor(f"{_KDF}.scrypt.Scrypt", f"{_KDF}.scrypt.Scrypt"),
        cpu(f"{_KDF}.scrypt.Scrypt.derive", _SLOW),
        cpu(f"{_KDF}.scrypt.Scrypt.verify", _SLOW),
        cpu("cryptography.x509.load_pem_x509_certificate"),
    ),
)
