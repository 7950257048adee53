"""The Experiments tab's Results page: every run, sweep and study in one table to filter, sort and export as CSV."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any, Callable

from PySide6.QtCore import QSortFilterProxyModel, Qt, Signal
from PySide6.QtGui import QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QAbstractItemView, QFileDialog, QHBoxLayout, QHeaderView, QLabel, QLineEdit, QPushButton, QTableView, QVBoxLayout, QWidget,
)

from ...core.config import (
    KIND_TITLES, LOSS_TITLES, NUM_CLASSES, OTHER_TRANSFER_SETS, STUDY_TITLES, TRANSFER_TITLES, DistillConfig,
)
from ...core.errors import KdguiError
from ...core.experiments import list_experiments
from ...core.runs import RunStore
from ...core.files import atomic_write_bytes
from ...core.studies import in_sentence
from ..widgets.plot_export import FORMATS

RESULT_COLUMNS = ("kind", "name", "network", "T", "loss", "transfer set", "epochs", "val acc", "test acc", "created", "id")


def fmt_acc(value: Any) -> str:
    """A fraction as a percentage with two decimals; "" for anything that is not a number."""
    return f"{value:.2%}" if isinstance(value, (int, float)) and not isinstance(value, bool) else ""


def transfer_text(distill: DistillConfig) -> str:
    """What a distilled student learned from, in words: 'training images', 'without 3', 'only 7, 8', 'random noise'."""
    if distill.transfer == "leave_out" and distill.leave_out:
        kept = [c for c in range(NUM_CLASSES) if c not in distill.leave_out]
        if len(kept) < len(distill.leave_out):
            return "only " + ", ".join(map(str, kept))
        return "without " + ", ".join(map(str, distill.leave_out))
    if distill.transfer == "jitter":
        return f"shifted up to {distill.jitter_pixels} px"
    if distill.transfer == "other":
        return in_sentence(OTHER_TRANSFER_SETS[distill.other_dataset])
    return TRANSFER_TITLES[distill.transfer].lower()


def _loss_title(name: Any) -> str:
    """A saved record's loss by its title (an unknown name as it is)."""
    return LOSS_TITLES.get(name, name) if isinstance(name, str) else ""


class _KeyedSortProxy(QSortFilterProxyModel):
    """Sorts by the Python key each cell keeps under UserRole: numbers by value before text, blanks last."""

    def lessThan(self, left, right) -> bool:  # noqa: ANN001 - QModelIndex
        return left.data(Qt.ItemDataRole.UserRole) < right.data(Qt.ItemDataRole.UserRole)


