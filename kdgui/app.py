"""QApplication set-up and the ``kdgui`` entry point."""

from __future__ import annotations

import sys
from typing import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    from PySide6.QtWidgets import QApplication, QLabel, QMainWindow

    app = QApplication.instance() or QApplication(list(argv if argv is not None else sys.argv))
    app.setOrganizationName("kdgui")
    app.setApplicationName("kdgui")
    window = QMainWindow()
    window.setWindowTitle("kdgui: knowledge distillation")
    window.setCentralWidget(QLabel("kdgui"))
    window.resize(1200, 800)
    window.show()
    return app.exec()
