"""Synthetic stand-in datasets with exactly the real on-disk layouts, for machines that cannot download the real
data (offline, CI). A stand-in always says so: a STANDIN_README.txt in its folder, a boxed banner when it is used,
and the [STAND-IN DATA] tag on every result printed afterwards (see caveats)."""
import colorsys
import csv
import hashlib
import json
import math
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

from . import caveats
from .constants import CIFAR10_CLASSES, DOG_BREEDS
from .messages import LearnerError, tr
from .settings import REPO_DIR, mode_forced

# Where each dataset's archive extracts to, relative to the data root.
EXTRACTED_FOLDER = {"hotdog": "hotdog", "cifar10_tiny": "kaggle_cifar10_tiny", "dog_tiny": "kaggle_dog_tiny",
                    "leaves": "classify-leaves"}
STANDIN_MARKER = "STANDIN_README.txt"
# A stand-in generator that changed gets a version here, so that folders built by the old one are rebuilt.
# dog_tiny 2: breed colours (dog_image), so random-weight features tell breeds apart; leaves 2: planted duplicates.
STANDIN_VERSION = {"dog_tiny": 2, "leaves": 2}

STANDIN_DEFAULTS = {
    # hotdog: the real set has 1,000 + 1,000 train and 400 + 400 test images of varying size.
    "hotdog": {"n_train": 120, "n_test": 40, "size": (96, 320)},
    # cifar10_tiny: 1,000 train images (ids 1..1000) and 5 test images, all 32x32 PNG.
    "cifar10_tiny": {"n_train": 1000, "n_test": 5, "size": 32},
    # dog_tiny: about 1,000 train JPEGs over 120 breeds and 10 test images, a few hundred pixels a side.
    "dog_tiny": {"n_train": 1000, "n_test": 10, "size": (200, 500)},
    # leaves (Classify Leaves): 18,353 train and 8,800 test 224x224 JPEGs in one images/ folder, 176 species.
    "leaves": {"n_train": 1000, "n_test": 100, "size": 224, "num_classes": 40},
}


