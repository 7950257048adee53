"""Benchmark: one temperature-slider step to repainted bars, 12 digits x 3 models, in the Soft targets panel; and a
lineup change (``set_models`` with the same roles) with those 12 digits shown."""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtWidgets import QApplication  # noqa: E402

from kdgui.core.data import load_splits  # noqa: E402
from kdgui.core.insight import test_logits  # noqa: E402
from kdgui.core.predict import NamedModel, bundled_models  # noqa: E402
from kdgui.ui.panels.soft_targets import SoftTargetsPanel  # noqa: E402
from kdgui.ui.temperature_model import TemperatureModel  # noqa: E402
from qt_exit import dispose  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data-dir", default=os.environ.get("KDGUI_DATA_DIR"), help="folder with MNIST/raw")
    args = parser.parse_args()
    app = QApplication.instance() or QApplication(sys.argv)
    data = load_splits("mnist", args.data_dir)
    panel = SoftTargetsPanel(TemperatureModel(1.0))
    models = bundled_models()
    panel.set_models(models)
    panel.set_test_set(data.test_x, data.test_y)
    panel.set_teacher_test_logits(test_logits(models[0].model, data.test_x))  # the window computes them in a thread
    panel.mode.setCurrentIndex(panel.mode.findData("class"))
    panel.choice.setText("0,1,2,3,4,5")
    panel.count.setValue(2)
    panel.show_chosen_digits()
    panel.resize(1400, 900)
    panel.show()
    app.processEvents()
    assert len(panel.cells) == 12 and len(panel.logits) == 3
    steps = [panel.slider.slider.minimum() + i for i in range(0, panel.slider.slider.maximum(), 2)]
    times = []
    for position in steps + steps[::-1]:
        before = panel.temperature.temperature
        start = time.perf_counter()
        panel.slider.slider.setValue(position)  # what a drag does: softmax + setOpts on 36 bar items + heatmap
        panel.graphics.repaint()  # paint the bars now rather than at the next event-loop turn
        panel.heatmap_widget.repaint()
        if panel.temperature.temperature != before:  # neighbouring slider positions can snap to the same T
            times.append((time.perf_counter() - start) * 1000)
    times.sort()
    p99 = times[int(0.99 * (len(times) - 1))]
    print(f"slider step -> repainted bars and heatmap: 12 digits x 3 models, {len(times)} steps")
    print(f"  p50 {statistics.median(times):.1f} ms   p99 {p99:.1f} ms   max {times[-1]:.1f} ms   (target < 16 ms)")
    changes = []
    for i in range(8):  # a lineup change: new NamedModels of the same roles (what LineupViews hands over)
        again = [NamedModel(m.key, f"{m.label} #{i}", m.model, f"run-{i}") for m in models]
        start = time.perf_counter()
        panel.set_models(again)
        app.processEvents()
        changes.append((time.perf_counter() - start) * 1000)
    print(f"lineup change (set_models, same roles, 12 digits): median {statistics.median(changes):.0f} ms   "
          f"max {max(changes):.0f} ms")
    dispose(panel)  # before main returns: a panel left to the interpreter's teardown crashed it at exit


if __name__ == "__main__":
    main()
