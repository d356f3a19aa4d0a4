"""Checkpoints of a training run: atomic saves, and resumes that are all-or-nothing.

A save writes a temporary file and renames it into place, so a kill or a full disk in the middle of a save leaves
the previous checkpoint intact. A resume reads the whole file and checks that it fits the net, the optimiser and
the scheduler BEFORE anything is changed; every failure names the file and says what to do.
"""
import contextlib
import math
import os
import pickle
import random
import shutil
import warnings
import zipfile
from pathlib import Path

import numpy as np
import torch

from . import storage
from .messages import LearnerError, tr

REQUIRED = ("epoch", "model", "optimizer", "history", "rng")


class CheckpointError(LearnerError, RuntimeError):
    """A checkpoint that cannot be resumed from; the message names the file and says what to do."""


def rng_state():
    """The state of every random number generator a training run draws from (Python, NumPy, torch CPU and CUDA)."""
    return {"torch": torch.get_rng_state(), "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available()
            else [], "numpy": np.random.get_state(), "python": random.getstate()}


def set_rng_state(state):
    """Restore the generators from rng_state(), so that a resumed run draws the numbers an uninterrupted one would."""
    torch.set_rng_state(state["torch"])
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    np.random.set_state(state["numpy"])
    random.setstate(state["python"])


def state_bytes(obj):
    """The bytes of the tensors in a (nested) state: about the size torch.save gives it on disk."""
    if isinstance(obj, torch.Tensor):
        return obj.nelement() * obj.element_size()
    if isinstance(obj, dict):
        return sum(state_bytes(v) for v in obj.values())
    if isinstance(obj, (list, tuple)):
        return sum(state_bytes(v) for v in obj)
    return 0


def checkpoint_bytes(net, trainer):
    """An estimate, before training, of one checkpoint's size: the net's state plus the optimiser's, which is
    empty until the first step (then SGD with momentum holds one buffer per parameter, Adam two; counted as two)."""
    optimiser = state_bytes(trainer.state_dict()["state"]) or \
        2 * sum(state_bytes(p) for group in trainer.param_groups for p in group["params"] if p.requires_grad)
    return state_bytes(net.state_dict()) + optimiser


def _partial(path):
    """Where save_checkpoint writes before renaming over `path`: <path>.tmp."""
    return path.with_name(path.name + ".tmp")


