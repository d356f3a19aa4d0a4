"""machinery.checkpoints: atomic saves, all-or-nothing resumes, and a training run that never loses a good state."""
import math
import shutil

import pytest
import torch
from torch import nn

import helpers
import support
from machinery import checkpoints, storage






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
    net = support.small_cnn()
    trainer = torch.optim.SGD(net.parameters(), lr=0.002, momentum=0.9, weight_decay=5e-4)
    scheduler = torch.optim.lr_scheduler.StepLR(trainer, step_size=1, gamma=0.8)
    train = data_loaders["train"]
    if interrupt_after is not None:
        train = _InterruptAfter(train, interrupt_after)
    history = helpers.train_ch13(net, train, data_loaders["valid"], nn.CrossEntropyLoss(reduction="none"),
                                 trainer, epochs, scheduler=scheduler, checkpoint=checkpoint, plot=False)
    return net, history


def test_checkpoint_resume_gives_the_same_weights(cifar_copy, tmp_path, capsys):
    _, loaders = support.cifar_loaders(cifar_copy)                            # shuffling, random flips and dropout all use RNG
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
    _, loaders = support.cifar_loaders(cifar_copy)
    ckpt = tmp_path / "run.pt"
    _run(loaders, 1, ckpt)
    net = support.small_cnn(num_classes=3)
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




class _FillDiskAt:
    """A loader wrapper: at batch `at` (counted over all epochs) another program fills the filesystem of `folder`,
    leaving `leave` bytes free (the file <folder>/filler)."""

    def __init__(self, loader, at, folder, leave):
        self.loader, self.at, self.folder, self.leave, self.n = loader, at, folder, leave, 0

    def __len__(self):
        return len(self.loader)

    def __iter__(self):
        for batch in self.loader:
            if self.n == self.at:
                with open(self.folder / "filler", "wb") as f:
                    f.write(bytes(shutil.disk_usage(self.folder).free - self.leave))
            self.n += 1
            yield batch


def test_a_full_disk_at_save_keeps_the_previous_checkpoint_and_removes_the_partial_file(tmp_path):
    """A real 8 MiB filesystem: room for the run when it starts (the check before the first batch passes), then
    another program fills it during epoch 2. The save of epoch 2 fails with a message naming the file, the free and
    the needed space; epoch 1's checkpoint stays, no .tmp stays; once space is freed the run resumes from epoch 1."""
    with support.small_filesystem(tmp_path / "disk", "8m") as disk:
        ckpt = disk / "run.pt"
        torch.manual_seed(0)
        net = nn.Sequential(nn.Flatten(), nn.Linear(192, 1024), nn.ReLU(), nn.Linear(1024, 10))     # 0.8 MB
        trainer = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)                        # + 0.8 MB momentum
        loader = _FillDiskAt(_tensor_loader(), at=5, folder=disk, leave=2 ** 20)     # 4 batches/epoch: in epoch 2
        with pytest.raises(storage.StorageError) as err:
            _train(net, trainer, 3, ckpt, loader)
        assert str(err.value) == (
            f"The disk is full: the checkpoint {ckpt} could not be saved (1.0 MB free, about 1.7 MB needed). The "
            "previous checkpoint is kept. The partial file was removed. Free some space (or pass a checkpoint path on "
            "another disk) and run again: training resumes from the last saved epoch.")
        assert torch.load(ckpt, weights_only=False)["epoch"] == 1
        assert sorted(p.name for p in disk.iterdir()) == ["filler", "run.pt"]          # no run.pt.tmp
        (disk / "filler").unlink()                                         # the learner frees space, runs again
        history = _train(net, torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9), 3, ckpt)
        assert history["epoch"] == [1, 2, 3] and torch.load(ckpt, weights_only=False)["epoch"] == 3


# --- training never loses a good state ------------------------------------------------------------------------------

def _tensor_loader(n=64, batch=16, seed=0):
    g = torch.Generator().manual_seed(seed)
    X, y = torch.randn(n, 3, 8, 8, generator=g), torch.randint(0, 10, (n,), generator=g)
    return torch.utils.data.DataLoader(torch.utils.data.TensorDataset(X, y), batch, shuffle=True)


def _net_and_trainer(lr, seed=0):
    torch.manual_seed(seed)
    net = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                        nn.Linear(8, 10))
    return net, torch.optim.SGD(net.parameters(), lr=lr, momentum=0.9)


