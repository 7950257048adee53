"""A guard against a PySide6 reference-count bug that drops references to None, True and False and crashes Python."""

from __future__ import annotations

import ctypes
import sys

# Far more references than any session can drop (one per signal at most), as Python 3.12 does for immortal objects.
SPARE_REFERENCES = 1 << 40
PROBES = 8


def _drops_references() -> bool:
    """True when this PySide6 build loses a reference to True per ``emit()`` or to None per Python slot call.

    Seen with PySide6 6.12.0 on Python 3.11: ``SignalInstance.emit`` returns True without a new reference, and a
    C++ signal calling a Python slot releases the slot's None result twice. Each signal then takes one reference
    from the singleton until CPython frees it ("bool_dealloc"/"none_dealloc: deallocating ...") and aborts.
    """
    from PySide6.QtCore import QObject, Signal

    class _Probe(QObject):
        ping = Signal()

    probe = _Probe()
    probe.objectNameChanged.connect(lambda _name: None)
    true_before, none_before = sys.getrefcount(True), sys.getrefcount(None)
    for i in range(PROBES):
        probe.ping.emit()
        probe.setObjectName(f"probe {i}")  # a C++ signal into a Python slot
    lost_true = true_before - sys.getrefcount(True)
    lost_none = none_before - sys.getrefcount(None)
    return lost_true >= PROBES // 2 or lost_none >= PROBES // 2


def protect_singletons() -> bool:
    """Give None, True and False spare references if this PySide6 drops them; True when it did."""
    if sys.version_info >= (3, 12) or not _drops_references():
        return False  # 3.12 made these objects immortal; a correct PySide6 needs nothing
    for singleton in (None, True, False):
        ctypes.c_ssize_t.from_address(id(singleton)).value += SPARE_REFERENCES  # ob_refcnt is a PyObject's first field
    return True
