"""The run bar: Train teacher / Train student / Distil, Pause/Resume and Stop, and a progress bar with time spent and left."""

from __future__ import annotations

import math

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QProgressBar, QPushButton, QWidget

from ...core.events import Progress, TimeLeft

START_BUTTONS = {"teacher": "Train teacher", "student": "Train student", "distilled": "Distil"}
PROGRESS_STEPS = 1000


def describe_time(elapsed: float, left: float | None, done: bool) -> str:
    """The progress bar's time words: '0:42 in, about 1:10 left', 'estimating…' early on, 'finishing…' after the last step."""
    spent = f"{format_seconds(elapsed)} in"
    if done:
        return f"{spent}, finishing…"
    if left is None:
        return f"{spent}, estimating time left…"
    return f"{spent}, about {format_seconds(max(left, 1.0))} left"


def format_seconds(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "…"
    seconds = max(0, round(seconds))
    if seconds >= 3600:
        return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"
    return f"{seconds // 60}:{seconds % 60:02d}"


class RunControls(QWidget):
    """Buttons say why they are disabled in their tooltip; ``set_running`` switches between idle and training."""

    startRequested = Signal(str)  # stage: teacher, student or distilled
    pauseToggled = Signal(bool)  # True: pause
    stopRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.start_buttons: dict[str, QPushButton] = {}
        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 2, 4, 2)
        for stage, text in START_BUTTONS.items():
            button = QPushButton(text)
            button.setMinimumWidth(button.fontMetrics().horizontalAdvance(text) + 28)
            button.clicked.connect(lambda _=False, s=stage: self.startRequested.emit(s))
            self.start_buttons[stage] = button
            layout.addWidget(button)
        layout.addSpacing(10)
        self.pause_button = QPushButton("Pause")
        self.pause_button.setCheckable(True)
        self.pause_button.toggled.connect(self._pause_toggled)
        self.stop_button = QPushButton("Stop")
        self.stop_button.setToolTip("Stop training; the partial run is kept on disk, marked stopped")
        self.stop_button.clicked.connect(self.stopRequested)
        layout.addWidget(self.pause_button)
        layout.addWidget(self.stop_button)
        self.progress = QProgressBar()
        self.progress.setRange(0, PROGRESS_STEPS)
        self.progress.setTextVisible(True)
        self.progress.setMinimumWidth(160)
        self.progress.setAccessibleName("progress")
        self.time_left = TimeLeft()
        layout.addWidget(self.progress, 1)
        self.set_running(False)

    def set_start_state(self, stage: str, enabled: bool, tooltip: str) -> None:
        button = self.start_buttons[stage]
        button.setEnabled(enabled)
        button.setToolTip(tooltip)

    def set_running(self, running: bool, title: str = "") -> None:
        self.pause_button.blockSignals(True)
        self.pause_button.setChecked(False)
        self.pause_button.setText("Pause")
        self.pause_button.blockSignals(False)
        self.pause_button.setEnabled(running)
        self.stop_button.setEnabled(running)
        self.pause_button.setToolTip("Pause training (it waits between batches)" if running else "Nothing is training")
        if not running:
            self.stop_button.setToolTip("Nothing is training")
            if self.progress.value() <= 0:
                self.progress.setValue(0)
                self.progress.setFormat("Idle: choose a step above and press its button")
        else:
            self.stop_button.setToolTip("Stop training; the partial run is kept on disk, marked stopped")
            self.time_left.reset()
            self.progress.setValue(0)
            self.progress.setFormat(f"{title}: loading data…")

    def show_message(self, text: str, fraction: float | None = None) -> None:
        if fraction is not None:
            self.progress.setValue(round(fraction * PROGRESS_STEPS))
        self.progress.setFormat(text)

    def show_progress(self, title: str, p: Progress) -> None:
        """Epoch, batch, training time so far (pauses excluded) and the estimate of what is left."""
        self.time_left.add(p)
        self.progress.setValue(round(p.fraction * PROGRESS_STEPS))
        paused = " · paused" if self.pause_button.isChecked() else ""
        when = describe_time(p.elapsed, self.time_left.seconds_left(), p.step >= p.total_steps)
        self.progress.setFormat(f"{title} · epoch {p.epoch}/{p.epochs} · batch {p.batch}/{p.batches_per_epoch} · {when}{paused}")
        self.progress.setToolTip(self.progress.format())

    def _pause_toggled(self, paused: bool) -> None:
        self.pause_button.setText("Resume" if paused else "Pause")
        self.pause_button.setToolTip("Continue training" if paused else "Pause training (it waits between batches)")
        fmt = self.progress.format()
        if paused and not fmt.endswith(" · paused"):
            self.progress.setFormat(fmt + " · paused")
        elif not paused:
            self.progress.setFormat(fmt.removesuffix(" · paused"))
        self.pauseToggled.emit(paused)
