"""Devices, seeds and training: learning on a stand-in, d2l parity, few batches, schedulers, checkpoint resume."""
import math

import pytest
import torch
from torch import nn

import helpers
import support
from machinery import accel


def test_devices_never_empty():
    assert helpers.try_all_gpus() and all(isinstance(d, torch.device) for d in helpers.try_all_gpus())
    assert helpers.try_gpu().type in ("cuda", "mps", "cpu")
    assert helpers.try_gpu(99).type in ("cpu", "mps") or torch.cuda.device_count() > 99


def test_seed_everything_repeats():
    helpers.seed_everything(7)
    a = torch.rand(3), __import__("random").random()
    helpers.seed_everything(7)
    assert torch.equal(a[0], torch.rand(3)) and a[1] == __import__("random").random()






def test_learns_standin_well_above_chance(cifar_copy, capsys):
    helpers.seed_everything(0)
    _, loaders = support.cifar_loaders(cifar_copy)
    net = support.small_cnn()
    trainer = torch.optim.SGD(net.parameters(), lr=0.002, momentum=0.9)   # d2l-style summed loss: small lr
    history = helpers.train_ch13(net, loaders["train"], loaders["valid"], nn.CrossEntropyLoss(reduction="none"),
                                 trainer, 6, [torch.device("cpu")])
    assert history["test_acc"][-1] >= 0.5, history               # chance is 0.1
    assert history["train_loss"][-1] < history["train_loss"][0]
    out = capsys.readouterr().out
    assert "epoch 6/6" in out and "examples/sec" in out and "data loading included" in out


def test_train_batch_matches_d2l():
    from d2l import torch as d2l
    torch.manual_seed(0)
    ours, theirs = support.small_cnn(), support.small_cnn()
    theirs.load_state_dict(ours.state_dict())
    X, y = torch.randn(8, 3, 16, 16), torch.randint(0, 10, (8,))
    loss = nn.CrossEntropyLoss(reduction="none")
    opt_ours = torch.optim.SGD(ours.parameters(), lr=0.01)
    opt_theirs = torch.optim.SGD(theirs.parameters(), lr=0.01)
    torch.manual_seed(1)
    result_ours = helpers.train_batch_ch13(ours, X, y, loss, opt_ours, [torch.device("cpu")])
    torch.manual_seed(1)
    result_theirs = d2l.train_batch_ch13(theirs, X, y, loss, opt_theirs, [torch.device("cpu")])
    assert torch.is_tensor(result_ours[0]) and result_ours[0].dim() == 0 and isinstance(result_ours[1], float)
    assert float(result_ours[0]) == pytest.approx(float(result_theirs[0].detach()), rel=1e-5)
    assert result_ours[1] == pytest.approx(float(result_theirs[1]))
    for a, b in zip(ours.state_dict().values(), theirs.state_dict().values()):
        assert torch.allclose(a.float(), b.float(), atol=1e-6)


def test_fewer_than_five_batches_and_history(cifar_copy, capsys):
    helpers.seed_everything(0)
    _, loaders = support.cifar_loaders(cifar_copy, batch_size=64)
    assert len(loaders["train"]) < 5                             # d2l divides by num_batches // 5 == 0 here
    net = support.small_cnn()
    trainer = torch.optim.SGD(net.parameters(), lr=0.001)
    scheduler = torch.optim.lr_scheduler.StepLR(trainer, step_size=1, gamma=0.5)
    history = helpers.train_ch13(net, loaders["train"], None, nn.CrossEntropyLoss(reduction="none"), trainer, 3,
                                 scheduler=scheduler, plot=False)
    assert history["epoch"] == [1, 2, 3]
    assert history["lr"] == pytest.approx([1e-3, 5e-4, 2.5e-4])
    assert all(math.isnan(a) for a in history["test_acc"])
    assert all(t > 0 and ips > 0 for t, ips in zip(history["time_s"], history["img_per_s"]))
    printed = capsys.readouterr().out
    assert "no test set" in printed and "nan" not in printed          # no 'test acc nan' for a learner to puzzle over


def test_mean_loss_reports_the_same_loss(cifar_copy):
    """A mean-reduced loss still works and reports a per-example mean loss (docstring: lr then needs x batch)."""
    _, loaders = support.cifar_loaders(cifar_copy, augment=False)
    results = []
    for reduction, lr in (("none", 0.001), ("mean", 0.001 * 32)):
        helpers.seed_everything(0)
        net = support.small_cnn()
        net[-2].p = 0.0
        trainer = torch.optim.SGD(net.parameters(), lr=lr)
        results.append(helpers.train_ch13(net, loaders["train"], None, nn.CrossEntropyLoss(reduction=reduction),
                                          trainer, 1, plot=False))
    assert results[0]["train_loss"][0] == pytest.approx(results[1]["train_loss"][0], rel=1e-4)


