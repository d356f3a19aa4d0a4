"""benchmarks/bench.py: the fast data path (helpers section 5b) against d2l's pipeline, measured in ONE process.

    make bench                                        # or: python benchmarks/bench.py [--quick] [--device cuda]

Everything runs on the same stand-in data and the same model; the variants of each measurement are A/B interleaved
(their order alternates from one repetition to the next) and repeated, and the table shows medians:

    (a) loader alone, images/s: d2l's ImageFolder + PIL transforms (num_workers=0, as in the book) vs the decoded
        cache with batched per-sample augmentation on the device; 32x32 PNGs (d2l's CIFAR-10 transform) and 224x224
        crops from JPEGs of 200-500 pixels (d2l's dog transform, ColorJitter included)
    (b) a full training epoch, data loading included, images/s: d2l.train_ch13 (the real d2l package) vs
        helpers.train_ch13 with ImageFolder loaders (the standard path) vs helpers.train_ch13 with fast_loaders
    (c) the model alone on batches already on the device (the ceiling (b) can approach), through helpers.train_ch13
    (d) reorganising a 50,000-image Kaggle-layout folder: seconds and bytes written, helpers (hard links) vs
        d2l.reorg_train_valid + d2l.reorg_test (copies)
    (e) dogs: seconds per epoch of a head on a frozen ResNet-34 computed live (a new augmentation every epoch, as
        d2l) vs on cached features: one augmented view per image and epoch, computed once (the same training
        distribution as live), and a clean centre-crop cache; validation log loss of each, median over 3 seeds
    (f) ecosystem: where a well-kept library does a piece of our machinery, the two side by side. kornia's
        per-sample batch augmentation vs augment_batch (images/s for d2l's dog recipe, 224 crops from the 256x256
        cache, and its CIFAR recipe at batch 128 and 512; crop boxes, jitter factors, the jitter's step order and
        output statistics against torchvision / d2l's PIL transform), and tqdm.auto vs train_ch13's progress line
        (microseconds per update against a training step, and what each leaves in a notebook papermill executed).
        kornia is optional: without it that half is skipped. Run alone: --only f

Model in (b)/(c): d2l's CIFAR ResNet-18 (d2l.resnet18(10, 3)), SGD with momentum, batch as the preset says. On a
GPU (--device cuda) helpers' variants also run with AMP + channels_last on. Results go to outputs/bench.json (one
object per measurement, medians with units, `ratio_vs_d2l` where d2l has a counterpart) and to the printed table.
All data are synthetic stand-ins (standins.make_standin): the timings are real, the accuracies/losses are not results
about any real dataset. Timings depend on the machine and on whatever else runs on it: the JSON records the load
average before and after.
"""
import argparse
import contextlib
import copy
import io
import json
import os
import platform
import re
import shutil
import statistics
import sys
import time
import warnings
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("MPLBACKEND", "Agg")          # d2l's Animator draws figures; nothing is shown

import numpy as np                                  # noqa: E402
import torch                                        # noqa: E402
import torchvision                                  # noqa: E402
from torch import nn                                # noqa: E402
from torchvision import transforms as T             # noqa: E402

import helpers                                      # noqa: E402
# Machinery-level names that section (f) uses: one place to repoint when they move out of helpers.py
from machinery import fastdata, standins  # noqa: E402
from machinery.fastdata import (FAST_RECIPES, augment_batch, color_jitter_batch, keep_freed_cpu_memory,  # noqa: E402
                                resized_crop_params)
from machinery.progress import LiveText, Reporter as ProgressReporter  # noqa: E402

warnings.filterwarnings("ignore", module="d2l")     # d2l 1.0.3 warns about its own tensor-to-float conversions
with contextlib.redirect_stdout(io.StringIO()):
    from d2l import torch as d2l                    # noqa: E402

# =====================================================================================================================
# Presets: sizes chosen so that the CPU preset fits in 10 minutes on 2 cores (a CIFAR ResNet-18 trains at ~100-200
# img/s there) and the GPU preset gives the GPU enough work per epoch to be measured.
# =====================================================================================================================

PRESETS = {   # reps: repetitions of (a); train_reps: of (b)/(c) (plus one warm-up each); d2l needs >= 5 batches
    "quick": dict(reps=2, cifar_n=400, dog_n=120, loader_batch=128, loader_min_s=0.2,
                  train_batch=32, train_batches=5, train_reps=2, amp=[False], reorg_n=5000, reorg_test_n=100,
                  reorg_reps=1, dogs_image=48, dogs_epochs=3, dogs_batch=32, dogs_seeds=1,
                  eco_min_s=0.2, eco_crop_draws=2000, eco_jitter_draws=1000, eco_check_images=16, eco_check_reps=2,
                  eco_progress_iters=10000, eco_step_reps=2, eco_nb_epochs=1, eco_nb_batches=50, eco_nb_dt=0.01),
    "cpu": dict(reps=5, cifar_n=1000, dog_n=600, loader_batch=128, loader_min_s=0.5,
                train_batch=32, train_batches=6, train_reps=3, amp=[False], reorg_n=50000, reorg_test_n=1000,
                reorg_reps=3, dogs_image=64, dogs_epochs=5, dogs_batch=32, dogs_seeds=3,
                eco_min_s=1.0, eco_crop_draws=20000, eco_jitter_draws=5000, eco_check_images=40, eco_check_reps=8,
                eco_progress_iters=10000, eco_step_reps=5, eco_nb_epochs=3, eco_nb_batches=100, eco_nb_dt=0.01),
    "cuda": dict(reps=5, cifar_n=10000, dog_n=1000, loader_batch=128, loader_min_s=1.0,
                 train_batch=128, train_batches=60, train_reps=5, amp=[False, True], reorg_n=50000,
                 reorg_test_n=1000, reorg_reps=3, dogs_image=224, dogs_epochs=6, dogs_batch=64, dogs_seeds=3,
                 eco_min_s=1.0, eco_crop_draws=20000, eco_jitter_draws=5000, eco_check_images=40, eco_check_reps=8,
                 eco_progress_iters=10000, eco_step_reps=5, eco_nb_epochs=3, eco_nb_batches=100, eco_nb_dt=0.01),
}
DOG_CLASSES = 12                      # the dog stand-in uses 12 breeds so that a head learns something in a few epochs
BENCH_DATA = "bench"                  # stand-ins are built once under <data dir>/bench/ and reused by later runs

# d2l's transforms, as the book writes them (Kaggle CIFAR-10 and dog-breed chapters)
D2L_CIFAR_TRAIN = T.Compose([T.Resize(40), T.RandomResizedCrop(32, scale=(0.64, 1.0), ratio=(1.0, 1.0)),
                             T.RandomHorizontalFlip(), T.ToTensor(), T.Normalize(helpers.CIFAR10_MEAN,
                                                                                 helpers.CIFAR10_STD)])
D2L_DOG_TRAIN = T.Compose([T.RandomResizedCrop(224, scale=(0.08, 1.0), ratio=(3 / 4, 4 / 3)),
                           T.RandomHorizontalFlip(), T.ColorJitter(0.4, 0.4, 0.4), T.ToTensor(),
                           T.Normalize(helpers.IMAGENET_MEAN, helpers.IMAGENET_STD)])


# =====================================================================================================================
# Measurement tools
# =====================================================================================================================

def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed(fn, device):
    """Wall seconds of fn(), with the device's queued work finished on both sides."""
    sync(device)
    t0 = time.perf_counter()
    out = fn()
    sync(device)
    return time.perf_counter() - t0, out


def interleaved(variants, reps, warmup=True):
    """Run every variant `reps` times, alternating their order each repetition (A B C, C B A, ...) so that a slow
    patch of the machine hits all variants alike. variants: {name: fn() -> a number}. Returns {name: [numbers]}."""
    names = list(variants)
    if warmup:                        # first calls pay for allocator growth, kernel selection, worker start-up
        for name in names:
            variants[name]()
    runs = {name: [] for name in names}
    for r in range(reps):
        for name in (names if r % 2 == 0 else names[::-1]):
            runs[name].append(variants[name]())
    return runs


def stat(values, unit):
    return {"median": statistics.median(values), "unit": unit, "runs": [round(v, 6) for v in values]}


