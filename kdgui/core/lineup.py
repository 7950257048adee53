"""The lineup: which teacher, label-trained student and distilled student every view shows, and the default rule."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from .config import KIND_TITLES, KINDS
from .errors import KdguiError, RunError
from .predict import NamedModel
from .runs import Run, RunStore
from .files import atomic_write_json, read_json_file

ROLES = KINDS
BUNDLED = "bundled"  # a choice: the network shipped with kdgui
DEFAULT = None  # a choice: let the default rule pick
LINEUP_FILE = ".lineup.json"  # a dot name: the run and experiment listings pass over it
LINEUP_SCHEMA = "kdgui.lineup/1"
STUDY_NAME_PREFIX = "study: "  # how runs made by a study were named before they carried an origin
LEFT_OUT_TRANSFERS = {"leave_out": "a transfer set without some digits", "noise": "random noise as transfer set",
                      "other": "another dataset's images as transfer set"}


def study_origin(run: Run) -> str | None:
    """The study or sweep that made ``run``, if any (its ``origin``, or the name studies gave before origins existed)."""
    origin = run.meta.get("origin")
    if isinstance(origin, str) and origin:
        return origin
    name = run.meta.get("name")
    if isinstance(name, str) and name.startswith(STUDY_NAME_PREFIX):
        return "study"
    return None


def why_not_showable(run: Run, role: str) -> str | None:
    """Why ``run`` cannot be shown as ``role`` at all (None: it can, when the user puts it on stage)."""
    job = run.job
    if job.kind != role:
        return f"it is a {KIND_TITLES[job.kind].lower()} run, not a {KIND_TITLES[role].lower()}"
    if job.dataset != "mnist":
        return f"it was trained on {job.dataset}; the views show MNIST digits"
    if job.standardize:
        return "it was trained on standardised pixels; the views feed raw [0,1] pixels"
    if run.status == "running":
        return "it is still training"
    if not run.has_weights:
        return f"it has no saved weights ({run.status})"
    return None


def why_not_default(run: Run, role: str) -> str | None:
    """Why the default rule passes over ``run`` for ``role`` (None: it is a candidate)."""
    reason = why_not_showable(run, role)
    if reason:
        return reason
    if run.status != "finished":
        return f"it did not finish ({run.status})"
    origin = study_origin(run)
    if origin:
        return f"it was made by a {origin.split()[0]}"
    distill = run.job.distill
    if distill is not None and distill.transfer in LEFT_OUT_TRANSFERS:
        return f"it was distilled on {LEFT_OUT_TRANSFERS[distill.transfer]}"
    return None


def default_runs(runs: Iterable[Run]) -> dict[str, Run]:
    """The newest default candidate of each role (roles without one are absent); ``runs`` oldest first."""
    found: dict[str, Run] = {}
    for run in runs:
        for role in ROLES:
            if why_not_default(run, role) is None:
                found[role] = run
    return found


@dataclass(frozen=True)
class Member:
    """One network on stage: a run (``run_id``) or the bundled network, and how it got there."""

    role: str
    run_id: str | None  # None: the bundled network
    name: str  # the run's name, or "bundled"
    network: str  # e.g. 784-50-10
    how: str  # "chosen" (by the user), "default" (the newest suitable run) or "bundled" (nothing of the user's)
    note: str = ""  # why a choice was not honoured, shown beside the lineup

    @property
    def bundled(self) -> bool:
        return self.run_id is None

    @property
    def source(self) -> str:
        """What report JSON and the CLI print: the run id, or ``bundled``."""
        return self.run_id or BUNDLED

    @property
    def label(self) -> str:
        """'Distilled student 784-50-10 (distilled T=4)' or '... (bundled)': the same words in every view."""
        return f"{KIND_TITLES[self.role]} {self.network} ({self.name if self.run_id else BUNDLED})"

    def describe(self) -> str:
        """The label and how it was chosen, for the CLI and tooltips."""
        how = {"chosen": "chosen", "default": "the newest suitable run", "bundled": "no suitable run of yours"}[self.how]
        run = f", run {self.run_id}" if self.run_id else ""
        return f"{self.label}{run}: {how}" + (f"; {self.note}" if self.note else "")


@dataclass(frozen=True)
class Lineup:
    """The teacher, the student from labels and the distilled student the views show."""

    members: tuple[Member, ...]  # in ROLES order

    def __getitem__(self, role: str) -> Member:
        for member in self.members:
            if member.role == role:
                return member
        raise KeyError(role)

    @property
    def key(self) -> tuple[tuple[str, str], ...]:
        """Equal for two lineups that show the same networks (views keep their work when it does not change)."""
        return tuple((m.role, m.source) for m in self.members)

    def sources(self) -> dict[str, str]:
        """{role: run id or "bundled"}, as ``kdgui-cli report --json`` records them."""
        return {m.role: m.source for m in self.members}

    def notes(self) -> list[str]:
        return [f"{KIND_TITLES[m.role]}: {m.note}" for m in self.members if m.note]


def _bundled_member(role: str, networks: Mapping[str, str], how: str = "bundled", note: str = "") -> Member:
    return Member(role, None, BUNDLED, networks.get(role, "?"), how, note)


def _run_member(run: Run, role: str, how: str) -> Member:
    return Member(role, run.id, run.name, run.job.net.describe(), how)


def resolve_lineup(runs: Sequence[Run], choices: Mapping[str, str | None] | None = None,
                   bundled_networks: Mapping[str, str] | None = None) -> Lineup:
    """The lineup for ``runs`` (oldest first) and the user's ``choices`` ({role: run id, "bundled" or None}).

    A chosen run that is gone or cannot be shown leaves its role to the default rule, with a note saying so.
    ``bundled_networks`` ({role: "784-50-10"}) labels the bundled networks; read from bundled.json when None.
    """
    choices = choices or {}
    networks = bundled_networks if bundled_networks is not None else bundled_network_names()
    by_id = {run.id: run for run in runs}
    defaults = default_runs(runs)
    members = []
    for role in ROLES:
        choice, note = choices.get(role), ""
        if choice == BUNDLED:
            members.append(_bundled_member(role, networks, "chosen"))
            continue
        if choice:
            run = by_id.get(choice)
            reason = "there is no such run in the runs folder" if run is None else why_not_showable(run, role)
            if reason is None:
                members.append(_run_member(run, role, "chosen"))
                continue
            note = f"the chosen run {choice} is not shown: {reason}"
        if role in defaults:
            members.append(dataclasses.replace(_run_member(defaults[role], role, "default"), note=note))
        else:
            members.append(_bundled_member(role, networks, note=note))
    return Lineup(tuple(members))


def bundled_network_names(folder: Any = None) -> dict[str, str]:
    """{role: "784-50-10"} of the bundled networks, read from bundled.json without loading weights ("?" if unreadable)."""
    from .bundled import read_bundle_info
    from .config import NetSpec, _build

    try:
        info = read_bundle_info(folder)
        return {role: _build(NetSpec, info["models"][role].get("net")).describe() for role in ROLES}
    except (KdguiError, TypeError, AttributeError):
        return {role: "?" for role in ROLES}


def load_models(lineup: Lineup, store: RunStore, folder: Any = None) -> tuple[list[NamedModel], list[str]]:
    """The lineup's networks, ready to predict, and a problem line for each run whose weights would not load.

    A run that cannot be loaded is replaced by the bundled network of its role, so one bad file never
    leaves a view without networks.
    """
    from .bundled import load_bundled_model, read_bundle_info

    models: list[NamedModel] = []
    problems: list[str] = []
    info = None
    for member in lineup.members:
        if member.run_id is not None:
            try:
                model = store.get(member.run_id).load_model()
                models.append(NamedModel(member.role, member.label, model, member.run_id))
                continue
            except KdguiError as exc:
                problems.append(f"{KIND_TITLES[member.role]} {member.run_id}: {exc}; the bundled one answers instead")
        try:
            info = info if info is not None else read_bundle_info(folder)
            bundled = load_bundled_model(member.role, folder, info)
        except KdguiError as exc:
            problems.append(f"bundled {member.role}: {exc}")
            continue
        label = f"{KIND_TITLES[member.role]} {bundled.model.spec.describe()} ({BUNDLED})"
        models.append(NamedModel(member.role, label, bundled.model, BUNDLED))
    return models, problems


# --- the user's choices, kept in the runs folder so the app and kdgui-cli share them --------------------


def _choices_path(store: RunStore) -> Path:
    return store.root / LINEUP_FILE


def read_choices(store: RunStore) -> dict[str, str | None]:
    """The saved choices; a missing, corrupt or foreign file means no choices (the default rule everywhere)."""
    path = _choices_path(store)
    if not path.is_file():
        return {}
    try:
        data = read_json_file(path, f"{path} is missing")
    except RunError:
        return {}
    if not isinstance(data, dict) or data.get("schema") != LINEUP_SCHEMA or not isinstance(data.get("roles"), dict):
        return {}
    return {role: value for role, value in data["roles"].items()
            if role in ROLES and isinstance(value, str) and 0 < len(value) <= 200}


def write_choices(store: RunStore, choices: Mapping[str, str | None]) -> None:
    """Save the choices atomically (roles left to the default rule are left out); a RunError says why it failed."""
    roles = {role: choices[role] for role in ROLES if choices.get(role)}
    try:
        store.root.mkdir(parents=True, exist_ok=True)
        atomic_write_json(_choices_path(store), {"schema": LINEUP_SCHEMA, "roles": roles})
    except OSError as exc:
        raise RunError(f"cannot save the lineup in {store.root}: {exc.strerror or exc}") from None


def parse_choice(value: str | None) -> str | None:
    """A command-line value: a run id, ``bundled``, or ``default``/empty for the default rule."""
    if value is None or value in ("", "default"):
        return DEFAULT
    return value


def current_lineup(store: RunStore, overrides: Mapping[str, str | None] | None = None) -> Lineup:
    """The lineup the app shows for ``store``, with ``overrides`` ({role: run id or "bundled"}) taking precedence.

    An override that cannot be honoured (no such run, a run of another kind) is a KdguiError: on the command
    line the user named that network and must not silently get another.
    """
    overrides = {role: value for role, value in (overrides or {}).items() if value is not None}
    choices = {**read_choices(store), **overrides}
    lineup = resolve_lineup(store.list(), choices)
    for role, value in overrides.items():
        member = lineup[role]
        if member.how != "chosen":
            raise KdguiError(f"--{role} {value}: {member.note.removeprefix(f'the chosen run {value} is not shown: ')}")
    return lineup
