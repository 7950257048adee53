"""The lineup bar: which teacher, student and distilled student every tab shows, and a menu each to change it."""

from __future__ import annotations

from typing import Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QSizePolicy, QWidget

from ...core.config import KIND_TITLES, KINDS
from ...core.lineup import BUNDLED, Lineup
from ..style import ROLE_COLOURS, text_style
from .elided_label import ElidedComboBox

SHORT_TITLES = {"teacher": "Teacher", "student": "Student", "distilled": "Distilled"}
AUTOMATIC = "__automatic__"  # the combo's data for "let the default rule choose" (None cannot be told from no data)


class LineupBar(QWidget):
    """Three menus, 'Teacher: … · Student: … · Distilled: …'; choosing emits ``choiceChanged(role, choice)``.

    A choice is a run id, ``"bundled"``, or None for the default rule (the newest suitable run of that role).
    """

    choiceChanged = Signal(str, object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.combos: dict[str, QComboBox] = {}
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 2, 6, 2)
        title = QLabel("<b>On stage:</b>")
        title.setToolTip("The networks that Draw, Soft targets, Compare and Export show, and whose curves are ticked at start")
        layout.addWidget(title)
        for i, role in enumerate(KINDS):
            if i:
                layout.addWidget(QLabel("·"))
            label = QLabel(f"<span style='color:{ROLE_COLOURS[role]}'>■</span> {SHORT_TITLES[role]}:")
            combo = ElidedComboBox()
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(8)  # long run names shorten (the full text is the tooltip) on a narrow window
            combo.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
            combo.setAccessibleName(f"{KIND_TITLES[role]} on stage")
            label.setBuddy(combo)
            combo.activated.connect(lambda _=0, r=role: self._chosen(r))
            layout.addWidget(label)
            layout.addWidget(combo, 1)
            self.combos[role] = combo
        self.note = QLabel()
        self.note.setStyleSheet(text_style("warning"))
        self.note.setVisible(False)
        layout.addWidget(self.note)

    def show_lineup(self, lineup: Lineup, choices: dict[str, str | None],
                    candidates: dict[str, Sequence[tuple[str, str]]]) -> None:
        """Fill each menu: the automatic choice (naming what it picks), every run that can be shown, the bundled one.

        ``candidates`` is {role: [(run id, text), ...]} newest first.
        """
        for role, combo in self.combos.items():
            member = lineup[role]
            combo.blockSignals(True)
            combo.clear()
            automatic = member if member.how != "chosen" else None
            combo.addItem(f"Automatic: {self._name(automatic) if automatic else 'the newest suitable run'}", AUTOMATIC)
            combo.setItemData(0, "The newest finished run trained for this role on the training images; study runs and "
                                 "distillations on noise or without some digits are never picked. The bundled network "
                                 "when there is none.", Qt.ItemDataRole.ToolTipRole)
            for run_id, text in candidates.get(role, ()):
                combo.addItem(text, run_id)
                combo.setItemData(combo.count() - 1, f"{text}\nrun {run_id}", Qt.ItemDataRole.ToolTipRole)
            combo.addItem(f"Bundled {lineup[role].network if member.bundled else ''}".strip(), BUNDLED)
            wanted = choices.get(role) if member.how == "chosen" else None
            index = combo.findData(wanted if wanted else AUTOMATIC)
            combo.setCurrentIndex(max(index, 0))
            combo.setToolTip(member.describe())
            combo.blockSignals(False)
        notes = lineup.notes()
        self.note.setText("⚠ " + " ".join(notes) if notes else "")
        self.note.setToolTip("\n".join(notes))
        self.note.setVisible(bool(notes))

    @staticmethod
    def _name(member) -> str:  # noqa: ANN001 - a Member
        return f"{member.name} ({member.network})" if not member.bundled else f"bundled ({member.network})"

    def choice(self, role: str) -> str | None:
        data = self.combos[role].currentData()
        return None if data == AUTOMATIC else data

    def _chosen(self, role: str) -> None:
        self.choiceChanged.emit(role, self.choice(role))
