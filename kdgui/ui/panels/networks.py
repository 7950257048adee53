"""The Networks panel: teacher and student layers, dropout and activation, with parameter counts and their ratio."""

from __future__ import annotations

import dataclasses
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox, QFormLayout, QGroupBox, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget,
)

from ...core.config import (
    ACTIVATIONS, ARCHITECTURES, BEST_TEACHER_SPEC, CONV_KERNELS, MAX_CONV_BLOCKS, POOLINGS, STUDENT_SPEC, TEACHER_SPEC, Job, NetSpec,
)
from ...core.errors import ConfigError
from ...core.models import human_bytes, parameter_count, size_bytes
from ..style import text_style
from ..widgets.layer_editor import IntListField, LayerListEditor
from ..widgets.number_field import NumberField
from ..widgets.problem_label import ProblemLabel

ACTIVATION_NAMES = {"relu": "ReLU", "tanh": "tanh", "gelu": "GELU", "sigmoid": "sigmoid", "leaky_relu": "leaky ReLU"}


def _compact(combo: QComboBox) -> None:
    """A long title shortens rather than widen the panel (the settings column is narrow on a small screen)."""
    combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    combo.setMinimumContentsLength(12)


def _check_conv(conv: tuple[int, ...]) -> NetSpec:
    return NetSpec(hidden=(), arch="cnn", conv=conv)  # the core's rules for the conv blocks alone


