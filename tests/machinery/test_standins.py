"""machinery.standins: the stand-in layouts are the real ones, deterministic, and loudly marked."""
import collections
import csv
import re
from pathlib import Path

import pytest
from PIL import Image

from machinery import standins
from machinery.constants import CIFAR10_CLASSES, DOG_BREEDS

REPO = Path(__file__).resolve().parents[2]



def _image_names(folder):
    return sorted(p.name for p in Path(folder).iterdir())


def test_standin_hotdog_layout(tmp_path):
    root = standins.make_standin("hotdog", tmp_path, n_train=3, n_test=2, size=(40, 60))
    assert root == tmp_path / "hotdog"
    assert sorted(p.name for p in root.iterdir()) == sorted(["train", "test", standins.STANDIN_MARKER])
    for split, n in (("train", 3), ("test", 2)):
        assert _image_names(root / split) == ["hotdog", "not-hotdog"]
        for cls in ("hotdog", "not-hotdog"):
            files = _image_names(root / split / cls)
            assert len(files) == n and all(f.endswith(".png") for f in files)
            for f in files:
                w, h = Image.open(root / split / cls / f).size
                assert 40 <= w <= 60 and 40 <= h <= 60


def test_standin_cifar_layout(tmp_path):
    root = standins.make_standin("cifar10_tiny", tmp_path, n_train=30, n_test=5)
    assert root.name == "kaggle_cifar10_tiny"
    assert _image_names(root / "train") == sorted(f"{i}.png" for i in range(1, 31))
    assert _image_names(root / "test") == sorted(f"{i}.png" for i in range(1, 6))
    assert Image.open(root / "train" / "1.png").size == (32, 32)
    rows = list(csv.reader(open(root / "trainLabels.csv")))
    assert rows[0] == ["id", "label"] and [r[0] for r in rows[1:]] == [str(i) for i in range(1, 31)]
    assert {r[1] for r in rows[1:]} == set(CIFAR10_CLASSES)


def test_standin_dog_layout(tmp_path):
    root = standins.make_standin("dog_tiny", tmp_path, n_train=130, n_test=4, size=(50, 70))
    rows = list(csv.reader(open(root / "labels.csv")))
    assert rows[0] == ["id", "breed"] and len(rows) == 131
    assert all(re.fullmatch(r"[0-9a-f]{32}", r[0]) for r in rows[1:])
    breeds = REPO.parent / "shared" / "reference" / "dog_breeds_120.txt"      # the team's list, where present
    expected = breeds.read_text().split() if breeds.exists() else DOG_BREEDS
    assert {r[1] for r in rows[1:]} == set(expected)          # all 120 real breed names appear
    assert _image_names(root / "train") == sorted(r[0] + ".jpg" for r in rows[1:])
    assert len(_image_names(root / "test")) == 4
    assert Image.open(next((root / "test").iterdir())).format == "JPEG"


def test_dog_standin_breeds_have_their_own_colours(tmp_path):
    """Every picture of a breed shows the breed's colours (its background here), and breeds differ: so a random crop
    still carries the breed, and even random-weight features tell many breeds apart (notebook 40 offline)."""
    import numpy as np
    root = standins.make_standin("dog_tiny", tmp_path, n_train=240, n_test=2, size=(64, 96))
    rows = list(csv.reader(open(root / "labels.csv")))[1:]
    corners = collections.defaultdict(list)                   # breed -> median colour of each picture's border
    for id_, breed in rows:
        img = np.asarray(Image.open(root / "train" / f"{id_}.jpg").convert("RGB"), dtype=float)
        border = np.concatenate([img[:3].reshape(-1, 3), img[-3:].reshape(-1, 3), img[:, :3].reshape(-1, 3),
                                 img[:, -3:].reshape(-1, 3)])
        corners[breed].append(np.median(border, axis=0))
    mean = {b: np.mean(c, axis=0) for b, c in corners.items()}
    within = max(np.abs(c - mean[b]).max() for b, cs in corners.items() for c in cs)
    names = sorted(mean)
    between = [min(np.abs(mean[a] - mean[b]).max() for b in names if b != a) for a in names]
    assert len(corners) == 120 and all(len(c) == 2 for c in corners.values())
    assert within < 10                                       # the same breed: the same colour, up to noise
    assert np.median(between) > 5 * within                   # another breed: mostly another colour


def test_the_standin_readme_says_what_it_is_in_english_then_chinese(tmp_path):
    """STANDIN_README.txt is for whoever opens the folder, in either language: English first, then the same in
    Chinese (d2l-zh's term 替身数据), written as UTF-8 whatever the locale."""
    root = standins.make_standin("cifar10_tiny", tmp_path, n_train=10, n_test=1, seed=5)
    english, chinese = (root / standins.STANDIN_MARKER).read_bytes().decode("utf-8").split("\n\n")
    assert english.startswith("STAND-IN DATA.") and "'cifar10_tiny'" in english and "seed 5" in english
    assert not re.search(r"[\u4e00-\u9fff]", english)
    assert chinese.startswith("替身数据。") and "'cifar10_tiny'" in chinese and "随机种子 5" in chinese


def test_a_standin_from_an_older_generator_is_not_reused(tmp_path, monkeypatch):
    """A stand-in's folder name includes its generator's version: pictures made by an older generator (the dog
    stand-in before its breed colours) are not reused after an update."""
    now = standins.standin_folder("dog_tiny", tmp_path, n_train=12, n_test=1, size=32)
    monkeypatch.setitem(standins.STANDIN_VERSION, "dog_tiny", standins.STANDIN_VERSION["dog_tiny"] - 1)
    before = standins.standin_folder("dog_tiny", tmp_path, n_train=12, n_test=1, size=32)
    assert now != before and (now / standins.STANDIN_MARKER).exists() and (before / standins.STANDIN_MARKER).exists()


def test_standin_is_deterministic(tmp_path):
    a = standins.make_standin("cifar10_tiny", tmp_path / "a", n_train=20, n_test=2, seed=3)
    b = standins.make_standin("cifar10_tiny", tmp_path / "b", n_train=20, n_test=2, seed=3)
    assert (a / "trainLabels.csv").read_text() == (b / "trainLabels.csv").read_text()
    assert (a / "train" / "7.png").read_bytes() == (b / "train" / "7.png").read_bytes()




@pytest.fixture(scope="module")
def leaves(tmp_path_factory):
    return standins.make_standin("leaves", tmp_path_factory.mktemp("leaves"), n_train=120, n_test=10, size=40,
                                 num_classes=8)


def test_leaves_standin_layout(leaves):
    assert sorted(p.name for p in leaves.iterdir()) == sorted(["images", "train.csv", "test.csv",
                                                               standins.STANDIN_MARKER])
    train = list(csv.reader(open(leaves / "train.csv")))
    test = list(csv.reader(open(leaves / "test.csv")))
    assert train[0] == ["image", "label"] and test[0] == ["image"]
    assert len(train) == 121 and len(test) == 11
    images = [r[0] for r in train[1:]] + [r[0] for r in test[1:]]
    assert images == [f"images/{n}.jpg" for n in range(130)]        # train first, then test, like Kaggle's files
    assert Image.open(leaves / images[0]).size == (40, 40)
    counts = collections.Counter(r[1] for r in train[1:])
    assert len(counts) == 8 and min(counts.values()) >= 2
    assert max(counts.values()) >= 3 * min(counts.values())         # long-tailed


