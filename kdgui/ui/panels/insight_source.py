"""The lineup on the test set (every network's logits, confusion, what changed), computed off the GUI thread once per lineup."""

from __future__ import annotations

from collections import OrderedDict

import torch
from PySide6.QtCore import QObject, QThread, Signal

from ...core.insight import LineupInsight, lineup_insight
from ...core.predict import NamedModel
from ..worker import QtTaskWorker, start_in_thread, wait_for_thread

CACHE_SIZE = 4  # lineups remembered: switching back and forth between two costs nothing


class InsightSource(QObject):
    """Computes ``lineup_insight`` for the lineup's networks and the test set in a thread, and keeps a few results.

    ``ready(insight)`` carries the result for the current networks, or None when there is none yet (no test set, no
    networks, or still computing: ``busy`` says which). A CNN teacher takes seconds on 10,000 digits, which the GUI
    thread must not wait for; Soft targets, What changed and Confusion all read this one result.
    """

    ready = Signal(object)  # LineupInsight or None
    failed = Signal(str)  # one line

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.models: dict[str, torch.nn.Module] = {}
        self.sources: tuple[tuple[str, str], ...] = ()
        self.test_x: torch.Tensor | None = None
        self.test_y: torch.Tensor | None = None
        self.insight: LineupInsight | None = None
        self.problem = ""
        self._cache: OrderedDict[tuple, LineupInsight] = OrderedDict()
        self._wanted: tuple | None = None
        self._job: tuple[QThread, QtTaskWorker] | None = None

    @property
    def busy(self) -> bool:
        return self._job is not None

    def set_models(self, models: list[NamedModel]) -> None:
        self.models = {m.key: m.model for m in models}
        self.sources = tuple((m.key, m.source) for m in models)
        self._request()

    def set_test_set(self, x: torch.Tensor | None, y: torch.Tensor | None) -> None:
        self.test_x, self.test_y = (x.cpu(), y.cpu()) if x is not None and y is not None else (None, None)
        self._request()

    def _key(self) -> tuple | None:
        if self.test_x is None or not self.models:
            return None
        # A run's weights never change once it has ended, so its id names them; the test set is read once per window.
        return self.sources, id(self.test_x), len(self.test_x)

    def _request(self) -> None:
        key = self._wanted = self._key()
        self.problem = ""
        self.insight = self._cache.get(key) if key is not None else None
        if key is not None and self.insight is None:
            self._start(key)
        elif self.insight is not None:
            self._cache.move_to_end(key)
        self.ready.emit(self.insight)

    def _start(self, key: tuple) -> None:
        if self._job is not None:
            return  # one computation at a time: when it ends, the wanted lineup starts if it is another
        models, x, y = dict(self.models), self.test_x, self.test_y
        worker = QtTaskWorker(lambda: (key, lineup_insight(models, x, y)))
        worker.succeeded.connect(self._computed)
        worker.failed.connect(self._failed)
        self._job = (start_in_thread(worker, self, on_finished=self._finished), worker)

    def _computed(self, result: tuple[tuple, LineupInsight]) -> None:
        key, insight = result
        self._cache[key] = insight
        while len(self._cache) > CACHE_SIZE:
            self._cache.popitem(last=False)
        if key == self._wanted:
            self.insight = insight
            self.ready.emit(insight)

    def _failed(self, message: str) -> None:
        self.problem = f"Could not compute the networks' answers on the test set: {message}"
        self.failed.emit(self.problem)

    def _finished(self) -> None:
        self._job = None
        if self._wanted is not None and self._wanted not in self._cache and not self.problem:
            self._start(self._wanted)
        elif self.insight is None:
            self.ready.emit(None)  # nothing more is coming: the views stop saying "computing"

    def wait(self, msecs: int = -1) -> bool:
        """Block until a running computation has ended (closing the window must not destroy a running thread)."""
        return wait_for_thread(self._job[0] if self._job else None, msecs)