class NetworkEditor(QGroupBox):
    """One network: architecture (with ``allow_cnn``), conv blocks, dense layers, activation and input dropout.

    ``spec()`` is None while something is refused. Switching the architecture keeps what was set for each, starting
    a CNN from the best recipe's teacher (conv 32-64, one dense layer of 128).
    """

    changed = Signal()

    def __init__(self, role: str, title: str, preset: NetSpec, parent: QWidget | None = None, *, allow_cnn: bool = False) -> None:
        super().__init__(title, parent)
        self.role = role
        self.preset = preset
        self.allow_cnn = allow_cnn
        self._by_arch = {"mlp": preset if not preset.is_cnn else TEACHER_SPEC, "cnn": BEST_TEACHER_SPEC}
        self.arch_combo = QComboBox()
        for key, text in ARCHITECTURES.items():
            self.arch_combo.addItem(text, key)
        _compact(self.arch_combo)
        self.arch_combo.setToolTip("MLP: fully connected layers on the 784 pixels.\nCNN: conv blocks (convolution, activation, "
                                   "2×2 pooling) on the 28×28 image, then the dense layers.")
        self.conv = IntListField(f"{role}: conv channels", _check_conv, BEST_TEACHER_SPEC.conv,
                                 hint=f"Channels of each conv block, comma-separated, 1 to {MAX_CONV_BLOCKS} blocks; "
                                      "each block halves the image side (28, 14, 7, 3, 1).")
        self.kernel_combo = QComboBox()
        for k in CONV_KERNELS:
            self.kernel_combo.addItem(f"{k}×{k}", k)
        self.kernel_combo.setToolTip("The convolutions' kernel size (padded, so the side stays until the pooling).")
        self.pool_combo = QComboBox()
        for key, text in POOLINGS.items():
            self.pool_combo.addItem(text.split()[0], key)  # "Max", "Average": the row's label says pooling
            self.pool_combo.setItemData(self.pool_combo.count() - 1, text, Qt.ItemDataRole.ToolTipRole)
        self.pool_combo.setToolTip("How each block halves the side: the largest or the mean of each 2×2 square.")
        self.layers = LayerListEditor(role, preset.hidden, preset.dropout)
        self.dense_label = QLabel("Dense layers after the conv blocks (none: straight to the 10 outputs)")
        self.dense_label.setStyleSheet(text_style("muted"))
        self.dense_label.setWordWrap(True)
        self.activation_combo = QComboBox()
        for key in ACTIVATIONS:
            self.activation_combo.addItem(ACTIVATION_NAMES[key], key)
        self.input_dropout = NumberField(f"{role}: input dropout", integer=False, low=0.0, high=0.95, value=preset.input_dropout,
                                         hint="Fraction of input pixels zeroed while training (Hinton et al. used 0.2 for big nets).")
        reset = QPushButton(f"Seed's {role} ({preset.describe()})")
        reset.setToolTip(f"Go back to the seed experiment's {role}: {preset.describe()}")
        reset.clicked.connect(lambda: self.set_spec(self.preset))
        self.summary = QLabel()
        self.summary.setStyleSheet(text_style("muted"))
        self.summary.setWordWrap(True)
        top = QFormLayout()
        top.addRow("Architecture", self.arch_combo)
        top.addRow("Conv channels", self.conv)
        conv_row = QWidget()
        row = QHBoxLayout(conv_row)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.kernel_combo, 1)
        row.addWidget(self.pool_combo, 1)
        top.addRow("Kernel, pooling", conv_row)
        self._top = top
        self._cnn_rows = (self.conv, conv_row)
        form = QFormLayout()
        form.addRow("Activation", self.activation_combo)
        form.addRow("Input dropout", self.input_dropout)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.dense_label)
        layout.addWidget(self.layers)
        layout.addLayout(form)
        layout.addWidget(self.summary)
        layout.addWidget(reset)
        self.layers.changed.connect(self.changed)
        self.arch_combo.currentIndexChanged.connect(self._arch_chosen)
        for combo in (self.activation_combo, self.kernel_combo, self.pool_combo):
            combo.currentIndexChanged.connect(self.changed)
        self.conv.valueChanged.connect(self.changed)
        self.input_dropout.valueChanged.connect(self.changed)
        self.set_spec(preset)

    def arch(self) -> str:
        return self.arch_combo.currentData()

    def _show_arch(self, arch: str) -> None:
        cnn = arch == "cnn"
        self._top.setRowVisible(self.arch_combo, self.allow_cnn or cnn)  # a CNN student (a CLI run reopened) still shows
        for widget in self._cnn_rows:
            self._top.setRowVisible(widget, cnn)
        self.dense_label.setVisible(cnn)
        self.layers.set_min_layers(0 if cnn else 1)

    def _arch_chosen(self) -> None:
        """The user switched the architecture: keep the other one's layers, bring back this one's."""
        arch, previous = self.arch(), "mlp" if self.arch() == "cnn" else "cnn"
        current = self._build_or_none(previous)
        if current is not None:
            self._by_arch[previous] = current
        keep = {"activation": self.activation_combo.currentData(), "input_dropout": self.input_dropout.value() or 0.0}
        self.set_spec(dataclasses.replace(self._by_arch[arch], **keep))

    def _build_or_none(self, arch: str) -> NetSpec | None:
        try:
            return self._build(arch)
        except (ConfigError, TypeError):
            return None

    def problems(self) -> list[str]:
        fields = [self.input_dropout.problem()] + ([self.conv.problem()] if self.arch() == "cnn" else [])
        found = self.layers.problems() + [p for p in fields if p]
        if not found:
            try:
                self._build()
            except ConfigError as exc:
                found.append(f"{self.role}: {exc}")
        return found

    def _build(self, arch: str | None = None) -> NetSpec:
        arch = arch or self.arch()
        cnn = arch == "cnn"
        return NetSpec(hidden=self.layers.hidden(), dropout=self.layers.dropout(), activation=self.activation_combo.currentData(),
                       input_dropout=float(self.input_dropout.value()), arch=arch, conv=self.conv.value() if cnn else (),
                       kernel=self.kernel_combo.currentData(), pool=self.pool_combo.currentData())

    def spec(self) -> NetSpec | None:
        if self.layers.hidden() is None or self.layers.dropout() is None or self.input_dropout.value() is None:
            return None
        if self.arch() == "cnn" and self.conv.value() is None:
            return None
        try:
            return self._build()
        except ConfigError:
            return None

    def set_spec(self, spec: NetSpec) -> None:
        self.arch_combo.blockSignals(True)  # set_spec is not the user switching: nothing to swap
        self.arch_combo.setCurrentIndex(max(0, self.arch_combo.findData(spec.arch)))
        self.arch_combo.blockSignals(False)
        self._show_arch(spec.arch)
        if spec.is_cnn:
            self.conv.setValue(spec.conv)
        self.kernel_combo.setCurrentIndex(max(0, self.kernel_combo.findData(spec.kernel)))
        self.pool_combo.setCurrentIndex(max(0, self.pool_combo.findData(spec.pool)))
        self.layers.set_layers(spec.hidden, spec.dropout)
        self.activation_combo.setCurrentIndex(max(0, self.activation_combo.findData(spec.activation)))
        self.input_dropout.setValue(spec.input_dropout)