def test_evaluate_accuracy_counts_every_example_and_restores_mode():
    net = nn.Sequential(nn.Flatten(), nn.Linear(4, 2))
    with torch.no_grad():
        net[1].weight.copy_(torch.tensor([[1.0, 0, 0, 0], [0, 1.0, 0, 0]]))
        net[1].bias.zero_()
    X = torch.zeros(7, 4)
    X[:5, 0] = 1                                                 # 5 examples of class 0
    X[5:, 1] = 1                                                 # 2 of class 1
    y = torch.tensor([0, 0, 0, 0, 1, 1, 0])                      # two labels wrong on purpose
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(X, y), batch_size=3)
    net.train()
    assert helpers.evaluate_accuracy_gpu(net, loader) == pytest.approx(5 / 7)
    assert net.training
    expected = nn.functional.cross_entropy(net(X), y).item()
    assert helpers.evaluate_loss(net, loader) == pytest.approx(expected, rel=1e-6)          # d2l's (net, data_iter, loss)
    assert helpers.evaluate_loss(net, loader, nn.CrossEntropyLoss(reduction="none")) == pytest.approx(expected, rel=1e-6)
    assert net.training


def test_predict_with_flip_tta():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Flatten(), nn.Linear(2 * 3 * 4, 3))
    X = torch.randn(5, 2, 3, 4)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(X, torch.arange(5)), batch_size=2)
    probs, labels = helpers.predict(net, loader, return_labels=True)
    assert probs.shape == (5, 3) and torch.allclose(probs.sum(1), torch.ones(5)) and labels.tolist() == [0, 1, 2, 3, 4]
    tta = helpers.predict(net, loader, tta_flip=True)
    expected = (torch.softmax(net(X), 1) + torch.softmax(net(X.flip(3)), 1)) / 2
    assert torch.allclose(tta, expected, atol=1e-6) and not torch.allclose(tta, probs)


def test_setup_notebook(data_root, capsys):
    cfg = helpers.setup_notebook("99_test", seed=3)
    out = capsys.readouterr().out
    assert cfg["device"] == helpers.try_gpu() and cfg["fig_dir"].is_dir() and "data mode" in out
    with pytest.raises(helpers.LearnerError, match="too old"):
        helpers.setup_notebook("99_test", min_versions={"torch": "999.0"})


def test_amp_and_channels_last_paths_run_on_cpu(cifar_copy):
    """amp=True on the CPU means bf16 autocast; channels_last=True converts the net and the batches."""
    _, loaders = support.cifar_loaders(cifar_copy, batch_size=64)
    helpers.seed_everything(0)
    net = support.small_cnn()
    trainer = torch.optim.SGD(net.parameters(), lr=0.001)
    history = helpers.train_ch13(net, loaders["train"], loaders["valid"], nn.CrossEntropyLoss(reduction="none"),
                                 trainer, 1, [torch.device("cpu")], amp=True, channels_last=True, plot=False)
    assert math.isfinite(history["train_loss"][0]) and 0 <= history["test_acc"][0] <= 1
    assert net[0].weight.is_contiguous(memory_format=torch.channels_last)
    assert accel.amp_settings(torch.device("cpu"), "auto") == (False, None)      # off on CPU by default


def test_valid_loss_is_recorded_per_epoch_with_the_training_loss_function(cifar_copy):
    """history['valid_loss']: the mean loss per example on test_iter after every epoch (what d2l's dog chapter
    tracks: Kaggle scores log loss), computed with the loss function the run trains with; nan without a test_iter."""
    helpers.seed_everything(0)
    _, loaders = support.cifar_loaders(cifar_copy, augment=False)
    loss = nn.CrossEntropyLoss(reduction="none")
    net = support.small_cnn()
    trainer = torch.optim.SGD(net.parameters(), lr=0.002, momentum=0.9)
    history = helpers.train_ch13(net, loaders["train"], loaders["valid"], loss, trainer, 2, [torch.device("cpu")],
                                 plot=False, eval_label="valid acc")
    assert len(history["valid_loss"]) == 2 and all(math.isfinite(v) for v in history["valid_loss"])
    assert history["valid_loss"][-1] == pytest.approx(helpers.evaluate_loss(net, loaders["valid"], loss), rel=1e-5)
    assert history["test_acc"][-1] == pytest.approx(helpers.evaluate_accuracy_gpu(net, loaders["valid"]))
    label_smoothing = nn.CrossEntropyLoss(reduction="none", label_smoothing=0.5)   # another loss, another number
    history = helpers.train_ch13(net, loaders["train"], loaders["valid"], label_smoothing, trainer, 1, plot=False)
    assert history["valid_loss"][-1] == pytest.approx(
        helpers.evaluate_loss(net, loaders["valid"], label_smoothing), rel=1e-5)
    history = helpers.train_ch13(net, loaders["train"], None, loss, trainer, 1, plot=False)
    assert math.isnan(history["valid_loss"][0])


