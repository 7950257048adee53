"""The training engine: a generator of events for teacher, student and distillation runs, with cancel and pause."""

from __future__ import annotations

import contextlib
import math
import signal
import threading
import time
from collections import OrderedDict
from typing import Any, Callable, Iterator

import torch
import torch.nn.functional as F

from .augment import augment
from .config import Job, TrainConfig
from .data import Splits, jitter, keep_classes, load_splits, other_images
from .errors import ConfigError
from .events import Cancelled, Evaluation, Event, Finished, Progress, Started
from .losses import distillation_loss
from .models import Network, build_model
from .runs import Run, RunStore
from .threads import job_work, step_work, with_threads, work_threads

EVAL_BATCH = 2000


class CancelToken:
    """Shared between the UI and the training loop, which checks it every batch: stop, pause, resume."""

    def __init__(self) -> None:
        self._cancelled = threading.Event()
        self._running = threading.Event()
        self._running.set()

    def cancel(self) -> None:
        self._cancelled.set()
        self._running.set()  # a paused run must wake up to notice it was stopped

    def pause(self) -> None:
        if not self._cancelled.is_set():
            self._running.clear()

    def resume(self) -> None:
        self._running.set()

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    def wait_while_paused(self) -> float:
        """Block while paused; return the seconds spent waiting."""
        if self._running.is_set():
            return 0.0
        start = time.perf_counter()
        self._running.wait()
        return time.perf_counter() - start


def available_devices() -> list[tuple[str, str]]:
    """(name, description) for the CPU and every CUDA or MPS device torch can see."""
    devices = [("cpu", "CPU")]
    if torch.cuda.is_available():
        devices += [(f"cuda:{i}", f"CUDA {i}: {torch.cuda.get_device_name(i)}") for i in range(torch.cuda.device_count())]
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        devices.append(("mps", "Apple MPS"))
    return devices


def resolve_device(name: str) -> torch.device:
    """'auto' picks CUDA, then MPS, then the CPU; a named device that is not there is a ConfigError."""
    if name == "auto":
        names = [n for n, _ in available_devices()]
        return torch.device(next((n for n in names if n != "cpu"), "cpu"))
    try:
        device = torch.device(name)
    except (RuntimeError, ValueError):
        raise ConfigError(f"{name!r} is not a device name (try cpu, cuda, cuda:0 or mps)") from None
    if device.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0 or (device.index or 0) >= count:
            raise ConfigError(f"device {name} is not available here ({count} CUDA device(s) seen)")
    elif device.type == "mps" and name not in [n for n, _ in available_devices()]:
        raise ConfigError("device mps is not available here")
    elif device.type not in ("cpu", "cuda", "mps"):
        raise ConfigError(f"device {name} is not supported (use cpu, cuda or mps)")
    return device


def make_adam(parameters, lr: float, device: torch.device, weight_decay: float = 0.0) -> torch.optim.Adam:  # noqa: ANN001
    """Adam (AdamW, decoupled weight decay, when ``weight_decay`` > 0), fused into one kernel where torch supports
    it: for a small student the optimiser step dominates a batch."""
    fused = device.type in ("cpu", "cuda") or None
    if weight_decay > 0:
        return torch.optim.AdamW(parameters, lr=lr, weight_decay=weight_decay, fused=fused)
    return torch.optim.Adam(parameters, lr=lr, fused=fused)


ONE_CYCLE_WARMUP = 0.3  # the share of the steps a one-cycle schedule warms up for
ONE_CYCLE_START = 1 / 25  # ... starting from this fraction of the peak learning rate (as torch's OneCycleLR)


def scheduled_lr(schedule: str, lr: float, step: int, total: int) -> float:
    """The learning rate for batch ``step`` (0-based) of ``total``, where ``lr`` is the peak.

    constant: ``lr`` throughout. cosine: ``lr * (1 + cos(pi * step / total)) / 2``, from lr towards 0.
    one_cycle: over the first 30% of the steps a half cosine from lr/25 up to lr, then cosine decay from lr
    towards 0 over the rest (torch's OneCycleLR shape, annealing to 0).
    """
    if schedule == "constant" or total <= 0:
        return lr
    step = min(max(step, 0), total)
    if schedule == "cosine":
        return lr * 0.5 * (1 + math.cos(math.pi * step / total))
    if schedule == "one_cycle":
        warm = max(1, round(ONE_CYCLE_WARMUP * total))
        if step < warm:
            start = lr * ONE_CYCLE_START
            return start + (lr - start) * 0.5 * (1 - math.cos(math.pi * step / warm))
        return lr * 0.5 * (1 + math.cos(math.pi * (step - warm) / max(1, total - warm)))
    raise ValueError(f"unknown schedule {schedule!r}")


