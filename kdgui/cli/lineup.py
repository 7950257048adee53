"""kdgui-cli lineup: the teacher, student and distilled student the app shows, and the helpers other commands use
to pick their networks the same way (kdgui.core.lineup decides; this module only reads options and prints).
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from ..core.errors import KdguiError
from . import options
from .options import LINEUP_TEACHER, ROLES

if TYPE_CHECKING:
    from ..core.lineup import Lineup, Member
    from ..core.runs import RunStore


def add_parsers(sub: Any) -> None:
    p = sub.add_parser(
        "lineup",
        help="show or choose the teacher, student and distilled student that the app, report and export use",
        description="Print the lineup: for each role the run shown (or the bundled network) and why. With --teacher, "
                    "--student or --distilled, save that choice in the runs folder first (the app reads the same file); "
                    "'default' goes back to the newest suitable run.",
    )
    options.lineup_roles(p, allow_default=True)
    options.runs_dir(p)
    p.set_defaults(handler=run)


def overrides(args: argparse.Namespace) -> dict[str, str]:
    """{role: run id or "bundled"} from --teacher/--student/--distilled, for the roles given."""
    return {role: value for role in ROLES if (value := getattr(args, role, None))}


def current(store: RunStore, given: dict[str, str] | None = None) -> Lineup:
    """The lineup with the command line's choices on top; a choice that cannot be honoured is a one-line error."""
    from ..core.lineup import current_lineup

    return current_lineup(store, given)


def describe_lines(lineup: Lineup) -> list[str]:
    return [member.describe() for member in lineup.members]


def teacher_member(store: RunStore, which: str) -> Member | None:
    """The lineup's teacher when ``which`` is 'lineup' (or 'latest'); None when it names a run itself.

    The bundled teacher is not a run, and distillation needs a teacher run: that is a one-line error.
    """
    if which not in LINEUP_TEACHER:
        return None
    member = current(store)["teacher"]
    if not member.bundled:
        return member
    if member.how == "chosen":
        raise KdguiError("the lineup's teacher is the bundled one, which cannot be distilled from the command line: "
                         "give --teacher RUN, or run 'kdgui-cli lineup --teacher default'")
    raise KdguiError(f"no teacher run in {store.root}: run 'kdgui-cli train-teacher' first "
                     "(the bundled teacher cannot be distilled from the command line)")


def run(args: argparse.Namespace, store: RunStore) -> int:
    from ..core.lineup import parse_choice, read_choices, write_choices

    given = overrides(args)
    if given:
        choices: dict[str, str | None] = dict(read_choices(store))
        to_check = {}
        for role, value in given.items():
            choice = parse_choice(value)
            choices[role] = choice
            if choice is not None:
                to_check[role] = choice
        current(store, to_check)  # a run that is gone or of another kind: error before anything is saved
        write_choices(store, choices)
        print(f"saved the lineup in {store.root}")
    for line in describe_lines(current(store)):
        print(line)
    return 0
