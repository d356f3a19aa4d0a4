"""Kaggle submissions: writers, validators (every problem named), and the multi-class log loss."""
import math

import numpy as np
import pytest

import helpers


@pytest.fixture
def test_dir(tmp_path):
    folder = tmp_path / "test"
    folder.mkdir()
    for i in (1, 2, 10, 3):
        (folder / f"{i}.png").write_bytes(b"")
    (folder / ".DS_Store").write_bytes(b"")
    return folder


def test_cifar_submission_roundtrip(test_dir, tmp_path):
    path = helpers.write_cifar_submission(tmp_path / "s.csv", ["10", "1", "3", "2"], ["cat", "dog", "ship", "cat"])
    df = helpers.validate_cifar_submission(path, test_dir)
    assert list(df["id"]) == ["1", "2", "3", "10"]                      # numeric order
    assert dict(zip(df["id"], df["label"])) == {"10": "cat", "1": "dog", "3": "ship", "2": "cat"}  # pairs kept


@pytest.mark.parametrize("content, problem", [
    ("id,label\n1,cat\n2,cat\n3,cat\n", "3 rows, expected 4"),
    ("id,label\n1,cat\n2,cat\n3,cat\n10,cat\n11,cat\n", "not in the test folder"),
    ("id,label\n1,cat\n2,cat\n2,cat\n10,cat\n", "duplicate id"),
    ("id,label\n1,cat\n2,cat\n3,unicorn\n10,cat\n", "unicorn"),
    ("id,label\n1,cat\n10,cat\n2,cat\n3,cat\n", "numeric order"),
    ("id,label\n1,cat\n2,\n3,cat\n10,cat\n", "empty cell"),
    ("id,class\n1,cat\n2,cat\n3,cat\n10,cat\n", "columns"),
])
def test_cifar_submission_problems(test_dir, tmp_path, content, problem):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    with pytest.raises(helpers.SubmissionError, match=problem):
        helpers.validate_cifar_submission(path, test_dir)


def test_label_submission_length_mismatch(tmp_path):
    with pytest.raises(ValueError, match="exactly one prediction"):
        helpers.write_cifar_submission(tmp_path / "s.csv", ["1", "2"], ["cat"])


def test_dog_submission_roundtrip(test_dir, tmp_path):
    breeds = ["whippet", "akita", "boxer"]                             # ImageFolder order need not be sorted
    probs = np.array([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8], [1 / 3] * 3, [0.0, 1.0, 0.0]])
    path = helpers.write_dog_submission(tmp_path / "s.csv", ["1", "2", "3", "10"], probs, breeds)
    df = helpers.validate_dog_submission(path, test_dir, breeds)
    assert list(df.columns) == ["id", "akita", "boxer", "whippet"]
    assert df.loc[df["id"] == "1", "whippet"].item() == pytest.approx(0.7)


@pytest.mark.parametrize("mutate, problem", [
    (lambda df: df.drop(columns="boxer"), "columns differ"),
    (lambda df: df[["id", "boxer", "akita", "whippet"]], "columns differ"),
    (lambda df: df.iloc[:3], r"test id\(s\) missing"),
    (lambda df: df.assign(akita=np.nan), "NaN"),
    (lambda df: df.assign(akita=df["akita"] + 0.5), "do not sum to 1|outside"),
    (lambda df: df.assign(akita=-0.1), "outside"),
])
def test_dog_submission_problems(test_dir, tmp_path, mutate, problem):
    breeds = ["akita", "boxer", "whippet"]
    path = helpers.write_dog_submission(tmp_path / "s.csv", ["1", "2", "3", "10"], np.full((4, 3), 1 / 3), breeds)
    import pandas as pd
    mutate(pd.read_csv(path, dtype={"id": str})).to_csv(path, index=False)
    with pytest.raises(helpers.SubmissionError, match=problem):
        helpers.validate_dog_submission(path, test_dir, breeds)


def test_dog_submission_shape_check(tmp_path):
    with pytest.raises(ValueError, match="shape"):
        helpers.write_dog_submission(tmp_path / "s.csv", ["1"], np.ones((1, 2)) / 2, ["a", "b", "c"])


def test_multiclass_log_loss_by_hand():
    probs = [[0.7, 0.2, 0.1], [0.1, 0.8, 0.1], [0.25, 0.25, 0.5]]
    labels = [0, 1, 2]
    assert helpers.multiclass_log_loss(probs, labels) == pytest.approx(-(math.log(0.7) + math.log(0.8)
                                                                         + math.log(0.5)) / 3)
    # a zero probability on the true class is clipped, not infinite (Kaggle clips at 1e-15)
    assert helpers.multiclass_log_loss([[0.0, 1.0]], [0]) == pytest.approx(-math.log(1e-15), rel=1e-6)
    # rows that do not sum to 1 are renormalised first
    assert helpers.multiclass_log_loss([[2.0, 2.0]], [1]) == pytest.approx(math.log(2))
