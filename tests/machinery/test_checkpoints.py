"""machinery.checkpoints: atomic saves, all-or-nothing resumes, and a training run that never loses a good state."""
import math

import pytest
import torch
from torch import nn
from torchvision import transforms as T

import helpers
from machinery import checkpoints


def _small_cnn(num_classes=10):
    return nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                         nn.Dropout(0.1), nn.Linear(32, num_classes))


def _loaders(data_dir, batch_size=32, augment=True):
    norm = [T.ToTensor(), T.Normalize(helpers.CIFAR10_MEAN, helpers.CIFAR10_STD)]
    train_tf = T.Compose(([T.RandomHorizontalFlip()] if augment else []) + norm)
    helpers.reorg_kaggle_data(data_dir, "trainLabels.csv", 0.2)
    return helpers.reorganised_loaders(data_dir, train_tf, T.Compose(norm), batch_size, num_workers=0)


class _InterruptAfter:
    """A loader wrapper that raises KeyboardInterrupt (a learner pressing stop) after `n` batches in all."""

    def __init__(self, loader, n):
        self.loader, self.n = loader, n

    def __len__(self):
        return len(self.loader)

    def __iter__(self):
        for batch in self.loader:
            if self.n == 0:
                raise KeyboardInterrupt
            self.n -= 1
            yield batch


def _run(data_loaders, epochs, checkpoint=None, interrupt_after=None):
    helpers.seed_everything(123)                                 # what rerunning the notebook from the top does
    net = _small_cnn()
    trainer = torch.optim.SGD(net.parameters(), lr=0.002, momentum=0.9, weight_decay=5e-4)
    scheduler = torch.optim.lr_scheduler.StepLR(trainer, step_size=1, gamma=0.8)
    train = data_loaders["train"]
    if interrupt_after is not None:
        train = _InterruptAfter(train, interrupt_after)
    history = helpers.train_ch13(net, train, data_loaders["valid"], nn.CrossEntropyLoss(reduction="none"),
                                 trainer, epochs, scheduler=scheduler, checkpoint=checkpoint, plot=False)
    return net, history


def test_checkpoint_resume_gives_the_same_weights(cifar_copy, tmp_path, capsys):
    _, loaders = _loaders(cifar_copy)                            # shuffling, random flips and dropout all use RNG
    reference, ref_history = _run(loaders, 3)
    ckpt = tmp_path / "ckpt" / "run.pt"
    batches = len(loaders["train"])
    with pytest.raises(KeyboardInterrupt):
        _run(loaders, 3, ckpt, interrupt_after=batches + 2)      # stopped during epoch 2
    assert torch.load(ckpt, weights_only=False)["epoch"] == 1
    resumed, history = _run(loaders, 3, ckpt)
    assert "Resuming from" in capsys.readouterr().out
    for (name, a), b in zip(reference.state_dict().items(), resumed.state_dict().values()):
        assert torch.equal(a, b), name
    assert history["train_loss"] == ref_history["train_loss"] and history["lr"] == ref_history["lr"]
    # a finished checkpoint: nothing more to train, same history back
    again, history2 = _run(loaders, 3, ckpt)
    assert history2["epoch"] == [1, 2, 3] and torch.equal(next(again.parameters()), next(reference.parameters()))


def test_checkpoint_for_another_net_is_refused(cifar_copy, tmp_path):
    _, loaders = _loaders(cifar_copy)
    ckpt = tmp_path / "run.pt"
    _run(loaders, 1, ckpt)
    net = _small_cnn(num_classes=3)
    trainer = torch.optim.SGD(net.parameters(), lr=0.01)
    with pytest.raises(checkpoints.CheckpointError, match="made for another net"):
        helpers.train_ch13(net, loaders["train"], None, nn.CrossEntropyLoss(reduction="none"), trainer, 2,
                           checkpoint=ckpt, plot=False)


def test_save_checkpoint_is_atomic(tmp_path, monkeypatch):
    path = tmp_path / "c.pt"
    helpers.save_checkpoint(path, epoch=1)

    def broken_save(obj, f):
        f.write(b"half")
        raise OSError("disk full")
    monkeypatch.setattr(torch, "save", broken_save)
    with pytest.raises(OSError):
        helpers.save_checkpoint(path, epoch=2)
    monkeypatch.undo()
    assert torch.load(path, weights_only=False)["epoch"] == 1    # the good checkpoint survived


