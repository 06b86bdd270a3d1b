"""The exceptions poolkit raises. Only the CLI turns them into exit codes."""

from __future__ import annotations


class PoolkitError(Exception):
    """Base class of every error poolkit raises on purpose.

    The message always says what to do next, because it is what a user reads.
    """


class ConfigError(PoolkitError):
    """A configuration (CLI options, ``[tool.poolkit]``, app config) is invalid."""


class DidNotEnable(PoolkitError):
    """A plugin's library is missing or too old: the plugin stays off.

    Swallowed for plugins that poolkit enables by default, raised for plugins the user
    asked for explicitly (the sentry-sdk convention).
    """


class PoolSelectionError(ConfigError):
    """The pool to patch for cannot be told: an unknown name, ``-P`` with no value, or two
    sources (argv, environment, app config) that disagree. Raised before anything is
    patched, so the process is never left half-patched."""


class PatchError(PoolkitError):
    """Monkey patching cannot be done safely here: the library is missing, another green
    library already patched the process, or the call came from a non-main thread."""


class PatchOrderError(PatchError):
    """``patch(strict=True)`` found modules that were imported before patching and
    captured unpatched objects. Nothing was patched; ``hazards`` says which and what to do.
    """

    def __init__(self, message: str, hazards: tuple[object, ...] = ()) -> None:
        super().__init__(message)
        self.hazards = hazards
