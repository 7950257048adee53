"""An inline line of red text that says what is wrong with a panel's inputs, hidden when all is well."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QWidget

from ..style import text_style


class ProblemLabel(QLabel):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWordWrap(True)
        self.setStyleSheet(text_style("error"))
        self.setAccessibleName("problem")
        self.hide()

    def show_problems(self, problems: list[str]) -> None:
        if problems:
            first = problems[0]
            self.setText(f"⚠ {first[0].upper()}{first[1:]}" + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""))
            self.setToolTip("\n".join(problems))
        self.setVisible(bool(problems))
