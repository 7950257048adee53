"""The Data panel: which dataset, which folder, whether its four files are there, and a Download button."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox, QComboBox, QFileDialog, QFormLayout, QHBoxLayout, QLabel, QLineEdit, QProgressBar, QPushButton,
    QVBoxLayout, QWidget,
)

from ...core import data as core_data
from ...core.config import DATASETS
from ...core.errors import DataError
from ..style import text_colour
from ..worker import QtTaskWorker

DOWNLOAD_SIZES = {"mnist": "about 12 MB", "fashion-mnist": "about 30 MB", "kmnist": "about 20 MB"}


def file_report(data_dir: Path, dataset: str) -> list[tuple[str, str | None]]:
    """(file name, problem or None) for each of the four raw files."""
    folder = core_data.raw_folder(data_dir, dataset)
    report = []
    for name, magic, count in core_data.RAW_FILES:
        try:
            core_data.check_idx_file(folder / name, magic, count)
            report.append((name, None))
        except DataError as exc:
            report.append((name, "missing" if not (folder / name).exists() else str(exc).replace(str(folder / name), "file")))
    return report


class DataPanel(QWidget):
    """Emits ``changed`` when the dataset, folder or readiness changes; ``ready`` says whether training can load it."""

    changed = Signal()
    downloadFinished = Signal(str)  # "" on success, else the core's one-line message

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ready = False
        self.override_text = ""
        self._download: tuple[threading.Thread, QtTaskWorker] | None = None

        self.dataset_combo = QComboBox()
        for key in DATASETS:
            self.dataset_combo.addItem(core_data.DISPLAY_NAMES[key], key)
        self.dataset_combo.setToolTip("MNIST: handwritten digits (the paper's). Fashion-MNIST: clothing. KMNIST: Japanese cursive characters.")
        self.folder_edit = QLineEdit(str(core_data.resolve_data_dir().resolve()))
        self.folder_edit.setToolTip("Holds <Dataset>/raw/ with the four *-ubyte files (torchvision's layout).\n"
                                    f"Default: ${core_data.DATA_DIR_ENV}, else your user data folder.")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        folder_row = QHBoxLayout()
        folder_row.addWidget(self.folder_edit, 1)
        folder_row.addWidget(browse)
        self.standardize_box = QCheckBox("Standardise pixels (mean 0, std 1)")
        self.standardize_box.setToolTip("Subtract the training mean and divide by the std. The seed used raw pixels in [0, 1].")

        form = QFormLayout()
        form.addRow("Dataset", self.dataset_combo)
        form.addRow("Data folder", folder_row)
        form.addRow(self.standardize_box)

        self.status_label = QLabel()
        self.status_label.setWordWrap(True)
        self.status_label.setTextFormat(Qt.TextFormat.RichText)
        self.status_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.download_button = QPushButton("Download")
        self.download_button.clicked.connect(self.start_download)
        self.check_button = QPushButton("Check again")
        self.check_button.clicked.connect(self.check)
        self.busy_bar = QProgressBar()
        self.busy_bar.setRange(0, 0)  # torchvision reports no progress to us: show that work is going on
        self.busy_bar.setTextVisible(False)
        self.busy_bar.hide()
        buttons = QHBoxLayout()
        buttons.addWidget(self.download_button)
        buttons.addWidget(self.check_button)
        buttons.addStretch(1)

        layout = QVBoxLayout(self)
        intro = QLabel("Step 1. The networks learn from 28×28 grey images in ten classes: 50,000 to train, "
                       "10,000 to validate, 10,000 to test.")
        intro.setWordWrap(True)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(self.status_label)
        layout.addWidget(self.busy_bar)
        layout.addLayout(buttons)
        layout.addStretch(1)

        self.dataset_combo.currentIndexChanged.connect(self.check)
        self.folder_edit.editingFinished.connect(self.check)
        self.standardize_box.toggled.connect(self.changed)
        self.check()

    # -- what training needs -------------------------------------------------------------------------
    def dataset(self) -> str:
        return self.dataset_combo.currentData()

    def data_dir(self) -> Path:
        return Path(self.folder_edit.text().strip() or str(core_data.resolve_data_dir())).expanduser()

    def standardize(self) -> bool:
        return self.standardize_box.isChecked()

    def downloading(self) -> bool:
        return self._download is not None

    def set_override(self, text: str) -> None:
        """Training uses in-memory data (tests, benchmarks): the panel says so and counts as ready."""
        self.override_text = text
        self.check()

    # -- checking and downloading --------------------------------------------------------------------
    def check(self) -> None:
        dataset, folder = self.dataset(), self.data_dir()
        name = core_data.DISPLAY_NAMES[dataset]
        OK, ERROR = text_colour("ok"), text_colour("error")  # noqa: N806 - read as constants in the HTML below
        if self.override_text:
            self.ready = True
            self._show(f"<b style='color:{OK}'>✓ {self.override_text}</b>", download=False)
        elif folder.exists() and not folder.is_dir():
            self.ready = False
            self._show(f"<b style='color:{ERROR}'>✗ {folder} is a file, not a folder.</b> Choose a folder.", download=False)
        else:
            report = file_report(folder, dataset)
            self.ready = all(problem is None for _, problem in report)
            raw = core_data.raw_folder(folder, dataset)
            if self.ready:
                self._show(f"<b style='color:{OK}'>✓ {name} is ready</b> in {raw}", download=False)
            else:
                rows = "".join(
                    f"<li>{'✓' if problem is None else '✗'} <tt>{file}</tt>{'' if problem is None else ' — ' + problem}</li>"
                    for file, problem in report
                )
                self._show(
                    f"<b style='color:{ERROR}'>✗ {name} is not ready.</b> These four files are needed in<br><tt>{raw}</tt>"
                    f"<ul style='margin:2px'>{rows}</ul>Press <b>Download</b> ({DOWNLOAD_SIZES[dataset]}, needs internet), "
                    "copy the files there, or choose a folder that has them.",
                    download=True,
                )
        self.changed.emit()

    def _show(self, html: str, *, download: bool) -> None:
        self.status_label.setText(html)
        self.download_button.setVisible(download)
        self.download_button.setEnabled(download and not self.downloading())

    def start_download(self) -> None:
        if self.downloading():
            return
        dataset, folder = self.dataset(), self.data_dir()
        worker = QtTaskWorker(lambda: core_data.download_dataset(folder, dataset))
        worker.succeeded.connect(lambda _: self._download_done(None))
        worker.failed.connect(self._download_done)
        # A daemon thread: a download cannot be interrupted, and it must not keep the app open on quit.
        thread = threading.Thread(target=worker.run, name="kdgui-download", daemon=True)
        self._download = (thread, worker)
        self.busy_bar.show()
        self.download_button.setEnabled(False)
        self.download_button.setText(f"Downloading {core_data.DISPLAY_NAMES[dataset]}…")
        self.dataset_combo.setEnabled(False)
        self.folder_edit.setEnabled(False)
        self.changed.emit()
        thread.start()

    def _download_done(self, error: str | None) -> None:
        self._download = None
        self.busy_bar.hide()
        self.download_button.setText("Download")
        self.dataset_combo.setEnabled(True)
        self.folder_edit.setEnabled(True)
        self.check()
        if error:
            self.status_label.setText(
                self.status_label.text()
                + f"<p style='color:{text_colour('error')}'><b>Download failed:</b> {error}</p>"
                "<p>No internet here? Copy the four files into the folder above from a machine that has them.</p>"
            )
        self.downloadFinished.emit(error or "")

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Folder that holds the datasets", str(self.data_dir()))
        if folder:
            self.folder_edit.setText(folder)
            self.check()

    # -- settings ------------------------------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        return {"dataset": self.dataset(), "folder": str(self.data_dir()), "standardize": self.standardize()}

    def restore(self, state: dict[str, Any]) -> None:
        index = self.dataset_combo.findData(state.get("dataset"))
        if index >= 0:
            self.dataset_combo.setCurrentIndex(index)
        self.standardize_box.setChecked(bool(state.get("standardize", False)))
        # The environment variable beats a remembered folder, so tests and scripts can point elsewhere.
        folder = state.get("folder")
        if folder and not os.environ.get(core_data.DATA_DIR_ENV):
            self.folder_edit.setText(str(folder))
        self.check()
