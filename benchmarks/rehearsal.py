"""benchmarks/rehearsal.py: the Kaggle CIFAR-10 and dog-breed pipelines rehearsed at the competitions' FULL size.

    python benchmarks/rehearsal.py                     # both competitions, full size (generation is cached)
    python benchmarks/rehearsal.py --quick             # 1/50 of the sizes: a smoke test of the script
    python benchmarks/rehearsal.py --comp dog          # one competition (cifar10 | dog | both)
    python benchmarks/rehearsal.py --steps reorg,cache_test   # some steps only (their inputs must exist)

A benchmark, not a unit test: it prints figures and a verdict, it asserts nothing about speed.

1. A synthetic folder with each competition's real shape is generated once and cached under
   <COURSE_DATA_DIR or repo data/>/rehearsal/{full,quick}/ (a second run skips it; its time is reported apart):
     kaggle_cifar10/  train/<1..50000>.png, test/<1..300000>.png (32x32 PNG, ~2.3 KB each), trainLabels.csv id,label
     kaggle_dog/      train/<hex32>.jpg (10,222), test/<hex32>.jpg (10,357), JPEG quality 90, long side mostly 500
                      (a spread from 200 to 800, 3% 1000-2000, a few up to 3264), labels.csv id,breed (120 breeds,
                      66-126 photos each as on Kaggle)
   The pixels are cheap noise and gradients (the files are real PNG / JPEG files of realistic byte sizes); nothing
   learnable is in them and no accuracy is measured.
2. Every step of the notebooks' pipeline runs with the project's own functions, each in its OWN process, forked from
   this one after `import helpers` (a fresh interpreter would add ~5 s of imports per step), so that its peak memory
   is its own: reorganisation (reorg_kaggle_data, cold, then the idempotent second call), the
   fast path's decode cache per split (image_folder_cache, store='disk'; CIFAR at 32, dogs at the 'imagenet'
   recipe's cache_size 256), prediction on the test split through the standard path (reorganised_loaders +
   predict), through the fast path (fast_loaders + predict) and through its low-memory variant (image_folder_cache
   memmap=True + FastLoader on_device=False), then the submission (write_*_submission + validate_*_submission).
   The model is a one-convolution net: prediction time is the data path's time.
3. Per step: wall time of the work (the process start and imports excluded), the peak resident memory of the step's
   process (ru_maxrss from wait4), the peak PSS of its whole process tree (DataLoader workers included; sampled
   every 0.2 s from /proc/<pid>/smaps_rollup) and the anonymous + shared-memory part of it (what cannot be
   reclaimed: page-cache pages of a memory-mapped file can). Verdict against a Colab machine's 12 GB of RAM.
   A table is printed; outputs/rehearsal.json (--quick: outputs/rehearsal_quick.json) gets every figure, the load
   average before and after, and the error and traceback tail of any step that failed.

Everything runs on the CPU (device='cpu'): on Colab the fast path also copies each split to the GPU, and the host
copies stay referenced (see the notes printed at the end).

Cost on 2 shared cores: generation ~2 min (CIFAR) + ~4 min (dogs), once; the steps ~20 min; ~9.5 GB of disk (images
2.8 GB, decode caches 7.3 GB, hard links free). Run it under `nice`. --quick: ~15 s once generated.
"""
import argparse
import csv
import json
import os
import platform
import shutil
import sys
import time
import traceback
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import numpy as np                                  # noqa: E402
import torch                                        # noqa: E402
from torch import nn                                # noqa: E402
from torchvision import transforms as T             # noqa: E402

import helpers                                      # noqa: E402

# Machinery-level names (the fast data path). When helpers.py is split, repoint them here, in one place.
from machinery.fastdata import FAST_RECIPES, FastLoader, image_folder_cache  # noqa: E402
from machinery.standins import STANDIN_MARKER  # noqa: E402

GiB = 2 ** 30
COLAB_RAM = 12 * GiB            # Colab's free machine: "12.7 GB" of system RAM, of which ~1 GB the runtime itself uses
TIGHT = 10 * GiB                # above this a notebook's other state (model, optimizer, plots) may not fit beside it
GENERATOR_VERSION = 1
VALID_RATIO = 0.1               # d2l's value for both competitions
SAMPLE_EVERY_S = 0.2

SIZES = {   # (n_train, n_test)
    "full": {"cifar10": (50_000, 300_000), "dog": (10_222, 10_357)},
    "quick": {"cifar10": (1_000, 6_000), "dog": (360, 207)},    # dogs: 3 photos per breed (a valid split needs 2+)
}
STEPS = ["reorg", "reorg_again", "cache_train", "cache_valid", "cache_train_valid", "cache_test",
         "predict_imagefolder", "predict_fast", "predict_fast_memmap", "submission"]


