"""Errors the core raises for bad input; each carries a one-line message for the user."""


class KdguiError(Exception):
    """Base class: the message is complete and fit to show a user as it is."""


class ConfigError(KdguiError, ValueError):
    """A configuration value is out of range or of the wrong kind."""


class DataError(KdguiError):
    """A dataset is missing, truncated or not what it claims to be."""


class RunError(KdguiError):
    """A run folder or weights file is missing, corrupt or not kdgui's."""


class WriteError(RunError, OSError):
    """A file could not be written ("cannot write PATH: No space left on device"), or kdgui refused to replace it.

    Also an OSError (with ``errno`` set when the system gave one), so code that catches OSError around a write
    keeps working; its message is one line, never a traceback.
    """

    def __init__(self, message: str, errno: int | None = None) -> None:
        super().__init__(message)
        self.errno = errno
