"""Drawing internals: images from tensors, training curves, confusion matrices, and red caveat titles.

Text in figures speaks the notebook's language only where the figure can show it: matplotlib's default fonts have
no Chinese characters (they come out as empty boxes), and Colab and Kaggle have no Chinese font installed. So
figure_text() gives the Chinese only when a Chinese font is found on the machine (Windows, macOS and most Linux
desktops have one), and the English otherwise."""
import functools
import math
import re

import numpy as np
import torch

from . import caveats
from .messages import tr
from .messages_zh import ZH

# Fonts with Chinese characters, by family name (Linux, Windows, macOS) and by file name (a font installed after
# matplotlib built its font cache is only found by file).
CJK_FAMILIES = ["Noto Sans CJK SC", "Source Han Sans SC", "Noto Sans SC", "WenQuanYi Zen Hei", "WenQuanYi Micro Hei",
                "Microsoft YaHei", "SimHei", "PingFang SC", "Heiti SC", "STHeiti", "Hiragino Sans GB",
                "Arial Unicode MS", "Noto Sans CJK JP"]
CJK_FILES = re.compile(r"NotoSansCJK|NotoSansSC|SourceHanSans|wqy|msyh|simhei|PingFang|STHeiti|Hiragino Sans GB|"
                       r"Arial Unicode", re.IGNORECASE)
_CJK_TEXT = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]")
_found = {}


def cjk_font():
    """The family name of a font with Chinese characters, added to rcParams['font.family'] as a fallback after the
    fonts there (Latin text keeps its font); None when the machine has none. The font is looked up once per
    process."""
    if "family" not in _found:
        from matplotlib import font_manager
        known = {f.name for f in font_manager.fontManager.ttflist}
        if not known & set(CJK_FAMILIES):
            for path in font_manager.findSystemFonts():
                if CJK_FILES.search(path):
                    try:
                        font_manager.fontManager.addfont(path)
                    except (OSError, RuntimeError, ValueError):
                        pass
            known = {f.name for f in font_manager.fontManager.ttflist}
        _found["family"] = next((name for name in CJK_FAMILIES if name in known), None)
    family = _found["family"]
    from matplotlib import rcParams                # checked on every call: a style sheet may have reset the list
    if family is not None and family not in rcParams["font.family"]:        # a fallback: matplotlib takes each
        rcParams["font.family"] = [*rcParams["font.family"], family]         # glyph from the first font that has it
    return family


def figure_text(msgid, **fields):
    """tr(msgid) for a figure: the notebook's language when it is English or a Chinese font is there to draw it,
    else the English (never empty boxes). A sentence translated already (a title given as tr(...)) is taken back
    to its English original then."""
    try:
        text, english = tr(msgid, **fields), msgid.format(**fields)
    except (KeyError, IndexError, ValueError):          # a title with braces of its own: shown as given
        return msgid
    if _CJK_TEXT.search(text) and cjk_font() is None:
        return _english_of().get(english, english)
    return text


@functools.cache
def _english_of():
    """The catalogue reversed, Chinese -> English, built once: figure_text takes a translated title back."""
    return {chinese: original for original, chinese in ZH.items()}


def to_image(img, mean=None, std=None):
    """A displayable (H, W, C) float array in [0, 1] (or (H, W) for one channel) from a CHW/HWC tensor or array
    (undoing mean/std normalisation if given), or a PIL image."""
    if hasattr(img, "convert"):  # PIL
        return np.asarray(img.convert("RGB"))
    t = torch.as_tensor(np.asarray(img) if not torch.is_tensor(img) else img).detach().cpu().float()
    if t.dim() == 3 and t.shape[0] in (1, 3) and t.shape[-1] not in (1, 3):
        t = t.permute(1, 2, 0)
    if mean is not None:
        t = t * torch.tensor(std) + torch.tensor(mean)
    if t.max() > 1.5:
        t = t / 255
    return t.clamp(0, 1).numpy().squeeze()


def wrap(title, scale):
    """A panel title wrapped to the width of a panel `scale` inches wide (about 11 characters an inch at 8 pt),
    keeping the caller's own line breaks; long words are broken rather than cut."""
    import textwrap
    width = max(6, int(scale * 11))
    return "\n".join(textwrap.fill(line, width) for line in str(title).splitlines() or [""])


def caveat_tags():
    """The caveat tags in force for a figure, '[STAND-IN DATA] [RANDOM WEIGHTS]' (figure_text: Chinese where it can
    be drawn); '' when all is real."""
    return " ".join(f"[{figure_text(t)}]" for t in caveats.tags())


def title_with_caveats(fig, title, fontsize=9):
    """Give a figure its title (translated by figure_text when the catalogue has it), with the stand-in /
    random-weights tag in red on a line of its own above it."""
    tag = caveat_tags()
    title = figure_text(title) if title else title
    text = f"{tag}\n{title}" if tag and title else (tag or title or "")
    fig.suptitle(text, color="red" if tag else "black", fontsize=fontsize)


