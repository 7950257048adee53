"""What the settings panels say now, as the window's helpers and panels read it: the dataset (data given at start-up wins
over the Data panel), whether it is ready, the student network, and the teacher sweeps and studies distil from."""

from __future__ import annotations

from ..core.config import NetSpec
from ..core.data import Splits
from ..core.errors import ConfigError
from .panels.data import DataPanel
from .panels.distillation import DistillationPanel
from .panels.networks import NetworksPanel
from .state import RunsModel


class Choices:
    """Reads ``data`` (in-memory splits supplied at start-up, or None) and the panels; holds nothing else."""

    def __init__(self, data: Splits | None, data_panel: DataPanel, networks: NetworksPanel, distillation: DistillationPanel,
                 runs: RunsModel) -> None:
        self.data_override, self.data_panel, self.networks, self.distillation, self.runs = data, data_panel, networks, distillation, runs

    def dataset(self) -> str:
        return self.data_override.dataset if self.data_override is not None else self.data_panel.dataset()

    def data_ready(self) -> bool:
        return self.data_override is not None or self.data_panel.ready

    def data_source(self) -> tuple[Splits | None, str | None]:
        return self.data_override, (None if self.data_override is not None else str(self.data_panel.data_dir()))

    def student_spec(self) -> NetSpec:
        problems = self.networks.problems("student")
        spec = self.networks.student_spec()
        if problems or spec is None:
            raise ConfigError(problems[0] if problems else "the student network is not valid: see the Networks panel")
        return spec

    def experiment_teacher(self) -> tuple[str | None, str]:
        """(run id, words): the Distillation panel's teacher, which sweeps and studies distil from too."""
        chosen = self.distillation.teacher_run_id()
        if chosen:
            return chosen, f"Teacher: {self.runs.label(chosen)} (chosen in the Distillation panel)"
        return None, "No teacher yet: train one first (Networks › Train teacher)"
