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
