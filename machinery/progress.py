"""The live view of a training run: a progress line and a plot, updated in place.

In a notebook frontend (JupyterLab, Colab, VS Code) both are display outputs updated through display handles, at
most once a second, so a notebook does not fill with copies. Headless (COURSE_HEADLESS=1 as under `make test` and
`make run`, or a plain script) the run prints one line per epoch and, inside a kernel, draws the plot once at the
end, so executed notebooks stay small. A long run (more than MAX_LINES epochs) prints the first epoch, every k-th
and the last (about MAX_LINES lines), and says so once; the history and the plot keep every epoch.

The [STAND-IN DATA] / [RANDOM WEIGHTS] tag is said once per run, in its first line (and in its figure's title), so
that the per-epoch lines stay short enough not to wrap. `Board` is what train_ch13 calls: it keeps the history,
prints the lines, draws the plot, stops a diverged run and, at the end, says whether the predictions were constant.
"""
import math
import time

from . import accel, caveats, checkpoints, plots, scoring
from .messages import tr
from .settings import headless, in_notebook


class LiveFigure:
    """A matplotlib figure shown in a notebook and replaced in place on every `show` (no pile of copies)."""

    def __init__(self):
        self.handle = None

    def show(self, fig):
        import matplotlib.pyplot as plt
        from IPython.display import display
        plt.close(fig)                      # we display it ourselves; the inline backend must not show it again
        if self.handle is None:
            self.handle = display(fig, display_id=True)
        else:
            self.handle.update(fig)


class LiveText:
    """One line of text in a notebook, replaced in place."""

    def __init__(self, text="starting..."):
        from IPython.display import display
        self.handle = display({"text/plain": text}, raw=True, display_id=True)

    def update(self, text):
        self.handle.update({"text/plain": text}, raw=True)


def epoch_line(history, num_epochs, eval_label):
    """'epoch 3/5: loss 0.512, train acc 0.812, valid loss 0.601, valid acc 0.790, lr 0.0002, 4.1 s, 250 img/s'
    (the loss and accuracy of the scored set only when there is one). Numbers only, as d2l prints them: the caveat
    tag is in the run's first line."""
    acc, name = history["test_acc"][-1], eval_label.replace(" acc", "")
    scored = "" if math.isnan(acc) else f"{name} loss {history['valid_loss'][-1]:.3f}, {eval_label} {acc:.3f}, "
    return (f"epoch {history['epoch'][-1]}/{num_epochs}: loss {history['train_loss'][-1]:.3f}, "
            f"train acc {history['train_acc'][-1]:.3f}, {scored}lr {history['lr'][-1]:.3g}, "
            f"{history['time_s'][-1]:.1f} s, {history['img_per_s'][-1]:.0f} img/s")


MAX_LINES = 10          # a headless run of more epochs prints about this many epoch lines


def line_every(num_epochs):
    """k: a headless run prints epoch 1, every k-th epoch and the last one; 1 (every epoch) up to MAX_LINES epochs.
    30 epochs: k = 3 (epochs 1, 3, 6, ..., 30: 11 lines)."""
    return max(1, math.ceil(num_epochs / MAX_LINES))


def prints_epoch(epoch, num_epochs):
    """Whether a headless run prints the line of epoch (counted from 1) of num_epochs."""
    return epoch in (1, num_epochs) or epoch % line_every(num_epochs) == 0


def run_line(title, num_epochs, num_batches, devices, eval_label, scored):
    """The first line of a run: the caveat tag (once), the title, its size and devices, and what it is scored on."""
    name = eval_label.replace(" acc", "")
    try:
        title = tr(title)          # a title the catalogue knows is said in the notebook's language (the plot's too)
    except (KeyError, IndexError, ValueError):          # braces of its own: shown as given
        pass
    named = {"valid": tr("valid set"), "test": tr("test set"), "train": tr("train set")}.get(name, f"{name} set")
    what = tr("scored on the {set} after every epoch", set=named) if scored else \
        tr("no {set}: nothing is scored between epochs", set=named)
    return tr("{tag}{title}: {epochs} epoch(s) of {batches} batch(es) on {devices}; {what}",
              tag=caveats.results_tag(), title=title, epochs=num_epochs, batches=num_batches,
              devices=", ".join(map(str, devices)), what=what)


class Reporter:
    """The display of a run: `batch` for the in-epoch line, `epoch` after each epoch, `done` at the end.
    draw(history) -> a matplotlib figure is called to plot the history (plots.history_figure)."""

    def __init__(self, num_epochs, num_batches, draw=None, eval_label="test acc"):
        self.num_epochs, self.num_batches, self.draw, self.eval_label = num_epochs, num_batches, draw, eval_label
        self.live = not headless()
        self.last = 0.0
        self.text = LiveText() if self.live else None
        self.figure = LiveFigure() if draw is not None and in_notebook() else None
        if not self.live and line_every(num_epochs) > 1:
            print(tr("{epochs} epochs: a line every {k} epochs (and for the first and the last); the history "
                     "keeps every epoch.", epochs=num_epochs, k=line_every(num_epochs)))

    def batch(self, epoch, i, loss, acc, ips):
        """Called after every batch; updates the line at most once a second (only when live)."""
        if self.live and time.time() - self.last > 1.0:
            self.last = time.time()
            done = int(20 * (i + 1) / max(self.num_batches, 1))
            self.text.update(f"epoch {epoch + 1}/{self.num_epochs} [{'#' * done:<20}] batch {i + 1}/"
                             f"{self.num_batches}  loss {loss:.3f}  train acc {acc:.3f}  {ips:.0f} img/s")

    def epoch(self, history):
        line = epoch_line(history, self.num_epochs, self.eval_label)
        if not self.live:
            if prints_epoch(history["epoch"][-1], self.num_epochs):
                print(line)
            return
        self.text.update(line)
        if self.figure is not None:
            self.figure.show(self.draw(history))

    def done(self, history):
        if self.figure is not None and not self.live and history["epoch"]:
            self.figure.show(self.draw(history))


