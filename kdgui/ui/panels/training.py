"""The Training panel: a recipe to start from, per-stage optimisation and augmentation, plus seed, data size, device."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QButtonGroup, QCheckBox, QComboBox, QFormLayout, QGridLayout, QGroupBox, QHBoxLayout, QLabel, QPushButton, QStackedWidget,
    QVBoxLayout, QWidget,
)

from ...core.config import (
    AUGMENTATIONS, BEST_AUGMENT, BEST_DISTILL, BEST_SEEDS, BEST_TEACHER_SPEC, LOSS_TITLES, NO_AUGMENT, SCHEDULES, SEED_DISTILL,
    SEED_DISTILL_TRAIN, SEED_STUDENT_TRAIN, SEED_TEACHER_TRAIN, STUDENT_SPEC, TEACHER_SPEC, AugmentConfig, Job, TrainConfig,
    best_jobs, seed_jobs,
)
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
# The augmentation strengths: AugmentConfig's field, the label, and which kinds use it (the core checks the values).
STRENGTHS = (("shift", "Shift (px)", "affine", "Largest shift each way, in pixels."),
             ("rotate", "Rotate (°)", "affine", "Largest rotation either way, in degrees."),
             ("scale", "Scale (±)", "affine", "Largest change of size: 0.1 scales by 0.9 to 1.1."),
             ("shear", "Shear (°)", "affine", "Largest shear either way, in degrees."),
             ("elastic_alpha", "Elastic α", "affine+elastic", "How far the elastic distortion moves pixels (Simard et al.: 34)."),
             ("elastic_sigma", "Elastic σ", "affine+elastic", "How smooth the distortion is: its Gaussian's width in pixels (Simard: 4)."))


def _first(jobs: dict[str, Any]) -> dict[str, Job]:
    return {stage: job[0] if isinstance(job, list) else job for stage, job in jobs.items()}


def _loss_words(loss: str) -> str:
    return LOSS_TITLES[loss].split(":")[0]


# The recipes a user can start from: (title, what it is, its jobs per stage). Both come from kdgui.core.config.
RECIPES = {
    "seed": ("The seed experiment",
             f"The seed's settings: an MLP teacher {TEACHER_SPEC.describe()}, a {STUDENT_SPEC.describe()} student, Adam at a "
             f"constant learning rate, no augmentation; distillation at T={SEED_DISTILL.temperature:g} with "
             f"{_loss_words(SEED_DISTILL.loss)}, alpha {SEED_DISTILL.alpha:g}.", _first(seed_jobs())),
    "best": ("Best student recipe",
             f"The best {STUDENT_SPEC.describe()} student measured: a CNN teacher ({BEST_TEACHER_SPEC.describe()}); every stage "
             f"trains on augmented images ({BEST_AUGMENT.describe()}) with a one-cycle schedule; distillation at "
             f"T={BEST_DISTILL.temperature:g} with the {_loss_words(BEST_DISTILL.loss)} loss, alpha {BEST_DISTILL.alpha:g}. "
             f"kdgui-cli reproduce --recipe best trains it on all images with {BEST_SEEDS} seeds per student.", _first(best_jobs())),
}


class StageForm(QWidget):
    """One stage's epochs, learning rate and its schedule, batch size, evaluation interval, weight decay and augmentation."""

    changed = Signal()
    augmentForAll = Signal(object)  # this stage's AugmentConfig, for every stage

    def __init__(self, stage: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.stage = stage
        seed = SEED_TRAIN[stage]
        title = STAGE_TITLES[stage].lower()
        self.epochs = NumberField(f"{title} epochs", integer=True, low=1, high=10_000, value=seed.epochs,
                                  hint="Passes over the training images.")
        self.lr = NumberField(f"{title} learning rate", integer=False, low=0.0, high=10.0, low_open=True, value=seed.lr,
                              hint="Adam's step size, e.g. 0.0005; with a schedule, its peak.")
        self.batch_size = NumberField(f"{title} batch size", integer=True, low=1, high=65_536, value=seed.batch_size, step=10,
                                      hint="Images per optimiser step.")
        self.eval_every = NumberField(f"{title} evaluation interval", integer=True, low=0, high=10_000_000, value=seed.eval_every,
                                      step=10, hint="Measure validation and test accuracy every N batches; 0 = only at epoch ends.")
        self.schedule_combo = QComboBox()
        for key, text in SCHEDULES.items():
            self.schedule_combo.addItem(_short(text), key)
            self.schedule_combo.setItemData(self.schedule_combo.count() - 1, text, Qt.ItemDataRole.ToolTipRole)
        _compact(self.schedule_combo)
        self.schedule_combo.setToolTip("How the learning rate changes over the run's batches; the learning rate above is the peak.")
        self.weight_decay = NumberField(f"{title} weight decay", integer=False, low=0.0, high=10.0, value=seed.weight_decay,
                                        hint="Decoupled weight decay (AdamW) when above 0, e.g. 0.0001; 0 = plain Adam.")
        self.augment_combo = QComboBox()
        for key, text in AUGMENTATIONS.items():
            self.augment_combo.addItem(_short(text), key)
            self.augment_combo.setItemData(self.augment_combo.count() - 1, text, Qt.ItemDataRole.ToolTipRole)
        _compact(self.augment_combo)
        self.augment_combo.setToolTip("Random distortions of every training batch, drawn afresh each batch (for Distil: of the "
                                      "transfer set, and the teacher answers on the same distorted images).")
        self.all_stages_button = QPushButton("This augmentation for all stages")
        self.all_stages_button.setToolTip("Give the teacher, the student and the distillation this augmentation, so they are "
                                          "compared on equal terms")
        self.all_stages_button.clicked.connect(lambda: self.augmentForAll.emit(self.augment()))
        self.strengths: dict[str, NumberField] = {}
        self.strength_kinds: dict[str, str] = {}
        self.strength_box = QWidget()
        grid = QGridLayout(self.strength_box)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setHorizontalSpacing(6)
        grid.setVerticalSpacing(3)
        self._strength_labels: dict[str, QLabel] = {}
        for i, (name, label, kind, hint) in enumerate(STRENGTHS):
            field = NumberField(f"{title} augmentation {label.split(' (')[0].lower()}", integer=False, low=0.0, high=1000.0,
                                value=getattr(NO_AUGMENT, name), hint=hint)
            self.strengths[name], self.strength_kinds[name] = field, kind
            self._strength_labels[name] = QLabel(label)
            grid.addWidget(self._strength_labels[name], i // 2, (i % 2) * 2)
            grid.addWidget(field, i // 2, (i % 2) * 2 + 1)
        grid.setColumnStretch(1, 1)
        grid.setColumnStretch(3, 1)
        form = QFormLayout(self)
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow("Epochs", self.epochs)
        form.addRow("Learning rate", self.lr)
        form.addRow("Schedule", self.schedule_combo)
        form.addRow("Batch size", self.batch_size)
        form.addRow("Weight decay", self.weight_decay)
        form.addRow("Evaluate every", _with_unit(self.eval_every, "batches"))
        form.addRow("Augmentation", self.augment_combo)
        form.addRow(self.strength_box)
        form.addRow(self.all_stages_button)
        for field in [self.epochs, self.lr, self.batch_size, self.eval_every, self.weight_decay, *self.strengths.values()]:
            field.valueChanged.connect(self.changed)
        self.schedule_combo.currentIndexChanged.connect(self.changed)
        self.augment_combo.currentIndexChanged.connect(self._show_strengths)
        self._show_strengths()

    def _used(self, name: str) -> bool:
        kind = self.augment_combo.currentData()
        return kind != "none" and (self.strength_kinds[name] == "affine" or kind == "affine+elastic")

    def _show_strengths(self) -> None:
        for name, field in self.strengths.items():
            field.setVisible(self._used(name))
            self._strength_labels[name].setVisible(self._used(name))
        self.strength_box.setVisible(self.augment_combo.currentData() != "none")
        self.changed.emit()

    def fields(self) -> list[NumberField]:
        """The fields whose values the stage uses now (an unused strength does not block a run)."""
        used = [field for name, field in self.strengths.items() if self._used(name)]
        return [self.epochs, self.lr, self.batch_size, self.eval_every, self.weight_decay, *used]

    def augment(self) -> AugmentConfig:
        """This stage's augmentation (ConfigError with the core's reason when a strength is refused)."""
        kind = self.augment_combo.currentData()
        if kind == "none":
            return NO_AUGMENT
        values = {name: float(field.value()) for name, field in self.strengths.items() if self._used(name) and field.value() is not None}
        return AugmentConfig(kind=kind, **values)

    def set_augment(self, augment: AugmentConfig) -> None:
        for name, field in self.strengths.items():
            field.setValue(getattr(augment, name))
        self.augment_combo.setCurrentIndex(max(0, self.augment_combo.findData(augment.kind)))

    def set_config(self, config: TrainConfig) -> None:
        self.epochs.setValue(config.epochs)
        self.lr.setValue(config.lr)
        self.batch_size.setValue(config.batch_size)
        self.eval_every.setValue(config.eval_every)
        self.schedule_combo.setCurrentIndex(max(0, self.schedule_combo.findData(config.schedule)))
        self.weight_decay.setValue(config.weight_decay)
        self.set_augment(config.augment)

    def state(self) -> dict[str, Any]:
        values = {k: getattr(self, k).value() for k in ("epochs", "lr", "batch_size", "eval_every", "weight_decay")}
        strengths = {name: field.value() for name, field in self.strengths.items() if field.value() is not None}
        return {**values, "schedule": self.schedule_combo.currentData(),
                "augment": {"kind": self.augment_combo.currentData(), **strengths}}


def _short(title: str) -> str:
    """A title's words before its colon ("One cycle" of "One cycle: warm up..."): the combo's text; the tooltip has it all."""
    return title.split(":")[0]


def _compact(combo: QComboBox, characters: int = 12) -> None:
    """Long titles shorten rather than widen the panel; the item's tooltip keeps the whole title."""
    combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    combo.setMinimumContentsLength(characters)


def _with_unit(field: QWidget, unit: str) -> QWidget:
    box = QWidget()
    row = QHBoxLayout(box)
    row.setContentsMargins(0, 0, 0, 0)
    row.addWidget(field, 1)
    row.addWidget(QLabel(unit))
    return box


class TrainingPanel(QWidget):
    """``train_config(stage)`` builds the TrainConfig a stage's button uses (None while an input is refused).

    Applying a recipe fills the stages here and emits ``recipeChosen`` with its jobs, for the Networks and
    Distillation panels to take their part.
    """

    changed = Signal()
    recipeChosen = Signal(object)  # {stage: Job} of the recipe applied

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
            self.forms[stage].augmentForAll.connect(self.set_augment_everywhere)
        self.stage_group.idClicked.connect(lambda i: self.select_stage(STAGES[i]))
        self.recipe_combo = QComboBox()
        for key, (title, about, _) in RECIPES.items():
            self.recipe_combo.addItem(title, key)
            self.recipe_combo.setItemData(self.recipe_combo.count() - 1, about, Qt.ItemDataRole.ToolTipRole)
        _compact(self.recipe_combo)
        self.apply_button = QPushButton("Apply")
        self.apply_button.clicked.connect(lambda: self.apply_recipe(self.recipe()))
        self.reset_button = QPushButton()
        self.reset_button.clicked.connect(lambda: self.forms[self.stage()].set_config(self._recipe_train(self.stage())))
        self.recipe_combo.currentIndexChanged.connect(self._recipe_shown)
        recipe_row = QHBoxLayout()
        recipe_row.addWidget(QLabel("Recipe"))
        recipe_row.addWidget(self.recipe_combo, 1)
        recipe_row.addWidget(self.apply_button)
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
        stage_layout.addWidget(self.reset_button)

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
        layout.addLayout(recipe_row)
        layout.addWidget(stage_box)
        layout.addWidget(common)
        layout.addWidget(self.problem_label)
        layout.addStretch(1)
        self.size_combo.currentIndexChanged.connect(self._update)
        self.seed.valueChanged.connect(self._update)
        self.device_combo.currentIndexChanged.connect(self._update)
        self.keep_best_box.toggled.connect(self._update)
        self._recipe_shown()
        self.select_stage("teacher")

    # -- recipes --------------------------------------------------------------------------------------
    def recipe(self) -> str:
        return self.recipe_combo.currentData()

    def _recipe_train(self, stage: str) -> TrainConfig:
        return RECIPES[self.recipe()][2][stage].train

    def _recipe_shown(self) -> None:
        title, about, _ = RECIPES[self.recipe()]
        self.recipe_combo.setToolTip(f"{title}: {about}")
        self.apply_button.setToolTip(f"Fill the Networks, Training and Distillation panels with {title.lower()}: {about}\n"
                                     "The training-set size, seed and device stay as they are.")
        short = "Seed's" if self.recipe() == "seed" else "Recipe's"
        self.reset_button.setText(f"{short} values for this stage")
        self.reset_button.setToolTip(f"Put this stage back to {title.lower()}'s epochs, learning rate, schedule, batch size, "
                                     "interval, weight decay and augmentation")

    def select_recipe(self, name: str) -> None:
        self.recipe_combo.setCurrentIndex(max(0, self.recipe_combo.findData(name)))

    def apply_recipe(self, name: str) -> None:
        """Every stage to the recipe's values here; ``recipeChosen`` hands its networks and distillation on."""
        self.select_recipe(name)
        jobs = RECIPES[name][2]
        for stage in STAGES:
            self.forms[stage].set_config(jobs[stage].train)
        self.keep_best_box.setChecked(jobs["teacher"].train.keep_best)
        self.recipeChosen.emit(jobs)

    def set_augment_everywhere(self, augment: AugmentConfig) -> None:
        for form in self.forms.values():
            form.set_augment(augment)

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
        found = []
        for name in [stage] if stage else STAGES:
            fields = [f.problem() for f in self.forms[name].fields() if f.problem()]
            if not fields and not self.seed.problem():
                try:
                    self._build(name)
                except ConfigError as exc:  # the core's reason, e.g. a rotation above 90°
                    fields.append(f"{STAGE_TITLES[name].lower()}: {exc}")
            found += fields
        if self.seed.problem():
            found.append(self.seed.problem())
        return found

    def _build(self, stage: str) -> TrainConfig:
        form = self.forms[stage]
        return TrainConfig(epochs=form.epochs.value(), lr=float(form.lr.value()), batch_size=form.batch_size.value(),
                           seed=self.seed.value(), eval_every=form.eval_every.value(), device=self.device(),
                           train_limit=self.train_limit(), keep_best=self.keep_best_box.isChecked(),
                           schedule=form.schedule_combo.currentData(), weight_decay=float(form.weight_decay.value()),
                           augment=form.augment())

    def train_config(self, stage: str) -> TrainConfig | None:
        if any(f.problem() for f in self.forms[stage].fields()) or self.seed.problem():
            return None
        try:
            return self._build(stage)
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
            augmented = f" Images: {config.augment.describe()}." if config.augment.active else ""
            self.steps_label.setText(f"{STAGE_TITLES[stage]}: {batches:,} batches per epoch × {config.epochs} epochs = "
                                     f"{batches * config.epochs:,} steps; accuracy measured {when}.{kept}{augmented}")
        self.problem_label.show_problems(self.problems())
        self.changed.emit()

    def state(self) -> dict[str, Any]:
        stages = {stage: self.forms[stage].state() for stage in STAGES}
        return {"stages": stages, "train_limit": self.train_limit(), "seed": self.seed.value(), "device": self.device(),
                "keep_best": self.keep_best_box.isChecked(), "stage": self.stage(), "recipe": self.recipe()}

    def restore(self, state: dict[str, Any]) -> str | None:
        """Put back saved settings; returns a note for the user when one could not be honoured."""
        note = None
        for stage, values in (state.get("stages") or {}).items():
            if stage in self.forms and isinstance(values, dict):
                try:
                    if isinstance(values.get("augment"), dict):  # settings saved before augmentation have none
                        values = {**values, "augment": AugmentConfig(**values["augment"])}
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
        if state.get("recipe") in RECIPES:
            self.select_recipe(state["recipe"])
        if state.get("stage") in STAGES:
            self.select_stage(state["stage"])
        return note

    def load_job_config(self, stage: str, config: TrainConfig) -> None:
        """Show a saved run's settings (reopening it): its stage's values (schedule, augmentation...), seed, data size, device."""
        self.forms[stage].set_config(config)
        self.seed.setValue(config.seed)
        self.set_train_limit(config.train_limit)
        self.set_device(config.device)
        self.keep_best_box.setChecked(config.keep_best)
        self.select_stage(stage)


def _button_name(stage: str) -> str:
    return {"teacher": "Train teacher", "student": "Train student", "distilled": "Distil"}[stage]