def standin(name, **kwargs):
    """A stand-in of `name` under <data dir>/bench/, built once for these arguments and reused afterwards."""
    tag = "-".join(f"{k}{v}" for k, v in sorted(kwargs.items())).replace(" ", "").replace(",", "_")
    parent = helpers.data_dir_root() / BENCH_DATA / f"{name}-{tag}"
    folder = parent / standins.EXTRACTED_FOLDER[name]
    if not (folder / standins.STANDIN_MARKER).exists():
        tmp = parent.with_name(parent.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        standins.make_standin(name, tmp, **kwargs)
        shutil.rmtree(parent, ignore_errors=True)
        os.replace(tmp, parent)
    return folder


def cifar_resnet18():
    net = d2l.resnet18(10, 3)
    net(torch.zeros(2, 3, 32, 32))      # d2l's blocks use lazy layers: one call gives them their shapes
    return net


# =====================================================================================================================
# (a) The loader alone
# =====================================================================================================================

def loader_rate(loader, device, n_images, min_s):
    """Images per second over whole epochs of `loader`, for at least min_s seconds (at least one epoch)."""
    done, t0 = 0, time.perf_counter()
    assert len(loader) > 0, "the loader yields no batch: fewer images than one batch"
    while True:
        for X, _ in loader:
            done += len(X)
        sync(device)
        elapsed = time.perf_counter() - t0
        if elapsed >= min_s:
            return done / elapsed


def bench_loaders(cfg, device, cifar_tree, dog_tree):
    out = {}
    cases = [("png32", cifar_tree / "train", D2L_CIFAR_TRAIN, "cifar10"),
             ("jpeg224", dog_tree / "train", D2L_DOG_TRAIN, "imagenet")]
    for key, folder, d2l_tf, recipe_name in cases:
        recipe = fastdata.FAST_RECIPES[recipe_name]
        fastdata._FAST_CACHE.clear()
        decode_s, ds = timed(lambda: fastdata.image_folder_cache(folder, recipe["cache_size"], store="memory"),
                             torch.device("cpu"))
        n = len(ds)
        batch = min(cfg["loader_batch"], n // 2)          # at least two full batches per epoch
        d2l_loader = torch.utils.data.DataLoader(torchvision.datasets.ImageFolder(folder, transform=d2l_tf),
                                                 batch, shuffle=True, drop_last=True)
        fast = fastdata.FastLoader(ds.images, ds.targets, batch, recipe, device=device,
                                  sizes=ds.sizes if recipe["cache_size"] else None)
        runs = interleaved({"d2l": lambda: loader_rate(d2l_loader, device, n, 0),
                            "fast": lambda: loader_rate(fast, device, n, cfg["loader_min_s"])}, cfg["reps"])
        d2l_med, fast_med = statistics.median(runs["d2l"]), statistics.median(runs["fast"])
        out[key] = {"images": n, "batch": batch, "image_side": recipe["size"],
                    "d2l_imagefolder": stat(runs["d2l"], "img/s"), "fast": stat(runs["fast"], "img/s"),
                    "decode_once_s": {"median": decode_s, "unit": "s", "runs": [round(decode_s, 4)],
                                      "note": f"one-off decode of {n} files ({os.cpu_count()} threads)"},
                    "ratio_vs_d2l": fast_med / d2l_med}
        print(f"  (a) {key}: d2l {d2l_med:,.0f} img/s, fast {fast_med:,.0f} img/s  (x{fast_med / d2l_med:.1f}); "
              f"decode once: {decode_s:.2f} s for {n} images")
    return out


# =====================================================================================================================
# (b) a training epoch with data loading, and (c) the model alone
# =====================================================================================================================

def bench_training(cfg, device, cifar_tree):
    B, nb = cfg["train_batch"], cfg["train_batches"]
    folder = cifar_tree / "train"
    fastdata._FAST_CACHE.clear()
    ds = fastdata.image_folder_cache(folder, store="memory")
    idx = torch.randperm(len(ds), generator=torch.Generator().manual_seed(0))[:B * nb].sort().values.tolist()
    n = len(idx)
    # the standard path: ImageFolder + d2l's transforms; d2l's loader has no workers (the book's), helpers' loader
    # the workers and pinned memory that helpers.reorganised_loaders sets up
    image_folder = torch.utils.data.Subset(torchvision.datasets.ImageFolder(folder, transform=D2L_CIFAR_TRAIN), idx)
    d2l_loader = torch.utils.data.DataLoader(image_folder, B, shuffle=True, drop_last=True)
    workers = helpers.default_num_workers()
    std_loader = torch.utils.data.DataLoader(image_folder, B, shuffle=True, drop_last=True, num_workers=workers,
                                             persistent_workers=workers > 0, pin_memory=device.type == "cuda")
    fast_loader = fastdata.FastLoader(ds.images[idx], ds.targets[idx], B, fastdata.FAST_RECIPES["cifar10"],
                                     device=device)
    # the ceiling: the same batches, augmented once in advance, already on the device
    on_device = [(X.clone(), y.clone()) for X, y in fast_loader]
    test_iter = [(X[:8].clone(), y[:8].clone()) for X, y in on_device[:1]]   # the same tiny test pass for everyone

    torch.manual_seed(0)
    template = cifar_resnet18()
    loss = nn.CrossEntropyLoss(reduction="none")
    devices = [device]                   # explicit: d2l.try_all_gpus() returns [] on a CPU-only machine

    def fresh():
        net = copy.deepcopy(template)
        return net, torch.optim.SGD(net.parameters(), lr=2e-4, momentum=0.9, weight_decay=5e-4)

    d2l_reported = []

    def run_d2l():
        net, trainer = fresh()
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):           # d2l's Animator prints a figure repr per update
            seconds, _ = timed(lambda: d2l.train_ch13(net, d2l_loader, test_iter, loss, trainer, 1, devices), device)
        d2l_reported.append(float(re.findall(r"([\d.]+) examples/sec", buf.getvalue())[-1]))
        return n / seconds

    def run_helpers(loader, amp):
        def run():
            net, trainer = fresh()
            with contextlib.redirect_stdout(io.StringIO()):
                seconds, _ = timed(lambda: helpers.train_ch13(net, loader, test_iter, loss, trainer, 1, devices,
                                                              amp=amp, channels_last=amp, plot=False), device)
            return n / seconds
        return run

    variants = {"d2l_train_ch13": run_d2l,
                "d2l_loader_alone": lambda: loader_rate(d2l_loader, device, n, 0)}   # d2l's loading time per epoch
    for amp in cfg["amp"]:
        suffix = "_amp_cl" if amp else ""
        variants[f"helpers_standard{suffix}"] = run_helpers(std_loader, amp)
        variants[f"helpers_fast{suffix}"] = run_helpers(fast_loader, amp)
        variants[f"model_alone{suffix}"] = run_helpers(on_device, amp)
    runs = interleaved(variants, cfg["train_reps"])
    d2l_reported = d2l_reported[1:]                      # drop the warm-up call
    med = {k: statistics.median(v) for k, v in runs.items()}
    b = {"images_per_epoch": n, "batch": B, "model": "d2l.resnet18(10, 3), SGD momentum 0.9",
         "note": "wall time of train_ch13(num_epochs=1) incl. data loading, one 8-image test pass and, for d2l, "
                 "its Animator redraws",
         "d2l_train_ch13": stat(runs["d2l_train_ch13"], "img/s"),
         "d2l_self_reported": dict(stat(d2l_reported, "img/s"),
                                   note="d2l's own examples/sec: its timer leaves data loading and plotting out")}
    c = {"images_per_epoch": n, "batch": B, "note": "helpers.train_ch13 over pre-made batches already on the device"}
    for amp in cfg["amp"]:
        suffix = "_amp_cl" if amp else ""
        ceiling = med[f"model_alone{suffix}"]
        for name in ("helpers_standard", "helpers_fast"):
            b[name + suffix] = dict(stat(runs[name + suffix], "img/s"), ratio_vs_d2l=med[name + suffix] /
                                    med["d2l_train_ch13"], fraction_of_ceiling=med[name + suffix] / ceiling)
        c["model_alone" + suffix] = stat(runs["model_alone" + suffix], "img/s")
    ceiling = med["model_alone"]
    b["ratio_vs_d2l"] = med["helpers_fast"] / med["d2l_train_ch13"]
    b["d2l_fraction_of_ceiling"] = med["d2l_train_ch13"] / ceiling
    b["d2l_share_lost_vs_ceiling"] = 1 - med["d2l_train_ch13"] / ceiling
    b["d2l_loader_alone"] = dict(stat(runs["d2l_loader_alone"], "img/s"), note="d2l's loader on the same images, "
                                 "no training: its epoch spends images / this many seconds loading")
    b["d2l_share_spent_loading"] = med["d2l_train_ch13"] / med["d2l_loader_alone"]
    b["fast_fraction_of_ceiling"] = med["helpers_fast"] / ceiling
    c["d2l_fraction_of_ceiling"] = b["d2l_fraction_of_ceiling"]
    for k in ("d2l_train_ch13", "helpers_standard", "helpers_fast"):
        print(f"  (b) {k:<18} {med[k]:8.1f} img/s  ({med[k] / ceiling:.0%} of the model alone)")
    print(f"  (c) model alone        {ceiling:8.1f} img/s")
    return b, c


# =====================================================================================================================
# (d) Reorganisation: seconds and bytes
# =====================================================================================================================

def kaggle_layout(n_train, n_test):
    """A Kaggle CIFAR-10 layout (train/<id>.png, test/<id>.png, trainLabels.csv) of n_train + n_test real 32x32
    PNGs (500 distinct stand-in images, repeated), built once under <data dir>/bench/."""
    folder = helpers.data_dir_root() / BENCH_DATA / f"kaggle_layout-{n_train}-{n_test}"
    if (folder / "trainLabels.csv").exists():
        return folder
    from PIL import Image
    tmp = folder.with_name(folder.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    (tmp / "train").mkdir(parents=True)
    (tmp / "test").mkdir()
    rng = np.random.default_rng(0)
    blobs, labels = [], []
    for k in range(500):
        buf = io.BytesIO()
        Image.fromarray(standins.synthetic_image(rng, k % 10, 10, 32, 32)).save(buf, format="PNG")
        blobs.append(buf.getvalue())
    for i in range(1, n_train + 1):
        (tmp / "train" / f"{i}.png").write_bytes(blobs[i % 500])
        labels.append((i, helpers.CIFAR10_CLASSES[(i % 500) % 10]))
    for i in range(1, n_test + 1):
        (tmp / "test" / f"{i}.png").write_bytes(blobs[(7 * i) % 500])
    with open(tmp / "trainLabels.csv", "w") as f:
        f.write("id,label\n" + "".join(f"{i},{label}\n" for i, label in labels))
    (tmp / standins.STANDIN_MARKER).write_text("STAND-IN DATA for benchmarks/bench.py (reorganisation timing).\n")
    shutil.rmtree(folder, ignore_errors=True)
    os.replace(tmp, folder)
    return folder


def bytes_written(tree, old_inodes):
    """Disk blocks (bytes) of the files and folders under `tree` that did not exist before: a hard link to an
    existing file adds nothing, a copy adds its blocks; each inode is counted once."""
    seen, payload, dirs, files = set(), 0, 0, 0
    for root, dirnames, filenames in os.walk(tree):
        dirs += os.stat(root).st_blocks * 512
        for name in filenames:
            st = os.stat(os.path.join(root, name))
            files += 1
            if st.st_ino not in old_inodes and st.st_ino not in seen:
                seen.add(st.st_ino)
                payload += st.st_blocks * 512
    return payload, dirs, files


def bench_reorg(cfg):
    folder = kaggle_layout(cfg["reorg_n"], cfg["reorg_test_n"])
    out_tree = folder / "train_valid_test"
    old = {os.stat(p).st_ino for sub in ("train", "test") for p in (folder / sub).iterdir()}
    source_bytes = sum(os.stat(p).st_blocks * 512 for sub in ("train", "test") for p in (folder / sub).iterdir())
    sizes, synced = {}, {"d2l": [], "helpers": []}

    def run(name, fn):
        def go():
            shutil.rmtree(out_tree, ignore_errors=True)
            os.sync()
            t0 = time.perf_counter()
            fn()
            seconds = time.perf_counter() - t0
            os.sync()                     # until the copies' data is on the disk (reported apart: it is noisier)
            synced[name].append(time.perf_counter() - t0)
            sizes[name] = bytes_written(out_tree, old)
            return seconds
        return go

    def ours():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            helpers.reorg_kaggle_data(folder, "trainLabels.csv", 0.1)

    def theirs():
        labels = d2l.read_csv_labels(str(folder / "trainLabels.csv"))
        d2l.reorg_train_valid(str(folder), labels, 0.1)
        d2l.reorg_test(str(folder))

    runs = interleaved({"d2l": run("d2l", theirs), "helpers": run("helpers", ours)}, cfg["reorg_reps"],
                       warmup=False)
    shutil.rmtree(out_tree, ignore_errors=True)
    med = {k: statistics.median(v) for k, v in runs.items()}
    res = {"images": cfg["reorg_n"] + cfg["reorg_test_n"], "train_images": cfg["reorg_n"],
           "test_images": cfg["reorg_test_n"], "source_bytes_on_disk": source_bytes,
           "note": "seconds until the call returns; *_with_sync_seconds also wait for os.sync() (the write-back "
                   "of copied data, and of anything else written on the machine meanwhile); bytes = disk blocks of "
                   "new inodes (payload) and of the new folders",
           "d2l_seconds": stat(runs["d2l"], "s"), "helpers_seconds": stat(runs["helpers"], "s"),
           "d2l_with_sync_seconds": stat(synced["d2l"], "s"), "helpers_with_sync_seconds": stat(synced["helpers"], "s")}
    for name in ("d2l", "helpers"):
        payload, dirs, files = sizes[name]
        res[f"{name}_payload_bytes"] = {"median": payload, "unit": "bytes"}
        res[f"{name}_folder_bytes"] = {"median": dirs, "unit": "bytes"}
        res[f"{name}_files_created"] = files
    res["ratio_vs_d2l"] = med["d2l"] / med["helpers"]
    res["ratio_definition"] = "d2l seconds / helpers seconds (speed-up), without the sync"
    res["ratio_vs_d2l_with_sync"] = statistics.median(synced["d2l"]) / statistics.median(synced["helpers"])
    res["bytes_ratio_vs_d2l"] = (sizes["d2l"][0] + sizes["d2l"][1]) / max(1, sizes["helpers"][0] + sizes["helpers"][1])
    print(f"  (d) reorganise {res['images']:,} images: d2l {med['d2l']:.2f} s, {sizes['d2l'][0] / 1e6:.0f} MB payload; "
          f"helpers {med['helpers']:.2f} s, {sizes['helpers'][0] / 1e6:.1f} MB payload "
          f"(+ folders: {sizes['helpers'][1] / 1e6:.1f} MB)")
    return res


# =====================================================================================================================
# (e) Dogs: a head on a frozen ResNet-34, backbone computed live in every epoch vs cached features
# =====================================================================================================================

def bench_dogs(cfg, device, dog_tree):
    side, views = cfg["dogs_image"], cfg["dogs_epochs"]      # one cached augmented view per epoch
    recipe = dict(fastdata.FAST_RECIPES["imagenet"], size=side, cache_size=round(side * 256 / 224),
                  eval_crop=224 / 256)
    fastdata._FAST_CACHE.clear()
    train = fastdata.image_folder_cache(dog_tree / "train", recipe["cache_size"], store="memory")
    valid = fastdata.image_folder_cache(dog_tree / "valid", recipe["cache_size"], store="memory")
    num_classes, n = len(train.classes), len(train)
    torch.manual_seed(0)
    # random weights (nothing is downloaded here); frozen and in eval mode (d2l leaves BatchNorm in train mode)
    backbone = torchvision.models.resnet34(weights=None)
    backbone.fc = nn.Identity()
    backbone = backbone.to(device).eval().requires_grad_(False)
    loader = fastdata.FastLoader(train.images, train.targets, cfg["dogs_batch"], recipe, device=device,
                                sizes=train.sizes)

    def features(images, sizes, augment=False):
        transform = fastdata.augment_batch if augment else fastdata.eval_batch
        with torch.no_grad():
            return torch.cat([backbone(transform(images[i:i + 256].to(device), **recipe, sizes=sizes[i:i + 256]))
                              for i in range(0, len(images), 256)])

    extract_s, feats = timed(lambda: features(train.images, train.sizes), device)
    valid_feats = features(valid.images, valid.sizes)
    torch.manual_seed(2)
    views_s, view_feats = timed(lambda: [features(train.images, train.sizes, augment=True) for _ in range(views)],
                                device)
    pool = torch.stack(view_feats)                                    # (views, N, 512)
    # the features of a random backbone have an arbitrary scale: standardise them with the training statistics
    mu, sd = feats.mean(0), feats.std(0) + 1e-6
    targets = train.targets.to(device)
    names, seeds = ("live", "cached", "cached_views"), range(cfg["dogs_seeds"])
    heads = {}
    for seed in seeds:                # every variant starts from the same head for a given seed
        torch.manual_seed(seed)
        template = nn.Sequential(nn.Linear(512, 256), nn.ReLU(), nn.Linear(256, num_classes)).to(device)
        heads.update({(name, seed): copy.deepcopy(template) for name in names})
    opts = {key: torch.optim.Adam(h.parameters(), lr=1e-3) for key, h in heads.items()}
    loss = nn.CrossEntropyLoss()

    def step(key, f, y):
        opts[key].zero_grad(set_to_none=True)
        loss(heads[key]((f - mu) / sd), y).backward()
        opts[key].step()

    def live_epoch(key):
        for X, y in loader:
            with torch.no_grad():
                f = backbone(X)
            step(key, f, y)

    def cached_epoch(key):
        # one row per image and epoch, as live: its clean features, or (cached_views) its view for this epoch
        chosen = pool[epoch[0] % len(pool)] if key[0] == "cached_views" else feats
        for idx in torch.randperm(n, device=device).split(cfg["dogs_batch"]):
            step(key, chosen[idx], targets[idx])

    epoch_s, epoch = {name: [] for name in names}, [0]
    for seed in seeds:
        for e in range(cfg["dogs_epochs"]):
            epoch[0] = e
            for name in (names if e % 2 == 0 else names[::-1]):
                torch.manual_seed(1000 * seed + e)                    # each seed: its own augmentations and order
                run = live_epoch if name == "live" else cached_epoch
                epoch_s[name].append(timed(lambda: run((name, seed)), device)[0])
    runs = {name: [] for name in names}
    for (name, seed), head in heads.items():
        with torch.no_grad():
            probs = torch.softmax(head((valid_feats - mu) / sd), dim=1).cpu()
        runs[name].append(helpers.multiclass_log_loss(probs.numpy(), valid.targets.numpy()))
    log_loss = {name: statistics.median(v) for name, v in runs.items()}
    med = {k: statistics.median(v) for k, v in epoch_s.items()}
    res = {"train_images": n, "valid_images": len(valid), "classes": num_classes, "image_side": side,
           "epochs": cfg["dogs_epochs"], "backbone": "torchvision resnet34, RANDOM weights, frozen, eval mode",
           "head": f"Linear(512, 256), ReLU, Linear(256, {num_classes}); Adam 1e-3 on standardised features",
           "live_augmentation": "RandomResizedCrop + flip + ColorJitter (batched, on the device), new every epoch",
           "cached_features": "one centre crop per image (no augmentation)",
           "cached_views_features": f"{views} augmented views per image (live's augmentation), cached once; epoch "
                                    f"e trains on view e: the same training distribution as live, precomputed",
           "live_epoch_s": stat(epoch_s["live"], "s"), "cached_epoch_s": stat(epoch_s["cached"], "s"),
           "cached_views_epoch_s": stat(epoch_s["cached_views"], "s"),
           "feature_extraction_s": {"median": extract_s, "unit": "s", "note": "one-off: clean features of the "
                                                                               "training images"},
           "views_extraction_s": {"median": views_s, "unit": "s", "note": f"one-off: {views} augmented views "
                                                                          f"(as much backbone work as {views} live "
                                                                          f"epochs: it pays when the cache is "
                                                                          f"reused by several heads or runs)"},
           "seeds": len(seeds), "log_loss_note": f"validation log loss: median over {len(seeds)} seeds (head init, "
                                                  f"batch order, augmentations); runs lists each seed's value",
           **{f"{name}_valid_log_loss": {"median": log_loss[name], "unit": "nats", "runs": runs[name]}
              for name in names},
           "chance_log_loss": float(np.log(num_classes)),
           "log_loss_rel_diff": log_loss["cached_views"] / log_loss["live"] - 1,
           "log_loss_rel_diff_definition": "cached_views / live - 1 (the cached path that augments, as live does)",
           "log_loss_rel_diff_clean": log_loss["cached"] / log_loss["live"] - 1,
           "live_log_loss_spread": (max(runs["live"]) - min(runs["live"])) / log_loss["live"],
           "ratio_vs_d2l": med["live"] / med["cached_views"],
           "ratio_definition": "live seconds per epoch (d2l's way) / cached_views seconds per epoch",
           "break_even_epochs": (extract_s + views_s) / max(med["live"] - med["cached_views"], 1e-9)}
    print(f"  (e) dogs at {side}px: live {med['live']:.3f} s/epoch, cached {med['cached']:.4f}, cached {views} "
          f"augmented views {med['cached_views']:.4f} s/epoch (x{res['ratio_vs_d2l']:.0f}); extraction once "
          f"{extract_s + views_s:.2f} s; valid log loss (median of {len(seeds)} seeds) live {log_loss['live']:.3f} "
          f"(seeds {min(runs['live']):.3f}-{max(runs['live']):.3f}), cached {log_loss['cached']:.3f}, cached views "
          f"{log_loss['cached_views']:.3f} (chance {np.log(num_classes):.3f})")
    return res


# =====================================================================================================================
# (f) Ecosystem: where a well-kept library already does a piece of our machinery, the two side by side
# =====================================================================================================================
# f1: kornia.augmentation (per-sample batch augmentation) vs augment_batch, speed and semantics against torchvision.
# f2: tqdm.auto vs train_ch13's own progress line: microseconds per update, and what each leaves in an executed
#     notebook (a real papermill run, as `make run` does it).

def kornia_version():
    try:
        import kornia
    except ImportError:
        return None
    return kornia.__version__


def kornia_pipeline(recipe, device, align_corners=False):
    """The recipe as kornia.augmentation writes it: RandomResizedCrop + RandomHorizontalFlip + ColorJitter (the
    class with torchvision's formulas; ColorJiggle's brightness is additive) + Normalize, per-sample parameters
    (same_on_batch=False, the default). kornia takes float images in 0..1, so the uint8 batch is converted first
    (that conversion is counted). align_corners=False resamples on torchvision's half-pixel grid; kornia's default
    for RandomResizedCrop is True."""
    import kornia.augmentation as KA
    size = recipe["size"]
    mods = [KA.RandomResizedCrop((size, size), scale=recipe["scale"], ratio=recipe["ratio"],
                                 align_corners=align_corners),
            KA.RandomHorizontalFlip(p=recipe["flip"])]
    if recipe["jitter"]:
        mods.append(KA.ColorJitter(*recipe["jitter"]))
    mods.append(KA.Normalize(mean=torch.tensor(recipe["mean"], device=device),
                             std=torch.tensor(recipe["std"], device=device)))
    aug = KA.AugmentationSequential(*mods).to(device)
    return lambda images: aug(images.float().div_(255))


def call_rate(fn, n_per_call, device, min_s):
    """Images per second of repeated fn() calls, over at least min_s seconds (at least one call)."""
    done, t0 = 0, time.perf_counter()
    while True:
        fn()
        sync(device)
        done += n_per_call
        elapsed = time.perf_counter() - t0
        if elapsed >= min_s:
            return done / elapsed


def crop_stats(h, w, H, W):
    """Area fraction quantiles and log aspect ratio (w / h) of crop boxes in an H x W image's pixels."""
    h, w = torch.as_tensor(h, dtype=torch.float64), torch.as_tensor(w, dtype=torch.float64)
    frac, log_r = h * w / (H * W), (w / h).log()
    return {"area_q10": frac.quantile(0.1).item(), "area_q50": frac.quantile(0.5).item(),
            "area_q90": frac.quantile(0.9).item(), "log_ratio_mean": log_r.mean().item(),
            "log_ratio_std": log_r.std().item(), "ratio_q05": log_r.quantile(0.05).exp().item(),
            "ratio_q95": log_r.quantile(0.95).exp().item(), "draws": len(h)}


def kornia_boxes(n, H, W, scale, ratio):
    """n crop boxes (h, w) drawn by kornia's RandomResizedCrop on an H x W input."""
    import kornia.augmentation as KA
    src = KA.RandomResizedCrop((8, 8), scale=scale, ratio=ratio).forward_parameters(torch.Size((n, 3, H, W)))["src"]
    return src[:, 2, 1] - src[:, 0, 1] + 1, src[:, 2, 0] - src[:, 0, 0] + 1       # corners are inclusive pixels


def check_crops(cfg):
    """The distribution of crop boxes: torchvision's get_params (the reference) vs ours vs kornia. The dog case is a
    375x500 photo seen through the 256x256 cache: ours draws in the photo's own pixels (CachedImageFolder.sizes),
    kornia can only draw in the cache's square pixels, so its aspect ratios come out stretched by 500/375."""
    n, n_tv = cfg["eco_crop_draws"], cfg["eco_crop_draws"] // 5
    cases = {"imagenet_256x256": ((256, 256), (256, 256), (0.08, 1.0), (3 / 4, 4 / 3)),
             "imagenet_375x500_photo_via_256_cache": ((375, 500), (256, 256), (0.08, 1.0), (3 / 4, 4 / 3)),
             "cifar10_32x32": ((40, 40), (32, 32), (0.64, 1.0), (1.0, 1.0))}   # d2l crops after Resize(40)
    out = {}
    for name, ((H, W), (cH, cW), scale, ratio) in cases.items():
        tv = torch.tensor([T.RandomResizedCrop.get_params(torch.empty(1, H, W), list(scale), list(ratio))
                           for _ in range(n_tv)], dtype=torch.float64)
        ref = crop_stats(tv[:, 2], tv[:, 3], H, W)
        if (cH, cW) == (H, W) or name.startswith("cifar"):
            top, left, h, w = resized_crop_params(n, cH, cW, scale, ratio)
            ours = crop_stats(h, w, cH, cW)
        else:                             # ours: boxes in the photo's pixels, later scaled onto the cache
            top, left, h, w = resized_crop_params(n, H, W, scale, ratio)
            ours = crop_stats(h, w, H, W)
        kh, kw = kornia_boxes(n, cH, cW, scale, ratio)
        # kornia's boxes in the photo's pixels: the cache squeezed the photo to cH x cW
        kornia = crop_stats(kh * H / cH, kw * W / cW, H, W)
        row = {"torchvision": ref, "ours": ours, "kornia": kornia}
        for key in ("ours", "kornia"):
            row[f"{key}_max_area_quantile_diff"] = max(abs(row[key][q] - ref[q])
                                                       for q in ("area_q10", "area_q50", "area_q90"))
            row[f"{key}_log_ratio_mean_diff"] = row[key]["log_ratio_mean"] - ref["log_ratio_mean"]
        out[name] = row
    return out


def check_jitter(cfg):
    """ColorJitter(0.4, 0.4, 0.4) semantics: per-image brightness factors; whether the steps' order is drawn per image
    (torchvision: one order per call = per image; kornia: params['order'] is ONE permutation per batch); clamping."""
    import kornia.augmentation as KA
    n = cfg["eco_jitter_draws"]
    res = {}
    # brightness factors, read off a constant gray image (brightness only)
    gray = torch.full((n, 3, 2, 2), 100 / 255)
    tv_b = T.ColorJitter(brightness=0.4)
    factors = {"torchvision": torch.stack([tv_b(g)[0, 0, 0] for g in gray[: n // 5]]) / (100 / 255),
               "ours": color_jitter_batch(gray * 255, 0.4, 0, 0)[:, 0, 0, 0] / 100,
               "kornia": KA.ColorJitter(brightness=0.4)(gray)[:, 0, 0, 0] / (100 / 255),
               # ColorJiggle, kornia's recommended class, ADDS factor - 1 to the pixels (not torchvision's multiply)
               "kornia_ColorJiggle": KA.ColorJiggle(brightness=0.4)(gray)[:, 0, 0, 0] / (100 / 255)}
    res["brightness_factor"] = {k: {"min": f.min().item(), "max": f.max().item(), "mean": f.mean().item(),
                                    "std": f.std().item(), "distinct_in_batch": len(f.unique())}
                                for k, f in factors.items()}
    res["brightness_factor"]["expected"] = {"min": 0.6, "max": 1.4, "mean": 1.0, "std": 0.8 / 12 ** 0.5,
                                            "note": "U(0.6, 1.4), one factor per image; measured as output / "
                                                    "input on a constant gray image of 100/255"}
    # the order of the steps: fixed factors (brightness 1.5, contrast 0.5) on a two-level gray image. Without
    # clamping the two orders give the same image; with clamping after each step (torchvision) they differ.
    img = torch.tensor([0.9, 0.1, 0.9, 0.1]).view(1, 2, 2).expand(3, 2, 2).contiguous()
    fixed = dict(brightness=(1.5, 1.5), contrast=(0.5, 0.5))
    tv_j = T.ColorJitter(**fixed)
    torch.manual_seed(0)
    tv_out = torch.stack([tv_j(img) for _ in range(256)])
    outcomes = tv_out.flatten(1).round(decimals=4).unique(dim=0)             # the two orders' results
    batch, calls = 64, 20
    k_j = KA.ColorJitter(**fixed)
    per_call = []
    for _ in range(calls):
        k_out = k_j(img.expand(batch, 3, 2, 2).contiguous()).flatten(1).round(decimals=4)
        per_call.append(len(k_out.unique(dim=0)))
        dist = torch.cdist(k_out, outcomes).min(dim=1).values.max().item()   # every kornia image is one of tv's
    res["order"] = {
        "test": "ColorJitter(brightness=(1.5, 1.5), contrast=(0.5, 0.5)) on a two-level gray image: the result "
                "depends only on the order of the two steps (clamping to 0..1 between them)",
        "torchvision_distinct_outputs_over_256_single_image_calls": len(outcomes),
        "torchvision_share_of_first_outcome": (tv_out.flatten(1).round(decimals=4) == outcomes[0]).all(1)
        .float().mean().item(),
        "kornia_distinct_outputs_per_batch_of_64": per_call,
        "kornia_outputs_match_torchvision_outcomes_max_dist": dist,
        "kornia_order_param_shape": list(k_j.forward_parameters(torch.Size((batch, 3, 2, 2)))["order"].shape),
        "ours": "one order per image (color_jitter_batch: argsort of a (B, 3) uniform draw); not testable this way: "
                "ours has no fixed-factor form"}
    return res


def check_outputs(cfg, device, images, sizes, files, recipe, pil_tf):
    """Output statistics of one recipe against d2l's PIL transform on the original files: per-channel mean and
    spread, and the spread of per-image mean brightness (what the jitter adds)."""
    reps = cfg["eco_check_reps"]
    from PIL import Image
    pil_images = []
    for p in files:
        with Image.open(p) as im:
            pil_images.append(im.convert("RGB"))
    torch.manual_seed(0)
    pil = torch.stack([pil_tf(im) for _ in range(reps) for im in pil_images])
    x = images.to(device)
    ours = torch.cat([augment_batch(x, **recipe, sizes=sizes) for _ in range(reps)]).cpu()
    kornia = torch.cat([kornia_pipeline(recipe, device)(x) for _ in range(reps)]).cpu()
    out = {"images": len(files), "reps": reps}
    for name, t in (("ours", ours), ("kornia", kornia)):
        out[name] = {"max_channel_mean_diff": (t.mean((0, 2, 3)) - pil.mean((0, 2, 3))).abs().max().item(),
                     "channel_std_ratio": (t.std((0, 2, 3)) / pil.std((0, 2, 3))).tolist(),
                     "image_mean_spread_ratio": (t.mean((1, 2, 3)).std() / pil.mean((1, 2, 3)).std()).item()}
    out["units"] = "normalised units; ratios 1 = as PIL"
    return out


def bench_kornia(cfg, device, cifar_tree, dog_tree):
    version = kornia_version()
    if version is None:
        print("  (f) kornia is not installed: `pip install kornia` to compare it (skipped)")
        return {"skipped": "kornia not installed"}
    res = {"kornia": version, "note": "kornia: AugmentationSequential(RandomResizedCrop, RandomHorizontalFlip, "
           "ColorJitter, Normalize) on float 0..1 (uint8 -> float counted); 'kornia' resamples with "
           "align_corners=False (torchvision's pixel grid), 'kornia_default' with kornia's default True. Ours: "
           "augment_batch on the uint8 batch (imagenet: with the originals' sizes, as FastLoader calls it)"}
    if device.type == "cpu":
        # what FastLoader does on a CPU, and what (a) leaves behind in a full run: glibc keeps freed blocks for reuse.
        # Both sides gain from it (kornia more: it allocates more large temporaries); without it a --only f run
        # would measure page faults rather than the augmentation
        res["malloc_keeps_freed_blocks"] = keep_freed_cpu_memory()
    fastdata._FAST_CACHE.clear()
    dogs = fastdata.image_folder_cache(dog_tree / "train", FAST_RECIPES["imagenet"]["cache_size"], store="memory")
    cifar = fastdata.image_folder_cache(cifar_tree / "train", store="memory")
    cases = [("imagenet_224_from_256_cache_b128", dogs, "imagenet", 128),
             ("cifar10_32_b128", cifar, "cifar10", 128), ("cifar10_32_b512", cifar, "cifar10", 512)]
    speed = res["speed"] = {}
    for key, ds, recipe_name, B in cases:
        recipe = FAST_RECIPES[recipe_name]
        idx = torch.arange(B) % len(ds)            # the stand-ins may hold fewer images than a batch: repeat them
        batch = ds.images[idx].to(device)
        sizes = ds.sizes[idx].to(device) if recipe["cache_size"] else None
        k_tv, k_def = kornia_pipeline(recipe, device), kornia_pipeline(recipe, device, align_corners=True)
        variants = {"ours": lambda: call_rate(lambda: augment_batch(batch, **recipe, sizes=sizes), B, device,
                                              cfg["eco_min_s"]),
                    "kornia": lambda: call_rate(lambda: k_tv(batch), B, device, cfg["eco_min_s"]),
                    "kornia_default": lambda: call_rate(lambda: k_def(batch), B, device, cfg["eco_min_s"])}
        runs = interleaved(variants, cfg["reps"])
        med = {k: statistics.median(v) for k, v in runs.items()}
        speed[key] = {"batch": B, "image_side": recipe["size"], "input": f"uint8 {tuple(batch.shape)}",
                      **{k: stat(v, "img/s") for k, v in runs.items()},
                      "ratio_ours_vs_kornia": med["ours"] / med["kornia"],
                      "ratio_ours_vs_kornia_default": med["ours"] / med["kornia_default"]}
        print(f"  (f) {key}: ours {med['ours']:,.0f} img/s, kornia {med['kornia']:,.0f} (align_corners=False), "
              f"{med['kornia_default']:,.0f} (default)  (ours x{med['ours'] / med['kornia']:.1f})")
    torch.manual_seed(0)
    res["crops"] = check_crops(cfg)
    torch.manual_seed(0)
    res["jitter"] = check_jitter(cfg)
    n = cfg["eco_check_images"]
    res["vs_pil"] = {
        "imagenet": check_outputs(cfg, device, dogs.images[:n], dogs.sizes[:n].to(device),
                                  [p for p, _ in dogs.samples[:n]], FAST_RECIPES["imagenet"], D2L_DOG_TRAIN),
        "cifar10": check_outputs(cfg, device, cifar.images[:n], None, [p for p, _ in cifar.samples[:n]],
                                 FAST_RECIPES["cifar10"], D2L_CIFAR_TRAIN)}
    c = res["crops"]["imagenet_375x500_photo_via_256_cache"]
    j = res["jitter"]["order"]
    print(f"  (f) crops of a 375x500 photo through the 256 cache, aspect ratio 5-95%: torchvision "
          f"{c['torchvision']['ratio_q05']:.2f}-{c['torchvision']['ratio_q95']:.2f}, ours {c['ours']['ratio_q05']:.2f}-"
          f"{c['ours']['ratio_q95']:.2f}, kornia {c['kornia']['ratio_q05']:.2f}-{c['kornia']['ratio_q95']:.2f}; "
          f"jitter order: torchvision {j['torchvision_distinct_outputs_over_256_single_image_calls']} outcomes over "
          f"single images, kornia {max(j['kornia_distinct_outputs_per_batch_of_64'])} per batch")
    return res


PROGRESS_NOTEBOOK = [
    # 0: setup (the kernel runs in the repository root)
    "import os, sys, time, warnings\nsys.path.insert(0, os.getcwd())\nimport torch\nfrom torch import nn\n"
    "import helpers\nEPOCHS, BATCHES, DT = {epochs}, {batches}, {dt}\n"
    "class Sleepy:\n    def __len__(self):\n        return BATCHES\n    def __iter__(self):\n"
    "        for _ in range(BATCHES):\n            time.sleep(DT)\n"
    "            yield torch.zeros(4, 3), torch.zeros(4, dtype=torch.long)",
    # 1: tqdm.auto over the batches, one bar per epoch (the usual way)
    "from tqdm.auto import tqdm\nfor epoch in range(EPOCHS):\n    for X, y in tqdm(Sleepy(), desc=f'epoch {{epoch + 1}}'):\n"
    "        pass",
    # 2: tqdm.auto with the running loss shown (set_postfix, default refresh=True)
    "for epoch in range(EPOCHS):\n    bar = tqdm(Sleepy(), desc=f'epoch {{epoch + 1}}')\n    for i, (X, y) in "
    "enumerate(bar):\n        bar.set_postfix(loss=1 / (i + 1), acc=0.5)",
    # 3: ours, headless (COURSE_HEADLESS=1, as make run / make test set it)
    "os.environ['COURSE_HEADLESS'] = '1'\nnet = nn.Linear(3, 2)\n"
    "h = helpers.train_ch13(net, Sleepy(), None, nn.CrossEntropyLoss(reduction='none'), "
    "torch.optim.SGD(net.parameters(), lr=0.1), EPOCHS, [torch.device('cpu')], plot=False)",
    # 4: ours, live (a notebook frontend: the progress line is one display output updated in place)
    "os.environ['COURSE_HEADLESS'] = '0'\nnet = nn.Linear(3, 2)\n"
    "h = helpers.train_ch13(net, Sleepy(), None, nn.CrossEntropyLoss(reduction='none'), "
    "torch.optim.SGD(net.parameters(), lr=0.1), EPOCHS, [torch.device('cpu')], plot=False)",
]
PROGRESS_CELLS = ["setup", "tqdm_auto", "tqdm_auto_set_postfix", "ours_headless", "ours_live"]


def run_progress_notebook(cfg):
    """Execute PROGRESS_NOTEBOOK with papermill (as `make run` does, COURSE_HEADLESS=1 in its environment) and
    measure what each cell leaves in the executed notebook."""
    import subprocess
    import tempfile
    import nbformat
    epochs, batches, dt = cfg["eco_nb_epochs"], cfg["eco_nb_batches"], cfg["eco_nb_dt"]
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src.format(epochs=epochs, batches=batches, dt=dt))
                for src in PROGRESS_NOTEBOOK]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    with tempfile.TemporaryDirectory() as tmp:
        src, dst = Path(tmp) / "progress.ipynb", Path(tmp) / "progress.out.ipynb"
        nbformat.write(nb, src)
        env = dict(os.environ, COURSE_HEADLESS="1", COURSE_OUTPUT_DIR=str(Path(tmp) / "out"))
        papermill = Path(sys.executable).with_name("papermill")
        t0 = time.perf_counter()
        proc = subprocess.run([str(papermill), "--cwd", str(REPO), str(src), str(dst)], env=env,
                              capture_output=True, text=True, timeout=600)
        wall = time.perf_counter() - t0
        if proc.returncode:
            return {"error": proc.stderr[-2000:]}
        done = nbformat.read(dst, as_version=4)
    train_s = epochs * batches * dt
    cells = {}
    for name, cell in zip(PROGRESS_CELLS, done.cells):
        if name == "setup":
            continue
        text = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
        data = "".join(json.dumps(o.get("data", {})) for o in cell.outputs if o.output_type != "stream")
        size = len(json.dumps(cell.outputs))
        seconds = cell.metadata.get("papermill", {}).get("duration") or train_s
        cells[name] = {"outputs": len(cell.outputs), "output_types": sorted({o.output_type + (
            ":" + o.name if o.output_type == "stream" else "") for o in cell.outputs}),
            "output_bytes": size, "cell_seconds": seconds, "bytes_per_second": size / seconds,
            "carriage_returns": text.count("\r"), "stderr_bytes": sum(len(o.text) for o in cell.outputs
                                                                      if o.get("name") == "stderr"),
            "ipywidgets_warning": "IProgress not found" in text + data,
            "last_line": text.replace("\r", "\n").strip().splitlines()[-1][:160] if text.strip() else data[:160]}
    return {"engine": f"papermill (COURSE_HEADLESS=1), python3 kernel, {epochs} epochs x {batches} batches x "
                      f"{dt} s = {train_s:.1f} s of 'training' per cell",
            "note": "output_bytes: the cell's outputs as stored in the executed .ipynb. tqdm's console bar adds a "
                    "stream output at most every 0.1 s (mininterval), i.e. it grows with the run's duration, and "
                    "with every batch when set_postfix refreshes (its default); ours adds one line per epoch "
                    "headless, and one display output updated in place when live",
            "papermill_wall_s": wall, "cells": cells}


def bench_progress(cfg, device, step_s):
    """Per-update cost of each progress display in this (plain) process, where tqdm.auto is tqdm's console bar."""
    from importlib.metadata import PackageNotFoundError, version
    try:
        from tqdm.auto import tqdm as auto_tqdm
    except ImportError:
        print("  (f) tqdm is not installed (skipped)")
        return {"skipped": "tqdm not installed"}
    versions = {}
    for pkg in ("tqdm", "ipywidgets", "ipykernel", "papermill", "nbval"):
        try:
            versions[pkg] = version(pkg)
        except PackageNotFoundError:
            versions[pkg] = None
    N = cfg["eco_progress_iters"]
    loss_sum, correct = torch.tensor(12.5), torch.tensor(7)     # train_ch13 keeps these as tensors
    sink = {"tqdm": io.StringIO(), "ours": io.StringIO()}

    def per_update(body):
        def run():
            t0 = time.perf_counter()
            body()
            return (time.perf_counter() - t0) / N * 1e6
        return run

    def loop_alone():
        for i in range(N):
            pass

    def tqdm_iter():
        for i in auto_tqdm(range(N), file=sink["tqdm"]):
            pass

    def tqdm_postfix():                # the loss on the bar, as train_ch13's line shows it (same .item() calls)
        bar = auto_tqdm(range(N), file=sink["tqdm"])
        for i in bar:
            bar.set_postfix(loss=loss_sum.item() / (i + 1), acc=correct.item() / (i + 1))

    def tqdm_postfix_norefresh():
        bar = auto_tqdm(range(N), file=sink["tqdm"])
        for i in bar:
            bar.set_postfix(loss=loss_sum.item() / (i + 1), acc=correct.item() / (i + 1), refresh=False)

    def ours(live):
        def body():
            rep = ProgressReporter(1, N, None, "test acc")
            if live:                       # what a notebook frontend gets: a display handle, updated <= once a second
                from IPython.display import DisplayHandle
                text = LiveText.__new__(LiveText)
                text.handle = DisplayHandle()
                rep.live, rep.text = True, text
            t0 = time.perf_counter()
            with contextlib.redirect_stdout(sink["ours"]):    # outside a kernel IPython prints display updates
                for i in range(N):
                    if rep.live:           # train_ch13's loop, argument computation included
                        rep.batch(0, i, loss_sum.item() / (i + 1), correct.item() / (i + 1),
                                  (i + 1) / (time.perf_counter() - t0))
        return body

    old = os.environ.get("COURSE_HEADLESS")
    os.environ["COURSE_HEADLESS"] = "1"
    try:
        runs = interleaved({"loop_alone": per_update(loop_alone), "tqdm_auto": per_update(tqdm_iter),
                            "tqdm_auto_set_postfix": per_update(tqdm_postfix),
                            "tqdm_auto_set_postfix_refresh_false": per_update(tqdm_postfix_norefresh),
                            "ours_headless": per_update(ours(False)), "ours_live": per_update(ours(True))},
                           cfg["reps"])
    finally:
        if old is None:
            os.environ.pop("COURSE_HEADLESS", None)
        else:
            os.environ["COURSE_HEADLESS"] = old
    med = {k: statistics.median(v) for k, v in runs.items()}
    step_us = step_s * 1e6
    res = {"versions": versions, "tqdm_auto_class": f"{auto_tqdm.__module__}.{auto_tqdm.__name__}",
           "iterations": N, "note": "microseconds per batch of the loop with the display, in a plain Python "
           "process (tqdm.auto = console tqdm writing to a StringIO; ours_live: a forced display handle, IPython "
           "prints its updates outside a kernel); *_net subtracts the empty loop",
           "cifar_resnet18_step_us": step_us}
    for k, v in runs.items():
        res[k] = dict(stat(v, "us/update"), net_us=med[k] - med["loop_alone"],
                      share_of_training_step=(med[k] - med["loop_alone"]) / step_us)
    print(f"  (f) progress, us per update (net of the empty loop): " + ", ".join(
        f"{k} {med[k] - med['loop_alone']:.2f}" for k in runs if k != "loop_alone") +
        f"; a CIFAR ResNet-18 step (batch 32) takes {step_us:,.0f} us")
    res["notebook"] = run_progress_notebook(cfg)
    if "cells" in res["notebook"]:
        print("  (f) executed notebook (papermill, headless): " + ", ".join(
            f"{k} {v['output_bytes']:,} B ({v['outputs']} outputs, {v['carriage_returns']} \\r)"
            for k, v in res["notebook"]["cells"].items()))
    else:
        print("  (f) papermill run failed: " + res["notebook"]["error"][-300:])
    return res


def training_step_seconds(cfg, device, results):
    """Seconds per step of d2l's CIFAR ResNet-18 (batch train_batch): from (c) when it ran, else measured here."""
    c = results.get("c_model_alone")
    if c:
        return c["batch"] / c["model_alone"]["median"], "from (c) model_alone"
    B = cfg["train_batch"]
    torch.manual_seed(0)
    net = cifar_resnet18().to(device)
    opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
    X, y = torch.randn(B, 3, 32, 32, device=device), torch.randint(0, 10, (B,), device=device)
    loss = nn.CrossEntropyLoss()

    def step():
        opt.zero_grad(set_to_none=True)
        loss(net(X), y).backward()
        opt.step()
    step()
    times = [timed(step, device)[0] for _ in range(cfg["eco_step_reps"])]
    return statistics.median(times), f"measured here: median of {len(times)} steps at batch {B}"


def bench_ecosystem(cfg, device, cifar_tree, dog_tree, results):
    load_before = os.getloadavg()
    res = {"kornia": bench_kornia(cfg, device, cifar_tree, dog_tree)}
    step_s, how = training_step_seconds(cfg, device, results)
    res["progress"] = bench_progress(cfg, device, step_s)
    res["progress"]["step_time_source"] = how
    res["load_average_before"], res["load_average_after"] = load_before, os.getloadavg()
    return res


# =====================================================================================================================
# Report
# =====================================================================================================================

def table(results):
    rows, notes = [], []
    if "a_loader" in results:
        a = results["a_loader"]
        for key, label in (("png32", "(a) loader, 32x32 PNG"), ("jpeg224", "(a) loader, 224 crops from JPEG")):
            r = a[key]
            rows.append((label, r["d2l_imagefolder"]["median"], r["fast"]["median"], "img/s", r["ratio_vs_d2l"]))
    if "b_epoch" in results:
        b, c = results["b_epoch"], results["c_model_alone"]
        d2l_b = b["d2l_train_ch13"]["median"]
        for key in [k for k in b if k.startswith("helpers_")]:
            rows.append((f"(b) epoch, {key}", d2l_b, b[key]["median"], "img/s", b[key]["ratio_vs_d2l"]))
        for key in [k for k in c if k.startswith("model_alone")]:
            rows.append((f"(c) {key} (ceiling)", None, c[key]["median"], "img/s", None))
        notes.append(f"(b) d2l reaches {b['d2l_fraction_of_ceiling']:.0%} of the model-alone ceiling (it loses "
                     f"{b['d2l_share_lost_vs_ceiling']:.0%} to loading, plotting and its test pass; loading alone "
                     f"takes {b['d2l_share_spent_loading']:.0%} of its epoch); the fast path "
                     f"{b['fast_fraction_of_ceiling']:.0%}. d2l's own figure, which leaves loading out: "
                     f"{b['d2l_self_reported']['median']:.1f} img/s.")
    if "d_reorg" in results:
        d = results["d_reorg"]
        rows.append((f"(d) reorganise {d['images']:,} images", d["d2l_seconds"]["median"],
                     d["helpers_seconds"]["median"], "s", d["ratio_vs_d2l"]))
        rows.append(("(d) bytes written (payload + folders)", d["d2l_payload_bytes"]["median"] +
                     d["d2l_folder_bytes"]["median"], d["helpers_payload_bytes"]["median"] +
                     d["helpers_folder_bytes"]["median"], "bytes", d["bytes_ratio_vs_d2l"]))
    if "e_dogs" in results:
        e = results["e_dogs"]
        rows.append(("(e) dogs: s/epoch, live vs cached views", e["live_epoch_s"]["median"],
                     e["cached_views_epoch_s"]["median"], "s", e["ratio_vs_d2l"]))
        rows.append(("(e) dogs: valid log loss, live vs cached views", e["live_valid_log_loss"]["median"],
                     e["cached_views_valid_log_loss"]["median"], "nats", None))
        rows.append(("(e) dogs: valid log loss, clean cache", None, e["cached_valid_log_loss"]["median"], "nats",
                     None))
        notes.append(f"(e) cached views: log loss {e['log_loss_rel_diff']:+.1%} vs live (live's own spread over "
                     f"{e['seeds']} seeds: {e['live_log_loss_spread']:.0%}); caching {e['epochs']} views once costs "
                     f"{e['views_extraction_s']['median']:.1f} s, repaid after {e['break_even_epochs']:.1f} epochs "
                     f"of training on the cache.")
    if "f_ecosystem" in results:
        k, p = results["f_ecosystem"]["kornia"], results["f_ecosystem"]["progress"]
        for key, r in k.get("speed", {}).items():
            recipe, side = key.split("_")[:2]
            rows.append((f"(f) kornia vs ours: {recipe} {side}px, batch {r['batch']}", r["kornia"]["median"],
                         r["ours"]["median"], "img/s", r["ratio_ours_vs_kornia"]))
        if "ours_live" in p:
            step = p["cifar_resnet18_step_us"]
            for key, label in (("tqdm_auto", "(f) tqdm.auto bar vs ours live"),
                               ("tqdm_auto_set_postfix", "(f) tqdm.auto + set_postfix vs ours live")):
                rows.append((label, p[key]["net_us"], p["ours_live"]["net_us"], "us/upd",
                             p[key]["net_us"] / max(p["ours_live"]["net_us"], 1e-9)))
            share = lambda key: f"{100 * p[key]['share_of_training_step']:.2g}%"   # noqa: E731
            notes.append(f"(f) per update, as a share of a CIFAR ResNet-18 step ({step:,.0f} us): tqdm.auto "
                         f"{share('tqdm_auto')}, with set_postfix {share('tqdm_auto_set_postfix')}, ours live "
                         f"{share('ours_live')}, ours headless {share('ours_headless')}.")
            for name, cell in p.get("notebook", {}).get("cells", {}).items():
                notes.append(f"(f) executed notebook, {name}: {cell['output_bytes']:,} bytes of output in "
                             f"{cell['cell_seconds']:.1f} s, "
                             f"{cell['outputs']} outputs {cell['output_types']}, {cell['carriage_returns']} \\r"
                             + (", 'IProgress not found' warning" if cell["ipywidgets_warning"] else ""))
    fmt = lambda v: "" if v is None else f"{v:,.4g}" if abs(v) < 1000 else f"{v:,.0f}"   # noqa: E731
    lines = [f"{'measurement':<48} {'d2l / library':>14} {'ours':>14}  {'unit':<6} {'ratio':>12}"]
    for label, theirs, ours, unit, ratio in rows:
        lines.append(f"{label:<48} {fmt(theirs):>14} {fmt(ours):>14}  {unit:<6} "
                     f"{'' if ratio is None else f'x{ratio:.2f}':>12}")
    return "\n".join(lines + notes)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", default="auto", help="auto (CUDA when there is one), cpu, cuda or cuda:N")
    parser.add_argument("--quick", action="store_true", help="a smoke run: small data, 2 repetitions (~1 minute)")
    parser.add_argument("--out", default=None, help="JSON path (default: <outputs>/bench.json)")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch CPU threads (default: torch's choice, one per core). On a machine shared with "
                             "other jobs, 1 avoids the stalls of multi-threaded kernels waiting for a busy core")
    parser.add_argument("--only", default=None,
                        help="comma-separated sections to run (a, b, c, d, e, f; b and c run together), e.g. "
                             "--only f. Their results replace those sections in an existing JSON, the rest is kept")
    args = parser.parse_args(argv)
    only = set(args.only.replace(" ", "").split(",")) if args.only else set("abcdef")
    if only - set("abcdef"):
        parser.error(f"--only: unknown sections {sorted(only - set('abcdef'))}; choose from a, b, c, d, e, f")
    if args.threads:
        torch.set_num_threads(args.threads)
    device = helpers.try_gpu() if args.device == "auto" else torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda asked for, but torch sees no CUDA device")
    preset = "quick" if args.quick else "cuda" if device.type == "cuda" else "cpu"
    cfg = PRESETS[preset]
    if device.type == "cuda" and args.quick:
        cfg = dict(cfg, amp=[False, True])
    helpers.seed_everything(0)
    load_before = os.getloadavg()
    t_start = time.perf_counter()
    print(f"benchmark preset '{preset}' on {device}; torch {torch.__version__}, {os.cpu_count()} CPU cores, "
          f"{torch.get_num_threads()} torch threads; load average {load_before[0]:.2f}")
    print("STAND-IN DATA: synthetic images (standins.make_standin); timings are real, losses/accuracies are not "
          "results about any real dataset.")

    with contextlib.redirect_stdout(io.StringIO()):     # reorganisation prints nothing; stand-ins are quiet too
        cifar = standin("cifar10_tiny", n_train=cfg["cifar_n"], n_test=5)
        dogs = standin("dog_tiny", n_train=cfg["dog_n"], n_test=2, num_classes=DOG_CLASSES)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        helpers.reorg_kaggle_data(cifar, "trainLabels.csv", 0.1)
        helpers.reorg_kaggle_data(dogs, "labels.csv", 0.1)
    results = {"meta": {"preset": preset, "config": cfg, "device": str(device),
                        "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else
                        platform.processor() or platform.machine(),
                        "torch": torch.__version__, "torchvision": torchvision.__version__, "d2l": "1.0.3",
                        "cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads(),
                        "python": platform.python_version(), "data": "STAND-IN (synthetic) data",
                        "started": time.strftime("%Y-%m-%d %H:%M:%S"), "load_average_before": load_before}}
    sections = results["meta"]["section_s"] = {}
    results["meta"]["sections_run"] = "".join(sorted(only))
    t0 = time.perf_counter()
    if "a" in only:
        results["a_loader"] = bench_loaders(cfg, device, cifar / "train_valid_test", dogs / "train_valid_test")
        sections["a"], t0 = time.perf_counter() - t0, time.perf_counter()
    if only & {"b", "c"}:
        results["b_epoch"], results["c_model_alone"] = bench_training(cfg, device, cifar / "train_valid_test")
        sections["b_c"], t0 = time.perf_counter() - t0, time.perf_counter()
    if "d" in only:
        results["d_reorg"] = bench_reorg(cfg)
        sections["d"], t0 = time.perf_counter() - t0, time.perf_counter()
    if "e" in only:
        results["e_dogs"] = bench_dogs(cfg, device, dogs / "train_valid_test")
        sections["e"], t0 = time.perf_counter() - t0, time.perf_counter()
    if "f" in only:
        results["f_ecosystem"] = bench_ecosystem(cfg, device, cifar / "train_valid_test", dogs / "train_valid_test",
                                                 results)
        sections["f"] = time.perf_counter() - t0
    meta = results["meta"]
    meta["load_average_after"] = os.getloadavg()
    meta["wall_s"] = time.perf_counter() - t_start
    print()
    print(table(results))
    path = Path(args.out) if args.out else helpers.output_dir() / "bench.json"
    if args.only and path.exists():       # a partial run: keep the other sections of the last run
        previous = json.loads(path.read_text())
        del results["meta"]
        previous.update(results)
        previous.setdefault("meta", {}).setdefault("partial_runs", {})[meta["sections_run"]] = meta
        results = previous
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2, default=float))
    print(f"\nwrote {path} ({meta['wall_s']:.0f} s in all; load average {load_before[0]:.2f} before, "
          f"{meta['load_average_after'][0]:.2f} after)")
    own = torch.get_num_threads()        # this process's own share of the load average after the run
    if max(load_before[0], meta["load_average_after"][0] - own) > 0.5 * (os.cpu_count() or 1):
        print("WARNING: other jobs were using the CPU (see the load averages): these timings are distorted. "
              "Rerun on an otherwise idle machine.")
    return results


if __name__ == "__main__":
    main()
