"""A scrolling grid of test-digit thumbnails: one list view whose model draws each icon when it first shows."""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
import torch
from PySide6.QtCore import QAbstractListModel, QModelIndex, QPersistentModelIndex, QSize, Qt, Signal
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import QAbstractItemView, QListView, QWidget

THUMB = 42  # 1.5 screen pixels per MNIST pixel: a stroke still reads, two hundred fit on a screen
INDEX_ROLE = Qt.ItemDataRole.UserRole + 1


class DigitListModel(QAbstractListModel):
    """Test digits by index; the thumbnails are made on demand (a list may hold thousands) and kept."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.images: np.ndarray | None = None  # [N, 28, 28] uint8 paper (255 = white), the whole test set
        self.indices: list[int] = []
        self.describe: Callable[[int], str] = lambda i: f"test #{i}"
        self._pixmaps: dict[int, QPixmap] = {}

    def set_images(self, x: torch.Tensor | None) -> None:
        """The test set [N, 784] in [0, 1], once; ink is drawn dark on white, like the canvas."""
        self.beginResetModel()
        self.images = None if x is None else (255 - (x.reshape(-1, 28, 28).clamp(0, 1) * 255).round()).to(torch.uint8).numpy()
        self._pixmaps = {}
        self.indices = []
        self.endResetModel()

    def set_indices(self, indices: Sequence[int], describe: Callable[[int], str] | None = None) -> None:
        self.beginResetModel()
        self.indices = [int(i) for i in indices] if self.images is not None else []
        if describe is not None:
            self.describe = describe
        self.endResetModel()

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: N802, B008 - Qt's
        return 0 if parent.isValid() else len(self.indices)

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole):  # noqa: ANN201
        if not index.isValid() or not 0 <= index.row() < len(self.indices):
            return None
        test_index = self.indices[index.row()]
        if role == Qt.ItemDataRole.DecorationRole:
            return self._pixmap(test_index)
        if role in (Qt.ItemDataRole.ToolTipRole, Qt.ItemDataRole.AccessibleTextRole):
            return self.describe(test_index)
        if role == INDEX_ROLE:
            return test_index
        return None

    def _pixmap(self, test_index: int) -> QPixmap:
        pixmap = self._pixmaps.get(test_index)
        if pixmap is None:
            pixels = np.ascontiguousarray(self.images[test_index])
            image = QImage(pixels.data, 28, 28, 28, QImage.Format.Format_Grayscale8).copy()  # copy: numpy owns the bytes
            pixmap = self._pixmaps[test_index] = QPixmap.fromImage(image.scaled(
                THUMB, THUMB, Qt.AspectRatioMode.IgnoreAspectRatio, Qt.TransformationMode.SmoothTransformation))
        return pixmap


class DigitList(QListView):
    """Thumbnails in rows that wrap; ``chosen(index)`` when one is selected, ``opened(index)`` on a double click or Enter."""

    chosen = Signal(int)  # a test-set index
    opened = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.digits = DigitListModel(self)
        self.setModel(self.digits)
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setFlow(QListView.Flow.LeftToRight)
        self.setWrapping(True)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setMovement(QListView.Movement.Static)
        self.setUniformItemSizes(True)  # thousands of items lay out at once
        self.setIconSize(QSize(THUMB, THUMB))
        self.setGridSize(QSize(THUMB + 6, THUMB + 6))
        self.setSpacing(0)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setMinimumSize(THUMB * 3, THUMB + 12)
        self.selectionModel().currentChanged.connect(self._current_changed)
        self.activated.connect(lambda index: self.opened.emit(int(index.data(INDEX_ROLE))))

    def set_images(self, x: torch.Tensor | None) -> None:
        self.digits.set_images(x)

    def set_indices(self, indices: Sequence[int], describe: Callable[[int], str] | None = None) -> None:
        """Show these test digits (in this order); the first is selected, so its details show at once."""
        self.digits.set_indices(indices, describe)
        if self.digits.indices:
            self.setCurrentIndex(self.digits.index(0))
        self.scrollToTop()

    def indices(self) -> list[int]:
        return list(self.digits.indices)

    def current(self) -> int | None:
        index = self.currentIndex()
        return int(index.data(INDEX_ROLE)) if index.isValid() else None

    def select(self, test_index: int) -> bool:
        """Select the thumbnail of test digit ``test_index``; False if it is not in the list."""
        if test_index not in self.digits.indices:
            return False
        self.setCurrentIndex(self.digits.index(self.digits.indices.index(test_index)))
        return True

    def _current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if current.isValid():
            self.chosen.emit(int(current.data(INDEX_ROLE)))
