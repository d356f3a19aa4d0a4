"""Real photos for the tests, laid out as the four datasets of lectures 37-40 (no download: the files come from wheels).

Where every file comes from (read from the installed packages, never fetched; skimage is NOT imported, so none of
its pooch downloads can run):

  scikit-image (>= 0.22; checked with 0.26.0), folder skimage/data/ of the wheel:
    real photographs, RGB PNG:   astronaut.png 512x512, chelsea.png 451x300 (a cat), coffee.png 600x400,
                                 ihc.png 512x512 (a microscope slide), motorcycle_left.png and
                                 motorcycle_right.png 741x500 (a stereo pair)
    real photographs, RGB JPEG:  hubble_deep_field.jpg 1000x872, retina.jpg 1411x1411, rocket.jpg 640x427
    real photographs, grey PNG:  brick.png, camera.png, grass.png, gravel.png, moon.png 512x512, cell.png 550x660
                                 (portrait), clock_motion.png 400x300, coins.png 384x303, microaneurysms.png
                                 102x102, page.png 384x191 (a scanned page), text.png 448x172
    real files that are not photographs: logo.png 500x500 RGBA, no_time_for_that_tiny.gif 14x25, palette (P),
                                 24 frames (PIL reads the first)
  matplotlib (>= 3.6), folder matplotlib/mpl-data/sample_data/ (what matplotlib.cbook.get_sample_data reads):
    grace_hopper.jpg 512x600 RGB JPEG (portrait), Minduka_Present_Blue_Pack.png 128x128 RGBA (a product photo with
    a transparent background)

That is 22 photographs and 2 other real files (`SOURCES`). Everything else below is DERIVED from them, and named so:

  hotdog/       {train,test}/{hotdog,not-hotdog}/: 18 files. 16 are byte-for-byte copies of sources (their real
                formats, modes and sizes, 14x25 to 1411x1411); 2 are derived: chelsea quantised to a 64-colour
                palette PNG (mode P) and the GIF's first frame saved as a palette PNG.
  kaggle_cifar10_tiny/  train/<id>.png (ids 1..40), test/<id>.png (ids 1..8; every 6th image), trainLabels.csv
                id,label (the 10 CIFAR classes, 4 images each): every source, whole (aspect squashed, as CIFAR's
                downscaled photos) and as its centre square, resized to 32x32 with PIL's antialiased bilinear
                filter, saved as PNG in the source's mode (RGB, L, and RGBA for the two RGBA sources; the GIF's
                frame as RGB).
  kaggle_dog_tiny/      train/<32 hex>.jpg (16: 4 breeds x 4), test/<32 hex>.jpg (6: `dog_test_photos`), labels.csv
                id,breed: the 22 photographs at their real sizes; the 4 real JPEGs are byte-for-byte copies, the
                PNGs are re-saved as JPEG (quality 90) in their own mode (so the 11 grey photos are real grey L
                JPEGs), the RGBA one is flattened on white, and coffee is saved as a CMYK JPEG (as some ImageNet
                files are). ids are the md5 of the source name.
  classify-leaves/      images/<n>.jpg (n = 0..23), train.csv image,label (18 rows, 3 species x 6), test.csv image (6
                rows): the 22 photographs and logo.png as 224x224 JPEGs (centre square, resized), as Classify
                Leaves' images are, plus rocket.jpg at its real size (640x427) to keep one non-square image.

`build_all(root)` writes the four folders under root and returns their paths; conftest.py builds them once per test
session. Labels are arbitrary (a cat may be a 'hotdog'): the tests check the data path, not what a model learns.
"""
from __future__ import annotations

import csv
import functools
import hashlib
import importlib.util
import shutil
from pathlib import Path

from PIL import Image

CIFAR_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
DOG_BREEDS = ["beagle", "chihuahua", "pug", "whippet"]            # Kaggle spellings (dog_breeds_120.txt)
LEAF_SPECIES = ["acer_rubrum", "quercus_alba", "ulmus_americana"]

