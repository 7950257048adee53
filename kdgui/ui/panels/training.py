"""The Training panel: per-stage epochs, learning rate, batch size and evaluation interval, plus seed, data size, device."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QButtonGroup, QCheckBox, QComboBox, QFormLayout, QGroupBox, QHBoxLayout, QLabel, QPushButton, QStackedWidget, QVBoxLayout, QWidget,
)

from ...core.config import SEED_DISTILL_TRAIN, SEED_STUDENT_TRAIN, SEED_TEACHER_TRAIN, TrainConfig
from ...core.errors import ConfigError
from ...core.history import MNIST_TRAIN_IMAGES
from ...core.training import available_devices
from ..style import text_style
from ..widgets.number_field import NumberField
from ..widgets.problem_label import ProblemLabel

STAGES = ("teacher", "student", "distilled")
STAGE_TITLES = {"teacher": "Teacher", "student": "Student", "distilled": "Distil"}
SEED_TRAIN = {"teacher": SEED_TEACHER_TRAIN, "student": SEED_STUDENT_TRAIN, "distilled": SEED_DISTILL_TRAIN}
# Quick sizes let a CPU show moving curves in seconds; None is the seed's full 50,000.
TRAIN_SIZES = ((1_000, "1,000 images (a few seconds)"), (5_000, "5,000 images (quick)"), (10_000, "10,000 images"),
               (None, f"All {MNIST_TRAIN_IMAGES:,} images (the seed)"))
DEFAULT_TRAIN_SIZE = 5_000


class StageForm(QWidget):
    """Epochs, learning rate, batch size and evaluation interval of one stage, starting at the seed's values."""

    changed = Signal()

    def __init__(self, stage: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.stage = stage
        seed = SEED_TRAIN[stage]
        title = STAGE_TITLES[stage].lower()
        self.epochs = NumberField(f"{title} epochs", integer=True, low=1, high=10_000, value=seed.epochs,
                                  hint="Passes over the training images.")
        self.lr = NumberField(f"{title} learning rate", integer=False, low=0.0, high=10.0, low_open=True, value=seed.lr,
                              hint="Adam's step size, e.g. 0.0005.")
        self.batch_size = NumberField(f"{title} batch size", integer=True, low=1, high=65_536, value=seed.batch_size, step=10,
                                      hint="Images per optimiser step.")
        self.eval_every = NumberField(f"{title} evaluation interval", integer=True, low=0, high=10_000_000, value=seed.eval_every,
                                      step=10, hint="Measure validation and test accuracy every N batches; 0 = only at epoch ends.")
        form = QFormLayout(self)
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow("Epochs", self.epochs)
        form.addRow("Learning rate", self.lr)
        form.addRow("Batch size", self.batch_size)
        form.addRow("Evaluate every", _with_unit(self.eval_every, "batches"))
        for field in self.fields():
            field.valueChanged.connect(self.changed)

    def fields(self) -> list[NumberField]:
        return [self.epochs, self.lr, self.batch_size, self.eval_every]

    def set_config(self, config: TrainConfig) -> None:
        self.epochs.setValue(config.epochs)
        self.lr.setValue(config.lr)
        self.batch_size.setValue(config.batch_size)
        self.eval_every.setValue(config.eval_every)


def _with_unit(field: QWidget, unit: str) -> QWidget:
    box = QWidget()
    row = QHBoxLayout(box)
    row.setContentsMargins(0, 0, 0, 0)
    row.addWidget(field, 1)
    row.addWidget(QLabel(unit))
    return box


class TrainingPanel(QWidget):
    """``train_config(stage)`` builds the TrainConfig a stage's button uses (None while an input is refused)."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.forms = {stage: StageForm(stage) for stage in STAGES}
        self.stack = QStackedWidget()
        self.stage_group = QButtonGroup(self)
        self.stage_buttons: dict[str, QPushButton] = {}
        stage_row = QHBoxLayout()
        stage_row.setSpacing(0)
        for i, stage in enumerate(STAGES):
            self.stack.addWidget(self.forms[stage])
            button = QPushButton(STAGE_TITLES[stage])
            button.setCheckable(True)
            button.setToolTip(f"Edit the settings the '{_button_name(stage)}' button uses")
            self.stage_group.addButton(button, i)
            self.stage_buttons[stage] = button
            stage_row.addWidget(button)
            self.forms[stage].changed.connect(self._update)
        self.stage_group.idClicked.connect(lambda i: self.select_stage(STAGES[i]))
        reset = QPushButton("Seed's values")
        reset.setToolTip("Put this stage back to the seed experiment's epochs, learning rate, batch size and interval")
        reset.clicked.connect(lambda: self.forms[self.stage()].set_config(SEED_TRAIN[self.stage()]))
        self.steps_label = QLabel()
        self.steps_label.setWordWrap(True)
        self.steps_label.setStyleSheet(text_style("muted"))

        stage_box = QGroupBox("Per stage")
        stage_layout = QVBoxLayout(stage_box)
        explain = QLabel("Each button (Train teacher, Train student, Distil) keeps its own settings. Pick the stage to edit:")
        explain.setWordWrap(True)
        stage_layout.addWidget(explain)
        stage_layout.addLayout(stage_row)
        stage_layout.addWidget(self.stack)
        stage_layout.addWidget(self.steps_label)
        stage_layout.addWidget(reset)

        self.size_combo = QComboBox()
        self.size_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.size_combo.setMinimumContentsLength(14)
        for limit, text in TRAIN_SIZES:
            self.size_combo.addItem(text, limit)
        self.size_combo.setCurrentIndex(self.size_combo.findData(DEFAULT_TRAIN_SIZE))
        self.size_combo.setToolTip("Fewer images train much faster on a CPU; the seed used all 50,000.\n"
                                   "Validation and test always use their full 10,000 images.")
        self.seed = NumberField("seed", integer=True, low=0, high=2**32 - 1, value=0, hint="Same seed, same run: initial weights, shuffling, dropout.")
        self.device_combo = QComboBox()
        self.device_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.device_combo.setMinimumContentsLength(14)
        self.device_combo.addItem("Auto (a GPU if there is one)", "auto")
        for name, description in available_devices():
            self.device_combo.addItem(description, name)
        self.device_combo.setToolTip("Where the networks train. Lists the CPU and every CUDA or MPS device PyTorch sees.")
        self.keep_best_box = QCheckBox("Keep the best epoch (validation)")
        self.keep_best_box.setChecked(SEED_TEACHER_TRAIN.keep_best)
        self.keep_best_box.setToolTip("At the end, go back to the epoch-end weights that scored best on the validation set\n"
                                      "(never the test set), as the seed did by stopping at about 20 epochs.")
        common = QGroupBox("All stages")
        common_form = QFormLayout(common)
        common_form.addRow("Training set", self.size_combo)
        common_form.addRow("Seed", self.seed)
        common_form.addRow("Device", self.device_combo)
        common_form.addRow(self.keep_best_box)

        self.problem_label = ProblemLabel()
        layout = QVBoxLayout(self)
        layout.addWidget(stage_box)
        layout.addWidget(common)
        layout.addWidget(self.problem_label)
        layout.addStretch(1)
        self.size_combo.currentIndexChanged.connect(self._update)
        self.seed.valueChanged.connect(self._update)
        self.device_combo.currentIndexChanged.connect(self._update)
        self.keep_best_box.toggled.connect(self._update)
        self.select_stage("teacher")

    def stage(self) -> str:
        return STAGES[self.stack.currentIndex()]

    def select_stage(self, stage: str) -> None:
        self.stack.setCurrentWidget(self.forms[stage])
        self.stage_buttons[stage].setChecked(True)
        self._update()

    def train_limit(self) -> int | None:
        return self.size_combo.currentData()

    def set_train_limit(self, limit: int | None) -> None:
        """Select a training-set size, adding it to the list when it is not one of the presets."""
        index = self.size_combo.findData(limit)
        if index < 0 and limit is not None and limit > 0:
            self.size_combo.addItem(f"{limit:,} images", limit)
            index = self.size_combo.count() - 1
        if index >= 0:
            self.size_combo.setCurrentIndex(index)

    def device(self) -> str:
        return self.device_combo.currentData()

    def set_device(self, name: str) -> bool:
        """Select ``name``; False (and Auto selected) when this machine does not have it."""
        index = self.device_combo.findData(name)
        self.device_combo.setCurrentIndex(max(index, 0))
        return index >= 0

    def problems(self, stage: str | None = None) -> list[str]:
        forms = [self.forms[stage]] if stage else list(self.forms.values())
        found = [f.problem() for form in forms for f in form.fields() if f.problem()]
        if self.seed.problem():
            found.append(self.seed.problem())
        return found

    def train_config(self, stage: str) -> TrainConfig | None:
        if self.problems(stage):
            return None
        form = self.forms[stage]
        try:
            return TrainConfig(epochs=form.epochs.value(), lr=float(form.lr.value()), batch_size=form.batch_size.value(),
                               seed=self.seed.value(), eval_every=form.eval_every.value(), device=self.device(),
                               train_limit=self.train_limit(), keep_best=self.keep_best_box.isChecked())
        except ConfigError:
            return None

    def _update(self) -> None:
        stage = self.stage()
        config = self.train_config(stage)
        if config is None:
            self.steps_label.setText("")
        else:
            images = min(config.train_limit or MNIST_TRAIN_IMAGES, MNIST_TRAIN_IMAGES)
            batches = math.ceil(images / config.batch_size)
            when = f"every {config.eval_every} batches and at each epoch end" if config.eval_every else "at each epoch end"
            kept = " The best epoch on validation is kept." if config.keep_best else " The last epoch is kept."
            self.steps_label.setText(f"{STAGE_TITLES[stage]}: {batches:,} batches per epoch × {config.epochs} epochs = "
                                     f"{batches * config.epochs:,} steps; accuracy measured {when}.{kept}")
        self.problem_label.show_problems(self.problems())
        self.changed.emit()

    def state(self) -> dict[str, Any]:
        stages = {}
        for stage in STAGES:
            form = self.forms[stage]
            stages[stage] = {k: getattr(form, k).value() for k in ("epochs", "lr", "batch_size", "eval_every")}
        return {"stages": stages, "train_limit": self.train_limit(), "seed": self.seed.value(), "device": self.device(),
                "keep_best": self.keep_best_box.isChecked(), "stage": self.stage()}

    def restore(self, state: dict[str, Any]) -> str | None:
        """Put back saved settings; returns a note for the user when one could not be honoured."""
        note = None
        for stage, values in (state.get("stages") or {}).items():
            if stage in self.forms and isinstance(values, dict):
                try:
                    self.forms[stage].set_config(dataclasses.replace(SEED_TRAIN[stage], **values))
                except (ConfigError, TypeError):
                    pass  # an old or hand-edited setting: keep the seed's values
        if "train_limit" in state and (state["train_limit"] is None or isinstance(state["train_limit"], int)):
            self.set_train_limit(state["train_limit"])
        if isinstance(state.get("seed"), int):
            self.seed.setValue(state["seed"])
        if state.get("device") and not self.set_device(state["device"]):
            note = f"Device {state['device']} from last time is not available: using Auto"
        if isinstance(state.get("keep_best"), bool):
            self.keep_best_box.setChecked(state["keep_best"])
        if state.get("stage") in STAGES:
            self.select_stage(state["stage"])
        return note

    def load_job_config(self, stage: str, config: TrainConfig) -> None:
        """Show a saved run's settings (reopening it): its stage's values, seed, data size and device."""
        self.forms[stage].set_config(config)
        self.seed.setValue(config.seed)
        self.set_train_limit(config.train_limit)
        self.set_device(config.device)
        self.keep_best_box.setChecked(config.keep_best)
        self.select_stage(stage)


def _button_name(stage: str) -> str:
    return {"teacher": "Train teacher", "student": "Train student", "distilled": "Distil"}[stage]
