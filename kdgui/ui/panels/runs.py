"""The Runs panel: every run on disk with its settings and accuracies; tick, put on stage, reopen, rename, delete."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView, QHBoxLayout, QHeaderView, QInputDialog, QMenu, QMessageBox, QPushButton, QSplitter,
    QTextBrowser, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget,
)

from ...core.lineup import why_not_showable
from ...core.runs import Run
from ..style import plain_text_colour, text_colour

COLUMNS = ("Run", "Kind", "Network", "Status", "Val acc", "Test acc", "Time", "Created")
STATUS_KINDS = {"finished": "ok", "running": "info", "stopped": "warning", "failed": "error"}  # text colours (style.py)


def describe_job(run: Run) -> str:
    """The run's settings as a few lines of HTML for the details pane."""
    job = run.job
    t = job.train
    lines = [
        f"<b>{run.name}</b> ({job.kind}, {run.status})",
        f"Run id: <tt>{run.id}</tt>",
        f"Network: {job.net.describe()}, {job.net.activation}, dropout {', '.join(f'{p:g}' for p in job.net.dropout)}"
        + (f", input dropout {job.net.input_dropout:g}" if job.net.input_dropout else ""),
        f"Data: {job.dataset}{', standardised' if job.standardize else ''}, "
        f"{'all training images' if t.train_limit is None else f'first {t.train_limit:,} training images'}",
        f"Training: {t.epochs} epochs, learning rate {t.lr:g}, batch {t.batch_size}, seed {t.seed}, "
        f"evaluated every {t.eval_every or 'epoch end'}{' batches' if t.eval_every else ''}, device {t.device}"
        + (", keeps the best epoch on validation" if t.keep_best else ""),
    ]
    if job.distill is not None:
        d = job.distill
        extra = {"leave_out": f" without classes {', '.join(map(str, d.leave_out))}", "jitter": f" (±{d.jitter_pixels} px)"}
        lines.append(f"Distillation: T={d.temperature:g}, alpha {d.alpha:g}, loss {d.loss}, transfer {d.transfer}"
                     f"{extra.get(d.transfer, '')}, teacher <tt>{job.teacher_run}</tt>")
    s = run.summary
    if s.get("error"):
        lines.append(f"<span style='color:{text_colour('error')}'>Error: {s['error']}</span>")
    if s.get("seconds") is not None:
        lines.append(f"Trained for {s['seconds']:.0f} s ({s.get('steps', '?')} steps) on {s.get('device', '?')}"
                     + (f"; accuracies and weights are from epoch {s['epoch']}" if s.get("epoch") else ""))
    lines.append(f"Folder: <tt>{run.path}</tt>")
    return "<br>".join(lines)


