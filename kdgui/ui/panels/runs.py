"""The Runs panel: every run on disk with its settings and accuracies; tick, put on stage, reopen, rename, delete."""

from __future__ import annotations

from html import escape

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView, QHBoxLayout, QHeaderView, QInputDialog, QMenu, QMessageBox, QPushButton, QSplitter,
    QTextBrowser, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget,
)

from ...core.lineup import why_not_showable
from ...core.runs import INTERRUPTED, Run, Unreadable, is_run_id
from ..style import plain_text_colour, text_colour

COLUMNS = ("Run", "Kind", "Network", "Status", "Val acc", "Test acc", "Time", "Created")
# Text colours (style.py) of the statuses; an unreadable entry is greyed ("muted").
STATUS_KINDS = {"finished": "ok", "running": "info", "stopped": "warning", INTERRUPTED: "warning", "failed": "error"}
UNREADABLE = "unreadable"
INTERRUPTED_MEANING = ("its process ended without saving (killed or crashed); metrics up to then and the last epoch's "
                       "weights are kept")
ENTRY_KIND = Qt.ItemDataRole.UserRole + 1  # on a row: "run", or UNREADABLE for an entry that is not a readable run


def status_meaning(run: Run, live_run_id: str | None = None) -> str:
    """What the run's status means for the user, in a sentence ('' for a plain finished run)."""
    status = run.status
    if status == INTERRUPTED:
        weights = "" if run.has_weights else " (it ended before its first epoch, so it has no weights)"
        return f"Interrupted: {INTERRUPTED_MEANING}{weights}."
    if status == "running":
        if run.id == live_run_id:
            return "Training now, in this window."
        return "Training now in another kdgui process: it cannot be renamed or deleted until that process stops it."
    if status == "stopped":
        return "Stopped before the end: the partial run's metrics and weights are kept."
    if status == "failed":
        return "Failed: see the error below; it has no usable weights." if not run.has_weights else "Failed."
    return ""


def describe_unreadable(entry: Unreadable) -> str:
    """The details pane for an entry of the runs folder that is not a readable run."""
    lines = [
        f"<b>{escape(entry.name)}</b> (unreadable)",
        f"<span style='color:{text_colour('error')}'>kdgui cannot open it: {escape(entry.reason)}</span>",
        "It is left as it is: no view uses it. Delete removes it (its folder and everything in it), or repair or "
        "remove it by hand.",
        f"Path: <tt>{escape(str(entry.path))}</tt>",
    ]
    return "<br>".join(lines)


def unreadable_delete_problem(entry: Unreadable) -> str | None:
    """Why an unreadable entry cannot be deleted from the app (None: it can)."""
    if not is_run_id(entry.name) or entry.path.name != entry.name:
        return "its name is not a run id: kdgui leaves it alone; remove it by hand"
    return None