# name -> (package, path inside the package, format, mode, (width, height)): what the builder expects to find
SOURCES = {
    "astronaut.png": ("skimage", "data/astronaut.png", "PNG", "RGB", (512, 512)),
    "chelsea.png": ("skimage", "data/chelsea.png", "PNG", "RGB", (451, 300)),
    "coffee.png": ("skimage", "data/coffee.png", "PNG", "RGB", (600, 400)),
    "ihc.png": ("skimage", "data/ihc.png", "PNG", "RGB", (512, 512)),
    "motorcycle_left.png": ("skimage", "data/motorcycle_left.png", "PNG", "RGB", (741, 500)),
    "motorcycle_right.png": ("skimage", "data/motorcycle_right.png", "PNG", "RGB", (741, 500)),
    "hubble_deep_field.jpg": ("skimage", "data/hubble_deep_field.jpg", "JPEG", "RGB", (1000, 872)),
    "retina.jpg": ("skimage", "data/retina.jpg", "JPEG", "RGB", (1411, 1411)),
    "rocket.jpg": ("skimage", "data/rocket.jpg", "JPEG", "RGB", (640, 427)),
    "brick.png": ("skimage", "data/brick.png", "PNG", "L", (512, 512)),
    "camera.png": ("skimage", "data/camera.png", "PNG", "L", (512, 512)),
    "cell.png": ("skimage", "data/cell.png", "PNG", "L", (550, 660)),
    "clock_motion.png": ("skimage", "data/clock_motion.png", "PNG", "L", (400, 300)),
    "coins.png": ("skimage", "data/coins.png", "PNG", "L", (384, 303)),
    "grass.png": ("skimage", "data/grass.png", "PNG", "L", (512, 512)),
    "gravel.png": ("skimage", "data/gravel.png", "PNG", "L", (512, 512)),
    "microaneurysms.png": ("skimage", "data/microaneurysms.png", "PNG", "L", (102, 102)),
    "moon.png": ("skimage", "data/moon.png", "PNG", "L", (512, 512)),
    "page.png": ("skimage", "data/page.png", "PNG", "L", (384, 191)),
    "text.png": ("skimage", "data/text.png", "PNG", "L", (448, 172)),
    "grace_hopper.jpg": ("matplotlib", "mpl-data/sample_data/grace_hopper.jpg", "JPEG", "RGB", (512, 600)),
    "Minduka_Present_Blue_Pack.png": ("matplotlib", "mpl-data/sample_data/Minduka_Present_Blue_Pack.png", "PNG",
                                      "RGBA", (128, 128)),
    # real files, not photographs
    "logo.png": ("skimage", "data/logo.png", "PNG", "RGBA", (500, 500)),
    "no_time_for_that_tiny.gif": ("skimage", "data/no_time_for_that_tiny.gif", "GIF", "P", (14, 25)),
}
PHOTOS = [name for name in SOURCES if name not in ("logo.png", "no_time_for_that_tiny.gif")]
GREY_PHOTOS = [name for name in PHOTOS if SOURCES[name][3] == "L"]


class MissingSource(RuntimeError):
    """A source package or file is not installed (the test dependencies are in pyproject.toml)."""


