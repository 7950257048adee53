"""What distillation bought: size, CPU latency, accuracy and fidelity of teacher and students, and export to ONNX/TorchScript.

Measuring and exporting take seconds (the first ONNX export imports the exporter, then traces the network), so
both run off the GUI thread; only their results come back, as signals.
"""

from __future__ import annotations

import copy
from pathlib import Path

from PySide6.QtCore import QObject, QRunnable, Qt, QThread, QThreadPool, Signal
from PySide6.QtWidgets import (
    QComboBox, QFileDialog, QHBoxLayout, QHeaderView, QLabel, QProgressBar, QPushButton, QTableWidget, QTableWidgetItem,
    QVBoxLayout, QWidget,
)
from torch import nn

from ...core.export import export_model, max_abs_difference
from ...core.predict import NamedModel
from ...core.insight import LineupInsight, WhatChanged
from ...core.report import (
    DRAWN_DIGITS, ModelFigures, latency_method, latency_threads, measure_lineup, report_drawn_sets, summary_sentence,
    what_changed_sentence,
)
from ..style import text_style
from ..worker import QtTaskWorker, start_in_thread, wait_for_thread

COLUMNS = ("Network", "Parameters", "On disk", "1 image", "Per image in 256", "Test accuracy", "Drawn digits",
           "Agrees with teacher", "KL from teacher")
COLUMN_TIPS = {
    "Drawn digits": f"Accuracy on {DRAWN_DIGITS} MNIST test digits redrawn as canvas strokes in several pens, sizes, slants "
                    "and places (the mean over the variants)",
    "Agrees with teacher": "Test digits on which the student's top-1 class is the teacher's",
    "KL from teacher": "Mean KL(teacher || student) on the test set at T = 1, in nats: 0 when the student's probabilities "
                       "are the teacher's",
}


def export_and_check(model: nn.Module, path: str) -> tuple[Path, float]:
    """Write ``model`` to ``path`` and compare the file's logits with PyTorch's: (the file, the largest difference).

    Runs in the export's worker thread, on a copy of the network that no view uses.
    """
    written = export_model(model, path)
    return written, max_abs_difference(model, written)


class _Signals(QObject):
    done = Signal(object)  # (dict role -> ModelFigures, WhatChanged or None), or an error message (str)


class _MeasureTask(QRunnable):
    """Times the networks off the GUI thread; only the signal crosses back."""

    def __init__(self, models: list[NamedModel], test_set, repeats: int, drawn_sets=None,  # noqa: ANN001
                 drawn_digits: int = DRAWN_DIGITS, insight: LineupInsight | None = None) -> None:
        super().__init__()
        self.models, self.test_set, self.repeats, self.drawn_digits = models, test_set, repeats, drawn_digits
        self.insight = insight
        self.drawn_sets = drawn_sets  # made here the first time (seconds of thinning and drawing), then kept by the panel
        self.signals = _Signals()

    def run(self) -> None:
        try:
            if self.drawn_sets is None and self.test_set is not None:
                self.drawn_sets = report_drawn_sets(*self.test_set, self.drawn_digits)
            self.signals.done.emit(measure_lineup(self.models, self.test_set, self.repeats, self.drawn_sets, self.insight))
        except Exception as exc:  # noqa: BLE001 - any failure is shown to the user, the app stays usable
            self.signals.done.emit(f"{type(exc).__name__}: {exc}")


