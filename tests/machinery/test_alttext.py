"""machinery.alttext: a figure's alt text comes from its own words, and in a Jupyter kernel every figure output
carries it as metadata (which `make run`'s HTML writes into <img alt=...>)."""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from machinery import alttext  # noqa: E402


def test_alt_text_is_the_figures_titles_and_labels_each_once(monkeypatch):
    monkeypatch.setenv("COURSE_LANG", "en")
    fig, (a, b) = plt.subplots(1, 2)
    fig.suptitle("[STAND-IN DATA: hotdog] fine-tuned vs from scratch")
    a.set(title="loss", xlabel="epoch", ylabel="train loss")
    b.set(title="loss", xlabel="epoch", ylabel="test acc")
    assert alttext.describe(fig) == ("Figure: [STAND-IN DATA: hotdog] fine-tuned vs from scratch; loss; "
                                     "epoch / train loss; epoch / test acc")
    bare, _ = plt.subplots(2, 3)
    assert alttext.describe(bare) == "Figure with 6 panel(s) and no titles"
    long, ax = plt.subplots()
    ax.set_title("x" * 1000)
    assert len(alttext.describe(long)) == alttext.LIMIT and alttext.describe(long).endswith("...")
    monkeypatch.setenv("COURSE_LANG", "zh")
    assert alttext.describe(bare) == "图：6 个子图，没有标题"                      # the notebook's language
    plt.close("all")


def test_outside_a_kernel_install_does_nothing():
    assert alttext.install() is False
