"""Benchmark: stroke end to repainted predictions in the Draw panel (preprocess, three networks, bars), on this CPU."""

from __future__ import annotations

import os
import statistics
import sys
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtWidgets import QApplication  # noqa: E402

from kdgui.core.predict import bundled_models  # noqa: E402
from kdgui.ui.panels.canvas import CanvasPanel  # noqa: E402
from kdgui.ui.temperature_model import TemperatureModel  # noqa: E402
from qt_exit import dispose  # noqa: E402

STROKES = [
    [(70, 60), (200, 60), (150, 150), (120, 240)],  # a 7
    [(140, 40), (140, 240)],  # a 1
    [(90, 60), (200, 60), (110, 230), (220, 230)],  # a Z-like 2
    [(80, 50), (80, 150), (200, 150), (200, 50), (200, 250)],  # a 4
]


def main() -> None:
    app = QApplication.instance() or QApplication(sys.argv)
    panel = CanvasPanel(TemperatureModel(4.0))
    panel.set_models(bundled_models())
    panel.resize(1100, 700)
    panel.show()
    app.processEvents()
    times = []
    for i in range(200):
        panel.canvas.clear()
        app.processEvents()
        start = time.perf_counter()
        panel.canvas.draw_stroke(STROKES[i % len(STROKES)])  # emits strokeFinished -> preprocess + 3 forwards
        panel.repaint()  # paint every answer and bar now, as the screen would show them
        app.processEvents()
        times.append((time.perf_counter() - start) * 1000)
    times = sorted(times[10:])  # the first few include one-off warm-up
    p99 = times[int(0.99 * (len(times) - 1))]
    print(f"stroke end -> repainted predictions, bundled teacher + 2 students, {len(times)} strokes")
    print(f"  p50 {statistics.median(times):.1f} ms   p99 {p99:.1f} ms   max {times[-1]:.1f} ms   (target < 30 ms)")
    dispose(panel)  # before main returns: a panel left to the interpreter's teardown can crash it at exit


if __name__ == "__main__":
    main()