class ReportPanel(QWidget):
    """A table of the three networks and one computed sentence; export any of them."""

    measured = Signal()
    exported = Signal(str)  # the file written, once the export's thread has ended
    exportFailed = Signal(str)  # why, in one line, once the export's thread has ended

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.models: list[NamedModel] = []
        self.test_set = None
        self.insight: LineupInsight | None = None
        self.rows: dict[str, ModelFigures] = {}
        self.what_changed: WhatChanged | None = None
        self._drawn_sets = None  # the drawn-digit set of the current test set, once a measurement has made it
        self.repeats = 30
        self.drawn_digits = DRAWN_DIGITS  # test digits redrawn for the "Drawn digits" column (0: none)
        self._task: _MeasureTask | None = None
        self._export: tuple[QThread, QtTaskWorker] | None = None  # the running export: its thread and worker
        self._export_outcome: tuple[str, str] = ("failed", "the export ended without a result")
        self.sentence = QLabel("Press Measure to compare the teacher with the students.")
        self.sentence.setWordWrap(True)
        self.sentence.setStyleSheet("font-size: 14pt; padding: 6px;")
        self.sentence.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.measure_button = QPushButton("Measure")
        self.measure_button.setToolTip("Count parameters and bytes, time each network on this CPU, and score it on the test set")
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        for j, name in enumerate(COLUMNS):
            if name in COLUMN_TIPS:
                self.table.horizontalHeaderItem(j).setToolTip(COLUMN_TIPS[name])
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.export_choice = QComboBox()
        self.export_choice.setToolTip("The network to export")
        self.export_button = QPushButton("Export…")
        self.export_button.setToolTip("Save the chosen network as ONNX (.onnx) or TorchScript (.pt) and check it against PyTorch")
        self.export_busy = QProgressBar()  # a moving bar while an export runs: it takes seconds, the window stays usable
        self.export_busy.setRange(0, 0)
        self.export_busy.setTextVisible(False)
        self.export_busy.setMaximumWidth(90)
        self.export_busy.setToolTip("Exporting…")
        self.export_busy.hide()
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.changed = QLabel("")  # what distillation fixed and broke, once measured with both students
        self.changed.setWordWrap(True)
        self.changed.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.note = QLabel(latency_method(latency_threads()))  # the CLI report's own footnote: one source for both
        self.note.setStyleSheet(text_style("muted"))
        self.note.setWordWrap(True)

        top = QHBoxLayout()
        top.addWidget(self.measure_button)
        top.addStretch(1)
        top.addWidget(QLabel("Export:"))
        top.addWidget(self.export_choice)
        top.addWidget(self.export_button)
        top.addWidget(self.export_busy)
        layout = QVBoxLayout(self)
        layout.addWidget(self.sentence)
        layout.addLayout(top)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.changed)
        layout.addWidget(self.note)
        layout.addWidget(self.status)

        self.measure_button.clicked.connect(self.start_measuring)
        self.export_button.clicked.connect(self._export_clicked)
        self._update_enabled()

    def set_models(self, models: list[NamedModel]) -> None:
        self.models = list(models)
        self.export_choice.clear()
        for m in self.models:
            self.export_choice.addItem(m.label, m.key)
        self.rows = {}
        self.what_changed = None
        self.insight = None  # the new networks' answers on the test set: from set_insight, or computed by Measure
        self.changed.setText("")
        self.table.setRowCount(0)
        self.sentence.setText("Press Measure to compare the teacher with the students." if models else
                              "No networks yet: train a teacher and a student, or use the bundled ones.")
        self._update_enabled()

    def set_test_set(self, x, y) -> None:  # noqa: ANN001 - tensors or None
        self.test_set = (x, y) if x is not None and y is not None else None
        self._drawn_sets = None  # made again from the new test set at the next measurement
        self.insight = None

    def set_insight(self, insight: LineupInsight | None) -> None:
        """The networks' answers on the test set, computed already for the other views: Measure need not redo them."""
        self.insight = insight

    def _update_enabled(self) -> None:
        busy = self._task is not None
        self.measure_button.setEnabled(bool(self.models) and not busy)
        self.export_button.setEnabled(bool(self.models) and not self.exporting)

    # -- measuring ---------------------------------------------------------------------------------
    def start_measuring(self) -> None:
        if not self.models or self._task is not None:
            return
        self._task = _MeasureTask(self.models, self.test_set, self.repeats, self._drawn_sets, self.drawn_digits,
                                  self.insight)
        self._task.signals.done.connect(self._measured)
        self.status.setText("Measuring…")
        self._update_enabled()
        QThreadPool.globalInstance().start(self._task)

    def _measured(self, result) -> None:  # noqa: ANN001 - (rows, what changed) or error text
        task, self._task = self._task, None
        self._update_enabled()
        if isinstance(result, str):
            self.status.setText(f"Measuring failed: {result}")
            return
        if task is not None and task.test_set is self.test_set:
            self._drawn_sets = task.drawn_sets  # the next Measure skips the drawing
        self.rows, self.what_changed = result
        self.sentence.setText(summary_sentence(self.rows))
        self.changed.setText(what_changed_sentence(self.what_changed) if self.what_changed is not None else "")
        self.note.setText(latency_method(next(iter(self.rows.values())).latency_threads) if self.rows else self.note.text())
        self.table.setRowCount(len(self.rows))
        for i, r in enumerate(self.rows.values()):
            cells = (r.label, f"{r.parameters:,}", f"{r.bytes_on_disk / 1e6:.2f} MB", f"{r.latency_batch1_ms:.3f} ms",
                     f"{r.latency_batch256_ms_per_image * 1000:.1f} µs",
                     f"{r.test_acc:.2%}" if r.test_acc is not None else "no test set",
                     f"{r.drawn_acc:.2%}" if r.drawn_acc is not None else "–",
                     f"{r.agreement:.2%}" if r.agreement is not None else "–",
                     f"{r.teacher_kl:.3f}" if r.teacher_kl is not None else "–")
            for j, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if j:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(i, j, item)
        self.status.setText("" if self.test_set is not None else "No test set loaded: accuracies are left out.")
        self.measured.emit()

    # -- export ------------------------------------------------------------------------------------
    @property
    def exporting(self) -> bool:
        return self._export is not None

    def _export_clicked(self) -> None:
        if self.exporting:
            return
        path, _ = QFileDialog.getSaveFileName(self, "Export network", f"{self.export_choice.currentData()}.onnx",
                                              "ONNX (*.onnx);;TorchScript (*.pt)")
        if path:
            self.export_to(path)

    def export_to(self, path: str) -> bool:
        """Start exporting the chosen network to ``path`` and checking it, in a thread; False if it cannot start.

        One export at a time: while one runs the button is off and this returns False. The outcome comes back
        as ``exported`` (the file) or ``exportFailed`` (one line), and in the status line; never raised.
        """
        model = next((m for m in self.models if m.key == self.export_choice.currentData()), None)
        if model is None or self.exporting:
            return False
        network = copy.deepcopy(model.model)  # the thread's own copy: the views go on using theirs on the GUI thread
        worker = QtTaskWorker(lambda: export_and_check(network, path))
        worker.succeeded.connect(self._export_succeeded)
        worker.failed.connect(self._export_failed)
        self._export_outcome = ("failed", "the export ended without a result")
        self.status.setText(f"Exporting {model.label} to {path}…")
        self.export_busy.show()
        self._export = (start_in_thread(worker, self, on_finished=self._export_finished), worker)
        self._update_enabled()
        return True

    def wait_for_export(self, msecs: int = -1) -> bool:
        """Block until a running export has ended (its file written or removed); False if ``msecs`` ran out first.

        For quitting: the app waits here so that no export is cut off half-way. The outcome signals still come
        later, through the event loop.
        """
        return wait_for_thread(self._export[0] if self._export else None, msecs)

    def _export_succeeded(self, result: tuple[Path, float]) -> None:
        written, diff = result
        size = f"{written.stat().st_size:,} bytes" if written.exists() else "size unknown"
        self._export_outcome = ("saved", str(written))
        self.status.setText(f"Saved {written} ({size}); largest difference from PyTorch {diff:.1e}.")

    def _export_failed(self, message: str) -> None:
        line = next((text.strip() for text in message.splitlines() if text.strip()), "unknown error")
        self._export_outcome = ("failed", line)
        self.status.setText(f"Export failed: {line}")

    def _export_finished(self) -> None:
        """The export's thread has ended: the button comes back, then the outcome is announced."""
        self._export = None
        self.export_busy.hide()
        self._update_enabled()
        outcome, text = self._export_outcome
        (self.exported if outcome == "saved" else self.exportFailed).emit(text)