def test_the_caveat_tag_is_said_once_per_run_and_epoch_lines_stay_short(cifar_copy, capsys, monkeypatch):
    from machinery import caveats
    monkeypatch.setattr(caveats, "_CAVEATS", {"data:x": "STAND-IN DATA: kaggle_cifar10_tiny (synthetic images)",
                                              "weights:y": "RANDOM WEIGHTS instead of ImageNet: resnet18"})
    helpers.seed_everything(0)
    _, loaders = support.cifar_loaders(cifar_copy)
    net = support.small_cnn()
    trainer = torch.optim.SGD(net.parameters(), lr=0.002, momentum=0.9)
    scheduler = torch.optim.lr_scheduler.StepLR(trainer, 1, 0.5)
    helpers.train_ch13(net, loaders["train"], loaders["valid"], nn.CrossEntropyLoss(reduction="none"), trainer, 3,
                       scheduler=scheduler, plot=False, eval_label="valid acc", title="train -> valid")
    lines = capsys.readouterr().out.splitlines()
    assert sum("STAND-IN DATA" in line for line in lines) == 1 and "STAND-IN DATA" in lines[0]
    assert "train -> valid" in lines[0]
    epochs = [line for line in lines if line.startswith("epoch ")]
    assert len(epochs) == 3 and all("valid loss" in line and "valid acc" in line for line in epochs)
    assert max(map(len, epochs)) <= 110, epochs                  # no wrap in a notebook's output area


def test_the_run_speaks_the_notebooks_language(cifar_copy, capsys, monkeypatch):
    monkeypatch.setenv("COURSE_LANG", "zh")
    _, loaders = support.cifar_loaders(cifar_copy, batch_size=64)
    net = support.small_cnn()
    helpers.train_ch13(net, loaders["train"], None, nn.CrossEntropyLoss(reduction="none"),
                       torch.optim.SGD(net.parameters(), lr=0.001), 1, plot=False, eval_label="valid acc")
    out = capsys.readouterr().out
    assert "1 轮" in out and "没有验证集" in out and "样本/秒" in out


def test_one_device_is_never_wrapped_and_devices_may_be_names(cifar_copy):
    """d2l wraps even a single device in nn.DataParallel; ours trains the net itself on one device (CPU, one GPU,
    MPS), and takes device names too."""
    net = support.small_cnn()
    model, _, _ = accel.prepare(net, [torch.device("cpu")])
    assert model is net
    _, loaders = support.cifar_loaders(cifar_copy, batch_size=64)
    history = helpers.train_ch13(net, loaders["train"], None, nn.CrossEntropyLoss(reduction="none"),
                                 torch.optim.SGD(net.parameters(), lr=0.001), 1, ["cpu"], plot=False)
    assert history["epoch"] == [1] and not any(k.startswith("module.") for k in net.state_dict())


@pytest.mark.skipif(torch.cuda.device_count() < 2, reason="needs two CUDA devices (Kaggle's T4 x2)")
def test_two_gpus_train_through_data_parallel(cifar_copy, tmp_path):
    """With several CUDA devices, as d2l's: nn.DataParallel over the list; the checkpoint holds the net's own
    state_dict (no 'module.' prefix), so it loads into a net on one device."""
    devices = [torch.device("cuda:0"), torch.device("cuda:1")]
    net = support.small_cnn()
    model, _, _ = accel.prepare(net, devices)
    assert isinstance(model, nn.DataParallel) and model.device_ids == [0, 1]
    _, loaders = support.cifar_loaders(cifar_copy)
    history = helpers.train_ch13(net, loaders["train"], loaders["valid"], nn.CrossEntropyLoss(reduction="none"),
                                 torch.optim.SGD(net.parameters(), lr=0.002, momentum=0.9), 2, devices, plot=False,
                                 checkpoint=tmp_path / "run.pt")
    assert all(math.isfinite(v) for v in history["valid_loss"])
    state = torch.load(tmp_path / "run.pt", weights_only=False)["model"]
    assert not any(k.startswith("module.") for k in state)