def save_checkpoint(path, **state):
    """torch.save(state) to a temporary file next to `path`, flushed to disk, then renamed over `path`: an
    interrupted save never leaves a half-written checkpoint, and the previous one survives it. When the save fails
    (a full disk above all), the partial file is removed; a full disk raises storage.StorageError naming the file,
    the free space and the space needed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _partial(path)
    try:
        with open(tmp, "wb") as f:
            torch.save(state, f)
            f.flush()
            os.fsync(f.fileno())
    except BaseException as e:
        tmp.unlink(missing_ok=True)
        need = state_bytes(state)
        if isinstance(e, Exception) and storage.disk_full(e, path.parent, need):
            kept = tr("The previous checkpoint is kept.") if path.exists() else tr("There was no previous checkpoint.")
            raise storage.StorageError(tr(
                "The disk is full: the checkpoint {path} could not be saved ({free} free, about {need} needed). {kept} "
                "The partial file was removed. Free some space (or pass a checkpoint path on another disk) and run "
                "again: training resumes from the last saved epoch.", path=path, kept=kept,
                free=storage.size_text(shutil.disk_usage(path.parent).free),
                need=storage.size_text(need))) from None
        raise
    os.replace(tmp, path)


def optimizer_settings(trainer):
    """The hyperparameters of each parameter group (lr, momentum, weight_decay, ...), without the parameters."""
    return [{k: v for k, v in group.items() if k != "params"} for group in trainer.param_groups]


def _read(path, device):
    try:
        state = torch.load(path, map_location=device, weights_only=False)
    except (EOFError, RuntimeError, OSError, ValueError, pickle.UnpicklingError, zipfile.BadZipFile) as e:
        raise CheckpointError(tr(
            "The checkpoint {path} cannot be read ({error}). It is damaged or incomplete (a copy or a Drive sync cut "
            "short?). Nothing was loaded. Delete it to start afresh, or put a complete copy there.", path=path,
            error=f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}")) from None
    missing = [k for k in REQUIRED if not isinstance(state, dict) or k not in state]
    if missing:
        raise CheckpointError(tr("The checkpoint {path} lacks {missing}: it was not written by train_ch13. Nothing "
                                 "was loaded. Delete it or pass another checkpoint path.", path=path, missing=missing))
    return state


def _check_fits(path, state, net, trainer):
    mine, theirs = net.state_dict(), state["model"]
    differences = [tr("{name}: missing in the checkpoint", name=k) for k in mine if k not in theirs]
    differences += [tr("{name}: not in this net", name=k) for k in theirs if k not in mine]
    differences += [tr("{name}: shape {saved} in the checkpoint, {here} here", name=k, saved=tuple(theirs[k].shape),
                       here=tuple(v.shape))
                    for k, v in mine.items() if k in theirs and tuple(theirs[k].shape) != tuple(v.shape)]
    groups = state["optimizer"].get("param_groups", [])
    sizes = [len(g["params"]) for g in trainer.param_groups]
    if [len(g["params"]) for g in groups] != sizes:
        differences.append(tr("optimiser: parameter groups of sizes {saved} in the checkpoint, {here} here (other "
                              "layers frozen or trained?)", saved=[len(g["params"]) for g in groups], here=sizes))
    if differences:
        more = tr(" (and {n} more)", n=len(differences) - 5) if len(differences) > 5 else ""
        raise CheckpointError(tr("The checkpoint {path} was made for another net or optimiser; nothing was loaded. "
                                 "Differences: {differences}{more}. Delete it to start afresh, or pass another "
                                 "checkpoint path.", path=path, differences="; ".join(differences[:5]), more=more))


def _settings_changed(saved, given):
    """[(group, key, saved value, given value)] where the optimiser settings given now differ from the saved ones."""
    changed = []
    for g, (old, new) in enumerate(zip(saved, given)):
        for key in sorted(set(old) | set(new)):
            a, b = old.get(key), new.get(key)
            same = a == b or (isinstance(a, float) and isinstance(b, float) and math.isclose(a, b, rel_tol=1e-9))
            if key not in ("initial_lr",) and not same:
                changed.append((new.get("name", g), key, a, b))
    return changed


def resume(path, net, trainer, scheduler=None, scaler=None, device=None):
    """Load the checkpoint at `path` into net, trainer, scheduler and scaler, all or nothing; return the saved
    state (its 'epoch' and 'history' say where the run stands).

    When the optimiser settings given now (the trainer as constructed for this run) differ from those the run
    started with, the settings given now WIN from the next epoch on, with the schedule's progress kept (the lr of
    each group is the new initial lr times the decay applied so far), and a warning lists the differences. This is
    what a learner wants after lowering a learning rate that made training diverge."""
    path = Path(path)
    state = _read(path, device)
    _check_fits(path, state, net, trainer)
    given = optimizer_settings(trainer)
    saved = state.get("settings") or given
    changed = _settings_changed(saved, given)
    net.load_state_dict(state["model"])
    trainer.load_state_dict(state["optimizer"])
    if scheduler is not None and state.get("scheduler"):
        scheduler.load_state_dict(state["scheduler"])
    if scaler is not None and state.get("scaler"):
        scaler.load_state_dict(state["scaler"])
    if changed:
        for group, old, new in zip(trainer.param_groups, saved, given):
            progress = group["lr"] / old["lr"] if old.get("lr") else 1.0      # the schedule's decay so far
            group.update({k: v for k, v in new.items() if k not in ("initial_lr",)})
            group["lr"] = new["lr"] * progress
            if "initial_lr" in group:
                group["initial_lr"] = new["lr"]
        if scheduler is not None and hasattr(scheduler, "base_lrs"):
            scheduler.base_lrs = [g["lr"] for g in given]
        warnings.warn(tr("{path}: the optimiser settings given now differ from the checkpoint's ({changes}). The "
                         "settings given now win from epoch {next} on; epochs 1-{done} keep what they were trained "
                         "with. To train every epoch with the new settings, delete the checkpoint.", path=path,
                         changes=", ".join(f"{g}.{k}: {a} -> {b}" for g, k, a, b in changed[:6]),
                         next=state["epoch"] + 1, done=state["epoch"]), stacklevel=3)
    set_rng_state(state["rng"])
    state["settings"] = given
    return state


class Run:
    """The checkpoint side of a training run. Run(path, net, trainer, scheduler, scaler, device) resumes from `path`
    when it exists (all or nothing, see resume) and says so; .history and .epochs_done say where the run stands;
    save(epoch) writes the whole state atomically after an epoch. path None: no file, nothing saved."""

    HISTORY_KEYS = ("epoch", "train_loss", "train_acc", "test_acc", "lr", "lrs", "time_s", "img_per_s")

    def __init__(self, path, net, trainer, scheduler=None, scaler=None, device=None):
        self.path, self.net, self.trainer, self.scheduler, self.scaler = path, net, trainer, scheduler, scaler
        self.history, self.epochs_done = {k: [] for k in self.HISTORY_KEYS}, 0
        self.settings = optimizer_settings(trainer)           # as the run started: compared on a resume
        if path:                                              # before the first batch: room for a checkpoint?
            with contextlib.suppress(OSError):               # a partial file left by a killed save
                _partial(Path(path)).unlink(missing_ok=True)
            storage.check_writable(Path(path).parent, tr("the checkpoint {name}", name=Path(path).name),
                                   checkpoint_bytes(net, trainer))
        if path and Path(path).exists():
            state = resume(path, net, trainer, scheduler, scaler, device)
            self.history, self.epochs_done, self.settings = state["history"], state["epoch"], state["settings"]
            print(tr("Resuming from {path}: {n} epoch(s) already done.", path=path, n=self.epochs_done))

    def save(self, epoch):
        if self.path:
            save_checkpoint(self.path, epoch=epoch, model=self.net.state_dict(), optimizer=self.trainer.state_dict(),
                            scheduler=self.scheduler.state_dict() if self.scheduler is not None else None,
                            scaler=self.scaler.state_dict() if self.scaler is not None else None,
                            history=self.history, settings=self.settings, rng=rng_state())


class TrainingDiverged(LearnerError, FloatingPointError):
    """The training loss became NaN or infinite. Training stops at once, so that no checkpoint is written from the
    broken weights; the message names the epoch and batch and the likely causes."""


def stop_if_diverged(loss_sum, epoch, batch, num_batches, checkpoint=None, lrs=()):
    """Raise TrainingDiverged when loss_sum (a float: the sum of the epoch's losses so far) is not finite."""
    if math.isfinite(loss_sum):
        return
    kept = tr("The checkpoint {path} still holds the last good epoch ({epoch}); ", path=checkpoint, epoch=epoch) \
        if checkpoint and Path(checkpoint).exists() else \
        tr("No checkpoint holds a good state (none was asked for, or none was written yet); ")
    raise TrainingDiverged(tr(
        "The training loss became {loss} in epoch {epoch}, batch {batch} of {batches}; training stopped. {kept}the "
        "weights in memory are no longer usable. Likely causes: a learning rate too large (now {lrs}; with d2l's "
        "loss summed over the batch the step grows with the batch size: try 10x smaller), inputs that are not "
        "normalised, or a corrupt image (NaN pixels). Rebuild the net and optimiser with a smaller learning rate "
        "and run again{then}", loss=loss_sum, epoch=epoch + 1, batch=batch + 1, batches=num_batches, kept=kept,
        lrs=", ".join(f"{lr:g}" for lr in lrs),
        then=tr(": training resumes from the checkpoint.") if checkpoint else "."))
