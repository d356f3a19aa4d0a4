"""Notebook switches that nbval does not exercise: nbval runs each notebook with its default parameters, so the
non-default paths that a learner can switch on with one flag are executed here with papermill (as `make run` does)."""
import json
import re
from pathlib import Path

import pandas as pd
import pytest

import helpers

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks" / "en"


def run_notebook(name, tmp_path, monkeypatch, **parameters):
    """Execute notebooks/<name> headless on the stand-in, outputs under tmp_path; return (all printed text, outputs)."""
    papermill = pytest.importorskip("papermill")
    outputs = tmp_path / "outputs"
    monkeypatch.setenv("COURSE_DATA_MODE", "standin")
    monkeypatch.setenv("COURSE_HEADLESS", "1")
    monkeypatch.setenv("COURSE_OUTPUT_DIR", str(outputs))
    executed = tmp_path / name
    papermill.execute_notebook(str(NOTEBOOKS / name), str(executed), parameters=parameters, cwd=str(NOTEBOOKS),
                               progress_bar=False, log_output=False)
    cells = json.loads(executed.read_text())["cells"]
    text = "".join("".join(o.get("text", "")) + "".join(o.get("data", {}).get("text/plain", ""))
                   for c in cells if c["cell_type"] == "code" for o in c.get("outputs", []))
    return text, outputs


def test_notebook_39_runs_end_to_end_on_the_fast_data_path(tmp_path, monkeypatch):
    text, outputs = run_notebook("39_kaggle_cifar10.ipynb", tmp_path, monkeypatch, FAST_DATA=True)
    assert "data path: helpers.fast_loaders" in text
    printed = "".join("".join(o.get("text", "")) for c in json.loads((tmp_path / "39_kaggle_cifar10.ipynb")
                      .read_text())["cells"] if c["cell_type"] == "code" for o in c.get("outputs", [])
                      if o.get("output_type") == "stream")
    assert "valid acc" in printed and "test acc" not in printed    # the validation set is scored under its own name
    # the notebook's own asserts ran (partition, lr schedule, per-image re-prediction); check the file it wrote
    submission = pd.read_csv(outputs / "submissions" / "39_kaggle_cifar10" / "submission.csv")
    n_test, data_dir = re.search(r"\d+ training images, \d+ labels, (\d+) test images in (\S+)", text).groups()
    assert len(submission) == int(n_test) > 0 and submission.id.is_unique
    helpers.validate_cifar_submission(outputs / "submissions" / "39_kaggle_cifar10" / "submission.csv",
                                      Path(data_dir) / "test")
    assert set(submission.label) <= set(helpers.CIFAR10_CLASSES)
    assert "[STAND-IN DATA" in text        # stand-in results stay tagged on this path too
