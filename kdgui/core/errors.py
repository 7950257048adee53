"""Errors the core raises for bad input; each carries a one-line message for the user."""


class KdguiError(Exception):
    """Base class: the message is complete and fit to show a user as it is."""


class ConfigError(KdguiError, ValueError):
    """A configuration value is out of range or of the wrong kind."""


class DataError(KdguiError):
    """A dataset is missing, truncated or not what it claims to be."""


class RunError(KdguiError):
    """A run folder or weights file is missing, corrupt or not kdgui's."""
