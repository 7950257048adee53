"""The Networks panel: teacher and student layers, dropout and activation, with parameter counts and their ratio."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QFormLayout, QGroupBox, QLabel, QPushButton, QVBoxLayout, QWidget

from ...core.config import ACTIVATIONS, STUDENT_SPEC, TEACHER_SPEC, NetSpec
from ...core.errors import ConfigError
from ...core.models import human_bytes, parameter_count, size_bytes
from ..style import text_style
from ..widgets.layer_editor import LayerListEditor
from ..widgets.number_field import NumberField
from ..widgets.problem_label import ProblemLabel

ACTIVATION_NAMES = {"relu": "ReLU", "tanh": "tanh", "gelu": "GELU", "sigmoid": "sigmoid", "leaky_relu": "leaky ReLU"}


class NetworkEditor(QGroupBox):
    """One MLP: hidden layers, activation and input dropout; ``spec()`` is None while something is refused."""

    changed = Signal()

    def __init__(self, role: str, title: str, preset: NetSpec, parent: QWidget | None = None) -> None:
        super().__init__(title, parent)
        self.role = role
        self.preset = preset
        self.layers = LayerListEditor(role, preset.hidden, preset.dropout)
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
        form = QFormLayout()
        form.addRow("Activation", self.activation_combo)
        form.addRow("Input dropout", self.input_dropout)
        layout = QVBoxLayout(self)
        layout.addWidget(self.layers)
        layout.addLayout(form)
        layout.addWidget(self.summary)
        layout.addWidget(reset)
        self.layers.changed.connect(self.changed)
        self.activation_combo.currentIndexChanged.connect(self.changed)
        self.input_dropout.valueChanged.connect(self.changed)
        self.set_spec(preset)

    def problems(self) -> list[str]:
        found = self.layers.problems() + ([self.input_dropout.problem()] if self.input_dropout.problem() else [])
        if not found:
            try:
                self._build()
            except ConfigError as exc:
                found.append(f"{self.role}: {exc}")
        return found

    def _build(self) -> NetSpec:
        return NetSpec(hidden=self.layers.hidden(), dropout=self.layers.dropout(), activation=self.activation_combo.currentData(),
                       input_dropout=float(self.input_dropout.value()))

    def spec(self) -> NetSpec | None:
        if self.layers.hidden() is None or self.layers.dropout() is None or self.input_dropout.value() is None:
            return None
        try:
            return self._build()
        except ConfigError:
            return None

    def set_spec(self, spec: NetSpec) -> None:
        self.layers.set_layers(spec.hidden, spec.dropout)
        self.activation_combo.setCurrentIndex(max(0, self.activation_combo.findData(spec.activation)))
        self.input_dropout.setValue(spec.input_dropout)


class NetworksPanel(QWidget):
    """``teacher_spec()``/``student_spec()`` give NetSpecs (None while invalid); ``changed`` on every edit."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.teacher = NetworkEditor("teacher", "Teacher: the big network", TEACHER_SPEC)
        self.student = NetworkEditor("student", "Student: the small network", STUDENT_SPEC)
        self.ratio_label = QLabel()
        self.ratio_label.setWordWrap(True)
        self.ratio_label.setStyleSheet("font-weight: bold;")
        self.problem_label = ProblemLabel()
        intro = QLabel("Steps 2 and 3. Both are MLPs on 784 pixels with 10 outputs. The student is trained twice: "
                       "from labels (the baseline) and from the teacher (distilled).")
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
            "input_dropout": spec.input_dropout}