def synthetic_image(rng, class_index, num_classes, height, width):
    """One (height, width, 3) uint8 image whose class shows as a hue, a stripe angle and a blob.

    The signal survives flips, crops, resizing and brightness jitter, so that a small net learns it in seconds.
    Classes differ by hue (12 steps) and, past 12 classes, by saturation and stripe angle.
    """
    hue = (class_index % 12) / 12 + rng.normal(0, 0.012)
    sat = 0.75 if (class_index // 12) % 2 == 0 else 0.45
    angle = math.pi * ((class_index // 24) % 5) / 5
    yy, xx = np.mgrid[0:height, 0:width] / max(height, width)
    phase = rng.uniform(0, 2 * math.pi)
    freq = 6 if (class_index // 120) % 2 == 0 else 11                   # classes past 120 (leaves): finer stripes
    stripes = 0.5 + 0.5 * np.sin(2 * math.pi * freq * (xx * math.cos(angle) + yy * math.sin(angle)) + phase)
    value = 0.55 + 0.3 * stripes
    cy, cx, r = rng.uniform(0.3, 0.7), rng.uniform(0.3, 0.7) * width / max(height, width), rng.uniform(0.15, 0.3)
    blob = ((yy - cy) ** 2 + (xx - cx) ** 2 * 0.5) < r**2       # an elongated blob ("the object")
    value = np.where(blob, 0.95, value)
    pure = np.array(colorsys.hsv_to_rgb(hue % 1.0, 1.0, 1.0))         # the hue at full saturation and value
    sat_map = np.where(blob, sat * 0.6, sat)[..., None]
    rgb = value[..., None] * ((1 - sat_map) + sat_map * pure)          # HSV -> RGB for one hue
    rgb += rng.normal(0, 0.06, rgb.shape)
    return (np.clip(rgb, 0, 1) * 255).astype(np.uint8)


def dog_image(rng, breed_index, height, width):
    """One (height, width, 3) uint8 picture for the dog-breed stand-in: a spotted "dog" (an oval body and a round
    head, at a random place, size, angle and facing) in its breed's coat and marking colours, on a background of the
    breed's own colour.

    A breed's three colours are drawn from a generator seeded with its index, so every picture of a breed shares
    them, and they cover dark and light, dull and vivid, every hue: so a random crop of 8% of the picture still
    shows breed colours, and even a randomly initialised ResNet-34 tells many breeds apart (notebook 40 runs one
    offline). Real breeds do not differ by their background: the stand-in tests code paths, not dog recognition.
    """
    breed = np.random.default_rng(10_000 + breed_index)
    coat, marking, background = breed.uniform(0.05, 0.95, (3, 3))
    yy, xx = np.mgrid[0:height, 0:width] / max(height, width)
    cy, cx = rng.uniform(0.4, 0.6) * height / max(height, width), rng.uniform(0.35, 0.65) * width / max(height, width)
    size, facing = rng.uniform(0.22, 0.32), rng.choice([-1, 1])
    u, v = _rotated(yy, xx, cy, cx, rng.uniform(-0.5, 0.5))
    body = (u / size) ** 2 + (v / (size * 0.55)) ** 2 < 1
    head = (u - facing * size * 1.05) ** 2 + (v + size * 0.45) ** 2 < (size * 0.42) ** 2
    spots = np.sin(u * 40 + breed_index) * np.sin(v * 40) > 0.3
    img = np.where((body | head)[..., None], np.where(spots[..., None], marking, coat), background)
    img = img * (1 + 0.08 * np.sin(2 * math.pi * rng.uniform(5, 15) * (xx + yy)))[..., None]    # light and shade
    img = img + rng.normal(0, 0.05, img.shape)
    return (np.clip(img, 0, 1) * 255).astype(np.uint8)


def _save_image(array, path):
    from PIL import Image
    img = Image.fromarray(array)
    if path.suffix == ".jpg":
        img.save(path, quality=90)
    else:
        img.save(path)


def _random_size(rng, size):
    if isinstance(size, int):
        return size, size
    lo, hi = size
    return int(rng.integers(lo, hi + 1)), int(rng.integers(lo, hi + 1))


def make_standin(name, root, n_train=None, n_test=None, size=None, num_classes=None, seed=0):
    """Write a synthetic stand-in for dataset `name` under `root` and return its folder (the real layout).

    hotdog:        <root>/hotdog/{train,test}/{hotdog,not-hotdog}/<n>.png        (n_train, n_test are PER CLASS)
    cifar10_tiny:  <root>/kaggle_cifar10_tiny/{train/<id>.png, test/<id>.png, trainLabels.csv}   (ids from 1)
    dog_tiny:      <root>/kaggle_dog_tiny/{train/<hexid>.jpg, test/<hexid>.jpg, labels.csv}       (id,breed)
    leaves:        <root>/classify-leaves/{images/<n>.jpg, train.csv (image,label), test.csv (image)}, with a
                   long-tailed class distribution (every class has at least 2 training images)

    size is an int (square) or a (min, max) range of side lengths in pixels. num_classes limits the classes used
    (dog_tiny: the first breeds in sorted order). A file STANDIN_README.txt in the folder says loudly what it is.
    """
    if name not in STANDIN_DEFAULTS:
        raise KeyError(f"No stand-in for {name!r}; known: {sorted(STANDIN_DEFAULTS)}")
    spec = {**STANDIN_DEFAULTS[name]}
    spec.update({k: v for k, v in dict(n_train=n_train, n_test=n_test, size=size, num_classes=num_classes).items()
                 if v is not None})
    rng = np.random.default_rng(seed)
    out = Path(root) / EXTRACTED_FOLDER[name]
    if out.exists():
        shutil.rmtree(out)
    if name == "leaves":
        _make_leaves(out, spec, rng)
    elif name == "hotdog":
        _make_hotdog(out, spec, rng)
    else:
        _make_kaggle(name, out, spec, rng)
    # English, then Chinese: whoever opens the folder can read it
    (out / STANDIN_MARKER).write_text(
        f"STAND-IN DATA. This folder is a SYNTHETIC replacement for the {name!r} dataset, made by "
        f"machinery.standins.make_standin\nwith {json.dumps(spec)}, seed {seed}. It has the real layout, but its "
        f"images are synthetic:\nnumbers measured on it say nothing about the real dataset.\n\n"
        f"替身数据。这个目录是 {name!r} 数据集的合成替身，由 machinery.standins.make_standin 生成（参数 "
        f"{json.dumps(spec)}，随机种子 {seed}）。它的目录结构与真实数据相同，但图像是合成的："
        f"在它上面测得的数字不能说明真实数据集的任何情况。\n",
        encoding="utf-8")
    return out


def _rotated(yy, xx, cy, cx, angle):
    """Coordinates (u along the angle, v across it) relative to the centre (cy, cx)."""
    dy, dx = yy - cy, xx - cx
    return dx * math.cos(angle) + dy * math.sin(angle), -dx * math.sin(angle) + dy * math.cos(angle)


def _food_colour(rng, value=(0.45, 0.95)):
    """A food colour: any hue from red through orange and yellow to brown or green, for BOTH classes."""
    hue = rng.choice([rng.uniform(0.0, 0.17), rng.uniform(0.2, 0.4)], p=[0.8, 0.2])
    return np.array(colorsys.hsv_to_rgb(hue, rng.uniform(0.35, 0.9), rng.uniform(*value)))


def food_image(rng, hotdog, height, width):
    """One (height, width, 3) uint8 photo-like image for the hotdog stand-in.

    The classes differ in SHAPE and TEXTURE, not in colour: both draw their colours from the same food palette on a
    random textured table. A hot dog is a long bun with a narrower, longer sausage lying in it (and often a wavy
    sauce line); other food is a round dish with scattered toppings, a layered rectangular sandwich, or a few
    separate round pieces. Objects vary in size, position and angle, so random crops can cut them, and a small
    net needs several epochs to learn them.
    """
    yy, xx = np.mgrid[0:height, 0:width] / max(height, width)
    h, w = height / max(height, width), width / max(height, width)
    table = np.array(colorsys.hsv_to_rgb(rng.uniform(0, 1), rng.uniform(0.05, 0.35), rng.uniform(0.55, 0.9)))
    grain = 0.06 * np.sin(2 * math.pi * rng.uniform(8, 30) * (xx * math.cos(rng.uniform(0, math.pi))
                                                               + yy * math.sin(rng.uniform(0, math.pi))))
    img = table * (1 + grain[..., None])
    cy, cx = rng.uniform(0.35, 0.65) * h, rng.uniform(0.35, 0.65) * w
    size = rng.uniform(0.22, 0.4) * min(h, w) * 2
    angle = rng.uniform(-0.6, 0.6) if rng.uniform() < 0.8 else rng.uniform(0, math.pi)

    def paint(mask, colour, shade=0.0):
        nonlocal img
        img = np.where(mask[..., None], colour * (1 - shade), img)

    if hotdog:
        u, v = _rotated(yy, xx, cy, cx, angle)
        length = size * rng.uniform(1.0, 1.3)
        bun = (u / length) ** 2 + (v / (length * rng.uniform(0.28, 0.36))) ** 2 < 1
        sausage = (u / (length * 1.12)) ** 2 + (v / (length * rng.uniform(0.1, 0.14))) ** 2 < 1
        paint(bun, _food_colour(rng, (0.7, 0.95)))
        paint(sausage, _food_colour(rng, (0.35, 0.7)))
        if rng.uniform() < 0.7:                                          # a wavy line of sauce along the sausage
            wave = np.abs(v - length * 0.03 * np.sin(u / length * rng.uniform(12, 20))) < length * 0.02
            paint(wave & (np.abs(u) < length * 0.9), _food_colour(rng, (0.8, 1.0)))
    else:
        kind = rng.integers(0, 3)
        if kind == 0:                                                     # a round dish with toppings
            r = np.hypot(yy - cy, xx - cx)
            paint(r < size * 0.8, _food_colour(rng, (0.6, 0.95)))
            for _ in range(rng.integers(5, 12)):
                ty, tx = cy + rng.normal(0, size * 0.3), cx + rng.normal(0, size * 0.3)
                paint((np.hypot(yy - ty, xx - tx) < size * rng.uniform(0.06, 0.12)) & (r < size * 0.75),
                      _food_colour(rng, (0.3, 0.8)))
        elif kind == 1:                                                   # a layered sandwich
            u, v = _rotated(yy, xx, cy, cx, angle)
            box = (np.abs(u) < size * rng.uniform(0.6, 0.9)) & (np.abs(v) < size * rng.uniform(0.45, 0.7))
            layers = np.floor((v / size + 1) * rng.uniform(3, 6)) % 2 == 0
            paint(box, _food_colour(rng, (0.7, 0.95)))
            paint(box & layers, _food_colour(rng, (0.35, 0.8)))
        else:                                                             # a few separate round pieces
            for _ in range(rng.integers(3, 7)):
                ty, tx = cy + rng.normal(0, size * 0.5), cx + rng.normal(0, size * 0.5)
                paint(np.hypot(yy - ty, xx - tx) < size * rng.uniform(0.15, 0.3), _food_colour(rng, (0.4, 0.95)))
    img = img + rng.normal(0, 0.04, img.shape)
    return (np.clip(img, 0, 1) * 255).astype(np.uint8)


def _make_hotdog(out, spec, rng):
    for split, n in (("train", spec["n_train"]), ("test", spec["n_test"])):
        for cls in ("hotdog", "not-hotdog"):
            (out / split / cls).mkdir(parents=True)
            for k in range(n):
                h, w = _random_size(rng, spec["size"])
                _save_image(food_image(rng, cls == "hotdog", h, w), out / split / cls / f"{k}.png")


def _make_kaggle(name, out, spec, rng):
    """cifar10_tiny and dog_tiny: train/<id>, test/<id> and a label CSV."""
    (out / "train").mkdir(parents=True)
    (out / "test").mkdir()
    if name == "cifar10_tiny":
        classes, labels_csv, header, ext = CIFAR10_CLASSES, "trainLabels.csv", ("id", "label"), ".png"
        train_ids = [str(i) for i in range(1, spec["n_train"] + 1)]
        test_ids = [str(i) for i in range(1, spec["n_test"] + 1)]
    else:
        classes, labels_csv, header, ext = DOG_BREEDS, "labels.csv", ("id", "breed"), ".jpg"
        hexid = lambda: "".join(rng.choice(list("0123456789abcdef"), 32))  # noqa: E731
        train_ids = [hexid() for _ in range(spec["n_train"])]
        test_ids = [hexid() for _ in range(spec["n_test"])]
    classes = classes[: spec.get("num_classes") or len(classes)]
    # every class appears at least once when there are enough images, like the real samples
    train_labels = [classes[i % len(classes)] for i in range(len(train_ids))]
    rng.shuffle(train_labels)
    for split, ids, labels in (("train", train_ids, train_labels),
                               ("test", test_ids, rng.choice(classes, len(test_ids)))):
        for id_, label in zip(ids, labels):
            h, w = _random_size(rng, spec["size"])
            img = dog_image(rng, classes.index(label), h, w) if name == "dog_tiny" else \
                synthetic_image(rng, classes.index(label), len(classes), h, w)
            _save_image(img, out / split / f"{id_}{ext}")
    with open(out / labels_csv, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(zip(train_ids, train_labels))


def _make_leaves(out, spec, rng):
    """Classify Leaves layout: one images/ folder numbered train first, then test; CSVs of relative paths."""
    num_classes = spec["num_classes"]
    if spec["n_train"] < 2 * num_classes:
        raise ValueError(f"n_train={spec['n_train']} is too small: every one of {num_classes} classes needs 2 images")
    classes = [f"species_{k:03d}" for k in range(num_classes)]
    # long tail: 2 images per class, the rest shared out with Zipf-like weights
    weights = 1 / np.arange(1, num_classes + 1) ** 0.8
    counts = 2 + rng.multinomial(spec["n_train"] - 2 * num_classes, weights / weights.sum())
    train_labels = [c for c, n in zip(classes, counts) for _ in range(n)]
    rng.shuffle(train_labels)
    (out / "images").mkdir(parents=True)
    rows = []
    for n, label in enumerate([*train_labels, *rng.choice(classes, spec["n_test"])]):
        h, w = _random_size(rng, spec["size"])
        _save_image(synthetic_image(rng, classes.index(label), num_classes, h, w), out / "images" / f"{n}.jpg")
        rows.append((f"images/{n}.jpg", label))
    rows[: len(train_labels)] = _plant_duplicates(out, rows[: len(train_labels)], rows[len(train_labels):], rng)
    with open(out / "train.csv", "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows([("image", "label"), *rows[: len(train_labels)]])
    with open(out / "test.csv", "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows([("image",), *[(image,) for image, _ in rows[len(train_labels):]]])


# What the leaves stand-in plants, as the real set has them (docs/38_notes.md: 485 groups of byte-identical photos,
# 107 of them under two species names): copies of a training photo under the same label, under another label
# (a label conflict), re-saved at another JPEG quality (a near-duplicate; found at sizes of 48 px and up), and in
# the test set.
LEAVES_PLANTED = {"exact": 3, "conflict": 2, "near": 2, "test": 1}


def _plant_duplicates(out, train_rows, test_rows, rng):
    """Overwrite some photos of a leaves stand-in with copies of others (LEAVES_PLANTED). Only photos of classes
    with 4+ training photos are overwritten, so every class keeps 2+ of its own. Returns the new train rows."""
    rows = list(train_rows)
    counts = {}
    for _, label in rows:
        counts[label] = counts.get(label, 0) + 1
    picks = iter(rng.permutation(len(rows)).tolist())

    def pick(exclude=None):
        for k in picks:
            if counts[rows[k][1]] >= 4 and rows[k][1] != exclude:
                counts[rows[k][1]] -= 1
                return k
        return None
    for kind, n in LEAVES_PLANTED.items():
        for _ in range(n):
            src = pick()
            dst = pick(exclude=rows[src][1] if src is not None else None) if kind != "test" else None
            if src is None or (kind != "test" and dst is None):
                return rows                                   # too small a stand-in to plant more
            source = out / rows[src][0]
            target = out / (test_rows[len(test_rows) // 2][0] if kind == "test" else rows[dst][0])
            if kind == "near":
                from PIL import Image
                with Image.open(source) as img:
                    img.save(target, quality=88)
            else:
                shutil.copyfile(source, target)
            if kind in ("exact", "near"):
                rows[dst] = (rows[dst][0], rows[src][1])
    return rows


def is_standin(data_dir, tag=None):
    """True when data_dir (or a folder above it, up to 3 levels) is a stand-in made by make_standin.

    tag: a dataset name. When it is given and the folder is a stand-in, every later results_tag() carries
    'STAND-IN DATA: <tag>', as after get_dataset. This covers a stand-in reached through a path (such as a
    notebook's KAGGLE_*_DIR), which would otherwise pass as real data."""
    p = Path(data_dir).resolve()
    found = any((q / STANDIN_MARKER).exists() for q in [p, *list(p.parents)[:3]])
    if found and tag:
        caveats.add(f"data:{tag}", "STAND-IN DATA")
    return found


def banner(name, reason):
    """The boxed warning printed whenever a stand-in replaces dataset `name`; `reason` says why."""
    return caveats.boxed([tr("STAND-IN DATA: {name!r} is SYNTHETIC, generated on this machine.", name=name),
                          tr("Every number, plot and submission below describes the stand-in, NOT the real dataset. "
                             "Every result printed from now on starts with the tag {tag}.",
                             tag=f"[{tr('STAND-IN DATA')}]"),
                          tr("Why: {reason}", reason=reason),
                          tr("For real data: set COURSE_DATA_MODE=real (or auto) on a machine that can download "
                             "it.")], "#")


def standin_folder(name, root, reason=None, **standin_kwargs):
    """The stand-in for `name` under <root>/standin/<name>-<hash of standin_kwargs>/, built once (aside, then
    renamed into place, so that it is never half-built). Prints the banner and tags every later result."""
    if reason is None:
        reason = tr("the stand-in was asked for (mode 'standin', forced by COURSE_DATA_MODE).") if mode_forced() \
            else tr("the stand-in was asked for (mode 'standin').")
    root = Path(root)
    versioned = {**standin_kwargs, **({"version": STANDIN_VERSION[name]} if name in STANDIN_VERSION else {})}
    key = hashlib.sha1(json.dumps(versioned, sort_keys=True, default=str).encode()).hexdigest()[:8]
    parent = root / "standin" / f"{name}-{key}"
    folder = parent / EXTRACTED_FOLDER[name]
    if not (folder / STANDIN_MARKER).exists():
        root.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=root))
        try:
            make_standin(name, tmp, **standin_kwargs)
            if parent.exists():
                shutil.rmtree(parent)
            parent.parent.mkdir(parents=True, exist_ok=True)
            os.replace(tmp, parent)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    is_standin(folder, tag=name)
    print(banner(name, reason))
    print(tr("Stand-in folder: {folder}", folder=folder))
    return folder


class DataFolderError(LearnerError, FileNotFoundError):
    """A dataset folder given by the learner (a notebook's *_DIR parameter) that is missing or lacks part of the
    dataset's layout; the message shows the resolved path and what the folder must hold."""


# What a dataset's folder must hold, real or stand-in (paths relative to the folder).
LAYOUTS = {"hotdog": ["train/hotdog", "train/not-hotdog", "test/hotdog", "test/not-hotdog"],
           "cifar10_tiny": ["train", "test", "trainLabels.csv"],
           "dog_tiny": ["train", "test", "labels.csv"],
           "leaves": ["images", "train.csv", "test.csv"]}
# A learner's own folder (a notebook's *_DIR): other hot-dog sets name their class folders otherwise ('hot_dog',
# 'nothotdog'), and notebook 37 finds the hot dogs by name (machinery.classfolders).
USER_LAYOUTS = {**LAYOUTS, "hotdog": ["train", "test"]}


def missing_parts(name, folder, layouts=LAYOUTS):
    """The parts of dataset `name`'s layout that `folder` lacks ([] when it has them all)."""
    return [part for part in layouts[name] if not (Path(folder) / part).exists()]


def announce(name, folder, note=None):
    """Say which data `folder` holds (tagging the results when it is a stand-in) and return it as a Path."""
    folder = Path(folder)
    if is_standin(folder, tag=name):
        print(tr("STAND-IN DATA for {name!r} (reached through a path): {folder}", name=name, folder=folder))
    else:
        caveats.drop(f"data:{name}")
        print(tr("Using the real {name!r} data in {folder}", name=name, folder=folder)
              + (tr(" ({note})", note=note) if note else ""))
    return folder


def extracted_folder(name, root):
    """<root>/<the dataset's folder> when it is there with the whole layout and is not a stand-in, else None:
    data extracted by hand, without the archive."""
    folder = Path(root) / EXTRACTED_FOLDER[name]
    if folder.is_dir() and not missing_parts(name, folder) and not is_standin(folder):
        return folder
    return None


def user_path(folder):
    """A folder given by the learner as an absolute Path: '~' expanded, a relative path taken from the repository
    root (one rule for every notebook, wherever the kernel runs)."""
    return (REPO_DIR / Path(folder).expanduser()).resolve()


def user_folder(name, folder, tag=None):
    """A dataset folder given by the learner (a notebook's *_DIR parameter): '~' expanded, a relative path taken
    from the repository root (one rule for every notebook, wherever the kernel runs), the layout checked with a
    DataFolderError that shows the resolved path. Returns the resolved Path, announced as real or stand-in."""
    path = user_path(folder)
    missing = missing_parts(name, path, USER_LAYOUTS) if path.is_dir() else None
    if missing is None or missing:
        held_out = [d for d in ("val", "valid", "validation") if missing == ["test"] and (path / d).is_dir()]
        raise DataFolderError(
            tr("{path} (from {folder!r}; a relative path is taken from the repository root {repo}) ",
               path=path, folder=str(folder), repo=REPO_DIR)
            + (tr("does not exist") if missing is None else tr("lacks {missing}", missing=missing))
            + tr(". A {name!r} folder holds {layout}: point to the unpacked download, or leave the parameter at "
                 "None.", name=name, layout=USER_LAYOUTS[name])
            + ("" if not held_out else " " + tr("It has {found}/: if that holds the held-out photos, rename it to "
                                                "test/.", found=held_out[0])))
    return announce(tag or name, path)
