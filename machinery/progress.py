"""The live view of a training run: a progress line and a plot, updated in place.

In a notebook frontend (JupyterLab, Colab, VS Code) both are display outputs updated through display handles, at
most once a second, so a notebook does not fill with copies. Headless (COURSE_HEADLESS=1 as under `make test` and
`make run`, or a plain script) the run prints one line per epoch and, inside a kernel, draws the plot once at the
end, so executed notebooks stay small.
"""
import time

from . import caveats
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
    """'epoch 3/5: loss 0.512, train acc 0.812, valid acc 0.790, lr 0.0002, 4.1 s, 250 img/s' (with the caveats)."""
    acc = history["test_acc"][-1]
    evaluation = f"no {eval_label.replace(' acc', '')} set" if acc != acc else f"{eval_label} {acc:.3f}"  # NaN
    return (f"{caveats.results_tag()}epoch {history['epoch'][-1]}/{num_epochs}: loss {history['train_loss'][-1]:.3f}, "
            f"train acc {history['train_acc'][-1]:.3f}, {evaluation}, lr {history['lr'][-1]:.3g}, "
            f"{history['time_s'][-1]:.1f} s, {history['img_per_s'][-1]:.0f} img/s")


class Reporter:
    """Progress of train_ch13: `batch` for the in-epoch line, `epoch` after each epoch, `done` at the end.
    draw(history) -> a matplotlib figure is called to plot the history (helpers.plot_history)."""

    def __init__(self, num_epochs, num_batches, draw=None, eval_label="test acc"):
        self.num_epochs, self.num_batches, self.draw, self.eval_label = num_epochs, num_batches, draw, eval_label
        self.live = not headless()
        self.last = 0.0
        self.text = LiveText() if self.live else None
        self.figure = LiveFigure() if draw is not None and in_notebook() else None

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
            print(line)
            return
        self.text.update(line)
        if self.figure is not None:
            self.figure.show(self.draw(history))

    def done(self, history):
        if self.figure is not None and not self.live and history["epoch"]:
            self.figure.show(self.draw(history))


def summary(history, devices, eval_label="test acc"):
    """The closing lines of a run, as d2l prints them: last loss and accuracies, and the speed (here with data
    loading included)."""
    if not history["epoch"]:
        return
    acc = history["test_acc"][-1]
    evaluation = "" if acc != acc else f", {eval_label} {acc:.3f}"
    print(f"{caveats.results_tag()}loss {history['train_loss'][-1]:.3f}, train acc {history['train_acc'][-1]:.3f}"
          f"{evaluation}")
    print(f"{sum(history['img_per_s']) / len(history['img_per_s']):.1f} examples/sec on "
          f"{', '.join(map(str, devices))} (data loading included); {sum(history['time_s']):.1f} s of training")