class ResultsPage(QWidget):
    """One row per run of ``store`` and per saved sweep or study; runs are named by ``labels()`` (run id -> label)."""

    exported = Signal(str)

    def __init__(self, store: RunStore, labels: Callable[[], dict[str, str]], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self.labels = labels
        self.results_model = QStandardItemModel(0, len(RESULT_COLUMNS))
        self.results_model.setHorizontalHeaderLabels(list(RESULT_COLUMNS))
        self.results_proxy = _KeyedSortProxy()
        self.results_proxy.setSourceModel(self.results_model)
        self.results_proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.results_proxy.setFilterKeyColumn(-1)
        self.results_view = QTableView()
        self.results_view.setModel(self.results_proxy)
        # Newest first until the user clicks a header (enabling sorting sorts by the indicator at once).
        self.results_view.horizontalHeader().setSortIndicator(RESULT_COLUMNS.index("created"), Qt.SortOrder.DescendingOrder)
        self.results_view.setSortingEnabled(True)
        self.results_view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.results_view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.results_view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.results_view.horizontalHeader().setStretchLastSection(True)
        self.results_filter = QLineEdit()
        self.results_filter.setPlaceholderText("Filter: any text in any column, e.g. sweep, hinton, leave")
        self.results_filter.setClearButtonEnabled(True)
        self.results_filter.textChanged.connect(self.results_proxy.setFilterFixedString)
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.clicked.connect(self.refresh)
        self.export_button = QPushButton("Export CSV…")
        self.export_button.clicked.connect(self._ask_export_csv)
        self.results_status = QLabel("")
        top = QHBoxLayout()
        top.addWidget(self.results_filter, 1)
        top.addWidget(self.refresh_button)
        top.addWidget(self.export_button)
        box = QVBoxLayout(self)
        box.addLayout(top)
        box.addWidget(self.results_view, 1)
        box.addWidget(self.results_status)

    def result_rows(self) -> list[list[Any]]:
        """One row per run and per saved sweep or study, in RESULT_COLUMNS order (raw values; accuracies as fractions)."""
        rows: list[list[Any]] = []
        labels = self.labels()
        for run in self.store.list():
            job, summary = run.job, run.summary
            distill = job.distill
            rows.append([KIND_TITLES[job.kind], labels.get(run.id, run.name), job.net.describe(),
                         distill.temperature if distill else None, LOSS_TITLES[distill.loss] if distill else "",
                         transfer_text(distill) if distill else "labels", job.train.epochs,
                         summary.get("val_acc"), summary.get("test_acc"), run.meta.get("created", ""), run.id])
        for record in list_experiments(self.store):
            config = record.get("config") or {}
            student = config.get("student") or {}
            network = "784-" + "-".join(str(h) for h in student.get("hidden", [])) + "-10" if student.get("hidden") else ""
            if record.get("kind") == "sweep":
                table = record.get("table") or []
                best = max(table, key=lambda p: p.get("val_mean", 0)) if table else {}
                temps = config.get("temperatures") or []
                t = f"{min(temps):g}–{max(temps):g} ({len(temps)})" if temps else ""
                alphas = config.get("alphas") if isinstance(config.get("alphas"), list) else []
                # A grid's best point names its alpha too (saved rows of a grid carry their alpha).
                at = f"α={best['alpha']:g}, " if len(alphas) > 1 and isinstance(best.get("alpha"), (int, float)) else ""
                kind = f"{len(alphas)} x {len(temps)} grid" if len(alphas) > 1 else "sweep"
                name = record.get("name") or (f"{kind}, best {at}T={best['temperature']:g}" if best else kind)
                rows.append(["Sweep", name, network, t, _loss_title(config.get("loss")), "training images", config.get("epochs"),
                             best.get("val_mean"), best.get("test_mean"), record.get("created", ""), record.get("id", "")])
            else:
                result = record.get("result") or {}
                study = record.get("study", "")
                rows.append(["Study", record.get("name") or STUDY_TITLES.get(study, record.get("title", "")), network,
                             config.get("temperature"), _loss_title(config.get("loss")), record.get("description", ""),
                             config.get("epochs"), result.get("val_acc"), result.get("test_acc"), record.get("created", ""),
                             record.get("id", "")])
        return rows

    def refresh(self) -> None:
        """Read the runs folder again, keeping the user's sort column and filter."""
        try:
            rows = self.result_rows()
        except KdguiError as exc:
            self.results_status.setText(f"Cannot read the runs folder: {exc}")
            return
        sorting = self.results_proxy.sortColumn(), self.results_proxy.sortOrder()
        self.results_model.setRowCount(0)
        for values in rows:
            items = []
            for col, value in enumerate(values):
                if RESULT_COLUMNS[col] in ("val acc", "test acc"):
                    text = fmt_acc(value)
                elif isinstance(value, float):
                    text = f"{value:g}"
                else:
                    text = "" if value is None else str(value)
                item = QStandardItem(text)
                number = isinstance(value, (int, float)) and not isinstance(value, bool)
                # Sort key: numbers before text, so numeric columns order by value and blanks sink.
                item.setData((0, float(value), "") if number else (1 if text else 2, 0.0, text.lower()), Qt.ItemDataRole.UserRole)
                items.append(item)
            self.results_model.appendRow(items)
        if sorting[0] >= 0:
            self.results_proxy.sort(*sorting)
        else:
            self.results_view.sortByColumn(RESULT_COLUMNS.index("created"), Qt.SortOrder.DescendingOrder)  # newest first
        self.results_view.resizeColumnsToContents()
        self.results_status.setText(f"{len(rows)} runs and experiments in {self.store.root}")

    def visible_rows(self) -> list[list[str]]:
        """The table as shown: filtered and sorted, as text."""
        proxy = self.results_proxy
        return [[proxy.index(r, c).data() or "" for c in range(proxy.columnCount())] for r in range(proxy.rowCount())]

    def export_csv(self, path: str | Path) -> Path:
        """Write the shown rows, header first, with the project's atomic writer (normal file permissions)."""
        path = Path(path)
        text = io.StringIO(newline="")
        writer = csv.writer(text)
        writer.writerow(RESULT_COLUMNS)
        writer.writerows(self.visible_rows())
        atomic_write_bytes(path, text.getvalue().encode("utf-8"))
        return path

    def _ask_export_csv(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export the results table", str(Path.home() / "kdgui-results.csv"),
                                              FORMATS[".csv"])
        if not path:
            return
        try:
            self.export_csv(path)
        except OSError as exc:
            self.results_status.setText(f"Could not save {path}: {exc.strerror or exc}")
            return
        self.results_status.setText(f"Saved {path}")
        self.exported.emit(path)