class NetworksPanel(QWidget):
    """``teacher_spec()``/``student_spec()`` give NetSpecs (None while invalid); ``changed`` on every edit."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.teacher = NetworkEditor("teacher", "Teacher: the big network", TEACHER_SPEC, allow_cnn=True)
        self.student = NetworkEditor("student", "Student: the small network", STUDENT_SPEC)
        self.ratio_label = QLabel()
        self.ratio_label.setWordWrap(True)
        self.ratio_label.setStyleSheet("font-weight: bold;")
        self.problem_label = ProblemLabel()
        intro = QLabel("Steps 2 and 3. Both take 784 pixels to 10 outputs; the teacher may be an MLP or a CNN, the student "
                       "is an MLP trained twice: from labels (the baseline) and from the teacher (distilled).")
        intro.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.teacher)
        layout.addWidget(self.student)
        layout.addWidget(self.ratio_label)
        layout.addWidget(self.problem_label)
        layout.addStretch(1)
        for editor in (self.teacher, self.student):
            editor.changed.connect(self._update)
        self._update()

    def teacher_spec(self) -> NetSpec | None:
        return self.teacher.spec()

    def student_spec(self) -> NetSpec | None:
        return self.student.spec()

    def problems(self, role: str | None = None) -> list[str]:
        editors = [self.teacher, self.student] if role is None else [self.teacher if role == "teacher" else self.student]
        return [p for e in editors for p in e.problems()]

    def _update(self) -> None:
        specs = {}
        for editor in (self.teacher, self.student):
            spec = editor.spec()
            specs[editor.role] = spec
            if spec is None:
                editor.summary.setText("—")
            else:
                editor.summary.setText(
                    f"{spec.describe()}: {parameter_count(spec):,} parameters ({human_bytes(size_bytes(spec))} as float32)"
                )
        if specs["teacher"] and specs["student"]:
            ratio = parameter_count(specs["teacher"]) / parameter_count(specs["student"])
            self.ratio_label.setText(f"Size ratio teacher / student: {ratio:.1f}×")
        else:
            self.ratio_label.setText("Size ratio teacher / student: fix the inputs marked in red")
        self.problem_label.show_problems(self.problems())
        self.changed.emit()

    def state(self) -> dict[str, Any]:
        return {role: _spec_dict(spec) for role, spec in (("teacher", self.teacher.spec()), ("student", self.student.spec())) if spec}

    def apply_recipe(self, jobs: dict[str, Job]) -> None:
        """Take the teacher's and the student's networks of a recipe (the Training panel's choice)."""
        self.teacher.set_spec(jobs["teacher"].net)
        self.student.set_spec(jobs["student"].net)

    def restore(self, state: dict[str, Any]) -> None:
        for editor in (self.teacher, self.student):
            data = state.get(editor.role)
            if isinstance(data, dict):
                try:
                    editor.set_spec(NetSpec(**{k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}))
                except (ConfigError, TypeError):
                    pass  # an old or hand-edited setting: keep the seed's network


def _spec_dict(spec: NetSpec) -> dict[str, Any]:
    return {"hidden": list(spec.hidden), "dropout": list(spec.dropout), "activation": spec.activation,
            "input_dropout": spec.input_dropout, "arch": spec.arch, "conv": list(spec.conv), "kernel": spec.kernel,
            "pool": spec.pool}
