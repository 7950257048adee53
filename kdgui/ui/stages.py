"""The workflow's stages on screen: which start buttons and steps are enabled, and the jobs those buttons build."""

from __future__ import annotations

from typing import Callable

from PySide6.QtCore import QObject

from ..core.config import Job
from ..core.data import DISPLAY_NAMES
from ..core.errors import ConfigError
from ..core.models import parameter_count
from .jobs import JobRunner
from .panels.data import DataPanel
from .panels.distillation import DistillationPanel
from .panels.networks import NetworksPanel
from .panels.run_controls import START_BUTTONS, RunControls
from .panels.training import TrainingPanel
from .session import TrainingSession
from .state import RunsModel
from .temperature_model import TemperatureModel
from .widgets.step_bar import CURRENT, DONE, WAITING, StepBar
from . import workflow


class Stages(QObject):
    """Reads the panels into workflow facts, applies the rules to the buttons, steps and hint, and builds jobs."""

    def __init__(self, data: DataPanel, networks: NetworksPanel, training: TrainingPanel, distillation: DistillationPanel,
                 runs: RunsModel, runner: JobRunner, session: TrainingSession, controls: RunControls, steps: StepBar,
                 temperature: TemperatureModel, dataset: Callable[[], str], data_ready: Callable[[], bool],
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.data, self.networks, self.training, self.distillation = data, networks, training, distillation
        self.runs, self.runner, self.session, self.controls, self.steps = runs, runner, session, controls, steps
        self.temperature, self.dataset, self.data_ready = temperature, dataset, data_ready
        for panel in (networks, distillation):  # a recipe chosen on the Training panel fills these panels too
            training.recipeChosen.connect(panel.apply_recipe)

    def facts(self) -> workflow.Facts:
        dataset = self.dataset()
        problems = {stage: self.networks.problems("teacher" if stage == "teacher" else "student")
                    + self.training.problems(stage) for stage in START_BUTTONS}
        problems["distilled"] += self.distillation.problems()
        for stage, found in problems.items():
            if not found:  # each panel's values are fine alone: the core may still refuse them together
                found += self._combination_problems(stage)
        return workflow.Facts(
            data_ready=self.data_ready(), dataset_title=DISPLAY_NAMES[dataset], downloading=self.data.downloading(),
            busy=self.runner.title if self.runner.running else None,
            live_title=self.runner.title if self.session.training else None,
            finished=frozenset(self.runs.finished_kinds(dataset)), has_teacher_runs=bool(self.runs.teacher_runs(dataset)),
            teacher_chosen=bool(self.distillation.teacher_run_id()), problems=problems)

    def _combination_problems(self, stage: str) -> list[str]:
        """Why the core refuses this stage's settings together (e.g. augmentation with a noise transfer set), if it does."""
        distilled = stage == "distilled"
        try:
            Job(stage, self.networks.teacher_spec() if stage == "teacher" else self.networks.student_spec(),
                self.training.train_config(stage), self.distillation.distill_config() if distilled else None,
                dataset=self.dataset(), teacher_run=(self.distillation.teacher_run_id() or "pending") if distilled else None,
                standardize=self.data.standardize())
        except ConfigError as exc:
            return [str(exc)]
        return []

    def update(self) -> tuple[dict[str, list[str]], str]:
        """Apply the rules to the start buttons and the steps; returns ({stage: problems}, the next-step hint)."""
        facts = self.facts()
        refusals = {}
        for stage in START_BUTTONS:
            problems = refusals[stage] = workflow.stage_problems(stage, facts)
            self.controls.set_start_state(stage, not problems, workflow.refusal_message(problems) or self._start_tooltip(stage))
        done, current = workflow.step_states(facts)
        for step, _ in workflow.STEPS:
            state = DONE if done.get(step) else CURRENT if step == current else WAITING
            self.steps.set_state(step, state, workflow.STEP_TIPS[step] + (" (done)" if state == DONE else ""))
        return refusals, workflow.next_hint(facts)

    def _start_tooltip(self, stage: str) -> str:
        spec = self.networks.teacher_spec() if stage == "teacher" else self.networks.student_spec()
        train = self.training.train_config(stage)
        images = "all training images" if train.train_limit is None else f"{train.train_limit:,} training images"
        what = {"teacher": "Train the teacher", "student": "Train the student from labels",
                "distilled": f"Distil the teacher into the student at T={self.temperature.temperature:g}"}[stage]
        return (f"{what}: {spec.describe()} ({parameter_count(spec):,} parameters), {train.epochs} epochs, "
                f"learning rate {train.lr:g}, {images}")

    def build_job(self, stage: str) -> Job:
        """The job a stage's button runs, built through the core's validated configs (ConfigError says why not)."""
        problems = workflow.stage_problems(stage, self.facts())
        if problems:
            raise ConfigError(problems[0])
        net = self.networks.teacher_spec() if stage == "teacher" else self.networks.student_spec()
        distilled = stage == "distilled"
        return Job(stage, net, self.training.train_config(stage), self.distillation.distill_config() if distilled else None,
                   dataset=self.dataset(), teacher_run=self.distillation.teacher_run_id() if distilled else None,
                   standardize=self.data.standardize())
