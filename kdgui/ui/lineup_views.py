"""The views that show the lineup's networks (Draw, Soft targets, Compare): given the networks and the test digits once."""

from __future__ import annotations

from typing import Callable

from PySide6.QtCore import QObject

from ..core.data import Splits, load_splits
from ..core.errors import KdguiError
from ..core.lineup import Lineup, load_models
from ..core.runs import RunStore
from .panels.canvas import CanvasPanel
from .panels.insight import InsightPanel
from .panels.insight_source import InsightSource
from .panels.report import ReportPanel
from .panels.soft_targets import SoftTargetsPanel
from .widgets.banner import MessageBanner


class LineupViews(QObject):
    """Loads the lineup's weights when the lineup changes (not on every runs refresh) and hands them to every view.

    ``data()`` gives (in-memory data or None, data folder); the MNIST test digits are read when a view first needs them.
    ``source`` computes every network's answers on the test set once per lineup, off the GUI thread, for Soft targets
    and What changed (``insight``).
    """

    def __init__(self, store: RunStore, canvas: CanvasPanel, soft_targets: SoftTargetsPanel, report: ReportPanel,
                 banner: MessageBanner, data: Callable[[], tuple[Splits | None, str | None]], parent: QObject | None = None,
                 insight: InsightPanel | None = None) -> None:
        super().__init__(parent)
        self.store, self.canvas, self.soft_targets, self.report, self.banner, self.data = store, canvas, soft_targets, report, banner, data
        self.insight = insight
        self.test_set_loaded = False
        self.source = InsightSource(self)
        self.source.ready.connect(self._insight_ready)
        self.source.failed.connect(lambda _: self._insight_ready(None))

    def show(self, lineup: Lineup) -> None:
        models, problems = load_models(lineup, self.store)
        for view in (self.canvas, self.soft_targets, self.report, self.insight):
            if view is not None:
                view.set_models(models)
        self.source.set_models(models)
        if problems:
            self.banner.show_message("Some networks could not be loaded: " + "; ".join(problems), "warning")

    def load_test_set(self) -> None:
        """The MNIST test digits for Soft targets and Compare (the networks are MNIST's), read once."""
        if self.test_set_loaded:
            return
        override, data_dir = self.data()
        try:
            data = override if override is not None and override.dataset == "mnist" else load_splits("mnist", data_dir)
        except KdguiError as exc:
            self.soft_targets.problem.setText(f"No MNIST test set: {exc}")
            return
        self.test_set_loaded = True
        self.soft_targets.set_test_set(data.test_x, data.test_y)
        self.report.set_test_set(data.test_x, data.test_y)
        if self.insight is not None:
            self.insight.set_test_set(data.test_x)
        self.source.set_test_set(data.test_x, data.test_y)

    def _insight_ready(self, insight) -> None:  # noqa: ANN001 - a LineupInsight or None
        self.soft_targets.set_teacher_test_logits(insight.logits.get("teacher") if insight is not None else None)
        self.report.set_insight(insight)
        if self.insight is not None:
            self.insight.set_insight(insight, self.source.busy, self.source.problem)
