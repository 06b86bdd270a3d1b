"""Product image processing: CPU-bound work (the ``images`` queue)."""

from __future__ import annotations

import hashlib
from pathlib import Path

from PIL import Image

from shop.celery import app


@app.task(queue="images")
def make_thumbnail(source: str, size: int = 256) -> str:
    src = Path(source)
    target = src.with_name(f"{src.stem}.thumb{size}.png")
    with Image.open(src) as image:
        image.thumbnail((size, size))
        image.save(target, format="PNG")
    return str(target)


@app.task(queue="images")
def fingerprint(source: str, rounds: int = 20_000) -> str:
    """A perceptual-style fingerprint computed in pure Python: holds the GIL throughout."""
    digest = Path(source).read_bytes()
    for _ in range(rounds):
        digest = hashlib.sha256(digest).digest()
    return digest.hex()
