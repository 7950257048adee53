"""kdgui-cli's options, each defined once: the shared option groups and the small value parsers.

Two commands that take the same option get it from the same function here, so its name, default and help
never drift apart between commands.
"""

from __future__ import annotations

import argparse
import math
from typing import Any, Callable, NoReturn

from ..core import config as C
from ..core.errors import ConfigError
from ..core.threads import MAX_THREADS

ROLES = C.KINDS  # teacher, student, distilled: the lineup's roles
LINEUP_TEACHER = ("lineup", "latest")  # --teacher values meaning "the lineup's teacher" ('latest': the old name)


MAX_REPEATS = 1000  # as kdgui.core.report.MAX_REPEATS
MAX_EPOCHS_SCALE = 500  # the seed's 20 epochs x 500 = 10,000, the most a run may have


def printable(text: Any) -> str:
    """``text`` as one printable line: control characters and unpaired surrogates escaped (torch-free ``shown``)."""
    text = str(text)
    return text if text.isprintable() else "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


class Parser(argparse.ArgumentParser):
    """argparse with one-line errors: 'kdgui-cli: error: WHAT; see 'kdgui-cli COMMAND --help'', exit code 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"kdgui-cli: error: {printable(message)}; see '{self.prog} --help'\n")


def _items(text: str, convert: Callable[[str], Any], what: str, *, distinct: bool = False) -> tuple[Any, ...]:
    """A comma-separated list: no empty items, each item converted; with ``distinct``, each value once."""
    parts = [p.strip() for p in text.split(",")]
    if parts == [""]:
        raise argparse.ArgumentTypeError(f"expected {what} separated by commas, got an empty list")
    if "" in parts:
        raise argparse.ArgumentTypeError(f"an empty item in {printable(repr(text))}: give {what} separated by single commas")
    try:
        values = tuple(convert(p) for p in parts)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {what} separated by commas, got {printable(repr(text))}") from None
    if distinct:
        seen = set()
        for value in values:
            if value in seen:
                raise argparse.ArgumentTypeError(f"{value:g} is given twice in {printable(repr(text))}: give each once")
            seen.add(value)
    return values


def _ints(text: str) -> tuple[int, ...]:
    return _items(text, int, "whole numbers")


def _floats(text: str) -> tuple[float, ...]:
    return _items(text, float, "numbers")


def distinct_ints(text: str) -> tuple[int, ...]:
    """Digits and the like: a comma-separated list, each value once."""
    return _items(text, int, "whole numbers", distinct=True)


def distinct_floats(text: str) -> tuple[float, ...]:
    """Temperatures: a comma-separated list, each value once."""
    return _items(text, float, "numbers", distinct=True)


def _bounded_int(low: int, high: int, why: str = "") -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {printable(repr(text))}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"expected a whole number from {low} to {high:,}{why}, got {value}")
        return value

    return parse


thread_count = _bounded_int(1, MAX_THREADS)
repeat_count = _bounded_int(1, MAX_REPEATS, " (the fastest tenth is kept: more only take longer)")


def epochs_scale(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {printable(repr(text))}") from None
    if not (math.isfinite(value) and 0 < value <= MAX_EPOCHS_SCALE):
        raise argparse.ArgumentTypeError(f"expected a number above 0 and at most {MAX_EPOCHS_SCALE} (10,000 epochs), got {text}")
    return value


def _widths(values: tuple[float, ...] | tuple[int, ...]) -> str:
    return ",".join(f"{v:g}" for v in values)


# --- single options shared by commands outside the groups below ------------------------------------------------


def runs_dir(group: argparse._ActionsContainer) -> None:
    group.add_argument("--runs-dir", help="runs folder (default: $KDGUI_RUNS_DIR, else the user data folder)")


def data_dir(group: argparse._ActionsContainer, note: str = "") -> None:
    group.add_argument("--data-dir", help="folder holding <Dataset>/raw/*-ubyte, e.g. MNIST/raw "
                       f"(default: $KDGUI_DATA_DIR, else the user data folder){note}")


def json_path(group: argparse._ActionsContainer, what: str) -> None:
    group.add_argument("--json", metavar="PATH", help=f"also write {what} to this JSON file")


# --- groups ----------------------------------------------------------------------------------------------------


def common(parser: argparse.ArgumentParser) -> None:
    """Data, runs folder, device, --json and --quiet: every command that trains."""
    g = parser.add_argument_group("data, runs and device")
    data_dir(g)
    g.add_argument("--download", action="store_true", help="download the dataset if its files are missing")
    runs_dir(g)
    g.add_argument("--device", default="auto", help="cpu, cuda, cuda:N, mps, or auto (GPU when there is one; default)")
    json_path(g, "the accuracies (fractions) and seconds")
    threads(g)
    g.add_argument("--quiet", action="store_true", help="no progress bar or epoch lines")


def training(parser: argparse.ArgumentParser, defaults: C.TrainConfig, spec: C.NetSpec,
             ) -> tuple[argparse._ArgumentGroup, argparse._ArgumentGroup]:
    """The training and network options of every command that trains; returns both groups for additions."""
    g = parser.add_argument_group("training")
    g.add_argument("--epochs", type=int, default=defaults.epochs, help=f"passes over the training (or transfer) set (default {defaults.epochs})")
    g.add_argument("--lr", type=float, default=defaults.lr, help=f"Adam learning rate (default {defaults.lr:g})")
    g.add_argument("--batch-size", type=int, default=defaults.batch_size, help=f"images per step (default {defaults.batch_size})")
    g.add_argument("--seed", type=int, default=0, help="random seed: same seed, same run (default 0)")
    g.add_argument("--eval-every", type=int, default=defaults.eval_every,
                   help=f"evaluate on validation and test every N batches; epoch ends always are (default {defaults.eval_every})")
    g.add_argument("--limit", type=int, help="train on the first N training images only (quick runs)")
    g.add_argument("--keep-best", action=argparse.BooleanOptionalAction, default=defaults.keep_best,
                   help="keep the epoch-end weights with the best validation accuracy rather than the last (default: on)")
    g.add_argument("--name", default="", help="a name for the run (or result), shown in the app")
    n = parser.add_argument_group("network")
    n.add_argument("--hidden", type=_ints, default=spec.hidden, help=f"hidden layer widths, comma-separated (default {_widths(spec.hidden)})")
    n.add_argument("--activation", default=spec.activation, choices=C.ACTIVATIONS, help=f"activation (default {spec.activation})")
    return g, n


CNN_SPEC = C.BEST_TEACHER_SPEC  # what --arch cnn starts from: the best recipe's teacher
AUGMENT_STRENGTHS = {  # AugmentConfig's strengths: its field, the option's metavar and help (the core checks the values)
    "shift": ("PIXELS", "largest shift each way"),
    "rotate": ("DEGREES", "largest rotation either way"),
    "scale": ("FRACTION", "largest change of size: 0.1 scales by 0.9 to 1.1"),
    "shear": ("DEGREES", "largest shear either way"),
    "elastic_alpha": ("PIXELS", "affine+elastic only: how far the elastic distortion moves pixels"),
    "elastic_sigma": ("PIXELS", "affine+elastic only: how smooth the elastic distortion is, its Gaussian's width"),
}


def single_run(parser: argparse.ArgumentParser, train: argparse._ArgumentGroup, network: argparse._ArgumentGroup,
               spec: C.NetSpec) -> None:
    """What only train-teacher, train-student and distill offer: another dataset, standardising, dropout, a CNN,
    a learning-rate schedule, weight decay and augmentation (``net_spec`` and ``augment`` read them)."""
    train.add_argument("--dataset", default="mnist", choices=C.DATASETS, help="dataset (default mnist)")
    train.add_argument("--standardize", action="store_true", help="standardise pixels with the training mean and std (the seed did not)")
    train.add_argument("--schedule", default=C.TrainConfig.schedule, choices=tuple(C.SCHEDULES),
                       help=f"the learning rate over the run: {_named(C.SCHEDULES)} (default {C.TrainConfig.schedule}; --lr is the peak)")
    train.add_argument("--weight-decay", type=float, default=C.TrainConfig.weight_decay, metavar="W",
                       help="decoupled weight decay (AdamW) when above 0, e.g. 1e-4 (default 0: plain Adam)")
    network.add_argument("--dropout", type=_floats, default=None, help=f"dropout after each hidden layer, comma-separated (default {_widths(spec.dropout)})")
    network.add_argument("--arch", default=spec.arch, choices=tuple(C.ARCHITECTURES),
                         help=f"mlp: fully connected layers (default); cnn: conv blocks (--conv, --kernel, --pool) then the dense "
                              f"--hidden layers, by default the best recipe's teacher: --conv {_widths(CNN_SPEC.conv)} "
                              f"--hidden {_widths(CNN_SPEC.hidden)} --dropout {_widths(CNN_SPEC.dropout)}")
    network.add_argument("--conv", type=_ints, default=None, metavar="CHANNELS",
                         help=f"with --arch cnn: channels of each conv block, comma-separated, 1 to {C.MAX_CONV_BLOCKS} blocks "
                              f"(default {_widths(CNN_SPEC.conv)})")
    network.add_argument("--kernel", type=int, default=None, choices=C.CONV_KERNELS,
                         help=f"with --arch cnn: the convolutions' kernel size (default {CNN_SPEC.kernel})")
    network.add_argument("--pool", default=None, choices=tuple(C.POOLINGS),
                         help=f"with --arch cnn: 2x2 max or average pooling after each conv block (default {CNN_SPEC.pool})")
    network.set_defaults(hidden=None)  # a CNN's dense layers default to the recipe's, an MLP's to the seed's (net_spec)
    aug = parser.add_argument_group("augmentation", "random distortions of every training batch "
                                               "(for distill: of the transfer set, which the teacher answers on too)")
    aug.add_argument("--augment", default=C.NO_AUGMENT.kind, choices=tuple(C.AUGMENTATIONS), metavar="KIND",
                     help=f"{_named(C.AUGMENTATIONS)} (default {C.NO_AUGMENT.kind})")
    for name, (metavar, about) in AUGMENT_STRENGTHS.items():
        aug.add_argument(f"--{name.replace('_', '-')}", type=float, default=None, metavar=metavar,
                         help=f"{about} (default {getattr(C.NO_AUGMENT, name):g})")


def _named(titles: dict[str, str]) -> str:
    """'a, b (what b is) or c (what c is)' from a table of names and titles, for a help text."""
    named = [k if v.lower() == k else f"{k} ({v[0].lower()}{v[1:]})" for k, v in titles.items()]
    return (", ".join(named[:-1]) + " or " + named[-1]).replace("%", "%%")  # argparse formats help with %


def net_spec(args: argparse.Namespace, spec: C.NetSpec) -> C.NetSpec:
    """The network of a single run from --arch, --conv, --kernel, --pool, --hidden, --dropout and --activation (``spec``:
    the command's default MLP); the core refuses what does not fit (ConfigError: one line)."""
    cnn = args.arch == "cnn"
    base = CNN_SPEC if cnn else spec
    if not cnn:
        given = [f"--{name}" for name in ("conv", "kernel", "pool") if getattr(args, name) is not None]
        if given:
            raise ConfigError(f"{' and '.join(given)} {'is' if len(given) == 1 else 'are'} for a CNN: add --arch cnn")
    hidden = args.hidden if args.hidden is not None else base.hidden
    dropout = args.dropout if args.dropout is not None else (base.dropout if hidden == base.hidden else ())
    values = {"conv": args.conv if args.conv is not None else base.conv, "kernel": args.kernel or base.kernel,
              "pool": args.pool or base.pool} if cnn else {}
    return C.NetSpec(hidden=hidden, dropout=dropout, activation=args.activation, arch=args.arch, **values)


def augment(args: argparse.Namespace) -> C.AugmentConfig:
    """--augment and its strengths; a strength given without the augmentation that uses it is refused (one line)."""
    given = {name: getattr(args, name) for name in AUGMENT_STRENGTHS if getattr(args, name) is not None}
    unused = [name for name in given if args.augment == "none" or (name.startswith("elastic") and args.augment != "affine+elastic")]
    if unused:
        needs = "affine+elastic" if all(n.startswith("elastic") for n in unused) else "affine or affine+elastic"
        names = " and ".join(f"--{n.replace('_', '-')}" for n in unused)
        raise ConfigError(f"{names} {'is' if len(unused) == 1 else 'are'} used with --augment {needs} only, "
                            f"not --augment {args.augment}")
    return C.AugmentConfig(kind=args.augment, **given)


THREADS_DEFAULT = "by the size of the work: one for a small network such as the 784-50-10 student, the free cores for the teacher"


def threads(group: argparse._ActionsContainer, default: str = THREADS_DEFAULT) -> None:
    """--threads N: every command that trains or measures (kdgui.core.threads's rule decides without it)."""
    group.add_argument("--threads", type=thread_count, metavar="N",
                       help=f"CPU threads for torch, 1 to {MAX_THREADS} (default: {default})")


def distillation(parser: argparse.ArgumentParser, *, temperature: bool = True) -> argparse._ArgumentGroup:
    """--teacher, --loss, --alpha and (unless the command takes several) --temperature/-T."""
    d = C.SEED_DISTILL
    g = parser.add_argument_group("distillation")
    g.add_argument("--teacher", default=LINEUP_TEACHER[0], metavar="RUN",
                   help="teacher run id, or 'lineup' (default; 'latest' is the same): the lineup's teacher, the newest "
                        "suitable one unless chosen with 'kdgui-cli lineup --teacher RUN'")
    if temperature:
        g.add_argument("--temperature", "-T", type=float, default=d.temperature, help=f"softmax temperature T > 0 (default {d.temperature:g})")
    g.add_argument("--loss", default=d.loss, choices=C.LOSSES,
                   help="soft_mse: the seed's MSE of softened probabilities; hinton: alpha*T^2*KL + (1-alpha)*CE (default soft_mse)")
    g.add_argument("--alpha", type=float, default=d.alpha,
                   help=f"weight of the soft targets, 1 - alpha goes to the labels (default {d.alpha:g}: soft targets only)")
    return g


def transfer_set(group: argparse._ArgumentGroup) -> None:
    d = C.SEED_DISTILL
    group.add_argument("--transfer", default=d.transfer, choices=C.TRANSFER_SETS,
                       help="images the student learns from: train, leave_out (train without --leave-out classes), "
                            "noise (uniform random), jitter (train shifted up to --jitter pixels), "
                            "other (--other-dataset's images: no digit, no label)")
    group.add_argument("--leave-out", type=distinct_ints, default=(), help="classes to leave out with --transfer leave_out, e.g. 3 or 7,8")
    group.add_argument("--other-dataset", default=d.other_dataset, choices=tuple(C.OTHER_TRANSFER_SETS),
                       help=f"images of --transfer other: {', '.join(C.OTHER_TRANSFER_SETS)} (default {d.other_dataset}: "
                            "drawn letters, needing no files)")


def jitter(group: argparse._ArgumentGroup) -> None:
    group.add_argument("--jitter", type=int, default=C.SEED_DISTILL.jitter_pixels,
                       help=f"largest shift in pixels of the jitter transfer set (default {C.SEED_DISTILL.jitter_pixels})")


def lineup_roles(parser: argparse.ArgumentParser, *, allow_default: bool) -> None:
    """--teacher, --student, --distilled: a run id or 'bundled' for that role (and 'default' where it can be saved)."""
    values = "RUN|bundled|default" if allow_default else "RUN|bundled"
    about = ("the choices to save (a role left out keeps its saved choice)" if allow_default else
             "which networks to use: by default the lineup the app shows ('kdgui-cli lineup'): your saved choices, "
             "else the newest suitable run of each role, else the bundled network")
    g = parser.add_argument_group("lineup", about)
    for role in ROLES:
        what = C.KIND_TITLES[role].lower()
        extra = "; default: back to the newest suitable run" if allow_default else ""
        g.add_argument(f"--{role}", metavar=values, help=f"the {what}: a run id, or 'bundled' for the one shipped with kdgui{extra}")
