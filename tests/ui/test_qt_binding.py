"""The installed Qt binding keeps Python's reference counts straight (PySide6 6.12.0 on Python 3.11 did not)."""

import sys

import pytest
from PySide6.QtWidgets import QGraphicsRectItem, QGraphicsScene, QWidget


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="None is immortal from Python 3.12 on")
def test_void_qt_calls_do_not_drain_the_reference_count_of_none(qapp):
    widget = QWidget()
    scene = QGraphicsScene()
    item = QGraphicsRectItem(0, 0, 1, 1)
    scene.addItem(item)
    before = sys.getrefcount(None)
    for _ in range(1000):
        widget.setToolTip("x")  # returns None
        item.setPos(1, 1)
        item.parentItem()  # returns None: no parent
    # A broken binding loses one reference per call (3000 here) and the interpreter aborts once None's count hits 0.
    assert sys.getrefcount(None) - before > -100
