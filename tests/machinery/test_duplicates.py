"""machinery.duplicates (and helpers.find_duplicates): exact copies, re-saved copies and label conflicts are found
among real photos; different real photos are not flagged."""
import shutil

import numpy as np
import pandas as pd
import pytest
from PIL import Image

import helpers
from machinery import duplicates, standins


@pytest.fixture
def leaves(real_photos, tmp_path):
    """A copy of the real-photo Classify Leaves folder (24 photos: 18 train, 6 test), which the tests change."""
    root = tmp_path / "classify-leaves"
    shutil.copytree(real_photos["leaves"], root)
    return root


def _tables(root):
    return pd.read_csv(root / "train.csv", dtype=str), pd.read_csv(root / "test.csv", dtype=str)


def test_real_photos_have_no_duplicates(leaves):
    train, test = _tables(leaves)
    found = helpers.find_duplicates(leaves, train, test)
    assert found.empty and list(found.columns) == ["group", "image", "label", "kind", "conflict"]


def test_exact_near_and_conflicting_copies_are_found(leaves):
    train, test = _tables(leaves)
    imgs = leaves / "images"
    shutil.copyfile(imgs / "0.jpg", imgs / "1.jpg")                   # exact copy, label kept as in the table
    with Image.open(imgs / "3.jpg") as img:                            # a re-saved copy (another JPEG quality)
        img.save(imgs / "4.jpg", quality=75)
    shutil.copyfile(imgs / "6.jpg", imgs / "20.jpg")                   # a training photo again in the test set
    train.loc[train.image == "images/4.jpg", "label"] = train.label[train.image == "images/3.jpg"].item()
    found = helpers.find_duplicates(leaves, train, test)
    groups = {frozenset(g.image): g for _, g in found.groupby("group")}
    assert set(groups) == {frozenset({"images/0.jpg", "images/1.jpg"}), frozenset({"images/3.jpg", "images/4.jpg"}),
                           frozenset({"images/6.jpg", "images/20.jpg"})}
    exact = groups[frozenset({"images/0.jpg", "images/1.jpg"})]
    assert set(exact.kind) == {"exact"} and exact.conflict.all()        # 0 and 1 carry two different species
    near = groups[frozenset({"images/3.jpg", "images/4.jpg"})]
    assert set(near.kind) == {"near"} and not near.conflict.any()
    test_copy = groups[frozenset({"images/6.jpg", "images/20.jpg"})]
    assert test_copy.label.isna().sum() == 1 and not test_copy.conflict.any()


def test_dhash_of_a_known_picture():
    grey = np.tile(np.arange(17, dtype=np.uint8)[::-1] * 10, (16, 1))  # brightness falls left to right
    assert duplicates.dhash_bits(grey).all()
    assert not duplicates.dhash_bits(grey[:, ::-1]).any()


def test_close_pairs_match_brute_force():
    rng = np.random.default_rng(0)
    hashes = rng.integers(0, 2**63, size=(300, 4), dtype=np.uint64)
    hashes[10], hashes[20] = hashes[3], hashes[3]
    hashes[10, 0] ^= np.uint64(0b1011)                                  # 3 bits apart
    hashes[20, 2] ^= np.uint64(1 << 40)                                 # 1 bit apart, in another word
    hashes[30, 1:] = hashes[7, 1:]
    hashes[30, 0] = hashes[7, 0] ^ np.uint64(0b11111)                   # 5 bits apart, all in the first word
    brute = {(i, j) for i in range(300) for j in range(i + 1, 300)
             if np.bitwise_count(hashes[i] ^ hashes[j]).sum() <= 4}
    assert {tuple(p) for p in duplicates.close_pairs(hashes, 4, block=64).tolist()} == brute
    assert brute >= {(3, 10), (3, 20), (10, 20)} and (7, 30) not in brute


def test_leaves_standin_plants_what_it_says(tmp_path):
    root = standins.make_standin("leaves", tmp_path, n_train=200, n_test=20, size=48, num_classes=12)
    train, test = _tables(root)
    found = helpers.find_duplicates(root, train, test)
    groups = found.groupby("group")
    planted = standins.LEAVES_PLANTED
    assert groups.ngroups == sum(planted.values())
    assert found.groupby("group").conflict.first().sum() == planted["conflict"]
    assert (found.groupby("group").kind.first() == "near").sum() == planted["near"]
    assert train.label.value_counts().min() >= 2
