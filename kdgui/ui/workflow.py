"""The workflow's rules, free of widgets: which step is next, what to say about it, why a button cannot start."""

from __future__ import annotations

from dataclasses import dataclass, field

STEPS = [("data", "Data"), ("teacher", "Teacher"), ("student", "Student"), ("distilled", "Distil"), ("compare", "Compare")]
STEP_TIPS = {
    "data": "The images the networks learn from",
    "teacher": "Train the big network from labels (Networks and Training panels)",
    "student": "Train the small network from labels: the baseline",
    "distilled": "Train the small network from the teacher's soft targets (Distillation panel)",
    "compare": "Overlay the runs' curves and accuracies (Runs panel)",
}
NEXT_HINTS = {
    "data": "Next: get the dataset. The Data panel says which files are missing; press Download or choose a folder.",
    "teacher": "Next: press Train teacher. The big network learns from labels.",
    "student": "Next: press Train student. The small network learns from labels alone: the baseline to beat.",
    "distilled": "Next: press Distil. The small network learns from the teacher's softened outputs.",
    "compare": "Compare: tick runs in the Runs panel to overlay their curves. Try another temperature or transfer set.",
}
# The panel each step's chip opens.
STEP_PANELS = {"data": "data", "teacher": "networks", "student": "networks", "distilled": "distillation", "compare": "runs"}


@dataclass(frozen=True)
class Facts:
    """What the rules need to know about the window right now."""

    data_ready: bool
    dataset_title: str  # e.g. "MNIST"
    downloading: bool = False
    busy: str | None = None  # what runs now, in words ("a run", "a sweep"), or None
    live_title: str | None = None  # the training run's title while one trains
    finished: frozenset[str] = frozenset()  # kinds with a finished run on this dataset
    has_teacher_runs: bool = False
    teacher_chosen: bool = False
    problems: dict[str, list[str]] = field(default_factory=dict)  # stage -> the panels' own problems


def stage_problems(stage: str, facts: Facts) -> list[str]:
    """Why the stage's button cannot start now, most important first (empty: it can)."""
    if facts.busy:
        return [f"{facts.busy} is in progress: stop it or wait for it to end"]
    if facts.downloading:
        return ["the dataset is downloading"]
    if not facts.data_ready:
        return [f"{facts.dataset_title} is missing: see the Data panel"]
    problems = list(facts.problems.get(stage, ()))
    if stage == "distilled" and not facts.teacher_chosen:
        problems.insert(0, "train a teacher first (or pick one in the Runs panel)")
    return problems


def step_states(facts: Facts) -> tuple[dict[str, bool], str]:
    """({step: done}, the current step): the first step not done, where a distillation waits for its teacher."""
    done = {"data": facts.data_ready, "teacher": "teacher" in facts.finished, "student": "student" in facts.finished,
            "distilled": "distilled" in facts.finished}
    current = next((step for step, _ in STEPS[:-1] if not done[step]), "compare")
    if current == "distilled" and not done["teacher"]:
        current = "teacher"
    return done, current


def next_hint(facts: Facts) -> str:
    """One sentence: what to do next (or what is happening)."""
    if facts.live_title:
        return f"{facts.live_title} is training: watch its curves. Pause or Stop it with the buttons above."
    done, current = step_states(facts)
    if current == "student" and not done["distilled"] and facts.has_teacher_runs:
        return NEXT_HINTS["student"] + " Then Distil."
    return NEXT_HINTS[current]


def refusal_message(problems: list[str]) -> str:
    """A disabled button's tooltip and a refused shortcut's status line: the first reason, as a sentence."""
    return problems[0][0].upper() + problems[0][1:] if problems else ""
