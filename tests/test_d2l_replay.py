"""helpers.py against the real d2l package: the three chapters replayed with each, and d2l's contracts name by name.

helpers keeps d2l's names and must keep d2l's contracts: the same positional parameters in the same order (extra ones
keyword-only, or defaulted after d2l's), the same return types, the same on-disk effect. Where d2l-en 1.0.3 (the
installed reference package) and d2l-zh 2.0 (the course's edition) differ, helpers follows d2l-zh.

1. Replays. replay_hotdog / replay_cifar10 / replay_dog are our own replays of the sequence of d2l calls that each
   chapter makes (fine-tuning, kaggle-cifar10, kaggle-dog; PyTorch), written against a module argument. Each runs
   twice on a stand-in with the real layout, served as a zip by a local HTTP server and fetched through DATA_URL,
   DATA_HUB and download_extract: once with the real package, once with helpers in its place. Compared: the
   reorganised trees, the training numbers under one seed on data that is the same on both sides, the final
   weights, and the submission files.
2. Signatures and return types of every name helpers shares with the package.
3. d2l's own reorganisation run after ours on the same folder must not crash.

About the reference package, d2l-en 1.0.3:
- its try_all_gpus() returns [] on a machine without a GPU (a known bug; d2l-zh returns [cpu]), so its side is given
  devices=[cpu] explicitly;
- its resnet18 is built from lazy layers that draw their initial weights at the first forward pass, so one seed does
  not give the same weights as an eager build (d2l-zh's, ours). The CIFAR replay therefore loads one shared initial
  state_dict on both sides (which is also the checkpoint contract: d2l's state_dicts load into ours) and seeds torch
  after building the net, before the loaders are iterated.
The d2l-zh kaggle-dog chapter writes its own training step (no train_batch_ch13) and its own
evaluate_loss(data_iter, net, devices); the replay does the same. Everything runs on the CPU, on a few batches.
"""
import csv
import hashlib
import inspect
import itertools
import numbers
import os
import shutil
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.axes  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
import torchvision  # noqa: E402
from d2l import torch as d2l_en  # noqa: E402  (the real package, d2l-en 1.0.3)
from torch import nn  # noqa: E402

import helpers  # noqa: E402

# ---- the project's stand-in builder: the one place to repoint (it moves to machinery.standins) ----------------------
from machinery.standins import make_standin  # noqa: E402

CPU = [torch.device("cpu")]
SIDES = {"d2l": d2l_en, "helpers": helpers}
REQUIRED = inspect.Parameter.empty
TOL = {"rtol": 1e-5, "atol": 1e-6}


# =====================================================================================================================
# Shared pieces: stand-in archives, the per-side sandbox, tree snapshots, short loaders
# =====================================================================================================================

@pytest.fixture(scope="session")
def standin_zips(tmp_path_factory, cifar_standin):
    """{hub name: (archive file name, zip bytes, sha1)} for small stand-ins of the three d2l datasets."""
    root = tmp_path_factory.mktemp("replay_standins")
    folders = {
        "hotdog": make_standin("hotdog", root, n_train=10, n_test=4, size=(40, 64)),   # per class: 20 train, 8 test
        "cifar10_tiny": cifar_standin,                                                   # 200 train, 7 test, 32 px
        "dog_tiny": make_standin("dog_tiny", root, n_train=60, n_test=6, size=(40, 72), num_classes=4),
    }
    zips = {}
    for name, folder in folders.items():
        base = tmp_path_factory.mktemp("replay_zips") / folder.name
        archive = Path(shutil.make_archive(str(base), "zip", root_dir=folder.parent, base_dir=folder.name))
        body = archive.read_bytes()
        zips[name] = (archive.name, body, hashlib.sha1(body).hexdigest())
    return zips


@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread():
    """One intra-op thread while this module runs. On a shared 2-core machine, two OpenMP threads spin against the
    other processes: a ResNet-18 step measured ~10x slower than with one. The comparisons need the same numerics on
    both sides, which one thread gives as well as two."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _run_side(side, replay, tmp_path, monkeypatch, server, hub_name, **kwargs):
    """Run `replay` for one side in a sandbox of its own and return its results.

    cwd is <tmp>/<side>/work, so d2l's default cache '../data' is <tmp>/<side>/data, which is also $COURSE_DATA_DIR
    for helpers. DATA_URL points at the local server; the replay registers its DATA_HUB entry itself, as the chapter
    does, and the entry is taken out again afterwards."""
    mod = SIDES[side]
    root = tmp_path / side
    (root / "work").mkdir(parents=True)
    monkeypatch.chdir(root / "work")
    monkeypatch.setenv("COURSE_DATA_DIR", str(root / "data"))
    monkeypatch.setenv("COURSE_OUTPUT_DIR", str(root / "outputs"))
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setattr(mod, "DATA_URL", server.url + "/")
    monkeypatch.setitem(mod.DATA_HUB, hub_name, mod.DATA_HUB.get(hub_name))      # restored (or removed) afterwards
    # d2l-en's try_all_gpus() is [] without a GPU: give it the CPU. helpers' own try_all_gpus() is used when it
    # answers [cpu], so that the replay calls it; otherwise (a GPU here) both sides are kept on the CPU.
    devices = None if side == "helpers" and helpers.try_all_gpus() == CPU else CPU
    try:
        out = replay(mod, None, devices=devices, **kwargs)
    finally:
        plt.close("all")
    out["data_dir"] = os.path.abspath(out["data_dir"])       # d2l-en's is relative to the cwd ('../data/...')
    out["work"] = root / "work"
    return out


def _tree(data_dir):
    """{split: {label: sorted file names}} below <data_dir>/train_valid_test (folders only; manifests skipped)."""
    base = os.path.join(data_dir, "train_valid_test")
    return {split: {label: sorted(os.listdir(os.path.join(base, split, label)))
                    for label in sorted(os.listdir(os.path.join(base, split)))
                    if os.path.isdir(os.path.join(base, split, label))}
            for split in sorted(os.listdir(base)) if os.path.isdir(os.path.join(base, split))}


def _counts(tree):
    return {split: {label: len(files) for label, files in labels.items()} for split, labels in tree.items()}


class FirstBatches:
    """The first n batches of a loader in every epoch (len() says so): keeps the CPU replays short, the same way on
    both sides. n=None: every batch."""

    def __init__(self, loader, n):
        self.loader, self.n = loader, n

    def __len__(self):
        return len(self.loader) if self.n is None else min(len(self.loader), self.n)

    def __iter__(self):
        return itertools.islice(iter(self.loader), len(self))


def _state(net):
    return {k: v.detach().cpu().clone() for k, v in net.state_dict().items()}


def _assert_same_state(a, b):
    assert list(a) == list(b)
    for key in a:
        torch.testing.assert_close(a[key].float(), b[key].float(), **TOL, msg=lambda m, key=key: f"{key}: {m}")


def _read_csv(path):
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    return rows[0], rows[1:]


def _fetch(d2l, name, file_name, data_dir, sha1):
    """The chapters' demo route: register the archive in DATA_HUB under DATA_URL, then download and extract it."""
    if data_dir is None:
        d2l.DATA_HUB[name] = (d2l.DATA_URL + file_name, sha1)
        data_dir = d2l.download_extract(name)
    return data_dir


