"""Kaggle Notebooks rehearsal: notebook 39 on a stand-in /kaggle tree (COURSE_KAGGLE_ROOT) holding Kaggle CIFAR-10
as the competition serves it (train.7z, test.7z, trainLabels.csv; real photos, real .7z archives), input read-only,
no parameter and no COURSE_* folder set. It finds the data, extracts it once to a writable folder, runs to its end and
leaves a valid submission at working/submission.csv, where Kaggle's Submit takes it."""
import helpers
from kaggle_tree import kaggle_tree, snapshot
from notebook_runs import execute_notebook


def test_notebook_39_on_kaggle_finds_the_competition_and_leaves_submission_csv_in_working(
        tmp_path, monkeypatch, real_photos):
    root = kaggle_tree(tmp_path / "kaggle", real_photos)
    before = snapshot(root / "input")
    run = execute_notebook("39_kaggle_cifar10.ipynb", tmp_path, monkeypatch, lang="en",
                           env={"COURSE_KAGGLE_ROOT": root, "COURSE_DATA_MODE": None, "COURSE_DATA_DIR": None,
                                "COURSE_OUTPUT_DIR": None, "COURSE_LANG": None})
    assert run.error is None, run.error
    data = root / "temp" / "course-data" / "kaggle" / "cifar-10"
    text = run.text
    assert f"Extracting {root / 'input' / 'cifar-10' / 'train.7z'}" in text and "test.7z" in text
    assert f"Using the real 'cifar10_tiny' data in {data}" in text and "STAND-IN" not in text
    assert text.count("where Submit takes it from") == 1
    submission = helpers.validate_cifar_submission(root / "working" / "submission.csv", data / "test")
    assert len(submission) == 8
    assert (root / "working" / "submissions" / "39_kaggle_cifar10" / "submission.csv").read_bytes() == \
        (root / "working" / "submission.csv").read_bytes()
    assert list((root / "working" / "figures" / "39_kaggle_cifar10").glob("*.png"))
    assert snapshot(root / "input") == before                                   # nothing written into input/
