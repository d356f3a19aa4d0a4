"""Section 4 of helpers (datasets and loaders): CsvImageDataset (Classify Leaves) with bad rows, stratified_split,
and the Kaggle-only leaves data."""
import collections
import csv

import pandas as pd
import pytest

import helpers
from machinery import standins


@pytest.fixture(scope="module")
def leaves(tmp_path_factory):
    return standins.make_standin("leaves", tmp_path_factory.mktemp("leaves"), n_train=120, n_test=10, size=40,
                                num_classes=8)


def test_csv_dataset_reads_paths(leaves):
    ds = helpers.CsvImageDataset(leaves, leaves / "train.csv")
    assert len(ds) == 120 and ds.classes == sorted(ds.classes) and len(ds.classes) == 8
    img, target = ds[0]
    first = next(csv.reader(open(leaves / "train.csv").readlines()[1:]))
    assert img.size == (40, 40) and ds.classes[target] == first[1]
    test = helpers.CsvImageDataset(leaves, leaves / "test.csv", classes=ds.classes)
    assert len(test) == 10 and set(test.targets) == {-1} and test.classes == ds.classes


def test_csv_dataset_bad_rows(leaves):
    df = pd.read_csv(leaves / "train.csv", dtype=str)
    missing = pd.concat([df, pd.DataFrame({"image": ["images/nope.jpg"], "label": [df.label[0]]})])
    with pytest.raises(ValueError, match=r"missing .*images/nope.jpg"):
        helpers.CsvImageDataset(leaves, missing)
    with pytest.raises(ValueError, match="not among the 3 known classes"):
        helpers.CsvImageDataset(leaves, df, classes=sorted(set(df.label))[:3])
    with pytest.warns(UserWarning, match="1 duplicate row"):
        ds = helpers.CsvImageDataset(leaves, pd.concat([df, df.iloc[:1]]))
    assert len(ds) == 120
    clash = pd.concat([df, pd.DataFrame({"image": [df.image[0]], "label": ["other_species"]})])
    with pytest.raises(ValueError, match="different labels"):
        helpers.CsvImageDataset(leaves, clash)
    with pytest.raises(ValueError, match="no 'image' column"):
        helpers.CsvImageDataset(leaves, df.rename(columns={"image": "path"}))


def test_csv_labels_that_differ_only_in_case_or_spaces_are_refused(leaves, tmp_path):
    """A real train.csv where one row says 'Species_0 ' for 'species_0': one class, not two."""
    from machinery import labels as label_files
    lines = (leaves / "train.csv").read_text().splitlines()
    image, label = lines[1].split(",")
    lines[1] = f"{image},{label.capitalize()} "
    table = tmp_path / "train.csv"
    table.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(label_files.NearDuplicateLabels) as err:
        helpers.CsvImageDataset(leaves, table)
    n = sum(line.endswith("," + label) for line in lines)
    assert f"{label.capitalize() + ' '!r} \u00d71 (id {image!r}), {label!r} \u00d7{n}" in str(err.value)
    assert f"Some labels for {leaves} differ" in str(err.value) and "9 classes instead of 8" in str(err.value)


def test_stratified_split_keeps_every_class_in_train():
    targets = [0] * 10 + [1] * 3 + [2] * 1 + [3] * 2
    train, valid = helpers.stratified_split(targets, 0.34, seed=1)
    assert sorted(train + valid) == list(range(len(targets))) and not set(train) & set(valid)
    per_class = collections.Counter(targets[i] for i in valid)
    assert per_class == {0: 3, 1: 1}                                   # floor(n * 0.34), class 3 keeps both
    assert {targets[i] for i in train} == {0, 1, 2, 3}
    assert helpers.stratified_split(targets, 0.34, seed=1) == (train, valid)
    assert helpers.stratified_split(targets, 0.34, seed=2) != (train, valid)


def test_get_dataset_leaves_real_needs_the_kaggle_files(data_root, hub, monkeypatch):
    monkeypatch.delenv("COURSE_DATA_MODE", raising=False)
    with pytest.raises(helpers.DataUnavailableError, match="kaggle competitions download -c classify-leaves"):
        helpers.get_dataset("leaves", mode="real")
    # a learner's Kaggle zip placed in the data folder is found, extracted and used as real data
    src = standins.make_standin("leaves", data_root.parent / "src", n_train=20, n_test=2, size=16, num_classes=4)
    import zipfile
    data_root.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(data_root / "classify-leaves.zip", "w") as z:
        for p in src.rglob("*"):
            if p.is_file() and p.name != standins.STANDIN_MARKER:
                z.write(p, p.relative_to(src))
    folder = helpers.get_dataset("leaves", mode="real")
    assert folder == data_root / "classify-leaves" and (folder / "images" / "0.jpg").exists()
    assert not helpers.is_standin(folder)


def test_images_of_different_sizes_in_a_batch_get_advice(cifar_copy):
    """A 48x32 image among 32x32 PNGs, with CIFAR's test transform (no resize): torch alone says only 'stack
    expects each tensor to be equal size'."""
    from PIL import Image
    from torchvision import transforms as T
    Image.new("RGB", (48, 32)).save(cifar_copy / "train" / "3.png")
    helpers.reorg_kaggle_data(cifar_copy, "trainLabels.csv", 0.1)
    _, loaders = helpers.reorganised_loaders(cifar_copy, T.ToTensor(), T.ToTensor(), 200, num_workers=0)
    with pytest.raises(ValueError, match=r"different sizes .*\(3, 32, 48\).*Resize"):
        next(iter(loaders["train_valid"]))