def _train(net, trainer, epochs, checkpoint, loader=None):
    return helpers.train_ch13(net, loader if loader is not None else _tensor_loader(), None, nn.CrossEntropyLoss(reduction="none"), trainer,
                              epochs, [torch.device("cpu")], checkpoint=checkpoint, plot=False)


def test_a_diverging_run_stops_and_keeps_the_last_good_checkpoint(tmp_path):
    ckpt = tmp_path / "run.pt"
    net, trainer = _net_and_trainer(0.01)
    _train(net, trainer, 1, ckpt)
    good = {k: v.clone() for k, v in net.state_dict().items()}
    net, trainer = _net_and_trainer(1e12)                        # a learning rate that blows up at once
    with pytest.warns(UserWarning, match="settings given now win"), \
            pytest.raises(checkpoints.TrainingDiverged, match=r"epoch 2, batch \d+ of 4") as err:
        _train(net, trainer, 3, ckpt)
    assert "learning rate" in str(err.value) and str(ckpt) in str(err.value)
    state = torch.load(ckpt, weights_only=False)
    assert state["epoch"] == 1 and all(torch.equal(state["model"][k], v) for k, v in good.items())
    net, trainer = _net_and_trainer(0.01)                        # the learner lowers the lr and runs again
    history = _train(net, trainer, 3, ckpt)
    assert history["epoch"] == [1, 2, 3] and all(math.isfinite(l) for l in history["train_loss"])


def test_an_empty_training_loader_is_an_error():
    net, trainer = _net_and_trainer(0.01)
    empty = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.zeros(0, 3, 8, 8),
                                                                       torch.zeros(0, dtype=torch.long)), 4)
    with pytest.raises(ValueError, match="no batch"):
        _train(net, trainer, 2, None, empty)


def test_a_truncated_checkpoint_is_named_and_nothing_is_loaded(tmp_path):
    ckpt = tmp_path / "run.pt"
    net, trainer = _net_and_trainer(0.01)
    _train(net, trainer, 1, ckpt)
    ckpt.write_bytes(ckpt.read_bytes()[: ckpt.stat().st_size // 2])     # a Drive sync cut short
    net, trainer = _net_and_trainer(0.01, seed=5)
    before = {k: v.clone() for k, v in net.state_dict().items()}
    with pytest.raises(checkpoints.CheckpointError, match="cannot be read") as err:
        _train(net, trainer, 2, ckpt)
    assert str(ckpt) in str(err.value) and "Delete it" in str(err.value)
    assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())


def test_a_checkpoint_refused_for_its_optimiser_loads_nothing(tmp_path):
    ckpt = tmp_path / "run.pt"
    net, trainer = _net_and_trainer(0.01)
    _train(net, trainer, 1, ckpt)
    net, _ = _net_and_trainer(0.01, seed=5)
    before = {k: v.clone() for k, v in net.state_dict().items()}
    head_only = torch.optim.SGD(net[-1].parameters(), lr=0.01)           # another optimiser: the head alone
    with pytest.raises(checkpoints.CheckpointError, match="parameter groups"):
        _train(net, head_only, 2, ckpt)
    assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())   # the weights were NOT loaded


def test_a_changed_learning_rate_wins_with_a_warning_and_keeps_the_schedule(tmp_path):
    ckpt = tmp_path / "run.pt"
    net, trainer = _net_and_trainer(0.1)
    scheduler = torch.optim.lr_scheduler.StepLR(trainer, 1, 0.5)
    helpers.train_ch13(net, _tensor_loader(), None, nn.CrossEntropyLoss(reduction="none"), trainer, 2,
                       [torch.device("cpu")], scheduler=scheduler, checkpoint=ckpt, plot=False)
    net, trainer = _net_and_trainer(0.01)                                 # 10x smaller this time
    scheduler = torch.optim.lr_scheduler.StepLR(trainer, 1, 0.5)
    with pytest.warns(UserWarning, match=r"lr: 0\.1 -> 0\.01.*given now win from epoch 3"):
        history = helpers.train_ch13(net, _tensor_loader(), None, nn.CrossEntropyLoss(reduction="none"), trainer,
                                     3, [torch.device("cpu")], scheduler=scheduler, checkpoint=ckpt, plot=False)
    assert history["lr"] == pytest.approx([0.1, 0.05, 0.01 * 0.25])    # epochs 1-2 as trained; then the new lr