# =====================================================================================================================
# 1. The replays (our own code; the d2l calls are the chapters')
# =====================================================================================================================

IMAGENET = torchvision.transforms.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])
CIFAR = torchvision.transforms.Normalize([0.4914, 0.4822, 0.4465], [0.2023, 0.1994, 0.2010])
T = torchvision.transforms


def replay_hotdog(d2l, data_dir, *, sha1=None, devices=None, size=32, batch_size=4, num_epochs=1, lr=5e-5, seed=0,
                  train=True):
    """Fine-tuning on hotdog. data_dir=None takes the chapter's route through DATA_HUB and download_extract.

    The chapter fine-tunes an ImageNet-pretrained ResNet-18 at 224 px; no weights can be downloaded here, so the net
    starts from a seeded random init (weights=None), at `size` px. Returns data_dir, the classes, the axes of the
    sample grid and (train=True) the weights after d2l.train_ch13."""
    data_dir = _fetch(d2l, "hotdog", "hotdog.zip", data_dir, sha1)
    plain = {split: torchvision.datasets.ImageFolder(os.path.join(data_dir, split)) for split in ("train", "test")}
    # eight hot dogs (the first images in file order) beside eight other dishes (the last ones)
    firsts = [plain["train"][i][0] for i in range(8)]
    lasts = [plain["train"][len(plain["train"]) - 1 - i][0] for i in range(8)]
    out = {"data_dir": data_dir, "classes": plain["train"].classes, "sizes": {k: len(v) for k, v in plain.items()},
           "axes": d2l.show_images(firsts + lasts, 2, 8, scale=1.4)}
    if not train:
        return out

    augment = T.Compose([T.RandomResizedCrop(size), T.RandomHorizontalFlip(), T.ToTensor(), IMAGENET])
    center = T.Compose([T.Resize([size * 8 // 7] * 2), T.CenterCrop(size), T.ToTensor(), IMAGENET])
    torch.manual_seed(seed)
    net = torchvision.models.resnet18(weights=None)
    net.fc = nn.Linear(net.fc.in_features, 2)
    nn.init.xavier_uniform_(net.fc.weight)
    loaders = [torch.utils.data.DataLoader(torchvision.datasets.ImageFolder(os.path.join(data_dir, split), transform=tf),
                                           batch_size, shuffle=split == "train")
               for split, tf in (("train", augment), ("test", center))]
    devices = d2l.try_all_gpus() if devices is None else devices
    head = list(net.fc.parameters())
    body = [p for p in net.parameters() if all(p is not q for q in head)]
    trainer = torch.optim.SGD([{"params": body}, {"params": head, "lr": 10 * lr}], lr=lr, weight_decay=1e-3)
    d2l.train_ch13(net, *loaders, nn.CrossEntropyLoss(reduction="none"), trainer, num_epochs, devices)
    out["state"] = _state(net)
    return out


def _reorganise(d2l, data_dir, labels_file, valid_ratio):
    labels = d2l.read_csv_labels(os.path.join(data_dir, labels_file))
    n_valid = d2l.reorg_train_valid(data_dir, labels, valid_ratio)
    d2l.reorg_test(data_dir)
    return {"data_dir": data_dir, "labels": labels, "n_valid": n_valid, "tree": _tree(data_dir)}


def _image_sets(data_dir, train_tf, test_tf):
    """ImageFolder datasets over the reorganised splits; 'seen' is train_valid with the test transform."""
    folder = lambda split: os.path.join(data_dir, "train_valid_test", split)   # noqa: E731
    sets = {split: torchvision.datasets.ImageFolder(folder(split), transform=train_tf) for split in ("train", "train_valid")}
    sets.update({split: torchvision.datasets.ImageFolder(folder(split), transform=test_tf) for split in ("valid", "test")})
    sets["seen"] = torchvision.datasets.ImageFolder(folder("train_valid"), transform=test_tf)
    return sets


def _loader(dataset, batch_size, shuffle, max_batches=None):
    # training loaders shuffle and drop the last partial batch; valid and test keep every image (d2l drops valid's
    # last batch: a known d2l weakness, not part of the contract)
    return FirstBatches(torch.utils.data.DataLoader(dataset, batch_size, shuffle=shuffle, drop_last=shuffle), max_batches)


def replay_cifar10(d2l, data_dir, *, sha1=None, devices=None, valid_ratio=0.1, batch_size=16, size=32, num_epochs=1,
                   lr=2e-4, wd=5e-4, lr_period=4, lr_decay=0.9, max_batches=None, init_state=None, seed=0, train=True):
    """Kaggle CIFAR-10: read_csv_labels, reorg_train_valid, reorg_test, then d2l.resnet18 trained with
    train_batch_ch13 under Timer/Animator/Accumulator, validated with evaluate_accuracy_gpu, retrained on
    train_valid, and submission.csv (id,label) written to the cwd. Training loaders are cut to max_batches; images
    are fed at `size` px (the chapter: 32; this ResNet keeps full resolution in its first stage, so its cost grows
    with the pixel count)."""
    out = _reorganise(d2l, _fetch(d2l, "cifar10_tiny", "kaggle_cifar10_tiny.zip", data_dir, sha1),
                      "trainLabels.csv", valid_ratio)
    if not train:
        return out
    augment = T.Compose([T.Resize(size * 5 // 4), T.RandomResizedCrop(size, scale=(0.64, 1.0), ratio=(1.0, 1.0)),
                         T.RandomHorizontalFlip(), T.ToTensor(), CIFAR])
    sets = _image_sets(out["data_dir"], augment, T.Compose([T.Resize(size), T.ToTensor(), CIFAR]))
    devices = d2l.try_all_gpus() if devices is None else devices
    loss = nn.CrossEntropyLoss(reduction="none")

    def build_net():
        net = d2l.resnet18(len(sets["train_valid"].classes), 3)
        net.eval()
        with torch.no_grad():
            net(torch.zeros(1, 3, size, size))    # materialises d2l-en's lazy layers; changes nothing in an eager net
        if init_state is not None:
            net.load_state_dict(init_state)
        return net.to(devices[0])

    def fit(net, train_iter, valid_iter):
        trainer = torch.optim.SGD(net.parameters(), lr=lr, momentum=0.9, weight_decay=wd)
        scheduler = torch.optim.lr_scheduler.StepLR(trainer, lr_period, lr_decay)
        timer = d2l.Timer()
        animator = d2l.Animator(xlabel="epoch", xlim=[1, num_epochs],
                                legend=["train loss", "train acc"] + (["valid acc"] if valid_iter else []))
        every, batches, valid_acc = max(1, len(train_iter) // 5), [], None
        for epoch in range(num_epochs):
            net.train()
            metric = d2l.Accumulator(3)                       # loss sum, correct, examples
            for i, (X, y) in enumerate(train_iter):
                timer.start()
                l_sum, correct = d2l.train_batch_ch13(net, X, y, loss, trainer, devices)
                metric.add(l_sum, correct, y.shape[0])
                timer.stop()
                batches.append((l_sum, correct))
                if (i + 1) % every == 0 or i + 1 == len(train_iter):
                    animator.add(epoch + (i + 1) / len(train_iter), (metric[0] / metric[2], metric[1] / metric[2], None))
            if valid_iter is not None:
                valid_acc = d2l.evaluate_accuracy_gpu(net, valid_iter)
                animator.add(epoch + 1, (None, None, valid_acc))
            scheduler.step()
        return {"batches": batches, "metric": [metric[k] for k in range(3)], "valid_acc": valid_acc,
                "seconds": timer.sum()}

    # with a validation split (which differs between d2l and us: d2l takes the first files in os.listdir order)
    net = build_net()
    torch.manual_seed(seed)
    out["with_valid"] = fit(net, _loader(sets["train"], batch_size, True, max_batches),
                            _loader(sets["valid"], batch_size, False))
    # final model on train_valid: the same files on both sides, so the numbers must agree
    net = build_net()
    torch.manual_seed(seed)
    out["final"] = fit(net, _loader(sets["train_valid"], batch_size, True, max_batches), None)
    out["state"] = _state(net)
    out["seen_acc"] = d2l.evaluate_accuracy_gpu(net, _loader(sets["seen"], batch_size, False, max_batches))
    net.eval()
    with torch.no_grad():
        preds = torch.cat([net(X.to(devices[0])).argmax(dim=1).cpu()
                           for X, _ in _loader(sets["test"], batch_size, False)])
    ids = [Path(path).stem for path, _ in sets["test"].samples]       # each prediction next to its own file's id
    out["submission"] = Path("submission.csv").resolve()
    with open(out["submission"], "w", newline="") as f:
        csv.writer(f).writerows([("id", "label"), *((i, sets["train_valid"].classes[p]) for i, p in zip(ids, preds))])
    return out


def replay_dog(d2l, data_dir, *, sha1=None, devices=None, valid_ratio=0.1, batch_size=8, size=32, num_epochs=1,
               lr=1e-4, wd=1e-4, lr_period=2, lr_decay=0.9, max_batches=None, seed=0, train=True):
    """Kaggle dog breeds: read_csv_labels, reorg_train_valid, reorg_test, then a frozen ResNet-34 (random init here:
    no weights can be downloaded) under a small trainable head, trained with the chapter's own step under
    Timer/Animator/Accumulator, and submission.csv (id + one probability column per breed) written to the cwd."""
    out = _reorganise(d2l, _fetch(d2l, "dog_tiny", "kaggle_dog_tiny.zip", data_dir, sha1), "labels.csv", valid_ratio)
    if not train:
        return out
    augment = T.Compose([T.RandomResizedCrop(size, scale=(0.08, 1.0), ratio=(3 / 4, 4 / 3)), T.RandomHorizontalFlip(),
                         T.ColorJitter(brightness=0.4, contrast=0.4, saturation=0.4), T.ToTensor(), IMAGENET])
    center = T.Compose([T.Resize(size * 8 // 7), T.CenterCrop(size), T.ToTensor(), IMAGENET])
    sets = _image_sets(out["data_dir"], augment, center)
    breeds = sets["train_valid"].classes
    devices = d2l.try_all_gpus() if devices is None else devices
    loss = nn.CrossEntropyLoss(reduction="none")

    def build_net():
        net = nn.Sequential()
        net.features = torchvision.models.resnet34(weights=None)
        net.output_new = nn.Sequential(nn.Linear(1000, 256), nn.ReLU(), nn.Linear(256, len(breeds)))
        for p in net.features.parameters():
            p.requires_grad = False
        return net.to(devices[0])

    def evaluate_loss(data_iter, net, devices):       # the chapter's own, local evaluate_loss (not the package's)
        total, n = 0.0, 0
        net.eval()
        with torch.no_grad():
            for X, y in data_iter:
                X, y = X.to(devices[0]), y.to(devices[0])
                total += loss(net(X), y).sum().item()
                n += y.numel()
        net.train()
        return total / n

    def fit(net, train_iter, valid_iter):
        trainer = torch.optim.SGD([p for p in net.parameters() if p.requires_grad], lr=lr, momentum=0.9,
                                  weight_decay=wd)
        scheduler = torch.optim.lr_scheduler.StepLR(trainer, lr_period, lr_decay)
        timer = d2l.Timer()
        animator = d2l.Animator(xlabel="epoch", xlim=[1, num_epochs],
                                legend=["train loss"] + (["valid loss"] if valid_iter else []))
        every, batches, valid_loss = max(1, len(train_iter) // 5), [], None
        for epoch in range(num_epochs):
            metric = d2l.Accumulator(2)                       # loss sum, examples
            for i, (X, y) in enumerate(train_iter):
                timer.start()
                X, y = X.to(devices[0]), y.to(devices[0])
                trainer.zero_grad()
                l_sum = loss(net(X), y).sum()
                l_sum.backward()
                trainer.step()
                metric.add(l_sum, y.shape[0])
                timer.stop()
                batches.append(l_sum.item())
                if (i + 1) % every == 0 or i + 1 == len(train_iter):
                    animator.add(epoch + (i + 1) / len(train_iter), (metric[0] / metric[1], None))
            if valid_iter is not None:
                valid_loss = evaluate_loss(valid_iter, net, devices)
                animator.add(epoch + 1, (None, valid_loss))
            scheduler.step()
        return {"batches": batches, "metric": [metric[k] for k in range(2)], "valid_loss": valid_loss,
                "seconds": timer.sum()}

    torch.manual_seed(seed)
    net = build_net()
    out["with_valid"] = fit(net, _loader(sets["train"], batch_size, True, max_batches),
                            _loader(sets["valid"], batch_size, False))
    torch.manual_seed(seed)
    net = build_net()
    out["final"] = fit(net, _loader(sets["train_valid"], batch_size, True, max_batches), None)
    out["state"] = _state(net)
    net.eval()
    with torch.no_grad():
        probs = torch.cat([torch.softmax(net(X.to(devices[0])), dim=1).cpu()
                           for X, _ in _loader(sets["test"], batch_size, False)])
    ids = [Path(path).stem for path, _ in sets["test"].samples]
    out["submission"] = Path("submission.csv").resolve()
    with open(out["submission"], "w", newline="") as f:
        csv.writer(f).writerows([("id", *breeds), *((i, *map(repr, p.tolist())) for i, p in zip(ids, probs))])
    return out


# ---- the replay tests -----------------------------------------------------------------------------------------------

def _both(replay, hub_name, standin_zips, http_server, tmp_path, monkeypatch, **kwargs):
    file_name, body, sha1 = standin_zips[hub_name]
    http_server.serve("/" + file_name, body)
    results = {side: _run_side(side, replay, tmp_path, monkeypatch, http_server, hub_name, sha1=sha1, **kwargs)
               for side in SIDES}
    assert http_server.hits.get("/" + file_name) == 2, "each side downloads the archive once, through its DATA_HUB"
    return results["d2l"], results["helpers"]


def _assert_same_reorganisation(theirs, ours):
    assert theirs["labels"] == ours["labels"]
    assert isinstance(ours["n_valid"], int) and ours["n_valid"] == theirs["n_valid"]
    assert _counts(ours["tree"]) == _counts(theirs["tree"])
    assert set(ours["tree"]) == {"train", "valid", "train_valid", "test"}
    # which images go to valid differs (d2l: os.listdir order; ours: deterministic), so only the counts above; the
    # file sets of train_valid and test are fixed
    assert ours["tree"]["train_valid"] == theirs["tree"]["train_valid"]
    assert ours["tree"]["test"] == theirs["tree"]["test"]


def test_hotdog_data_replay(standin_zips, http_server, tmp_path, monkeypatch):
    theirs, ours = _both(replay_hotdog, "hotdog", standin_zips, http_server, tmp_path, monkeypatch, train=False)
    for side in (theirs, ours):
        assert os.path.basename(side["data_dir"]) == "hotdog"
        assert side["classes"] == ["hotdog", "not-hotdog"] and side["sizes"] == {"train": 20, "test": 8}
        assert len(side["axes"]) == 16


def test_hotdog_training_replay(standin_zips, http_server, tmp_path, monkeypatch):
    # 20 images in batches of 4: five batches, the fewest d2l's train_ch13 takes (it divides by num_batches // 5)
    theirs, ours = _both(replay_hotdog, "hotdog", standin_zips, http_server, tmp_path, monkeypatch)
    _assert_same_state(theirs["state"], ours["state"])


def test_cifar10_data_replay(standin_zips, http_server, tmp_path, monkeypatch):
    theirs, ours = _both(replay_cifar10, "cifar10_tiny", standin_zips, http_server, tmp_path, monkeypatch, train=False)
    _assert_same_reorganisation(theirs, ours)
    assert ours["n_valid"] == 2                                   # 20 images per class, valid_ratio 0.1
    assert sum(_counts(ours["tree"])["test"].values()) == 7


@pytest.fixture(scope="module")
def cifar_init_state():
    """One initial state_dict for the CIFAR ResNet-18, made by d2l-en's lazy net (see the module docstring)."""
    torch.manual_seed(0)
    net = d2l_en.resnet18(10, 3)
    net.eval()
    with torch.no_grad():
        net(torch.zeros(1, 3, 32, 32))
    return _state(net)


def test_cifar10_training_replay(standin_zips, http_server, tmp_path, monkeypatch, cifar_init_state):
    # two batches of 16 per run (32 px, as in the chapter): a ResNet-18 step takes about a second on a CPU
    theirs, ours = _both(replay_cifar10, "cifar10_tiny", standin_zips, http_server, tmp_path, monkeypatch,
                         batch_size=16, max_batches=2, init_state=cifar_init_state)
    _assert_same_reorganisation(theirs, ours)
    for side in (theirs, ours):
        assert 0.0 <= side["with_valid"]["valid_acc"] <= 1.0 and side["final"]["seconds"] > 0
    # same files, same shuffle and augmentation (same seed), same start: the same per-batch numbers and weights
    got = [(float(l), float(c)) for l, c in ours["final"]["batches"]]
    want = [(float(l), float(c)) for l, c in theirs["final"]["batches"]]
    assert len(got) == len(want) == 2
    torch.testing.assert_close(torch.tensor(got), torch.tensor(want), **TOL)
    assert ours["final"]["metric"] == pytest.approx(theirs["final"]["metric"], rel=1e-5)
    _assert_same_state(theirs["state"], ours["state"])
    assert isinstance(ours["seen_acc"], float) and ours["seen_acc"] == pytest.approx(theirs["seen_acc"])
    # the submissions
    header, rows = _read_csv(ours["submission"])
    assert header == ["id", "label"] and len(rows) == 7
    assert sorted(int(r[0]) for r in rows) == list(range(1, 8))
    assert {r[1] for r in rows} <= set(helpers.CIFAR10_CLASSES)
    assert _read_csv(theirs["submission"]) == (header, rows)


def test_dog_data_replay(standin_zips, http_server, tmp_path, monkeypatch):
    theirs, ours = _both(replay_dog, "dog_tiny", standin_zips, http_server, tmp_path, monkeypatch, train=False)
    _assert_same_reorganisation(theirs, ours)
    assert len(ours["tree"]["train_valid"]) == 4 and ours["n_valid"] == 1   # 4 breeds of 15 images


def test_dog_training_replay(standin_zips, http_server, tmp_path, monkeypatch):
    theirs, ours = _both(replay_dog, "dog_tiny", standin_zips, http_server, tmp_path, monkeypatch, max_batches=2)
    _assert_same_reorganisation(theirs, ours)
    for side in (theirs, ours):
        assert side["with_valid"]["valid_loss"] > 0 and side["final"]["seconds"] > 0
    assert len(ours["final"]["batches"]) == 2
    torch.testing.assert_close(torch.tensor(ours["final"]["batches"]), torch.tensor(theirs["final"]["batches"]), **TOL)
    _assert_same_state(theirs["state"], ours["state"])
    header, rows = _read_csv(ours["submission"])
    breeds = sorted(set(ours["labels"].values()))
    assert header == ["id", *breeds]
    test_ids = sorted(Path(f).stem for f in ours["tree"]["test"]["unknown"])
    assert sorted(r[0] for r in rows) == test_ids and len(rows) == 6
    probs = np.array([[float(x) for x in r[1:]] for r in rows])
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    their_header, their_rows = _read_csv(theirs["submission"])
    assert their_header == header and [r[0] for r in their_rows] == [r[0] for r in rows]
    np.testing.assert_allclose(probs, np.array([[float(x) for x in r[1:]] for r in their_rows]), rtol=1e-5, atol=1e-6)


# =====================================================================================================================
# 2. Signatures and return types of every name helpers shares with d2l
# =====================================================================================================================

# The d2l names the three chapters call (train_ch13 calls train_batch_ch13, evaluate_accuracy_gpu, Timer, Animator
# and Accumulator inside), plus Residual (resnet18 is built from it) and try_gpu.
CHAPTER_NAMES = ["download", "download_extract", "show_images", "try_gpu", "try_all_gpus", "train_ch13",
                 "train_batch_ch13", "read_csv_labels", "copyfile", "reorg_train_valid", "reorg_test", "resnet18",
                 "Residual", "Timer", "Animator", "Accumulator", "evaluate_accuracy_gpu", "evaluate_loss"]


def _shared_names():
    """CHAPTER_NAMES and every other public function or class that helpers has under a name the package defines."""
    found = {name for name in dir(helpers) if not name.startswith("_")
             and (inspect.isfunction(getattr(d2l_en, name, None)) or inspect.isclass(getattr(d2l_en, name, None)))
             and getattr(d2l_en, name).__module__ == "d2l.torch"}
    return sorted(set(CHAPTER_NAMES) | found)


# Where d2l-zh 2.0 (the course's edition) differs from the installed d2l-en 1.0.3, helpers follows d2l-zh. Its two
# differing signatures, read from d2l-zh's d2l/torch.py (github.com/d2l-ai/d2l-zh, release 2.0.0) and written here as
# data, because CI has no copy of d2l-zh: download(name, cache_dir=os.path.join('..', 'data')) where d2l-en has
# download(url, folder='../data', sha1_hash=None); Residual(input_channels, num_channels, use_1x1conv=False,
# strides=1) where d2l-en's lazy block has Residual(num_channels, use_1x1conv=False, strides=1).
ZH_SIGNATURES = {
    "download": [("name", REQUIRED), ("cache_dir", os.path.join("..", "data"))],
    "Residual": [("input_channels", REQUIRED), ("num_channels", REQUIRED), ("use_1x1conv", False), ("strides", 1)],
}
# Defaults that differ on purpose. d2l's train_ch13(devices=try_all_gpus()) is evaluated at import ([] without a GPU,
# then an IndexError); d2l-zh's download caches in '../data' relative to the cwd, helpers' in $COURSE_DATA_DIR.
DEFAULTS_MAY_DIFFER = {("train_ch13", "devices"), ("download", "cache_dir")}


def _positional(obj):
    return [p for p in inspect.signature(obj).parameters.values()
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]


def _expected(name):
    if name in ZH_SIGNATURES:
        return ZH_SIGNATURES[name]
    return [(p.name, p.default) for p in _positional(getattr(d2l_en, name))]


def _get(mod, name):
    assert hasattr(mod, name), f"{mod.__name__} has no {name!r}: d2l's chapters call d2l.{name}"
    return getattr(mod, name)


def _fmt(expected):
    return "(" + ", ".join(n if d is REQUIRED else f"{n}={d!r}" for n, d in expected) + ")"


def _ours(name):
    return _get(helpers, name)


@pytest.mark.parametrize("name", _shared_names())
def test_positional_parameters_match_d2l(name):
    expected, got = _expected(name), _positional(_ours(name))
    assert [p.name for p in got[: len(expected)]] == [n for n, _ in expected], \
        f"helpers.{name}{inspect.signature(getattr(helpers, name))}: d2l's positional parameters are {_fmt(expected)}"
    extra = [p.name for p in got[len(expected):] if p.default is REQUIRED]
    assert not extra, f"helpers.{name}: extra parameters {extra} after d2l's must have defaults or be keyword-only"
    made_required = [p.name for (_, default), p in zip(expected, got) if default is not REQUIRED and p.default is REQUIRED]
    assert not made_required, f"helpers.{name}: {made_required} are optional in d2l"
    assert not [p for p in inspect.signature(getattr(helpers, name)).parameters.values()
                if p.kind == p.KEYWORD_ONLY and p.default is REQUIRED], f"helpers.{name}: a required keyword-only parameter"


@pytest.mark.parametrize("name", _shared_names())
def test_defaults_match_d2l(name):
    got = {p.name: p.default for p in _positional(_ours(name))}
    differ = {n: (d, got.get(n)) for n, d in _expected(name)
              if d is not REQUIRED and (name, n) not in DEFAULTS_MAY_DIFFER and got.get(n, REQUIRED) != d}
    assert not differ, f"helpers.{name}: defaults (d2l's, ours) differ: {differ}"


@pytest.mark.parametrize("name", ["Timer", "Accumulator", "Animator"])
def test_class_methods_match_d2l(name):
    theirs = getattr(d2l_en, name)
    methods = [m for m, f in vars(theirs).items() if inspect.isfunction(f) and (not m.startswith("_") or m == "__getitem__")]
    for method in methods:
        assert hasattr(_ours(name), method), f"helpers.{name} has no {method}()"
        want = [p.name for p in _positional(getattr(theirs, method))]
        got = _positional(getattr(getattr(helpers, name), method))
        assert [p.name for p in got[: len(want)]] == want, f"helpers.{name}.{method}"
        assert all(p.default is not REQUIRED for p in got[len(want):]), f"helpers.{name}.{method}"


def _tiny_net():
    torch.manual_seed(0)
    return nn.Sequential(nn.Flatten(), nn.Linear(12, 3))


def _tiny_batches():
    g = torch.Generator().manual_seed(1)
    return [(torch.randn(5, 3, 2, 2, generator=g), torch.randint(0, 3, (5,), generator=g)) for _ in range(2)]


def test_train_batch_ch13_returns_loss_sum_tensor_and_a_number():
    X, y = _tiny_batches()[0]
    results = {}
    for side, mod in SIDES.items():         # d2l first: the expectation holds for the package itself
        net = _tiny_net()
        l_sum, correct = mod.train_batch_ch13(net, X, y, nn.CrossEntropyLoss(reduction="none"),
                                              torch.optim.SGD(net.parameters(), lr=0.1), CPU)
        assert torch.is_tensor(l_sum) and l_sum.dim() == 0, f"{side}: the loss sum is a 0-dim tensor, not {l_sum!r}"
        assert isinstance(correct, numbers.Number) and not torch.is_tensor(correct), f"{side}: {correct!r}"
        results[side] = (float(l_sum), float(correct), _state(net))
    assert results["helpers"][:2] == pytest.approx(results["d2l"][:2], rel=1e-6)
    _assert_same_state(results["d2l"][2], results["helpers"][2])


def test_evaluate_accuracy_gpu_returns_float():
    net, batches = _tiny_net(), _tiny_batches()
    accs = {side: mod.evaluate_accuracy_gpu(net, batches) for side, mod in SIDES.items()}
    assert all(type(a) is float for a in accs.values()), accs
    assert accs["helpers"] == pytest.approx(accs["d2l"])


def test_evaluate_loss_takes_net_data_iter_loss_and_returns_float():
    """The package's evaluate_loss(net, data_iter, loss) (not the dog chapter's local one)."""
    torch.manual_seed(0)
    net = nn.Linear(4, 1)
    batches = [(torch.randn(5, 4), torch.randn(5, 1)) for _ in range(2)]
    loss = nn.MSELoss(reduction="none")
    with torch.no_grad():
        expected = torch.cat([loss(net(X), y) for X, y in batches]).mean().item()
    for side, mod in SIDES.items():
        value = mod.evaluate_loss(net, batches, loss)
        assert type(value) is float and value == pytest.approx(expected, rel=1e-6), side


def _materialised_d2l_resnet18(num_classes, in_channels):
    net = d2l_en.resnet18(num_classes, in_channels)
    net.eval()
    with torch.no_grad():
        net(torch.zeros(1, in_channels, 32, 32))
    return net


@pytest.mark.parametrize("num_classes, in_channels", [(10, 3), (5, 1)])
def test_resnet18_state_dict_matches_d2l(num_classes, in_channels):
    theirs = _materialised_d2l_resnet18(num_classes, in_channels)
    ours = _ours("resnet18")(num_classes, in_channels)
    assert isinstance(ours, nn.Module)
    want = {k: tuple(v.shape) for k, v in theirs.state_dict().items()}
    assert {k: tuple(v.shape) for k, v in ours.state_dict().items()} == want
    ours.load_state_dict(theirs.state_dict())                # strict: d2l checkpoints load
    ours.eval()
    X = torch.randn(2, in_channels, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(ours(X), theirs(X), rtol=1e-5, atol=1e-5)


def test_download_and_download_extract_return_str(http_server, tmp_path, monkeypatch):
    src = tmp_path / "src" / "replay_tiny"
    src.mkdir(parents=True)
    (src / "a.txt").write_text("a")
    body = Path(shutil.make_archive(str(tmp_path / "replay_tiny"), "zip", root_dir=src.parent, base_dir=src.name)).read_bytes()
    http_server.serve("/replay_tiny.zip", body)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    for side, mod in SIDES.items():
        (tmp_path / side / "work").mkdir(parents=True)
        monkeypatch.chdir(tmp_path / side / "work")
        monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path / side / "data"))
        monkeypatch.setitem(mod.DATA_HUB, "replay_tiny",
                            (http_server.url + "/replay_tiny.zip", hashlib.sha1(body).hexdigest()))
        # d2l-zh's call shape, download(name, cache_dir); d2l-en 1.0.3 accepts it too (a name is looked up in DATA_HUB)
        fname = mod.download("replay_tiny", str(tmp_path / side / "cache"))
        assert isinstance(fname, str) and os.path.isfile(fname), f"{side}: download returned {fname!r}"
        folder = mod.download_extract("replay_tiny")
        assert isinstance(folder, str) and os.path.isfile(os.path.join(folder, "a.txt")), f"{side}: {folder!r}"
        sub = mod.download_extract("replay_tiny", "replay_tiny")
        assert isinstance(sub, str) and os.path.samefile(sub, folder), f"{side}: {sub!r}"


def test_reorganisation_return_types_and_copyfile(cifar_standin, tmp_path):
    for side, mod in SIDES.items():
        data_dir = tmp_path / side / "kaggle_cifar10_tiny"
        shutil.copytree(cifar_standin, data_dir)
        labels = mod.read_csv_labels(str(data_dir / "trainLabels.csv"))
        assert type(labels) is dict and len(labels) == 200, side
        n_valid = mod.reorg_train_valid(str(data_dir), labels, 0.1)
        assert type(n_valid) is int and n_valid == 2, side
        assert mod.reorg_test(str(data_dir)) is None, side
        target = tmp_path / side / "new" / "folder"
        mod.copyfile(str(data_dir / "train" / "1.png"), str(target))
        mod.copyfile(str(data_dir / "train" / "1.png"), str(target))        # again, onto the first: no error
        assert (target / "1.png").read_bytes() == (data_dir / "train" / "1.png").read_bytes(), side


def test_timer_accumulator_animator_behave_as_d2l():
    for side, mod in SIDES.items():
        timer = _get(mod, "Timer")()
        first = timer.stop()                                   # d2l's Timer starts when made
        timer.start()
        second = timer.stop()
        assert all(type(t) is float and t >= 0 for t in (first, second)), side
        assert timer.sum() == pytest.approx(first + second) and timer.avg() == pytest.approx((first + second) / 2)
        assert timer.cumsum() == pytest.approx([first, first + second]) and isinstance(timer.cumsum(), list), side
        acc = _get(mod, "Accumulator")(3)
        for _ in range(2):
            acc.add(1, torch.tensor(2.0), 3)                  # 0-dim tensors are accepted, as train_batch_ch13 returns
        assert [acc[i] for i in range(3)] == [2.0, 4.0, 6.0] and all(type(acc[i]) is float for i in range(3)), side
        acc.reset()
        assert [acc[i] for i in range(3)] == [0.0, 0.0, 0.0], side
        animator = _get(mod, "Animator")(xlabel="epoch", xlim=[1, 2], legend=["train loss", "train acc", "valid acc"])
        assert animator.add(0.5, (1.0, 0.5, None)) is None, side
        animator.add(1, (None, None, 0.25))
        animator.add(1.5, 0.3)                                 # one series, a scalar
        plt.close("all")


def test_show_images_returns_one_axis_per_cell():
    imgs = [torch.rand(8, 8, 3) for _ in range(3)]
    for side, mod in SIDES.items():
        axes = mod.show_images(imgs, 1, 3, titles=["a", "b", "c"])
        assert len(axes) == 3 and all(isinstance(ax, matplotlib.axes.Axes) for ax in axes), side
        plt.close("all")


def test_try_all_gpus_is_a_nonempty_list_of_devices():
    """d2l-zh's contract ([cpu] without a GPU); d2l-en 1.0.3 returns [] there, a known bug."""
    devices = helpers.try_all_gpus()
    assert isinstance(devices, list) and devices and all(isinstance(d, torch.device) for d in devices)


# =====================================================================================================================
# 3. d2l's own reorganisation after ours, on the same folder
# =====================================================================================================================

def _digests(folder):
    return {f: hashlib.sha1((folder / f).read_bytes()).hexdigest() for f in sorted(os.listdir(folder))}


def test_d2l_reorganisation_after_ours(cifar_copy, tmp_path, capsys):
    """A learner who runs the book's reorganisation cell after ours, on the same folder. Our default tree is hard
    links to the sources, and d2l's copyfile (shutil.copy) refuses to copy a file onto itself: SameFileError, before
    anything is written. Over a tree of copies (link=False) d2l's code runs, but adds its own validation picks (the
    first files os.listdir returns) to ours and its training picks to our train: images end up in both, and
    reorganised_loaders refuses that tree with a learner's message. Deleting the tree first is the clean way: d2l's
    code then builds its own tree, and ours rebuilds ours over it. No source image is ever written through a link."""
    sources = _digests(cifar_copy / "train")
    labels = helpers.read_csv_labels(cifar_copy / "trainLabels.csv")
    tf = torchvision.transforms.ToTensor()
    helpers.reorg_train_valid(cifar_copy, labels, 0.1)
    with pytest.raises(shutil.SameFileError):
        d2l_en.reorg_train_valid(str(cifar_copy), labels, 0.1)
    helpers.reorg_train_valid(cifar_copy, labels, 0.1, link=False)      # rebuilt with copies
    helpers.reorg_test(cifar_copy, link=False)
    ours = _tree(cifar_copy)
    d2l_en.reorg_train_valid(str(cifar_copy), labels, 0.1)
    d2l_en.reorg_test(str(cifar_copy))
    mixed = _tree(cifar_copy)
    assert mixed["train_valid"] == ours["train_valid"] and mixed["test"] == ours["test"]
    both = sum(len(set(mixed["train"][c]) & set(mixed["valid"][c])) for c in mixed["valid"])
    assert both > 0 and sum(map(len, mixed["valid"].values())) > sum(map(len, ours["valid"].values()))
    print(f"d2l's reorganisation over our copies: {both} of {sum(map(len, mixed['valid'].values()))} validation "
          f"images are also in train")
    with pytest.raises(helpers.LearnerError, match=f"{both} images are in both train and valid"):
        helpers.reorganised_loaders(cifar_copy, tf, tf, 8, num_workers=0)
    helpers.reorg_train_valid(cifar_copy, labels, 0.1, link=False)      # ours again: d2l's extra images make the
    assert _tree(cifar_copy) == ours                                    # tree differ from the plan: rebuilt
    shutil.rmtree(helpers.reorganised_dir(cifar_copy))                  # the clean way
    d2l_en.reorg_train_valid(str(cifar_copy), labels, 0.1)
    d2l_en.reorg_test(str(cifar_copy))
    theirs = _tree(cifar_copy)
    assert not any(set(theirs["train"].get(c, [])) & set(theirs["valid"][c]) for c in theirs["valid"])
    helpers.reorg_train_valid(cifar_copy, labels, 0.1)
    helpers.reorg_test(cifar_copy)
    assert _tree(cifar_copy) == ours
    helpers.reorganised_loaders(cifar_copy, tf, tf, 8, num_workers=0)   # a clean tree loads
    assert _digests(cifar_copy / "train") == sources


def test_ours_after_d2l_reorganisation_rebuilds_our_tree(cifar_standin, tmp_path):
    fresh, reused = tmp_path / "fresh", tmp_path / "reused"
    shutil.copytree(cifar_standin, fresh)
    shutil.copytree(cifar_standin, reused)
    labels = d2l_en.read_csv_labels(str(reused / "trainLabels.csv"))
    d2l_en.reorg_train_valid(str(reused), labels, 0.25)              # a different split first, d2l's way
    d2l_en.reorg_test(str(reused))
    for folder in (fresh, reused):
        helpers.reorg_train_valid(folder, labels, 0.1)
        helpers.reorg_test(folder)
    assert _tree(reused) == _tree(fresh)
    assert sum(_counts(_tree(fresh))["valid"].values()) == 20              # 2 of each of the 10 classes
