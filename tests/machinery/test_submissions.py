"""machinery.submissions: a validator never leaks a raw exception; it lists every problem in one SubmissionError."""
import numpy as np
import pandas as pd
import pytest

import helpers
from machinery import submissions

BREEDS = ["akita", "boxer", "whippet"]
IDS = ["1", "2", "3", "10"]


def _dogs(tmp_path, probs=None, ids=IDS):
    return helpers.write_dog_submission(tmp_path / "s.csv", ids, np.full((len(ids), 3), 1 / 3) if probs is None
                                        else probs, BREEDS)


@pytest.mark.parametrize("content, problem", [
    (b"", "empty"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10\x00\x00\x00\x10\x08\x02", "not a readable UTF-8 CSV"),
    (b'id,label\n1,"cat\n', "not a readable UTF-8 CSV"),
])
def test_empty_and_non_csv_files(tmp_path, content, problem):
    path = tmp_path / "s.csv"
    path.write_bytes(content)
    for check in (lambda: submissions.validate_labels(path, IDS, ["cat"]),
                  lambda: submissions.validate_probabilities(path, IDS, BREEDS)):
        with pytest.raises(helpers.SubmissionError, match=problem):
            check()


def test_a_missing_file(tmp_path):
    with pytest.raises(helpers.SubmissionError, match="does not exist"):
        submissions.validate_labels(tmp_path / "nope.csv", IDS, ["cat"])


def test_every_problem_of_a_probability_file_is_listed_and_named(tmp_path):
    path = _dogs(tmp_path)
    df = pd.read_csv(path, dtype=str)
    df.loc[0, "akita"] = "high"                      # a non-numeric cell
    df.loc[1, "boxer"] = "nan"                       # a NaN row ...
    df.loc[2, "whippet"] = "1.7"                     # ... must not hide a range error elsewhere
    df.loc[3, "id"] = "2"                            # a duplicate id (and id 10 missing)
    df.to_csv(path, index=False)
    with pytest.raises(helpers.SubmissionError) as err:
        submissions.validate_probabilities(path, IDS, BREEDS)
    msg = str(err.value)
    for expected in ("not numbers, e.g. 'high'", "row 2", "NaN", "outside [0, 1]", "duplicate id(s): ['2']",
                     "missing: ['10']"):
        assert expected in msg, (expected, msg)


def test_a_good_probability_file_comes_back_as_numbers(tmp_path):
    df = submissions.validate_probabilities(_dogs(tmp_path), IDS, BREEDS)
    assert df["akita"].dtype == np.float64 and np.allclose(df[BREEDS].sum(axis=1), 1)


def test_label_file_written_and_read_as_utf8(tmp_path):
    labels = ["Ahorn-Blätter", "银杏", "acer_rubrum", "银杏"]
    path = helpers.write_label_submission(tmp_path / "s.csv", ["images/3.jpg", "images/1.jpg", "images/2.jpg",
                                                                "images/10.jpg"], labels, ("image", "label"))
    assert "银杏".encode("utf-8") in path.read_bytes()
    df = submissions.validate_labels(path, ["images/1.jpg", "images/2.jpg", "images/3.jpg", "images/10.jpg"],
                                     set(labels), ("image", "label"))
    assert list(df["image"]) == ["images/1.jpg", "images/2.jpg", "images/3.jpg", "images/10.jpg"]
