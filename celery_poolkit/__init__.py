"""celery-poolkit: pick, launch and trust a Celery worker pool.

This module must stay import-light: ``import celery_poolkit; celery_poolkit.patch()`` has
to be a safe first line of a worker's entry point, so nothing that monkey patching must
precede (celery, ssl, socket, threading, ...) may be imported here. Public names are
resolved lazily through the module ``__getattr__`` below (the pluggy pattern).
"""

from __future__ import annotations

# Not `from typing import TYPE_CHECKING`: importing typing (and the re, enum and
# collections it loads) was 8 of the 9 ms this import cost in a clean venv
# (benchmarks/importtime.py). Type checkers treat this constant the same way.
TYPE_CHECKING = False
if TYPE_CHECKING:  # at run time __getattr__ loads these lazily
    from typing import Any

    from celery_poolkit.bootstrap import patch as patch
    from celery_poolkit.worker.step import install as install

__all__ = ["__version__", "install", "patch"]


def __getattr__(name: str) -> Any:
    if name == "patch":
        # The bootstrap package is itself import-light (it never imports celery), but it
        # is only loaded when someone patches.
        from celery_poolkit.bootstrap import patch

        return patch
    if name == "install":
        # The bootstep imports celery and click: only apps that install it pay for them.
        from celery_poolkit.worker.step import install

        return install
    if name == "__version__":
        # importlib.metadata is only loaded when someone asks for the version.
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("celery-poolkit")
        except PackageNotFoundError:  # running from a source tree that was never installed
            return "0+unknown"
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