def describe_job(run: Run, live_run_id: str | None = None) -> str:
    """The run's settings as a few lines of HTML for the details pane."""
    job = run.job
    t = job.train
    lines = [
        f"<b>{escape(run.name)}</b> ({job.kind}, {run.status})",
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
    meaning = status_meaning(run, live_run_id)
    if meaning:
        kind = STATUS_KINDS.get(run.status, "info")
        lines.append(f"<span style='color:{text_colour(kind)}'>{escape(meaning)}</span>")
    s = run.summary
    if s.get("error"):
        lines.append(f"<span style='color:{text_colour('error')}'>Error: {escape(s['error'])}</span>")
    if s.get("seconds") is not None:
        lines.append(f"Trained for {s['seconds']:.0f} s ({s.get('steps', '?')} steps) on {s.get('device', '?')}"
                     + (f"; accuracies and weights are from epoch {s['epoch']}" if s.get("epoch") else ""))
    lines.append(f"Folder: <tt>{escape(str(run.path))}</tt>")
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
        self.unreadable: dict[str, Unreadable] = {}
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
                 shown: set[str], live_run_id: str | None, on_stage: dict[str, str] | None = None,
                 unreadable: list[Unreadable] | None = None) -> None:
        """Rebuild the list (newest first), keeping the selection; runs on stage ({run id: role}) are marked.

        Entries of the runs folder that are not readable runs (``unreadable``) follow, greyed, with the reason: they
        can only be deleted.
        """
        selected = self.selected_run_id()
        self.runs = {run.id: run for run in runs}
        self.unreadable = {entry.name: entry for entry in (unreadable or [])}
        self.live_run_id = live_run_id
        self.on_stage = on_stage or {}
        self.tree.blockSignals(True)
        self.tree.setUpdatesEnabled(False)
        self.tree.clear()
        items = [self._run_item(run, labels.get(run.id, run.name), colours.get(run.id), accuracies.get(run.id, {}),
                                run.id in shown) for run in reversed(runs)]
        items += [self._unreadable_item(entry) for entry in self.unreadable.values()]
        self.tree.addTopLevelItems(items)
        current = next((item for item in items if item.data(0, Qt.ItemDataRole.UserRole) == selected), None)
        if current is not None:
            self.tree.setCurrentItem(current)
        self.tree.setUpdatesEnabled(True)
        self.tree.blockSignals(False)
        self._selection_changed()
        self._summarise()

    def update_run(self, run: Run, labels: dict[str, str], colour: str | None, accuracy: dict[str, float], shown: bool,
                   live_run_id: str | None, on_stage: dict[str, str] | None = None) -> None:
        """Add one run (at the top, as the newest) or refresh its row, without rebuilding the list.

        ``labels`` are every run's labels: a new run may number the runs that share its name (#1, #2).
        """
        self.runs[run.id] = run
        self.live_run_id = live_run_id
        self.on_stage = on_stage or {}
        item = self._run_item(run, labels.get(run.id, run.name), colour, accuracy, shown)
        self.tree.blockSignals(True)
        old = self.item_for(run.id)
        if old is None:
            self.tree.insertTopLevelItem(0, item)
        else:
            index = self.tree.indexOfTopLevelItem(old)
            was_current = self.tree.currentItem() is old
            self.tree.takeTopLevelItem(index)
            self.tree.insertTopLevelItem(index, item)
            if was_current:
                self.tree.setCurrentItem(item)
        for i in range(self.tree.topLevelItemCount()):  # names shared with the new run get their numbers
            other = self.tree.topLevelItem(i)
            run_id = other.data(0, Qt.ItemDataRole.UserRole)
            if run_id in self.runs and run_id in labels and other.text(0) != labels[run_id]:
                other.setText(0, labels[run_id])
        self.tree.blockSignals(False)
        self._selection_changed()
        self._summarise()

    def _run_item(self, run: Run, label: str, colour: str | None, acc: dict[str, float], shown: bool) -> QTreeWidgetItem:
        seconds = run.summary.get("seconds")
        status = run.status
        item = QTreeWidgetItem([
            label, run.job.kind + (" ★" if run.id in self.on_stage else ""), run.job.net.describe(), status,
            _percent(acc.get("val_acc")), _percent(acc.get("test_acc")),
            f"{seconds:.0f} s" if seconds is not None else "", run.created[:16].replace("T", " "),
        ])
        item.setData(0, Qt.ItemDataRole.UserRole, run.id)
        item.setData(0, ENTRY_KIND, "run")
        item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
        item.setCheckState(0, Qt.CheckState.Checked if shown else Qt.CheckState.Unchecked)
        item.setForeground(0, QColor(colour or plain_text_colour()))
        item.setForeground(3, QColor(text_colour(STATUS_KINDS[status]) if status in STATUS_KINDS else plain_text_colour()))
        item.setToolTip(0, f"{run.id}\nTick to show its curves")
        meaning = status_meaning(run, self.live_run_id)
        if meaning:
            item.setToolTip(3, meaning)
        if run.id in self.on_stage:
            item.setToolTip(1, f"On stage: the {self.on_stage[run.id]} that Draw, Soft targets and Compare show")
        for col in (4, 5, 6):
            item.setTextAlignment(col, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return item

    @staticmethod
    def _unreadable_item(entry: Unreadable) -> QTreeWidgetItem:
        item = QTreeWidgetItem([entry.name, "—", "—", UNREADABLE, "", "", "", ""])
        item.setData(0, Qt.ItemDataRole.UserRole, entry.name)
        item.setData(0, ENTRY_KIND, UNREADABLE)
        item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsUserCheckable)  # no curves to show
        muted = QColor(text_colour("muted"))
        for col in range(len(COLUMNS)):
            item.setForeground(col, muted)
            item.setToolTip(col, f"unreadable: {entry.reason}")
        return item

    def summary(self) -> str:
        """'5 runs · 3 on the curves', or 'no runs yet'."""
        n = len(self.runs)
        if not n:
            return f"no readable runs · {len(self.unreadable)} unreadable" if self.unreadable else "no runs yet"
        ticked = sum(1 for i in range(self.tree.topLevelItemCount())
                     if self.tree.topLevelItem(i).checkState(0) == Qt.CheckState.Checked)
        live = " · one is training" if self.live_run_id in self.runs else ""
        bad = f" · {len(self.unreadable)} unreadable" if self.unreadable else ""
        return f"{n} run{'s' if n != 1 else ''} · {ticked} on the curves{live}{bad}"

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
        selected = self.selected_run_id() or ""
        run = self.runs.get(selected)
        entry = self.unreadable.get(selected) if run is None else None
        live = run is not None and run.id == self.live_run_id
        training = run is not None and (live or run.status == "running")  # this window's run, or another process's
        self.reopen_button.setEnabled(run is not None)
        self.rename_button.setEnabled(run is not None and not training)
        self.rename_button.setToolTip("A run that is training cannot be renamed: its process rewrites its run.json when it ends"
                                      if training else "Give this run a name of your own")
        if entry is not None:
            problem = unreadable_delete_problem(entry)
            self.delete_button.setEnabled(problem is None)
            self.delete_button.setToolTip(f"Cannot be deleted here: {problem}" if problem else
                                          "Delete this unreadable entry's folder")
        else:
            self.delete_button.setEnabled(run is not None and not training)
            self.delete_button.setToolTip(
                "A run that is training cannot be deleted: stop it first" if live else
                "Another kdgui process is training this run: it cannot be deleted until that process stops it" if training
                else "Delete this run's folder")
        is_teacher = run is not None and run.job.kind == "teacher" and run.has_weights and not training
        self.teacher_button.setEnabled(is_teacher)
        self.teacher_button.setToolTip("Distil from this teacher" if is_teacher else "Select a trained teacher run")
        reason = why_not_showable(run, run.job.kind) if run is not None else "select a run"
        self.stage_button.setEnabled(reason is None and run.id not in self.on_stage)
        self.stage_button.setText(f"Show as {run.job.kind}" if run is not None else "Show on stage")
        self.stage_button.setToolTip("Already on stage" if run is not None and run.id in self.on_stage else
                                     f"Cannot be shown: {reason}" if reason else
                                     "Show this run in Draw, Soft targets, Compare and Export as the network of its kind")
        if run is not None:
            self.details.setHtml(describe_job(run, self.live_run_id))
        else:
            self.details.setHtml(describe_unreadable(entry) if entry is not None else "")

    def _emit_for_selected(self, signal) -> None:  # noqa: ANN001 - a bound Signal
        run_id = self.selected_run_id()
        if run_id:
            signal.emit(run_id)

    def _ask_rename(self) -> None:
        run = self.runs.get(self.selected_run_id() or "")
        if run is None:
            return
        name, ok = QInputDialog.getText(self, "Rename run", "New name (empty: the automatic name):", text=run.meta.get("name") or "")
        if ok:
            self.renameRequested.emit(run.id, name)

    def _ask_delete(self) -> None:
        selected = self.selected_run_id() or ""
        run, entry = self.runs.get(selected), self.unreadable.get(selected)
        if run is not None:
            question = f"Delete the run '{run.name}' and its folder?\n{run.path}"
        elif entry is not None:
            question = f"Delete the unreadable entry '{entry.name}' and everything in it?\n{entry.path}\n\n{entry.reason}"
        else:
            return
        answer = QMessageBox.question(self, "Delete run", question)
        if answer == QMessageBox.StandardButton.Yes:
            self.deleteRequested.emit(selected)

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
