"""What distillation changed: the digits it fixed and broke, each network's confusion matrix, and the students' hidden units."""

from __future__ import annotations

from typing import Any

import torch
from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QButtonGroup, QHBoxLayout, QLabel, QPushButton, QSizePolicy, QStackedWidget, QVBoxLayout, QWidget,
)

from ....panel_names import VIEWS as PANEL_VIEWS
from ....core.insight import LineupInsight
from ....core.predict import NamedModel
from ...style import text_style
from ...temperature_model import TemperatureModel
from .changed import ChangedView
from .confusion import ConfusionView
from .hidden import HiddenView
from .common import no_answers

VIEWS = {name: title for name, (tab, title) in PANEL_VIEWS.items() if tab == "insight"}  # changed, confusion, hidden


class InsightPanel(QWidget):
    """One tab, three views chosen by the buttons at its top (``show_view``); all read one ``LineupInsight``.

    ``openDigit(index)`` asks the window to show test digit ``index`` in Soft targets.
    """

    openDigit = Signal(int)

    def __init__(self, temperature: TemperatureModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.insight: LineupInsight | None = None
        self.test_x: torch.Tensor | None = None
        self.switch = QButtonGroup(self)
        self.switch.setExclusive(True)
        self.buttons: dict[str, QPushButton] = {}
        self.status = QLabel(no_answers())
        self.status.setStyleSheet(text_style("muted"))
        self.status.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.changed = ChangedView(temperature)
        self.confusion = ConfusionView()
        self.hidden = HiddenView()
        self.views: dict[str, QWidget] = {"changed": self.changed, "confusion": self.confusion, "hidden": self.hidden}
        self.stack = QStackedWidget()
        top = QHBoxLayout()
        top.setSpacing(2)
        for name, title in VIEWS.items():
            button = QPushButton(title)
            button.setCheckable(True)
            button.setToolTip({"changed": "The test digits distillation fixed and broke, and each network's soft targets",
                               "confusion": "What each network mistakes for what, and how distillation moved it",
                               "hidden": "What the students' first-layer units look for, as 28x28 images"}[name])
            self.switch.addButton(button)
            self.buttons[name] = button
            self.stack.addWidget(self.views[name])
            top.addWidget(button)
            button.clicked.connect(lambda _=False, n=name: self.show_view(n))
        top.addSpacing(8)
        top.addWidget(self.status, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 4)
        layout.setSpacing(4)
        layout.addLayout(top)
        layout.addWidget(self.stack, 1)
        self.changed.openDigit.connect(self.openDigit)
        self.confusion.openDigit.connect(self.openDigit)
        self.show_view("changed")

    def show_view(self, name: str) -> None:
        """Bring a view to the front by name (see VIEWS): ``kdgui --panel changed`` and the buttons come here."""
        if name not in VIEWS:
            raise ValueError(f"no view {name!r}: choose one of {', '.join(VIEWS)}")
        self.buttons[name].setChecked(True)
        self.stack.setCurrentWidget(self.views[name])

    def current_view(self) -> str:
        return next(name for name, view in self.views.items() if view is self.stack.currentWidget())

    # -- inputs ----------------------------------------------------------------------------------------
    def set_models(self, models: list[NamedModel]) -> None:
        """The lineup's networks: the hidden units come from them (the answers come with ``set_insight``)."""
        self.changed.set_models(models)
        self.hidden.set_models(models)

    def set_test_set(self, x: torch.Tensor | None) -> None:
        self.test_x = x
        self.changed.set_test_set(x)
        self.confusion.set_test_set(x)

    def set_insight(self, insight: LineupInsight | None, busy: bool = False, problem: str = "") -> None:
        """The lineup on the test set, or None: still computing (``busy``), failed (``problem``) or no test set yet."""
        self.insight = insight
        if insight is not None:
            self.status.setText(f"The lineup on the {len(insight.labels):,} test digits.")
        else:
            self.status.setText(problem or ("Computing every network's answers on the test set…" if busy else
                                            "Waiting for the test set (the Data panel's MNIST folder)."))
        self.changed.set_insight(insight)
        self.confusion.set_insight(insight)

    def training_event(self, event: object) -> None:
        """A workflow run's event: a student's first layer at each evaluation moves its tiles."""
        self.hidden.training_event(event)

    def training_ended(self) -> None:
        self.hidden.training_ended()

    # -- remembering ------------------------------------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        return {"view": self.current_view()}

    def restore(self, state: dict[str, Any]) -> None:
        if state.get("view") in VIEWS:
            self.show_view(state["view"])
