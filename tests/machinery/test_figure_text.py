"""Text in figures (machinery.plots.figure_text): Chinese where a Chinese font can draw it, English where none is
installed (Colab, Kaggle), never empty boxes. matplotlib warns 'Glyph ... missing from font(s)' for every character
it draws as a box; these tests draw real figures and count those warnings."""
import warnings

import matplotlib
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from machinery import caveats, messages, plots  # noqa: E402

HISTORY = {"epoch": [1, 2], "train_loss": [1.0, 0.5], "train_acc": [0.4, 0.6], "test_acc": [0.3, 0.5],
           "lr": [0.1, 0.05], "valid_loss": [1.1, 0.7]}


@pytest.fixture
def zh_standin(monkeypatch):
    monkeypatch.delenv("COURSE_LANG", raising=False)
    monkeypatch.setitem(messages._chosen, "language", "zh")
    monkeypatch.setattr(caveats, "_CAVEATS", {"data:x": "STAND-IN DATA"})


def missing_glyphs(fig):
    """The 'missing from font' warnings that drawing `fig` gives."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig.canvas.draw()
    plt.close(fig)
    return [str(w.message) for w in caught if "missing from font" in str(w.message)]


def figure_texts(fig):
    return [t.get_text() for t in fig.findobj(matplotlib.text.Text) if t.get_text()]


def test_matplotlib_alone_draws_chinese_as_empty_boxes():
    """Why figure_text exists: with matplotlib's default fonts, Chinese text is drawn as boxes, even on a machine
    that has a Chinese font installed (this one has Noto Sans CJK)."""
    with matplotlib.rc_context({"font.family": ["sans-serif"], "font.sans-serif": ["DejaVu Sans"]}):
        fig = plt.figure()
        fig.suptitle("替身数据")
        assert len(missing_glyphs(fig)) == 4


def test_without_a_chinese_font_a_zh_figure_falls_back_to_english(zh_standin, monkeypatch):
    monkeypatch.setattr(plots, "_found", {"family": None})           # as on Colab and Kaggle
    with matplotlib.rc_context({"font.sans-serif": ["DejaVu Sans"]}):
        fig = plots.history_figure(HISTORY, title="epoch")
        texts = figure_texts(fig)
        assert missing_glyphs(fig) == []
    assert "[STAND-IN DATA]\nepoch" in texts and "loss (mean per example)" in texts and "accuracy" in texts
    assert plots.figure_text("confusion matrix") == "confusion matrix"
    assert plots.figure_text(messages.tr("confusion matrix")) == "confusion matrix"   # a title given as tr(...)


def test_with_a_chinese_font_a_zh_figure_is_chinese_and_draws_every_character(zh_standin, monkeypatch):
    monkeypatch.setattr(plots, "_found", {})
    with matplotlib.rc_context():
        if plots.cjk_font() is None:
            pytest.skip("no Chinese font on this machine (fonts-noto-cjk, say)")
        fig = plots.history_figure(HISTORY)
        texts = figure_texts(fig)
        assert missing_glyphs(fig) == []
        fig = plots.confusion_figure([0, 1, 1], [0, 1, 0], ["cat", "dog"])
        assert plots.figure_text("confusion matrix") == "混淆矩阵" and missing_glyphs(fig) == []
    assert "[替身数据]" in texts and "损失（每个样本的平均值）" in texts and "精度" in texts and "轮" in texts
    assert "train loss" in texts                 # legends stay as d2l-zh's log lines: train loss, train acc


def test_an_english_notebook_figure_is_english_and_a_title_with_braces_is_kept(monkeypatch):
    monkeypatch.delenv("COURSE_LANG", raising=False)
    monkeypatch.setitem(messages._chosen, "language", "en")
    assert plots.figure_text("accuracy") == "accuracy"
    assert plots.figure_text("lr {0.1: 3 epochs}") == "lr {0.1: 3 epochs}"
