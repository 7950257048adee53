"""The Qt user interface of kdgui."""

from .qt_compat import protect_singletons

# Before any widget exists: a buggy PySide6 would otherwise crash Python after a few thousand signals.
PYSIDE_REFCOUNT_WORKAROUND = protect_singletons()
