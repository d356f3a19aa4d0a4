"""Notebook switches that nbval does not exercise: nbval runs each notebook with its default parameters, so the
non-default paths that a learner can switch on with one flag are executed here with papermill (as `make run` does)."""
import re
from pathlib import Path

import pandas as pd

import helpers
from notebook_runs import execute_notebook


def test_notebook_39_runs_end_to_end_on_the_fast_data_path(tmp_path, monkeypatch):
    run = execute_notebook("39_kaggle_cifar10.ipynb", tmp_path, monkeypatch, env={"COURSE_DATA_MODE": "standin"},
                           FAST_DATA=True)
    assert run.error is None, run.error
    text, outputs = run.text, run.outputs
    assert "data path: helpers.fast_loaders" in text
    printed = "".join("".join(o.get("text", "")) for c in run.cells if c["cell_type"] == "code"
                      for o in c.get("outputs", []) if o.get("output_type") == "stream")
    assert "valid acc" in printed and "test acc" not in printed    # the validation set is scored under its own name
    # the notebook's own asserts ran (partition, lr schedule, per-image re-prediction); check the file it wrote
    submission = pd.read_csv(outputs / "submissions" / "39_kaggle_cifar10" / "submission.csv")
    n_test, data_dir = re.search(r"\d+ training images, \d+ labels, (\d+) test images in (\S+)", text).groups()
    assert len(submission) == int(n_test) > 0 and submission.id.is_unique
    helpers.validate_cifar_submission(outputs / "submissions" / "39_kaggle_cifar10" / "submission.csv",
                                      Path(data_dir) / "test")
    assert set(submission.label) <= set(helpers.CIFAR10_CLASSES)
    assert "[STAND-IN DATA" in text        # stand-in results stay tagged on this path too
