"""Plotting: show_images (1x1 included), history and confusion-matrix figures, save_fig."""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402

import helpers  # noqa: E402
from machinery import caveats, plots  # noqa: E402


def test_show_images_one_by_one_and_mixed_inputs():
    axes = helpers.show_images([torch.rand(3, 8, 8)], 1, 1, titles=["only"])   # d2l's breaks for a 1x1 grid
    assert len(axes) == 1 and axes[0].get_title() == "only"
    imgs = [torch.rand(3, 8, 8), np.zeros((8, 8, 3), dtype=np.uint8), Image.new("RGB", (8, 8))]
    assert len(helpers.show_images(imgs, 2, 2)) == 4
    plt.close("all")


def test_to_image_undoes_normalisation():
    img = torch.rand(3, 4, 5)
    normed = (img - torch.tensor(helpers.IMAGENET_MEAN)[:, None, None]) / torch.tensor(helpers.IMAGENET_STD)[:, None, None]
    back = plots.to_image(normed, helpers.IMAGENET_MEAN, helpers.IMAGENET_STD)
    assert back.shape == (4, 5, 3) and np.allclose(back, img.permute(1, 2, 0).numpy(), atol=1e-5)


def test_confusion_matrix_counts():
    cm = helpers.confusion_matrix([0, 0, 1, 2, 2, 2], [0, 1, 1, 2, 2, 0], 3)
    assert cm.tolist() == [[1, 1, 0], [0, 1, 0], [1, 0, 2]]
    fig = helpers.plot_confusion_matrix([0, 1, 2], [0, 1, 1], ["a", "b", "c"])
    assert fig.axes[0].get_xlabel() == "predicted"
    plt.close(fig)


def test_history_plot_and_save(tmp_path, monkeypatch):
    monkeypatch.setattr(caveats, "_CAVEATS", {"data:x": "STAND-IN DATA: x"})
    history = {"epoch": [1, 2], "train_loss": [1.0, 0.5], "train_acc": [0.5, 0.7], "test_acc": [0.4, 0.6],
               "lr": [0.1, 0.05]}
    fig = helpers.plot_history(history, title="run")
    assert "STAND-IN DATA" in fig._suptitle.get_text()               # stand-in results never pose as real
    path = helpers.save_fig("history", fig, folder=tmp_path / "figs")
    assert path.exists() and path.read_bytes()[:4] == b"\x89PNG"
    plt.close(fig)


def test_save_fig_default_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_OUTPUT_DIR", str(tmp_path))
    fig = plt.figure()
    assert helpers.save_fig("x", fig) == tmp_path / "figures" / "x.png"
    plt.close(fig)


def test_history_plot_puts_train_and_valid_loss_together_and_draws_the_lr_as_a_staircase():
    """As d2l's dog chapter: train loss and valid loss on one axis, accuracies on their own. The learning rate is
    constant within an epoch, so its panel is a staircase (a step patch), not slopes between the epoch markers."""
    from matplotlib.patches import StepPatch
    history = {"epoch": [1, 2, 3, 4], "train_loss": [2.0, 1.5, 1.2, 1.0], "train_acc": [0.2, 0.4, 0.5, 0.6],
               "test_acc": [0.3, 0.4, 0.45, 0.5], "valid_loss": [1.9, 1.6, 1.4, 1.35], "lr": [0.1, 0.1, 0.05, 0.05]}
    fig = helpers.plot_history(history, eval_label="valid acc")
    ax_loss, ax_acc, ax_lr = fig.axes
    assert [line.get_label() for line in ax_loss.get_lines()] == ["train loss", "valid loss"]
    assert [line.get_label() for line in ax_acc.get_lines()] == ["train acc", "valid acc"]
    steps = [p for p in ax_lr.patches if isinstance(p, StepPatch)]
    assert len(steps) == 1
    values, edges = steps[0].get_data()[:2]
    assert list(values) == [0.1, 0.1, 0.05, 0.05] and list(edges) == [0.5, 1.5, 2.5, 3.5, 4.5]
    plt.close(fig)