# =====================================================================================================================
# 1. Generation (multiprocessing over the cores; cached)
# =====================================================================================================================

def _cifar_png(rng):
    """A 32x32 RGB image: a random colour gradient plus noise; its PNG is 2.1-2.6 KB, as real CIFAR-10 PNGs."""
    yy, xx = np.mgrid[0:32, 0:32] / 32
    base = (rng.uniform(40, 215, 3)[None, None] + rng.uniform(-60, 60, 3)[None, None] * xx[..., None]
            + rng.uniform(-60, 60, 3)[None, None] * yy[..., None])
    return np.clip(base + rng.normal(0, rng.uniform(6, 14), (32, 32, 3)), 0, 255).astype(np.uint8)


def _photo(rng, height, width):
    """A photo-like RGB image: a smooth random colour field plus noise; ~30-60 KB as a 500x375 JPEG at quality 90."""
    from PIL import Image
    small = rng.integers(0, 256, (max(2, height // 48), max(2, width // 48), 3), dtype=np.uint8)
    img = np.asarray(Image.fromarray(small).resize((width, height), Image.BICUBIC), dtype=np.float32)
    img += rng.standard_normal((height, width, 3), dtype=np.float32) * rng.uniform(3, 8)
    return np.clip(img, 0, 255).astype(np.uint8)


def _write_chunk(task):
    """Worker: write one chunk of images. task = (kind, folder, [(id, height, width)], seed, chunk number)."""
    from PIL import Image
    kind, folder, items, seed, chunk = task
    rng = np.random.default_rng([seed, chunk])
    nbytes = 0
    for id_, h, w in items:
        path = os.path.join(folder, f"{id_}.png" if kind == "png" else f"{id_}.jpg")
        if kind == "png":
            Image.fromarray(_cifar_png(rng)).save(path)
        else:
            Image.fromarray(_photo(rng, h, w)).save(path, quality=90)
        nbytes += os.path.getsize(path)
    return len(items), nbytes


def _dog_sizes(rng, n):
    """(height, width) of n photos, spread like the Kaggle dog-breed photos: long side mostly 500, 200-800 often,
    1000-2000 for 3%, up to 3264 for a few; 3:4, 2:3, 4:5 or squarish; a quarter portrait."""
    u = rng.random(n)
    long = np.select([u < 0.62, u < 0.84, u < 0.965, u < 0.995],
                     [np.full(n, 500), rng.integers(200, 500, n), rng.integers(501, 801, n),
                      rng.integers(1000, 2001, n)], rng.integers(2400, 3265, n))
    aspect = rng.choice([0.75, 2 / 3, 0.8, 1.0], n, p=[0.55, 0.2, 0.1, 0.15]) * rng.uniform(0.95, 1.0, n)
    short = np.maximum(1, np.round(long * aspect)).astype(int)
    portrait = rng.random(n) < 0.25
    return np.where(portrait, long, short), np.where(portrait, short, long)


def _breed_counts(rng, n, breeds, low=66, high=126):
    """Photos per breed summing to n, spread between low and high as on Kaggle (scaled down for small n)."""
    weights = rng.uniform(low, high, len(breeds))
    counts = np.maximum(2, np.floor(weights / weights.sum() * n)).astype(int)
    while counts.sum() < n:
        counts[rng.integers(len(breeds))] += 1
    while counts.sum() > n:
        k = int(np.argmax(counts))
        counts[k] -= 1
    return counts


def generate(comp, folder, n_train, n_test, seed=0, workers=None):
    """Write the synthetic competition folder (skipped when a complete one with the same spec is there).
    Returns a dict of figures: seconds, files, bytes, cached (True when skipped)."""
    spec = {"version": GENERATOR_VERSION, "comp": comp, "n_train": n_train, "n_test": n_test, "seed": seed}
    marker = folder / ".rehearsal_generated.json"
    if marker.exists():
        try:
            done = json.loads(marker.read_text())
            if done.get("spec") == spec:
                return {**done["figures"], "cached": True}
        except ValueError:
            pass
    if folder.exists():
        shutil.rmtree(folder)
    (folder / "train").mkdir(parents=True)
    (folder / "test").mkdir()
    rng = np.random.default_rng(seed)
    if comp == "cifar10":
        classes = helpers.CIFAR10_CLASSES
        train_ids = [str(i) for i in range(1, n_train + 1)]
        test_ids = [str(i) for i in range(1, n_test + 1)]
        labels = [classes[i % len(classes)] for i in range(n_train)]        # 5,000 per class, as on Kaggle
        rng.shuffle(labels)
        header, labels_file, kind = ("id", "label"), "trainLabels.csv", "png"
        hw = {"train": (np.full(n_train, 32), np.full(n_train, 32)), "test": (np.full(n_test, 32), np.full(n_test, 32))}
    else:
        breeds = helpers.dog_breeds()
        ids = set()
        while len(ids) < n_train + n_test:
            ids.update("".join(rng.choice(list("0123456789abcdef"), 32)) for _ in range(n_train + n_test - len(ids)))
        ids = sorted(ids)
        rng.shuffle(ids)
        train_ids, test_ids = ids[:n_train], ids[n_train:]
        labels = [b for b, c in zip(breeds, _breed_counts(rng, n_train, breeds)) for _ in range(c)]
        rng.shuffle(labels)
        header, labels_file, kind = ("id", "breed"), "labels.csv", "jpg"
        hw = {"train": _dog_sizes(rng, n_train), "test": _dog_sizes(rng, n_test)}
    with open(folder / labels_file, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(zip(train_ids, labels))
    (folder / STANDIN_MARKER).write_text(
        f"STAND-IN DATA. A SYNTHETIC folder with the shape of the full Kaggle {comp} competition, written by "
        f"benchmarks/rehearsal.py ({json.dumps(spec)}). Its pixels are noise: for timing and memory only.\n")
    chunk = 1000 if kind == "png" else 100
    tasks = []
    for split, ids in (("train", train_ids), ("test", test_ids)):
        h, w = hw[split]
        items = [(i, int(a), int(b)) for i, a, b in zip(ids, h, w)]
        tasks += [(kind, str(folder / split), items[k:k + chunk], seed, len(tasks) + k // chunk)
                  for k in range(0, len(items), chunk)]
    import multiprocessing
    t0, files, nbytes, last = time.perf_counter(), 0, 0, 0
    total = n_train + n_test
    with multiprocessing.get_context("fork").Pool(workers or os.cpu_count() or 1) as pool:
        for n, b in pool.imap_unordered(_write_chunk, tasks):
            files, nbytes = files + n, nbytes + b
            if files - last >= total / 10 or files == total:
                last = files
                print(f"    {comp}: {files:,}/{total:,} images written, {time.perf_counter() - t0:.0f} s", flush=True)
    figures = {"seconds": round(time.perf_counter() - t0, 1), "files": files, "bytes": nbytes,
               "disk_bytes": disk_usage(folder), "workers": workers or os.cpu_count()}
    marker.write_text(json.dumps({"spec": spec, "figures": figures}))
    return {**figures, "cached": False}


def generate_apart(comp, folder, n_train, n_test, workers=None):
    """`generate` in a child process: this process stays as lean as a fresh `import helpers`, so that the steps
    forked from it start with the memory a fresh process would have. Returns generate's figures."""
    import multiprocessing
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    proc = ctx.Process(target=lambda: queue.put(generate(comp, folder, n_train, n_test, workers=workers)))
    proc.start()
    while True:
        try:
            figures = queue.get(timeout=5)
            break
        except Exception:                                   # queue.Empty: still generating, or dead
            if not proc.is_alive():
                raise RuntimeError(f"generating {folder} failed (exit code {proc.exitcode}); see above") from None
    proc.join()
    return figures


def fresh_import_peak():
    """Peak RSS (bytes) of a fresh interpreter that only imports helpers: the floor under every step's peak."""
    import subprocess
    code = "import helpers, resource; print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    return int(out.stdout.split()[-1]) * 1024


def disk_usage(path):
    """Bytes allocated on disk under path (st_blocks, hard links counted once), like du."""
    seen, total = set(), 0
    for dirpath, _, names in os.walk(path):
        for name in names:
            st = os.lstat(os.path.join(dirpath, name))
            if (st.st_dev, st.st_ino) not in seen:
                seen.add((st.st_dev, st.st_ino))
                total += st.st_blocks * 512
    return total


# =====================================================================================================================
# 2. The steps (each runs in a forked child; returns a dict of extra figures; `wall_s` is set by the runner)
# =====================================================================================================================

def competition(comp, folder, work):
    """Everything a step needs to know about one competition."""
    if comp == "cifar10":
        normalize = T.Normalize(helpers.CIFAR10_MEAN, helpers.CIFAR10_STD)
        return dict(comp=comp, data_dir=folder, work=work, labels_file="trainLabels.csv", recipe="cifar10",
                    classes=sorted(helpers.CIFAR10_CLASSES), batch=128,
                    train_tf=T.Compose([T.Resize(40), T.RandomResizedCrop(32, scale=(0.64, 1.0), ratio=(1.0, 1.0)),
                                        T.RandomHorizontalFlip(), T.ToTensor(), normalize]),
                    test_tf=T.Compose([T.ToTensor(), normalize]))
    normalize = T.Normalize(helpers.IMAGENET_MEAN, helpers.IMAGENET_STD)
    return dict(comp=comp, data_dir=folder, work=work, labels_file="labels.csv", recipe="imagenet",
                classes=helpers.dog_breeds(), batch=128,
                train_tf=T.Compose([T.RandomResizedCrop(224, scale=(0.08, 1.0), ratio=(3 / 4, 4 / 3)),
                                    T.RandomHorizontalFlip(), T.ColorJitter(0.4, 0.4, 0.4), T.ToTensor(), normalize]),
                test_tf=T.Compose([T.Resize(256), T.CenterCrop(224), T.ToTensor(), normalize]))


def tiny_net(num_classes):
    """One convolution, pooled: the cost of prediction is then the data path's."""
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 8, 3, stride=2, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                         nn.Linear(8, num_classes))


def _vm():
    """This process's resident memory now: {'VmRSS': bytes, 'RssAnon': bytes}."""
    with open("/proc/self/status") as f:
        return {k: int(v.split()[0]) * 1024 for k, v in (line.split(":", 1) for line in f) if k in ("VmRSS", "RssAnon")}


def _predict_measured(net, loader, timings):
    """helpers.predict, with its time and how much this process's anonymous memory grew while it ran."""
    before, t0 = _vm(), time.perf_counter()
    probs = helpers.predict(net, loader, device=torch.device("cpu"))
    timings["predict_s"] = time.perf_counter() - t0
    timings["batches"] = len(loader)
    timings["anon_growth_in_predict_bytes"] = _vm()["RssAnon"] - before["RssAnon"]
    return probs


def _timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def step_reorg(c):
    n_valid, s = _timed(lambda: helpers.reorg_kaggle_data(c["data_dir"], c["labels_file"], VALID_RATIO))
    counts = helpers.split_counts(c["data_dir"])
    return {"wall_s": s, "n_valid_per_label": n_valid,
            "images": {split: sum(v.values()) for split, v in counts.items()},
            "classes": {split: len(v) for split, v in counts.items()}}


def step_reorg_again(c):
    root = Path(c["data_dir"]) / "train_valid_test"
    before = os.stat(root / "train_valid").st_mtime_ns
    n_valid, s = _timed(lambda: helpers.reorg_kaggle_data(c["data_dir"], c["labels_file"], VALID_RATIO))
    return {"wall_s": s, "n_valid_per_label": n_valid, "rebuilt": os.stat(root / "train_valid").st_mtime_ns != before}


def _cache_size(c):
    return FAST_RECIPES[c["recipe"]].get("cache_size")


def _step_cache(split):
    def step(c):
        folder = Path(c["data_dir"]) / "train_valid_test" / split
        ds, s = _timed(lambda: image_folder_cache(folder, _cache_size(c), store="disk"))
        cache_dir = folder.parent / f".{folder.name}.fastcache"
        return {"wall_s": s, "images": len(ds), "shape": list(ds.images.shape), "array_bytes": ds.images.nbytes,
                "cache_disk_bytes": disk_usage(cache_dir), "images_per_s": len(ds) / s}
    step.__name__ = f"step_cache_{split}"
    return step


def _save_probs(c, name, probs, ids):
    work = Path(c["work"])
    work.mkdir(parents=True, exist_ok=True)
    np.save(work / f"{name}_probs.npy", probs.numpy())
    (work / f"{name}_ids.json").write_text(json.dumps(ids))


def step_predict_imagefolder(c):
    timings = {}

    def run():
        datasets, loaders = helpers.reorganised_loaders(c["data_dir"], c["train_tf"], c["test_tf"], c["batch"])
        probs = _predict_measured(tiny_net(len(c["classes"])), loaders["test"], timings)
        ids = [Path(p).stem for p, _ in datasets["test"].samples]
        del loaders                                         # the persistent workers end here (and are waited for)
        return probs, ids, {s: len(d) for s, d in datasets.items()}
    (probs, ids, n), s = _timed(run)
    _save_probs(c, "imagefolder", probs, ids)
    return {"wall_s": s, **timings, "images": len(ids), "images_per_s": len(ids) / s,
            "num_workers": helpers.default_num_workers(), "split_images": n}


def step_predict_fast(c):
    timings = {}

    def run():
        t0 = time.perf_counter()
        datasets, loaders = helpers.fast_loaders(c["data_dir"], c["batch"], recipe=c["recipe"], device="cpu")
        timings["fast_loaders_s"] = time.perf_counter() - t0
        # bytes of image arrays the loaders hold BESIDES the datasets' arrays (e.g. channels-last copies on a CPU)
        timings["loader_copies_bytes"] = sum(
            loader.images.nbytes for split, loader in loaders.items()
            if loader.images.untyped_storage().data_ptr() != datasets[split].images.untyped_storage().data_ptr())
        probs = _predict_measured(tiny_net(len(c["classes"])), loaders["test"], timings)
        return probs, [Path(p).stem for p, _ in datasets["test"].samples], datasets
    (probs, ids, datasets), s = _timed(run)
    _save_probs(c, "fast", probs, ids)
    held = {split: ds.images.nbytes for split, ds in datasets.items()}
    return {"wall_s": s, **timings, "images": len(ids), "images_per_s": len(ids) / timings["predict_s"],
            "split_array_bytes": held, "all_splits_bytes": sum(held.values())}


def step_predict_fast_memmap(c):
    """The low-memory variant: only the test split, memory-mapped from its .npy, loader kept in host memory."""
    timings = {}

    def run():
        t0 = time.perf_counter()
        folder = Path(c["data_dir"]) / "train_valid_test" / "test"
        ds = image_folder_cache(folder, _cache_size(c), store="disk", memmap=True)
        recipe = FAST_RECIPES[c["recipe"]]
        loader = FastLoader(ds.images, ds.targets, c["batch"], recipe, train=False, device="cpu", dataset=ds,
                            sizes=ds.sizes if recipe.get("cache_size") else None, on_device=False)
        timings["load_s"] = time.perf_counter() - t0
        probs = _predict_measured(tiny_net(len(c["classes"])), loader, timings)
        return probs, [Path(p).stem for p, _ in ds.samples]
    (probs, ids), s = _timed(run)
    fast = Path(c["work"]) / "fast_probs.npy"
    same = None
    if fast.exists():
        ref = np.load(fast)
        same = bool(ref.shape == probs.shape and np.array_equal(ref, probs.numpy()))
    return {"wall_s": s, **timings, "images": len(ids), "images_per_s": len(ids) / timings["predict_s"],
            "identical_to_predict_fast": same}


def step_submission(c):
    work, test_dir = Path(c["work"]), Path(c["data_dir"]) / "test"
    source = "fast" if (work / "fast_probs.npy").exists() else "imagefolder"
    probs = np.load(work / f"{source}_probs.npy")
    ids = json.loads((work / f"{source}_ids.json").read_text())
    path = work / "submission.csv"
    t0 = time.perf_counter()
    if c["comp"] == "cifar10":
        helpers.write_cifar_submission(path, ids, [c["classes"][i] for i in probs.argmax(1)])
        write_s = time.perf_counter() - t0
        df = helpers.validate_cifar_submission(path, test_dir)
    else:
        helpers.write_dog_submission(path, ids, probs, c["classes"])
        write_s = time.perf_counter() - t0
        df = helpers.validate_dog_submission(path, test_dir, helpers.dog_breeds())
    s = time.perf_counter() - t0
    out = {"wall_s": s, "write_s": write_s, "validate_s": s - write_s, "rows": len(df), "columns": len(df.columns),
           "probs_from": source, "file_bytes": path.stat().st_size}
    other = work / "imagefolder_probs.npy"
    if source == "fast" and other.exists():          # the two data paths against each other, image by image
        ref = np.load(other)
        ref_ids = json.loads((work / "imagefolder_ids.json").read_text())
        out["same_ids_in_same_order"] = ref_ids == ids
        if ref.shape == probs.shape:
            out["argmax_agreement_fast_vs_imagefolder"] = float((ref.argmax(1) == probs.argmax(1)).mean())
            out["max_abs_prob_diff_fast_vs_imagefolder"] = float(np.abs(ref - probs).max())
    return out


STEP_FUNCTIONS = {"reorg": step_reorg, "reorg_again": step_reorg_again,
                  **{f"cache_{s}": _step_cache(s) for s in ("train", "valid", "train_valid", "test")},
                  "predict_imagefolder": step_predict_imagefolder, "predict_fast": step_predict_fast,
                  "predict_fast_memmap": step_predict_fast_memmap, "submission": step_submission}


def before_step(name, c):
    """Parent-side preparation, not timed: make the step start cold. Returns seconds spent."""
    t0 = time.perf_counter()
    root = Path(c["data_dir"]) / "train_valid_test"
    if name == "reorg" and root.exists():
        shutil.rmtree(root)                               # reorganise from scratch (also drops the decode caches)
    if name.startswith("cache_"):
        split = name[len("cache_"):]
        shutil.rmtree(root / f".{split}.fastcache", ignore_errors=True)   # decode from the image files
    if name == "predict_fast":                            # the variants must not read an older run's figures
        for f in Path(c["work"]).glob("fast_*"):
            f.unlink()
    if name == "predict_imagefolder":
        for f in Path(c["work"]).glob("imagefolder_*"):
            f.unlink()
    return time.perf_counter() - t0


# =====================================================================================================================
# 3. The runner: fork, sample the process tree's memory, reap with wait4 (its rusage gives the child's peak RSS)
# =====================================================================================================================

def _children_map():
    kids = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            kids.setdefault(ppid, []).append(int(entry))
    return kids


def tree_memory(pid):
    """Sum over pid and its descendants of smaps_rollup's Pss and Pss_Anon + Pss_Shmem, in bytes; (None, None) if
    /proc cannot tell."""
    kids, todo, pss, anon = _children_map(), [pid], 0, 0
    seen = False
    while todo:
        p = todo.pop()
        todo += kids.get(p, [])
        try:
            with open(f"/proc/{p}/smaps_rollup") as f:
                next(f, None)                                 # the address-range line
                fields = dict(line.split(":", 1) for line in f if ":" in line)
        except OSError:
            continue
        kb = lambda k: int(fields.get(k, "0 kB").split()[0]) * 1024    # noqa: E731
        pss += kb("Pss")
        anon += kb("Pss_Anon") + kb("Pss_Shmem")
        seen = True
    return (pss, anon) if seen else (None, None)


def verdict(peak):
    if peak is None:
        return "unknown"
    if peak > COLAB_RAM:
        return "EXCEEDS 12 GB"
    return "TIGHT" if peak > TIGHT else "ok"


def run_step(name, c):
    """Run one step in a forked child; return its record (figures, peaks, verdict, or the error)."""
    prep_s = before_step(name, c)
    result = Path(c["work"]) / f".result_{name}.json"
    result.parent.mkdir(parents=True, exist_ok=True)
    result.unlink(missing_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    load = open("/proc/loadavg").read().split()[:3]
    parent = {k: v for k, v in (line.split(":", 1) for line in open("/proc/self/status")) if k in ("VmRSS", "RssAnon")}
    t0 = time.perf_counter()
    pid = os.fork()
    if pid == 0:                                          # the child: run, write the result, leave without cleanup
        code = 0
        try:
            out = STEP_FUNCTIONS[name](c)
        except BaseException as e:                        # noqa: BLE001 - every failure is a finding to report
            out = {"error": f"{type(e).__name__}: {e}", "traceback": traceback.format_exc()[-3000:]}
            code = 1
        try:
            result.write_text(json.dumps(out, default=str))
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
    peak_pss = peak_anon = 0
    sampled = False
    while True:
        done, status, usage = os.wait4(pid, os.WNOHANG)
        if done:
            break
        pss, anon = tree_memory(pid)
        if pss is not None:
            sampled = True
            peak_pss, peak_anon = max(peak_pss, pss), max(peak_anon, anon)
        time.sleep(SAMPLE_EVERY_S)
    total_s = time.perf_counter() - t0
    record = {"comp": c["comp"], "step": name, "total_s": round(total_s, 2), "prep_s": round(prep_s, 2),
              "loadavg_at_start": load, "parent_at_fork": {k: v.strip() for k, v in parent.items()},
              "exit_code": os.waitstatus_to_exitcode(status),
              "peak_rss_bytes": usage.ru_maxrss * 1024,
              "peak_tree_pss_bytes": peak_pss if sampled else None,
              "peak_tree_anon_shmem_bytes": peak_anon if sampled else None}
    try:
        record.update(json.loads(result.read_text()))
        result.unlink()
    except (OSError, ValueError):
        record["error"] = record.get("error") or f"the step's process ended with exit code {record['exit_code']} " \
                                                 f"and no result (killed? out of memory?)"
    peak = max(record["peak_rss_bytes"], record["peak_tree_pss_bytes"] or 0)
    record["peak_bytes"] = peak
    record["verdict"] = "FAILED" if "error" in record else verdict(peak)
    return record


# =====================================================================================================================
# 4. Report
# =====================================================================================================================

def gb(n):
    return "-" if n is None else f"{n / GiB:.2f}"


def note(r):
    if "error" in r:
        return r["error"][:70]
    step = r["step"]
    if step.startswith("cache_"):
        return (f"{r['images']:,} img, {r['images_per_s']:,.0f} img/s, "
                f"cache {r['cache_disk_bytes'] / 1e6:,.0f} MB on disk")
    if step == "reorg":
        return f"{r['n_valid_per_label']} valid/class; " + ", ".join(f"{k} {v:,}" for k, v in r["images"].items())
    if step == "reorg_again":
        return "rebuilt!" if r["rebuilt"] else "nothing redone (idempotent)"
    growth = f"; predict +{r.get('anon_growth_in_predict_bytes', 0) / GiB:.2f} GiB anon in {r.get('batches')} batches"
    if step == "predict_imagefolder":
        return f"{r['images']:,} img, {r['images_per_s']:,.0f} img/s, {r['num_workers']} worker(s)" + growth
    if step == "predict_fast":
        return (f"4 splits {r['all_splits_bytes'] / GiB:.2f} GiB + loader copies {r['loader_copies_bytes'] / GiB:.2f}"
                f" GiB, loaded in {r['fast_loaders_s']:.0f} s; {r['images_per_s']:,.0f} img/s" + growth)
    if step == "predict_fast_memmap":
        same = {True: "same probs", False: "DIFFERENT probs", None: ""}[r["identical_to_predict_fast"]]
        return f"test only, memmap; {r['images_per_s']:,.0f} img/s; {same}" + growth
    if step == "submission":
        agree = r.get("argmax_agreement_fast_vs_imagefolder")
        return (f"{r['rows']:,} x {r['columns']}, write {r['write_s']:.1f} s, validate {r['validate_s']:.1f} s"
                + (f"; fast vs ImageFolder argmax agree {agree:.2%}" if agree is not None else ""))
    return ""


def print_table(records, generation, floor):
    head = f"{'competition':<12}{'step':<22}{'wall s':>9}{'peak RSS':>10}{'tree PSS':>10}{'anon+shm':>10}  " \
           f"{'vs 12 GB':<14}note"
    print("\n" + head + "\n" + "-" * (len(head) + 40))
    for comp, g in generation.items():
        print(f"{comp:<12}{'generate':<22}{g['seconds']:>9.1f}{'':>30}  {'(cached)' if g['cached'] else '':<14}"
              f"{g['files']:,} files, {g['bytes'] / 1e9:.2f} GB ({g['disk_bytes'] / 1e9:.2f} GB on disk)")
    for r in records:
        wall = r.get("wall_s")
        print(f"{r['comp']:<12}{r['step']:<22}{(f'{wall:.1f}' if wall is not None else '-'):>9}"
              f"{gb(r['peak_rss_bytes']):>10}{gb(r['peak_tree_pss_bytes']):>10}"
              f"{gb(r['peak_tree_anon_shmem_bytes']):>10}"
              f"  {r['verdict']:<14}{note(r)}")
    print("memory in GiB. peak RSS: the step's process (wait4 ru_maxrss, exact); tree PSS: the process and its "
          "loader workers,\nsampled every 0.2 s; anon+shm: the part of it that is not reclaimable page cache. "
          f"Verdict on the larger of the two: ok <= {TIGHT / GiB:.0f}, TIGHT <= {COLAB_RAM / GiB:.0f}, else EXCEEDS.\n"
          f"Steps are forked from a process that has imported helpers and count only the pages they touch; a fresh "
          f"process that imports helpers peaks at {floor / GiB:.2f} GiB RSS.")


def advice(records):
    """What a Colab learner must set, from the measured figures."""
    lines = []
    for comp in dict.fromkeys(r["comp"] for r in records):
        rs = {r["step"]: r for r in records if r["comp"] == comp}
        bad = [r for r in rs.values() if r["verdict"] in ("EXCEEDS 12 GB", "TIGHT", "FAILED")]
        for r in bad:
            lines.append(f"{comp}: {r['step']} is {r['verdict']} (peak {gb(r['peak_bytes'])} GiB)"
                         + (f": {r['error']}" if "error" in r else ""))
        fast, low = rs.get("predict_fast"), rs.get("predict_fast_memmap")
        if fast and "error" not in fast:
            lines.append(f"{comp}: fast_loaders holds all four splits in host memory: "
                         f"{fast['all_splits_bytes'] / GiB:.2f} GiB of uint8 arrays "
                         f"({', '.join(f'{k} {v / GiB:.2f}' for k, v in fast['split_array_bytes'].items())}), "
                         f"plus {fast['loader_copies_bytes'] / GiB:.2f} GiB of copies made by the loaders here; with "
                         f"device='cuda' (Colab) the datasets' host arrays stay referenced and the same bytes go to "
                         f"the GPU.")
            if low and "error" not in low:
                lines.append(f"{comp}: predicting from the memory-mapped test cache alone peaks at "
                             f"{gb(low['peak_bytes'])} GiB (anon+shm {gb(low['peak_tree_anon_shmem_bytes'])}) vs "
                             f"{gb(fast['peak_bytes'])} GiB for fast_loaders.")
        for r in rs.values():      # memory that grows with the number of batches: a leak or a fragmented heap
            if r.get("anon_growth_in_predict_bytes", 0) > 0.5 * GiB and r.get("batches", 0) >= 10:
                lines.append(f"{comp}: {r['step']}: the process's anonymous memory grew by "
                             f"{r['anon_growth_in_predict_bytes'] / GiB:.2f} GiB while helpers.predict ran "
                             f"({r['batches']} batches, {r['anon_growth_in_predict_bytes'] / r['batches'] / 2**20:.1f}"
                             f" MiB per batch)")
    return lines


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="1/50 of the sizes (dogs: 3 photos per breed)")
    parser.add_argument("--comp", choices=["cifar10", "dog", "both"], default="both")
    parser.add_argument("--steps", default=",".join(STEPS), help=f"comma-separated subset of: {','.join(STEPS)}")
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="where the synthetic folders go (default: <COURSE_DATA_DIR or data/>/rehearsal/"
                             "{full,quick})")
    parser.add_argument("--workers", type=int, default=None, help="generation processes (default: one per core)")
    parser.add_argument("--out", type=Path, default=None,
                        help="JSON results (default: outputs/rehearsal.json; --quick: outputs/rehearsal_quick.json)")
    args = parser.parse_args(argv)
    steps = [s.strip() for s in args.steps.split(",") if s.strip()]
    unknown = sorted(set(steps) - set(STEPS))
    if unknown:
        parser.error(f"unknown steps {unknown}; known: {STEPS}")
    mode = "quick" if args.quick else "full"
    root = args.data_dir or helpers.data_dir_root() / "rehearsal" / mode
    comps = ["cifar10", "dog"] if args.comp == "both" else [args.comp]
    out = args.out or helpers.output_dir() / ("rehearsal_quick.json" if args.quick else "rehearsal.json")

    load_before = open("/proc/loadavg").read().strip()
    print(f"rehearsal ({mode}) in {root}; load average {load_before}; {os.cpu_count()} cores")
    usage = shutil.disk_usage(root.parent if not root.exists() else root) if root.parent.exists() else None
    if usage:
        print(f"disk: {usage.free / 1e9:.0f} GB free")
    floor = fresh_import_peak()
    print(f"a fresh process that imports helpers peaks at {floor / GiB:.2f} GiB RSS (the floor of every step)")
    generation, records, t_start = {}, [], time.perf_counter()
    for comp in comps:
        n_train, n_test = SIZES[mode][comp]
        folder = root / ("kaggle_cifar10" if comp == "cifar10" else "kaggle_dog")
        print(f"[{comp}] generating {n_train:,} train + {n_test:,} test images in {folder} (skipped if cached)",
              flush=True)
        generation[comp] = generate_apart(comp, folder, n_train, n_test, workers=args.workers)
        g = generation[comp]
        took = "cached" if g["cached"] else f"{g['seconds']:.1f} s"
        print(f"[{comp}] generation: {took}, {g['files']:,} files, "
              f"{g['disk_bytes'] / 1e9:.2f} GB on disk", flush=True)
        c = competition(comp, folder, root / "work" / comp)
        for name in steps:
            print(f"[{comp}] {name} ...", flush=True)
            r = run_step(name, c)
            records.append(r)
            print(f"[{comp}] {name}: {r.get('wall_s', float('nan')):.1f} s, peak {gb(r['peak_bytes'])} GiB, "
                  f"{r['verdict']}; {note(r)}", flush=True)
            if "traceback" in r:
                print("    " + r["traceback"].strip().replace("\n", "\n    "), flush=True)
    load_after = open("/proc/loadavg").read().strip()
    print_table(records, generation, floor)
    notes = advice(records)
    if notes:
        print("\n" + "\n".join(f"- {line}" for line in notes))
    print(f"\nload average before {load_before}; after {load_after}; "
          f"total {time.perf_counter() - t_start:.0f} s")
    report = {"mode": mode, "data_dir": str(root), "sizes": {k: SIZES[mode][k] for k in comps},
              "fresh_import_peak_rss_bytes": floor, "limit_bytes": COLAB_RAM, "tight_bytes": TIGHT,
              "loadavg_before": load_before,
              "loadavg_after": load_after, "machine": {"cores": os.cpu_count(), "platform": platform.platform(),
                                                      "python": platform.python_version(),
                                                      "torch": torch.__version__,
                                                      "ram_bytes": os.sysconf("SC_PAGE_SIZE")
                                                      * os.sysconf("SC_PHYS_PAGES")},
              "generation": generation, "steps": records, "notes": notes}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=1, default=str))
    print(f"wrote {out}")
    return 1 if any("error" in r for r in records) else 0


if __name__ == "__main__":
    sys.exit(main())