def history_figure(history, title=None, eval_label="test acc"):
    """Training curves of a train_ch13 history: train loss and the scored set's loss on one axis (left; Kaggle's
    log loss is the latter), accuracies on their own (middle), and the learning rate (right) only when it changed
    during the run, drawn as the staircase it is (one lr per epoch). Every epoch is a marker, so one epoch already
    shows. Returns the figure."""
    import matplotlib.pyplot as plt
    epochs = history["epoch"]
    lr_changes = len(set(history["lr"])) > 1
    fig, axes = plt.subplots(1, 3 if lr_changes else 2, figsize=(10 if lr_changes else 8, 3.0), squeeze=False)
    ax_loss, ax_acc = axes[0][0], axes[0][1]
    ax_loss.plot(epochs, history["train_loss"], "o-", label="train loss")
    if "valid_loss" in history and any(not math.isnan(v) for v in history["valid_loss"]):
        ax_loss.plot(epochs, history["valid_loss"], "s--", label=eval_label.replace("acc", "loss"))
    ax_loss.set(xlabel=figure_text("epoch"), ylabel=figure_text("loss (mean per example)"))
    ax_acc.plot(epochs, history["train_acc"], "o-", label="train acc")
    if any(not math.isnan(a) for a in history["test_acc"]):
        ax_acc.plot(epochs, history["test_acc"], "s--", label=eval_label)
    ax_acc.set(xlabel=figure_text("epoch"), ylabel=figure_text("accuracy"), ylim=(-0.02, 1.02))
    panels = [ax_loss, ax_acc]
    if lr_changes:
        ax_lr = axes[0][2]
        edges = [e - 0.5 for e in epochs] + [epochs[-1] + 0.5]      # each epoch trains at one lr: a staircase
        ax_lr.stairs(history["lr"], edges, color="tab:purple", linewidth=1.5, baseline=None)
        ax_lr.plot(epochs, history["lr"], "o", color="tab:purple", markersize=4)
        ax_lr.set(xlabel=figure_text("epoch"), ylabel=figure_text("learning rate"))
        ax_lr.ticklabel_format(axis="y", style="sci", scilimits=(-2, 2))
        panels.append(ax_lr)
    for ax in panels:
        ax.xaxis.set_major_locator(plt.MaxNLocator(integer=True))
        ax.set_xlim(min(epochs) - 0.5, max(epochs) + 0.5)         # whole epochs, also when there is only one
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=8)
    title_with_caveats(fig, title)
    fig.tight_layout()
    return fig


def confusion_matrix(y_true, y_pred, num_classes):
    """(num_classes, num_classes) int64 counts; row = true class, column = predicted class."""
    cm = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(cm, (np.asarray(y_true), np.asarray(y_pred)), 1)
    return cm


def confusion_figure(y_true, y_pred, classes, normalize=True, ax=None):
    """The confusion matrix as an image (rows: true class, normalised per row by default). Returns the figure."""
    import matplotlib.pyplot as plt
    cm = confusion_matrix(y_true, y_pred, len(classes))
    shown = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1) if normalize else cm
    if ax is None:
        size = max(4, 0.45 * len(classes))
        fig, ax = plt.subplots(figsize=(size, size))
    fig = ax.figure
    ax.imshow(shown, cmap="Blues", vmin=0)
    ax.set_xticks(range(len(classes)), classes, rotation=90, fontsize=8)
    ax.set_yticks(range(len(classes)), classes, fontsize=8)
    ax.set_xlabel(figure_text("predicted"))
    ax.set_ylabel(figure_text("true"))
    ax.grid(False)
    if len(classes) <= 12:
        for i in range(len(classes)):
            for j in range(len(classes)):
                ax.text(j, i, f"{shown[i, j]:.2f}" if normalize else str(cm[i, j]), ha="center", va="center",
                        fontsize=7, color="white" if shown[i, j] > shown.max() / 2 else "black")
    tag = caveat_tags()
    ax.set_title(f"{tag} {figure_text('confusion matrix')}".strip(), fontsize=9, color="red" if tag else "black")
    return fig


def code_html(code):
    """Python source as highlighted HTML with its styles inline, in a monospace font on the <pre> itself (the HTML
    export's stylesheet would otherwise set output <pre> blocks in a proportional font)."""
    from pygments import highlight
    from pygments.formatters import HtmlFormatter
    from pygments.lexers import PythonLexer
    return highlight(code, PythonLexer(), HtmlFormatter(noclasses=True, nobackground=True, prestyles=(
        "font-family: 'DejaVu Sans Mono', Menlo, Consolas, monospace; font-size: 12px; line-height: 1.35; "
        "white-space: pre; overflow-x: auto; margin: 0")))