class RunsPanel(QWidget):
    """Lists runs; ticking a run shows its curves. Emits requests, the main window does the work."""

    visibilityChanged = Signal(str, bool)
    reopenRequested = Signal(str)
    teacherChosen = Signal(str)
    stageRequested = Signal(str)  # show this run as its role's network in every view
    renameRequested = Signal(str, str)
    deleteRequested = Signal(str)
    refreshRequested = Signal()
    summaryChanged = Signal(str)  # one line on what the list holds, for the folded dock's title

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.runs: dict[str, Run] = {}
        self.live_run_id: str | None = None
        self.on_stage: dict[str, str] = {}
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(COLUMNS)
        self.tree.setRootIsDecorated(False)
        self.tree.setAlternatingRowColors(True)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.tree.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.tree.setToolTip("Tick a run to overlay its curves on the plots. Double-click to load its settings.")
        header = self.tree.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for col in range(1, len(COLUMNS)):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        self.details = QTextBrowser()
        self.details.setOpenLinks(False)
        self.details.setPlaceholderText("Select a run to see its settings.")

        self.reopen_button = QPushButton("Load settings")
        self.reopen_button.setToolTip("Put this run's networks and settings back into the panels, to train it again or vary it")
        self.rename_button = QPushButton("Rename…")
        self.delete_button = QPushButton("Delete…")
        self.stage_button = QPushButton("Show on stage")
        self.stage_button.setToolTip("Show this run in Draw, Soft targets and Compare as the network of its kind")
        self.teacher_button = QPushButton("Use as teacher")
        self.teacher_button.setToolTip("Distil from this teacher")
        refresh = QPushButton("Refresh")
        refresh.setToolTip("Read the runs folder again")
        self.refresh_button = refresh
        buttons = QHBoxLayout()
        buttons.setSpacing(4)
        for button in (self.stage_button, self.reopen_button, self.rename_button, self.delete_button, self.teacher_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        buttons.addWidget(refresh)

        # The buttons run under both the list and the details, so neither forces the window wide.
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(self.tree)
        self.splitter.addWidget(self.details)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([720, 240])  # the list first: its run names must be readable
        self.splitter.setChildrenCollapsible(True)
        self.tree.setMinimumWidth(160)
        self.details.setMinimumWidth(120)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 2, 4, 4)
        layout.setSpacing(4)
        layout.addWidget(self.splitter, 1)
        layout.addLayout(buttons)
        QWidget.setTabOrder(self.tree, self.stage_button)
        previous = self.stage_button
        for button in (self.reopen_button, self.rename_button, self.delete_button, self.teacher_button, refresh, self.details):
            QWidget.setTabOrder(previous, button)
            previous = button

        self.tree.itemChanged.connect(self._item_changed)
        self.tree.currentItemChanged.connect(lambda *_: self._selection_changed())
        self.tree.itemDoubleClicked.connect(lambda item, _: self.reopenRequested.emit(item.data(0, Qt.ItemDataRole.UserRole)))
        self.tree.customContextMenuRequested.connect(self._context_menu)
        self.reopen_button.clicked.connect(lambda: self._emit_for_selected(self.reopenRequested))
        self.teacher_button.clicked.connect(lambda: self._emit_for_selected(self.teacherChosen))
        self.stage_button.clicked.connect(lambda: self._emit_for_selected(self.stageRequested))
        self.rename_button.clicked.connect(self._ask_rename)
        self.delete_button.clicked.connect(self._ask_delete)
        refresh.clicked.connect(self.refreshRequested)
        self._selection_changed()

    # -- contents -----------------------------------------------------------------------------------
    def set_runs(self, runs: list[Run], labels: dict[str, str], colours: dict[str, str], accuracies: dict[str, dict[str, float]],
                 shown: set[str], live_run_id: str | None, on_stage: dict[str, str] | None = None) -> None:
        """Rebuild the list (newest first), keeping the selection; runs on stage ({run id: role}) are marked."""
        selected = self.selected_run_id()
        self.runs = {run.id: run for run in runs}
        self.live_run_id = live_run_id
        self.on_stage = on_stage or {}
        self.tree.blockSignals(True)
        self.tree.clear()
        for run in reversed(runs):
            acc = accuracies.get(run.id, {})
            seconds = run.summary.get("seconds")
            item = QTreeWidgetItem([
                labels.get(run.id, run.name), run.job.kind + (" ★" if run.id in self.on_stage else ""), run.job.net.describe(), run.status,
                _percent(acc.get("val_acc")), _percent(acc.get("test_acc")),
                f"{seconds:.0f} s" if seconds is not None else "", run.meta.get("created", "")[:16].replace("T", " "),
            ])
            item.setData(0, Qt.ItemDataRole.UserRole, run.id)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(0, Qt.CheckState.Checked if run.id in shown else Qt.CheckState.Unchecked)
            item.setForeground(0, QColor(colours.get(run.id, plain_text_colour())))
            item.setForeground(3, QColor(text_colour(STATUS_KINDS[run.status]) if run.status in STATUS_KINDS else plain_text_colour()))
            item.setToolTip(0, f"{run.id}\nTick to show its curves")
            if run.id in self.on_stage:
                item.setToolTip(1, f"On stage: the {self.on_stage[run.id]} that Draw, Soft targets and Compare show")
            for col in (4, 5, 6):
                item.setTextAlignment(col, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self.tree.addTopLevelItem(item)
            if run.id == selected:
                self.tree.setCurrentItem(item)
        self.tree.blockSignals(False)
        self._selection_changed()
        self._summarise()

    def summary(self) -> str:
        """'5 runs · 3 on the curves', or 'no runs yet'."""
        n = len(self.runs)
        if not n:
            return "no runs yet"
        ticked = sum(1 for i in range(self.tree.topLevelItemCount())
                     if self.tree.topLevelItem(i).checkState(0) == Qt.CheckState.Checked)
        live = " · one is training" if self.live_run_id in self.runs else ""
        return f"{n} run{'s' if n != 1 else ''} · {ticked} on the curves{live}"

    def state(self) -> dict:
        return {"split": self.splitter.sizes()}

    def restore(self, state: dict) -> None:
        split = state.get("split")
        if isinstance(split, list) and len(split) == 2 and all(isinstance(v, int) and v >= 0 for v in split) and any(split):
            self.splitter.setSizes(split)

    def _summarise(self) -> None:
        self.summaryChanged.emit(self.summary())

    def item_for(self, run_id: str) -> QTreeWidgetItem | None:
        for i in range(self.tree.topLevelItemCount()):
            item = self.tree.topLevelItem(i)
            if item.data(0, Qt.ItemDataRole.UserRole) == run_id:
                return item
        return None

    def set_shown(self, run_id: str, shown: bool) -> None:
        item = self.item_for(run_id)
        if item is not None:
            item.setCheckState(0, Qt.CheckState.Checked if shown else Qt.CheckState.Unchecked)
        self._summarise()

    def select(self, run_id: str) -> None:
        item = self.item_for(run_id)
        if item is not None:
            self.tree.setCurrentItem(item)

    def selected_run_id(self) -> str | None:
        item = self.tree.currentItem()
        return item.data(0, Qt.ItemDataRole.UserRole) if item is not None else None

    # -- interaction --------------------------------------------------------------------------------
    def _item_changed(self, item: QTreeWidgetItem, column: int) -> None:
        if column == 0:
            self.visibilityChanged.emit(item.data(0, Qt.ItemDataRole.UserRole), item.checkState(0) == Qt.CheckState.Checked)
            self._summarise()

    def _selection_changed(self) -> None:
        run = self.runs.get(self.selected_run_id() or "")
        live = run is not None and run.id == self.live_run_id
        for button in (self.reopen_button, self.rename_button):
            button.setEnabled(run is not None)
        self.delete_button.setEnabled(run is not None and not live)
        self.delete_button.setToolTip("A run that is training cannot be deleted: stop it first" if live else "Delete this run's folder")
        is_teacher = run is not None and run.job.kind == "teacher" and run.has_weights and not live
        self.teacher_button.setEnabled(is_teacher)
        self.teacher_button.setToolTip("Distil from this teacher" if is_teacher else "Select a trained teacher run")
        reason = why_not_showable(run, run.job.kind) if run is not None else "select a run"
        self.stage_button.setEnabled(reason is None and run.id not in self.on_stage)
        self.stage_button.setText(f"Show as {run.job.kind}" if run is not None else "Show on stage")
        self.stage_button.setToolTip("Already on stage" if run is not None and run.id in self.on_stage else
                                     f"Cannot be shown: {reason}" if reason else
                                     "Show this run in Draw, Soft targets, Compare and Export as the network of its kind")
        self.details.setHtml(describe_job(run) if run is not None else "")

    def _emit_for_selected(self, signal) -> None:  # noqa: ANN001 - a bound Signal
        run_id = self.selected_run_id()
        if run_id:
            signal.emit(run_id)

    def _ask_rename(self) -> None:
        run = self.runs.get(self.selected_run_id() or "")
        if run is None:
            return
        name, ok = QInputDialog.getText(self, "Rename run", "New name (empty: the automatic name):", text=run.meta.get("name", ""))
        if ok:
            self.renameRequested.emit(run.id, name)

    def _ask_delete(self) -> None:
        run = self.runs.get(self.selected_run_id() or "")
        if run is None:
            return
        answer = QMessageBox.question(self, "Delete run", f"Delete the run '{run.name}' and its folder?\n{run.path}")
        if answer == QMessageBox.StandardButton.Yes:
            self.deleteRequested.emit(run.id)

    def _context_menu(self, position) -> None:  # noqa: ANN001 - a QPoint
        item = self.tree.itemAt(position)
        if item is None:
            return
        self.tree.setCurrentItem(item)
        menu = QMenu(self)
        for button in (self.stage_button, self.reopen_button, self.rename_button, self.delete_button, self.teacher_button):
            action = menu.addAction(button.text(), button.click)
            action.setEnabled(button.isEnabled())
        menu.exec(self.tree.viewport().mapToGlobal(position))


def _percent(value: float | None) -> str:
    return f"{value:.2%}" if value is not None else "—"