def package_dir(package):
    """The folder of an installed package, found without importing it."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise MissingSource(f"the package {package!r} is not installed: the real-photo tests read its bundled images "
                            f"(pip install -e . installs it)")
    return Path(list(spec.submodule_search_locations)[0])


def source_path(name):
    """Path of the source file `name` (a key of SOURCES), after checking its format, mode and size."""
    package, rel, fmt, mode, size = SOURCES[name]
    path = package_dir(package) / rel
    if not path.is_file():
        raise MissingSource(f"{path} is missing: this {package} wheel does not ship {rel}")
    with Image.open(path) as img:
        if (img.format, img.mode, img.size) != (fmt, mode, size):
            raise MissingSource(f"{path} is {img.format} {img.mode} {img.size}, expected {fmt} {mode} {size}: "
                                f"update tests/real_photo_sets.py for this {package} release")
    return path


@functools.lru_cache(maxsize=None)
def _open(name):
    """The decoded source (cached for the session: callers must not modify it in place)."""
    with Image.open(source_path(name)) as img:
        img.load()
        return img


def _square(img):
    side = min(img.size)
    left, top = (img.width - side) // 2, (img.height - side) // 2
    return img.crop((left, top, left + side, top + side))


def _flatten(img, background=(255, 255, 255)):
    """An RGBA image composited on a background (what a JPEG can hold)."""
    out = Image.new("RGB", img.size, background)
    out.paste(img, mask=img.getchannel("A"))
    return out


def _write_csv(path, header, rows):
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)


def build_hotdog(root):
    """hotdog/{train,test}/{hotdog,not-hotdog}/ (d2l's hotdog.zip layout)."""
    out = Path(root) / "hotdog"
    copies = {
        ("train", "hotdog"): ["astronaut.png", "chelsea.png", "coffee.png", "rocket.jpg", "grace_hopper.jpg",
                              "Minduka_Present_Blue_Pack.png"],
        ("train", "not-hotdog"): ["camera.png", "coins.png", "motorcycle_left.png", "hubble_deep_field.jpg",
                                  "logo.png", "cell.png"],
        ("test", "hotdog"): ["ihc.png", "text.png"],
        ("test", "not-hotdog"): ["retina.jpg", "page.png"],
    }
    for (split, label), names in copies.items():
        (out / split / label).mkdir(parents=True, exist_ok=True)
        for name in names:
            shutil.copyfile(source_path(name), out / split / label / name)
    _open("chelsea.png").quantize(64).save(out / "test" / "hotdog" / "chelsea_palette.png")
    _open("no_time_for_that_tiny.gif").save(out / "test" / "not-hotdog" / "no_time_for_that_tiny.png")
    return out


def cifar_variants():
    """[(source name, 'whole' or 'centre', 32x32 image)] for every source: 48 images."""
    out = []
    for name in SOURCES:
        img = _open(name)
        if img.mode == "P":
            img = img.convert("RGB")
        for kind, view in (("whole", img), ("centre", _square(img))):
            out.append((name, kind, view.resize((32, 32), Image.BILINEAR)))
    return out


def cifar_split():
    """{'train': [(id, source, kind, image)], 'test': [...]}: every 6th variant is a test image (ids from 1 in each)."""
    variants = cifar_variants()
    train = [v for k, v in enumerate(variants) if k % 6 != 5]
    test = [v for k, v in enumerate(variants) if k % 6 == 5]
    return {"train": [(i, *v) for i, v in enumerate(train, start=1)],
            "test": [(i, *v) for i, v in enumerate(test, start=1)]}


def build_cifar(root):
    """kaggle_cifar10_tiny/{train/<id>.png, test/<id>.png, trainLabels.csv}."""
    out = Path(root) / "kaggle_cifar10_tiny"
    split = cifar_split()
    rows = []
    for part in ("train", "test"):
        (out / part).mkdir(parents=True, exist_ok=True)
        for i, _, _, img in split[part]:
            img.save(out / part / f"{i}.png")
            if part == "train":
                rows.append((i, CIFAR_CLASSES[(i - 1) % len(CIFAR_CLASSES)]))
    _write_csv(out / "trainLabels.csv", ["id", "label"], rows)
    return out


def dog_id(name):
    return hashlib.md5(name.encode()).hexdigest()


def dog_test_photos():
    """The 6 photographs that make the dog test set (every 4th, and the last); the other 16 are the training set."""
    return [name for k, name in enumerate(PHOTOS) if k % 4 == 3 or k == len(PHOTOS) - 1]


def build_dog(root):
    """kaggle_dog_tiny/{train/<hexid>.jpg, test/<hexid>.jpg, labels.csv}; photos at their real sizes."""
    out = Path(root) / "kaggle_dog_tiny"
    (out / "train").mkdir(parents=True, exist_ok=True)
    (out / "test").mkdir(parents=True, exist_ok=True)
    rows, test = [], dog_test_photos()
    for name in PHOTOS:
        split = "test" if name in test else "train"
        dst = out / split / f"{dog_id(name)}.jpg"
        if SOURCES[name][2] == "JPEG":
            shutil.copyfile(source_path(name), dst)
        else:
            img = _open(name)
            if img.mode == "RGBA":
                img = _flatten(img)
            if name == "coffee.png":
                img = img.convert("CMYK")
            img.save(dst, "JPEG", quality=90)
        if split == "train":
            rows.append((dog_id(name), DOG_BREEDS[len(rows) % len(DOG_BREEDS)]))
    _write_csv(out / "labels.csv", ["id", "breed"], rows)
    return out


def leaves_files():
    """The source name behind each images/<n>.jpg of the leaves set, n = 0, 1, ..."""
    return PHOTOS + ["logo.png", "rocket.jpg"]


def build_leaves(root, n_train=18):
    """classify-leaves/{images/<n>.jpg, train.csv (image,label), test.csv (image)}."""
    out = Path(root) / "classify-leaves"
    (out / "images").mkdir(parents=True, exist_ok=True)
    names = leaves_files()
    for n, name in enumerate(names):
        img = _open(name)
        if img.mode == "RGBA":
            img = _flatten(img)
        if n < len(names) - 1:                              # the last one keeps its real size
            img = _square(img).resize((224, 224), Image.BILINEAR)
        img.save(out / "images" / f"{n}.jpg", "JPEG", quality=90)
    images = [f"images/{n}.jpg" for n in range(len(names))]
    _write_csv(out / "train.csv", ["image", "label"],
               [(image, LEAF_SPECIES[n % len(LEAF_SPECIES)]) for n, image in enumerate(images[:n_train])])
    _write_csv(out / "test.csv", ["image"], [(image,) for image in images[n_train:]])
    return out


def build_all(root):
    """Write the four datasets under root; returns {'hotdog': path, 'cifar': ..., 'dog': ..., 'leaves': ...}."""
    return {"hotdog": build_hotdog(root), "cifar": build_cifar(root), "dog": build_dog(root),
            "leaves": build_leaves(root)}