HISTORY_KEYS = ("epoch", "train_loss", "train_acc", "test_acc", "valid_loss", "lr", "lrs", "time_s", "img_per_s")


class Board:
    """Everything train_ch13 does besides training, in four calls: Board(...) prints the run's first line;
    batch(...) after every batch (the live line; a loss that became NaN or infinite stops the run at once);
    epoch(...) after scoring an epoch (the history, the epoch line and the plot: d2l's animator.add); done(...) at
    the end (d2l's closing lines, and one sentence when the predictions on the scored set were constant).

    run: a checkpoints.Run (its history is extended in place; a resumed run keeps its earlier epochs)."""

    def __init__(self, run, trainer, num_epochs, train_iter, test_iter, devices, title=None, eval_label="test acc",
                 plot=True):
        self.run, self.trainer, self.num_epochs, self.devices = run, trainer, num_epochs, devices
        self.eval_label, self.title = eval_label, title or "train_ch13"
        num_batches = len(train_iter)
        if num_batches == 0:
            raise ValueError("train_iter yields no batch (an empty folder? fewer images than a batch with drop_last?)")
        self.history = run.history
        for key in HISTORY_KEYS:                           # a checkpoint from an older release lacks valid_loss
            self.history.setdefault(key, [math.nan] * len(self.history["epoch"]))
        scored = test_iter is not None and (not hasattr(test_iter, "__len__") or len(test_iter) > 0)
        print(run_line(self.title, num_epochs, num_batches, devices, eval_label, scored))
        draw = (lambda h: plots.history_figure(h, self.title, eval_label)) if plot else None
        self.reporter = Reporter(num_epochs, num_batches, draw, eval_label)       # the live line starts under it
        self.lrs, self.seconds, self.spread = [], 0.0, None

    def batch(self, epoch, i, metric, timer):
        """After batch i of epoch (from 0); metric: sums of loss, correct predictions, examples; timer: started at
        the epoch's start."""
        if i == 0:
            self.lrs = [group["lr"] for group in self.trainer.param_groups]       # the lr this epoch trains with
        checkpoints.stop_if_diverged(metric[0], epoch, i, self.reporter.num_batches, self.run.path, self.lrs)
        if i == self.reporter.num_batches - 1:
            accel.synchronize(self.devices[0])
        self.seconds = timer.elapsed()                     # training time of the epoch so far, loading included
        self.reporter.batch(epoch, i, metric[0] / metric[2], metric[1] / metric[2], metric[2] / self.seconds)

    def epoch(self, epoch, metric, test_acc, test_loss, spread):
        """After epoch (from 0) was trained and scored (scoring.evaluate): record it, print it, plot it."""
        values = {"epoch": epoch + 1, "train_loss": metric[0] / metric[2], "train_acc": metric[1] / metric[2],
                  "test_acc": test_acc, "valid_loss": test_loss, "lr": self.lrs[0], "lrs": self.lrs,
                  "time_s": self.seconds, "img_per_s": metric[2] / self.seconds}
        for key, value in values.items():
            self.history[key].append(value)
        self.spread = spread
        self.reporter.epoch(self.history)

    def done(self, net, test_iter):
        """After the last epoch: the plot (headless: drawn once), d2l's closing lines, and a sentence if the
        predictions on test_iter were constant at the last epoch."""
        self.reporter.done(self.history)
        summary(self.history, self.devices, self.eval_label)
        if self.spread is not None and self.spread.n:
            what = tr("validation images") if "valid" in self.eval_label else tr("test images")
            scoring.say_if_constant(self.spread, net, test_iter,
                                    scoring.class_names(test_iter, len(self.spread.counts)), what)
        return self.history


def summary(history, devices, eval_label="test acc"):
    """The closing lines of a run, as d2l prints them: last loss and accuracies, and the speed (here with data
    loading included)."""
    if not history["epoch"]:
        return
    acc = history["test_acc"][-1]
    evaluation = "" if acc != acc else f", {eval_label} {acc:.3f}"
    print(f"loss {history['train_loss'][-1]:.3f}, train acc {history['train_acc'][-1]:.3f}{evaluation}")
    print(tr("{ips:.1f} examples/sec on {devices} (data loading included); {seconds:.1f} s of training",
             ips=sum(history["img_per_s"]) / len(history["img_per_s"]), devices=", ".join(map(str, devices)),
             seconds=sum(history["time_s"])))
