"""Ending a benchmark that built Qt widgets: delete them while the QApplication and the interpreter are whole.

A widget that outlives ``main()`` is destroyed by PySide's atexit teardown while Python is finalising, in an
order that can free a pyqtgraph scene before the items that still point into it: the process then ended with a
segmentation fault (exit 139) after printing its figures. ``dispose`` closes the widgets, deletes them and runs
the deferred deletions now, before ``main()`` returns.
"""

from __future__ import annotations

import gc
from typing import Any


def dispose(*objects: Any) -> None:  # noqa: ANN401 - QWidgets or QObjects
    """Close and delete ``objects`` (widgets, windows, QObjects) now, then let Qt run the deletions it deferred."""
    import shiboken6
    from PySide6.QtCore import QCoreApplication, QEvent

    for obj in objects:
        if obj is None or not shiboken6.isValid(obj):
            continue
        if hasattr(obj, "close"):
            obj.close()
        obj.deleteLater()
    app = QCoreApplication.instance()
    for _ in range(3):
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
        if app is not None:
            app.processEvents()
    gc.collect()
