"""The Distillation panel: which teacher, temperature, alpha, loss and transfer set the student learns from."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox, QComboBox, QFormLayout, QGridLayout, QLabel, QVBoxLayout, QWidget,
)

from ...core.config import LOSS_TITLES, NUM_CLASSES, SEED_DISTILL, TRANSFER_TITLES, DistillConfig, Job
from ...core.errors import ConfigError
from ...core.runs import Run
from ..style import text_style
from ..temperature_model import TemperatureModel
from ..widgets.number_field import NumberField
from ..widgets.problem_label import ProblemLabel
from ..widgets.temperature_slider import TemperatureSlider

LOSS_HELP = {
    "soft_mse": "Mean squared difference of softmax(z/T) of student and teacher. With α < 1 the rest is cross-entropy on labels.",
    "hinton": "KL divergence of the softened outputs, scaled by T² so gradients keep their size, mixed with label cross-entropy.",
}
TRANSFER_HELP = {
    "train": "The student sees the training images and copies the teacher's softened outputs on them.",
    "leave_out": "The student never sees the ticked classes; can it still recognise them from the teacher's soft targets?",
    "noise": "Uniform random pixels: there are no labels, so only the teacher's outputs teach (α must be 1).",
    "jitter": "Training images shifted randomly by up to N pixels each batch; the teacher labels every shifted copy.",
    "other": "Drawn Latin letters, never a digit and never labelled: only the teacher's outputs teach (α must be 1).",
}


def teacher_choice_text(label: str, run: Run, accuracy: float | None) -> str:
    acc = f" · test {accuracy:.1%}" if accuracy is not None else ""
    status = "" if run.status == "finished" else f" [{run.status}]"
    return f"{label}{status}{acc} · {run.job.net.describe()}"


class DistillationPanel(QWidget):
    """``distill_config()`` and ``teacher_run_id()`` say what a Distil run uses (None while refused or missing)."""

    changed = Signal()

    def __init__(self, temperature: TemperatureModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.temperature_model = temperature
        self.teacher_combo = QComboBox()
        self.teacher_combo.setToolTip("The trained teacher whose softened outputs the student learns from.\n"
                                      "Choose one here or with 'Use as teacher' in the Runs panel.")
        self.teacher_combo.setMinimumContentsLength(14)
        self.teacher_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.slider = TemperatureSlider(temperature.temperature)
        self.alpha = NumberField("alpha", integer=False, low=0.0, high=1.0, value=SEED_DISTILL.alpha,
                                 hint="Weight of the teacher's soft targets; 1 − alpha goes to the true labels.")
        self.loss_combo = QComboBox()
        for key, text in LOSS_TITLES.items():
            self.loss_combo.addItem(text, key)
        self.transfer_combo = QComboBox()
        for combo in (self.loss_combo, self.transfer_combo):  # long names shorten rather than widen the panel
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(14)
        for key, text in TRANSFER_TITLES.items():
            self.transfer_combo.addItem(text, key)
        self.leave_out_boxes = [QCheckBox(str(c)) for c in range(NUM_CLASSES)]
        self.leave_out_widget = QWidget()
        grid = QGridLayout(self.leave_out_widget)
        grid.setContentsMargins(0, 0, 0, 0)
        for c, box in enumerate(self.leave_out_boxes):
            box.setToolTip(f"Leave class {c} out of the transfer set")
            grid.addWidget(box, c // 5, c % 5)
            box.toggled.connect(self._update)
        self.leave_out_label = QLabel("Leave out")
        self.jitter = NumberField("jitter", integer=True, low=0, high=8, value=SEED_DISTILL.jitter_pixels,
                                  hint="Largest shift in pixels, 0 to 8.")
        self.jitter_label = QLabel("Shift up to (pixels)")
        self.help_label = QLabel()
        self.help_label.setWordWrap(True)
        self.help_label.setStyleSheet(text_style("muted"))
        self.problem_label = ProblemLabel()

        form = QFormLayout()
        form.addRow("Teacher", self.teacher_combo)
        form.addRow("Temperature T", self.slider)
        form.addRow("Alpha (soft weight)", self.alpha)
        form.addRow("Loss", self.loss_combo)
        form.addRow("Transfer set", self.transfer_combo)
        form.addRow(self.leave_out_label, self.leave_out_widget)
        form.addRow(self.jitter_label, self.jitter)
        intro = QLabel("Step 4. The student (its network is on the Networks panel) learns from the teacher's outputs "
                       "softened by T: softmax(z/T). Higher T shows more of how the teacher ranks the wrong classes.")
        intro.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(self.help_label)
        layout.addWidget(self.problem_label)
        layout.addStretch(1)

        # The slider drives the one shared temperature; other views move the slider through the model.
        self.slider.temperatureChanged.connect(temperature.setTemperature)
        temperature.temperatureChanged.connect(self._model_changed)
        self.slider.field.valueChanged.connect(self._update)
        self.alpha.valueChanged.connect(self._update)
        self.jitter.valueChanged.connect(self._update)
        self.loss_combo.currentIndexChanged.connect(self._update)
        self.transfer_combo.currentIndexChanged.connect(self._update)
        self.teacher_combo.currentIndexChanged.connect(self._update)
        self.set_teachers([], {})

    # -- teachers -----------------------------------------------------------------------------------
    def set_teachers(self, runs: list[Run], accuracies: dict[str, float | None], labels: dict[str, str] | None = None,
                     prefer: str | None = None) -> None:
        """List the teachers with weights (newest first), keeping the current choice unless ``prefer`` names one."""
        keep = prefer or self.teacher_run_id()
        self.teacher_combo.blockSignals(True)
        self.teacher_combo.clear()
        for run in sorted(runs, key=lambda r: (r.status == "finished", r.meta.get("created", "")), reverse=True):
            text = teacher_choice_text((labels or {}).get(run.id, run.name), run, accuracies.get(run.id))
            self.teacher_combo.addItem(text, run.id)
            self.teacher_combo.setItemData(self.teacher_combo.count() - 1, f"{text}\nrun {run.id}", Qt.ItemDataRole.ToolTipRole)
        if not runs:
            self.teacher_combo.addItem("No trained teacher yet: train one first", None)
        index = self.teacher_combo.findData(keep) if keep else -1
        self.teacher_combo.setCurrentIndex(max(index, 0))
        self.teacher_combo.setEnabled(bool(runs))
        self.teacher_combo.blockSignals(False)
        self._update()

    def teacher_run_id(self) -> str | None:
        return self.teacher_combo.currentData()

    def select_teacher(self, run_id: str) -> bool:
        index = self.teacher_combo.findData(run_id)
        if index >= 0:
            self.teacher_combo.setCurrentIndex(index)
        return index >= 0

    # -- settings -----------------------------------------------------------------------------------
    def _model_changed(self, t: float) -> None:
        if self.slider.temperature() != t:
            self.slider.setTemperature(t)
        self._update()

    def leave_out(self) -> tuple[int, ...]:
        return tuple(c for c, box in enumerate(self.leave_out_boxes) if box.isChecked())

    def _fields(self) -> list[NumberField]:
        return [self.slider.field, self.alpha, self.jitter]

    def problems(self) -> list[str]:
        found = [f.problem() for f in self._fields() if f.problem()]
        if not found:
            try:
                self._build()
            except ConfigError as exc:
                found.append(str(exc))
        return found

    def _build(self) -> DistillConfig:
        return DistillConfig(
            temperature=float(self.slider.field.value()), alpha=float(self.alpha.value()), loss=self.loss_combo.currentData(),
            transfer=self.transfer_combo.currentData(), leave_out=self.leave_out(), jitter_pixels=int(self.jitter.value()),
        )

    def distill_config(self) -> DistillConfig | None:
        if any(f.problem() for f in self._fields()):
            return None
        try:
            return self._build()
        except ConfigError:
            return None

    def set_config(self, config: DistillConfig) -> None:
        self.temperature_model.setTemperature(config.temperature)
        self.slider.setTemperature(config.temperature)
        self.alpha.setValue(config.alpha)
        self.loss_combo.setCurrentIndex(max(0, self.loss_combo.findData(config.loss)))
        self.transfer_combo.setCurrentIndex(max(0, self.transfer_combo.findData(config.transfer)))
        for c, box in enumerate(self.leave_out_boxes):
            box.setChecked(c in config.leave_out)
        self.jitter.setValue(config.jitter_pixels)

    def apply_recipe(self, jobs: dict[str, Job]) -> None:
        """Take a recipe's distillation settings (the Training panel's choice); the chosen teacher stays."""
        self.set_config(jobs["distilled"].distill)

    def _update(self) -> None:
        transfer = self.transfer_combo.currentData()
        for widget in (self.leave_out_label, self.leave_out_widget):
            widget.setVisible(transfer == "leave_out")
        for widget in (self.jitter_label, self.jitter):
            widget.setVisible(transfer == "jitter")
        self.help_label.setText(f"{LOSS_HELP[self.loss_combo.currentData()]}\n{TRANSFER_HELP[transfer]}")
        self.problem_label.show_problems(self.problems())
        self.changed.emit()

    def state(self) -> dict[str, Any]:
        return {"temperature": self.slider.field.value(), "alpha": self.alpha.value(), "loss": self.loss_combo.currentData(),
                "transfer": self.transfer_combo.currentData(), "leave_out": list(self.leave_out()),
                "jitter_pixels": self.jitter.value(), "teacher_run": self.teacher_run_id()}

    def restore(self, state: dict[str, Any]) -> None:
        values = {k: tuple(v) if isinstance(v, list) else v for k, v in state.items() if k != "teacher_run"}
        try:
            self.set_config(DistillConfig(**values))
        except (ConfigError, TypeError, ValueError):
            pass  # an old or hand-edited setting: keep the seed's values
        if state.get("teacher_run"):
            self.select_teacher(state["teacher_run"])