def set_lr(optimizer: torch.optim.Optimizer, cfg: TrainConfig, step: int, total: int) -> None:
    """Set the optimiser's learning rate for batch ``step`` (0-based) from ``cfg``'s schedule (constant: untouched)."""
    if cfg.schedule != "constant":
        lr = scheduled_lr(cfg.schedule, cfg.lr, step, total)
        for group in optimizer.param_groups:
            group["lr"] = lr


@torch.no_grad()
def predict_logits(model: torch.nn.Module, x: torch.Tensor, batch_size: int = EVAL_BATCH) -> torch.Tensor:
    """Logits in eval mode (dropout off) for all of ``x``; the model's train/eval mode is restored after."""
    was_training = model.training
    model.eval()
    try:
        return torch.cat([model(x[i : i + batch_size]) for i in range(0, len(x), batch_size)])
    finally:
        model.train(was_training)


def teacher_logits(teacher: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The teacher's targets: always in eval mode, so dropout never corrupts the soft targets."""
    teacher.eval()
    return predict_logits(teacher, x)


@torch.no_grad()
def evaluate(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
    """Mean cross-entropy and accuracy (a fraction) of ``model`` on ``x, y``."""
    return logit_figures(predict_logits(model, x), y)


def logit_figures(logits: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
    """Mean cross-entropy and accuracy (a fraction) of ``logits`` against the labels ``y``."""
    return float(F.cross_entropy(logits, y)), float((logits.argmax(1) == y).float().mean())


# Teacher logits per (teacher run, transfer images): computed once, reused by every distillation from them.
_LOGIT_CACHE: OrderedDict[tuple, torch.Tensor] = OrderedDict()
_LOGIT_CACHE_SIZE = 4


def cached_teacher_logits(key: tuple, teacher: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    full_key = (*key, str(x.device), tuple(x.shape))
    if full_key in _LOGIT_CACHE:
        _LOGIT_CACHE.move_to_end(full_key)
        return _LOGIT_CACHE[full_key]
    spec = getattr(teacher, "spec", None)  # a big forward pass, done once: as many threads as pay (core.threads)
    with work_threads(step_work(spec, len(x), training=False) if spec is not None else 0, x.device):
        logits = teacher_logits(teacher, x)
    _LOGIT_CACHE[full_key] = logits
    while len(_LOGIT_CACHE) > _LOGIT_CACHE_SIZE:
        _LOGIT_CACHE.popitem(last=False)
    return logits


BatchFn = Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None]]


def _batch_source(job: Job, data: Splits, teacher: Network | None, generator: torch.Generator,
                  data_dir: str | None = None) -> tuple[int, BatchFn]:
    """How many items an epoch has, and a function from shuffled indices to (x, labels, teacher logits).

    With an active augmentation every batch is distorted afresh (from ``generator``) and, for a distillation,
    the teacher answers on exactly those images: no logit cache then.
    """
    x, y = data.train_x, data.train_y
    aug = job.train.augment

    def distort(images: torch.Tensor) -> torch.Tensor:
        return augment(images, aug, generator, mean=data.mean, std=data.std)

    if job.kind != "distilled":
        if aug.active:
            return len(y), lambda idx: (distort(x[idx]), y[idx], None)
        return len(y), lambda idx: (x[idx], y[idx], None)
    assert teacher is not None and job.distill is not None
    d = job.distill
    if d.transfer == "leave_out":
        x, y = keep_classes(x, y, d.leave_out)
    if len(y) == 0:
        raise ConfigError("the transfer set is empty: no training images are left after the limit and left-out classes")
    if d.transfer in ("train", "leave_out") and aug.active:
        def augmented(idx: torch.Tensor):
            xb = distort(x[idx])
            return xb, y[idx], teacher_logits(teacher, xb)

        return len(y), augmented
    if d.transfer in ("train", "leave_out"):
        key = (job.teacher_run, data.dataset, job.standardize, job.train.train_limit, d.leave_out if d.transfer == "leave_out" else ())
        logits = cached_teacher_logits(key, teacher, x)
        return len(y), lambda idx: (x[idx], y[idx], logits[idx])
    if d.transfer == "other":  # another dataset's images, as many as the training images: only the teacher's answers teach
        xo = ((other_images(d.other_dataset, len(y), data_dir).to(x.device) - data.mean) / data.std)
        if aug.active:
            return len(xo), lambda idx: (xb := distort(xo[idx]), None, teacher_logits(teacher, xb))
        key = (job.teacher_run, f"other:{d.other_dataset}", job.standardize, job.train.train_limit, ())
        other_logits = cached_teacher_logits(key, teacher, xo)
        return len(xo), lambda idx: (xo[idx], None, other_logits[idx])
    if d.transfer == "jitter":
        def jittered(idx: torch.Tensor):
            xb = jitter(x[idx], d.jitter_pixels, generator)
            return xb, y[idx], teacher_logits(teacher, xb)

        return len(y), jittered

    # Uniform noise in pixel space, fresh every batch: the teacher is queried per batch.
    def noise(idx: torch.Tensor):
        xb = torch.rand(len(idx), x.shape[1], generator=generator).to(x.device)
        if job.standardize:
            xb = (xb - data.mean) / data.std
        return xb, None, teacher_logits(teacher, xb)

    return len(y), noise


@contextlib.contextmanager
def signals_deferred() -> Iterator[None]:
    """Hold SIGINT and SIGTERM back while a run's last files are written; they take effect right after.

    Only on the main thread (where Python delivers signals; a worker thread gets none). A second Ctrl-C in the
    middle of saving a stopped run thus lands once the run is on disk, instead of leaving it half saved.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    previous: dict[int, Any] = {}
    for sig in (signal.SIGINT, getattr(signal, "SIGTERM", None)):
        if sig is None:
            continue
        try:
            previous[sig] = signal.signal(sig, lambda signum, frame: caught.append(signum))
        except (ValueError, OSError, TypeError):  # not settable here (e.g. an embedding host)
            pass
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler if handler is not None else signal.SIG_DFL)
        if caught:
            signal.raise_signal(caught[0])  # the original handler runs now (Ctrl-C: KeyboardInterrupt)


SAVE_ATTEMPTS = 3


def _persist(steps: list[Callable[[], None]]) -> None:
    """Run the save steps in order, each retried when an interrupt or an error cuts it short.

    An interrupt (KeyboardInterrupt) during a step does not stop the saving: the step is tried again and the
    interrupt is raised once everything is written. A step that fails every attempt raises its last error,
    and the steps after it are not run (a run is never marked finished or stopped without its weights).
    """
    interrupt: BaseException | None = None
    for step in steps:
        for attempt in range(SAVE_ATTEMPTS):
            try:
                step()
                break
            except KeyboardInterrupt as exc:
                interrupt = interrupt or exc
            except Exception:
                if attempt == SAVE_ATTEMPTS - 1:
                    raise
        else:
            break  # interrupted every time: give up on this and the later steps
    if interrupt is not None:
        raise interrupt


def _job_threads(job: Job, store: RunStore, *args: Any, **kwargs: Any) -> tuple[int, torch.device]:
    """What ``execute`` trains, for kdgui.core.threads: its multiply-adds per step (with the teacher's forward
    pass when it answers every batch) and its device."""
    teacher = None
    if job.kind == "distilled" and job.teacher_run:
        with contextlib.suppress(Exception):  # a teacher that cannot be read: execute says why
            teacher = store.get(job.teacher_run).job.net
    return job_work(job, teacher), resolve_device(job.train.device)


def job_teacher(job: Job, store: RunStore, device: torch.device | str) -> Network:
    """A distillation's teacher in eval mode on ``device``; a teacher of another dataset is a ConfigError."""
    teacher_run = store.get(job.teacher_run or "")
    if teacher_run.job.dataset != job.dataset:
        raise ConfigError(f"teacher {teacher_run.id} was trained on {teacher_run.job.dataset}, not {job.dataset}")
    return teacher_run.load_model(device)


def job_data(job: Job, device: torch.device | str, data: Splits | None = None, data_dir: str | None = None,
             download: bool = False) -> Splits:
    """The splits ``job`` trains on (``data``, else read from ``data_dir``), cut to its training limit, on ``device``."""
    if data is None:
        data = load_splits(job.dataset, data_dir, download=download, standardize=job.standardize)
    return data.limit_train(job.train.train_limit).to(device)


@with_threads(_job_threads)  # one thread for a small student, more where they pay (core.threads)
def execute(
    job: Job,
    store: RunStore,
    token: CancelToken | None = None,
    *,
    data: Splits | None = None,
    data_dir: str | None = None,
    download: bool = False,
    on_run_created: Callable[[Run], None] | None = None,
    origin: str = "",
) -> Iterator[Event]:
    """Train ``job`` and yield its events; the run (job, metrics, weights, status) is written to ``store``.

    Stopping through ``token`` (or closing the generator, or Ctrl-C) saves the partial weights and marks the
    run stopped. Errors mark it failed and propagate. Weights are written before the status, a status only
    once it is on disk, and a second interrupt during the save waits until the save is done. The run holds
    its lock while this generator lives; should the process die anyway, the run reads as "interrupted" with
    the weights of its last epoch end (the best one so far with keep_best).
    """
    token = token or CancelToken()
    cfg = job.train
    device = resolve_device(cfg.device)
    teacher = job_teacher(job, store, device) if job.kind == "distilled" else None
    data = job_data(job, device, data, data_dir, download)

    torch.manual_seed(cfg.seed)  # dropout masks
    generator = torch.Generator().manual_seed(cfg.seed)  # shuffling, noise, jitter, augmentation
    model = build_model(job.net, seed=cfg.seed).to(device)
    optimizer = make_adam(model.parameters(), cfg.lr, device, cfg.weight_decay)
    n_items, batch_fn = _batch_source(job, data, teacher, generator, data_dir)
    batches = -(-n_items // cfg.batch_size)
    total = batches * cfg.epochs

    # Insight builds on this module (predict_logits), so it is imported here rather than at the top.
    from .insight import agreement, first_linear, mean_kl

    # Fidelity to the teacher: its test logits once per run, so an evaluation costs no teacher pass; computed before
    # the run exists, so a failure here leaves no run behind.
    teacher_test = predict_logits(teacher, data.test_x) if teacher is not None else None  # eval mode, like the targets
    first = first_linear(model)

    run = store.create(job, origin)

    started = time.perf_counter()
    paused = 0.0
    step = 0
    window_loss, window_n = 0.0, 0
    pending: list[dict] = []

    def elapsed() -> float:
        return time.perf_counter() - started - paused

    def flush_metrics() -> None:
        run.append_metrics(pending)
        pending.clear()

    def evaluation(epoch_end: bool) -> Evaluation:
        nonlocal window_loss, window_n
        val_loss, val_acc = evaluate(model, data.val_x, data.val_y)
        test_z = predict_logits(model, data.test_x)
        test_loss, test_acc = logit_figures(test_z, data.test_y)
        train_acc = evaluate(model, data.train_x, data.train_y)[1] if epoch_end else None
        event = Evaluation(
            step=step, epoch=step / batches, val_loss=val_loss, val_acc=val_acc, test_loss=test_loss,
            test_acc=test_acc, train_loss=window_loss / window_n if window_n else None, train_acc=train_acc,
            epoch_end=epoch_end,
            agreement=agreement(teacher_test, test_z) if teacher_test is not None else None,
            teacher_kl=mean_kl(teacher_test, test_z) if teacher_test is not None else None,
            first_layer=first.weight.detach().to("cpu", copy=True) if first is not None else None,
        )
        window_loss, window_n = 0.0, 0
        pending.append({"type": "eval", "elapsed": round(elapsed(), 3), **event.record()})
        flush_metrics()
        return event

    def settle(status: str, *, weights: dict[str, torch.Tensor] | None, **summary: Any) -> None:
        """Metrics, then the weights (when given), then the status: each retried, signals held back meanwhile.

        The metrics are best effort: losses that cannot be appended never keep the weights and status from disk.
        """

        def flush_if_possible() -> None:
            try:
                flush_metrics()
            except Exception:  # noqa: BLE001 - e.g. a disk that is full, or metrics.jsonl that is not a file
                pending.clear()

        steps = [flush_if_possible]
        if weights is not None:
            steps.append(lambda: run.save_weights(weights))
        steps.append(lambda: run.set_status(status, **summary))
        with signals_deferred():
            _persist(steps)

    def keep_partial() -> None:
        settle("stopped", weights=model.state_dict(), steps=step, seconds=round(elapsed(), 2), device=str(device))

    last_eval: Evaluation | None = None
    best_eval: Evaluation | None = None  # with keep_best: the epoch end with the highest validation accuracy
    best_state: dict[str, torch.Tensor] | None = None
    try:
        if on_run_created:
            on_run_created(run)
        # Inside the try: a consumer that closes the generator right after Started still gets a stopped run.
        yield Started(run.id, job.label(), job.kind, total, str(device))
        started = time.perf_counter()
        for epoch in range(1, cfg.epochs + 1):
            model.train()
            order = torch.randperm(n_items, generator=generator).to(device)
            for b in range(batches):
                paused += token.wait_while_paused()
                if token.cancelled:
                    keep_partial()
                    yield Cancelled(run.id, step, elapsed())
                    return
                xb, yb, tb = batch_fn(order[b * cfg.batch_size : (b + 1) * cfg.batch_size])
                set_lr(optimizer, cfg, step, total)
                logits = model(xb)
                if tb is None:
                    loss = F.cross_entropy(logits, yb)
                else:
                    d = job.distill
                    loss = distillation_loss(d.loss, logits, tb, yb, d.temperature, d.alpha)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                step += 1
                loss_value = loss.item()
                window_loss += loss_value
                window_n += 1
                pending.append({"type": "loss", "step": step, "loss": loss_value})
                yield Progress(step, total, epoch, cfg.epochs, b + 1, batches, loss_value, elapsed())
                if cfg.eval_every and step % cfg.eval_every == 0 and b + 1 < batches:
                    yield evaluation(epoch_end=False)
            last_eval = evaluation(epoch_end=True)
            improved = cfg.keep_best and (best_eval is None or last_eval.val_acc > best_eval.val_acc)
            if improved:
                best_eval = last_eval
                best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
            if epoch < cfg.epochs and (improved or not cfg.keep_best):
                # A checkpoint at each epoch end (the best so far with keep_best): a killed run keeps it.
                run.save_weights(best_state if cfg.keep_best else model.state_dict())
            yield last_eval
        seconds = elapsed()
        final = last_eval
        if best_state is not None and best_eval is not None:
            # The validation set chooses the checkpoint (never the test set): the seed's "about 20 epochs".
            model.load_state_dict(best_state)
            final = best_eval
        settle(
            "finished", weights=model.state_dict(), train_acc=final.train_acc, val_acc=final.val_acc,
            test_acc=final.test_acc, seconds=round(seconds, 2), steps=step, device=str(device), epoch=round(final.epoch),
        )
        yield Finished(run.id, final.train_acc or 0.0, final.val_acc, final.test_acc, seconds, epoch=round(final.epoch))
    except (GeneratorExit, KeyboardInterrupt):
        # The consumer closed the generator (e.g. the app is quitting) or Ctrl-C hit the loop: keep what was learnt.
        if run.stored_status == "running":
            keep_partial()
        raise
    except BaseException as exc:
        if run.stored_status == "running":
            try:
                settle("failed", weights=None, error=f"{type(exc).__name__}: {exc}", steps=step)
            except Exception:  # noqa: BLE001 - the first error is the one to report; the run reads as interrupted
                pass
        raise
    finally:
        # Whatever happened, this process is done with the run: a run still "running" on disk now reads as
        # interrupted (with its last checkpoint) rather than running forever.
        run.release_lock()


def run_to_end(events: Iterator[Event]) -> Event:
    """Drain a training generator and return its last event (Finished or Cancelled)."""
    last = None
    for last in events:
        pass
    return last