# --- a hard kill, mid-epoch and mid-save ----------------------------------------------------------------------------

CHILD = r'''
import os, sys, time, torch
from torch import nn
sys.path.insert(0, {repo!r})
import helpers
from machinery import checkpoints, storage

kill_at = os.environ.get("KILL_AT", "")            # "epoch:batch" (mid-epoch) or "save:epoch" (mid-save)
ready = os.environ.get("READY", "")


class Loader:                                      # a tensor loader that can stop dead at a given batch
    def __init__(self):
        g = torch.Generator().manual_seed(0)
        self.X, self.y = torch.randn(96, 3, 8, 8, generator=g), torch.randint(0, 10, (96,), generator=g)
        self.epoch = 0
    def __len__(self):
        return 6
    def __iter__(self):
        self.epoch += 1
        order = torch.randperm(96)                 # the global RNG, as DataLoader's shuffling
        for b in range(6):
            if kill_at == f"{{self.epoch}}:{{b}}":
                open(ready, "w").close()
                time.sleep(60)                     # the parent SIGKILLs us here
            idx = order[b * 16:(b + 1) * 16]
            yield self.X[idx] + 0.1 * torch.randn(16, 3, 8, 8), self.y[idx]   # random "augmentation" too

real_save = torch.save
def slow_save(obj, f):
    if kill_at == f"save:{{obj.get('epoch')}}":
        f.write(b"half a checkpoint")
        f.flush()
        open(ready, "w").close()
        time.sleep(60)
    real_save(obj, f)
torch.save = slow_save

helpers.seed_everything(0)
net = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
                    nn.Flatten(), nn.Dropout(0.2), nn.Linear(8, 10))
trainer = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9, weight_decay=1e-4)
scheduler = torch.optim.lr_scheduler.StepLR(trainer, 1, 0.7)
helpers.train_ch13(net, Loader(), None, nn.CrossEntropyLoss(reduction="none"), trainer, 4, [torch.device("cpu")],
                   scheduler=scheduler, checkpoint=sys.argv[1], plot=False)
torch.save(net.state_dict(), sys.argv[2])
'''


def _child(tmp_path, ckpt, out, kill_at=None):
    import os
    import signal
    import subprocess
    import sys
    import time
    script = tmp_path / "child.py"
    script.write_text(CHILD.format(repo=str(helpers.REPO_DIR)))
    ready = tmp_path / f"ready-{kill_at}".replace(":", "-")
    env = {**os.environ, "KILL_AT": kill_at or "", "READY": str(ready), "COURSE_HEADLESS": "1",
           "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, str(script), str(ckpt), str(out)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if kill_at:
        deadline = time.time() + 120
        while not ready.exists():
            assert proc.poll() is None, proc.stdout.read().decode()
            assert time.time() < deadline, "the child never reached its kill point"
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
    output = proc.communicate(timeout=180)[0].decode()
    return proc.returncode, output


def test_a_hard_kill_mid_epoch_and_mid_save_resumes_to_the_same_weights(tmp_path):
    rc, out = _child(tmp_path, tmp_path / "straight.pt", tmp_path / "straight-final.pt")
    assert rc == 0, out
    ckpt = tmp_path / "killed.pt"
    rc, _ = _child(tmp_path, ckpt, tmp_path / "unused.pt", kill_at="2:3")         # SIGKILL inside epoch 2
    assert rc == -9 and torch.load(ckpt, weights_only=False)["epoch"] == 1
    rc, _ = _child(tmp_path, ckpt, tmp_path / "unused.pt", kill_at="save:3")      # SIGKILL while saving epoch 3
    assert rc == -9 and torch.load(ckpt, weights_only=False)["epoch"] == 2      # the previous one survived
    assert (tmp_path / "killed.pt.tmp").exists()                                  # the half-written file is aside
    rc, out = _child(tmp_path, ckpt, tmp_path / "resumed-final.pt")
    assert rc == 0 and "Resuming from" in out, out
    straight = torch.load(tmp_path / "straight-final.pt")
    resumed = torch.load(tmp_path / "resumed-final.pt")
    for k in straight:
        assert torch.equal(straight[k], resumed[k]), k
