"""Password hashing: CPU work in C that releases the GIL (OpenSSL's PBKDF2)."""

from __future__ import annotations

import hashlib

from celery import shared_task


@shared_task(queue="cpu_nogil")
def hash_password(iterations: int) -> str:
    return hashlib.pbkdf2_hmac("sha256", b"correct horse", b"battery staple", iterations).hex()
