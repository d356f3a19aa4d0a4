"""Executing a notebook as a learner would, for tests: one language, papermill parameters, the learner's
environment, outputs in a folder of the test's own. Returns what the notebook printed and where it stopped.

    run = execute_notebook("40_kaggle_dog.ipynb", tmp_path, monkeypatch, lang="en", KAGGLE_DOG_DIR=str(folder))
    assert run.error is None, run.error
    assert "no validation" in run.text

A notebook either runs to the end (run.error is None) or stops at its first failing cell: papermill, like Run All,
stops there, so `run.error` describes that one cell (its index among the code cells, the exception's name, its
message, and the lines the learner saw) and no later cell has outputs.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = REPO / "notebooks"


@dataclass
class StoppedAt:
    code_cell: int          # index among the notebook's code cells (0 = first code cell)
    ename: str              # the exception's class name, e.g. 'CheckFailed', 'DataUnavailableError'
    evalue: str             # its message
    shown: str              # the error output as the learner saw it (ANSI colours removed)
    source: str             # the failing cell's code


@dataclass
class NotebookRun:
    executed: Path                      # the executed notebook (.ipynb with outputs)
    outputs: Path                       # COURSE_OUTPUT_DIR of this run
    cells: list = field(repr=False)     # the executed notebook's cells
    error: StoppedAt | None = None

    @property
    def text(self):
        """Everything the code cells printed or displayed as text, in order (stdout, stderr, text/plain)."""
        return "".join(_text(o) for c in self.cells if c["cell_type"] == "code" for o in c.get("outputs", []))

    def cell_text(self, code_cell):
        """What one code cell (index among code cells) printed or displayed as text."""
        cell = [c for c in self.cells if c["cell_type"] == "code"][code_cell]
        return "".join(_text(o) for o in cell.get("outputs", []))

    def ran(self, code_cell):
        """True when that code cell was executed."""
        return [c for c in self.cells if c["cell_type"] == "code"][code_cell].get("execution_count") is not None


def _text(output):
    if output.get("output_type") == "stream":
        return "".join(output.get("text", ""))
    if output.get("output_type") == "error":
        return _plain("\n".join(output.get("traceback", []))) + "\n"
    data = output.get("data", {})
    return "".join(data.get("text/plain", "")) + ("\n" if data.get("text/plain") else "")


def _plain(text):
    import re
    return re.sub(r"\x1b\[[0-9;]*m", "", text)


def execute_notebook(name, tmp_path, monkeypatch, *, lang="en", env=None, cwd=None, timeout=900, kernel_name=None,
                     **parameters):
    """Execute notebooks/<lang>/<name> (or the notebook at `name`, an absolute path) with papermill (parameters
    injected after its `parameters` cell), headless, with COURSE_OUTPUT_DIR=<tmp_path>/outputs and the environment
    variables in `env` (None removes one). The working directory is the notebook's folder, as in JupyterLab, unless `cwd` is given (a Colab rehearsal runs it
    from an empty folder). COURSE_DATA_MODE is left as the test sets it (make test sets 'standin'). kernel_name: a
    kernelspec to run it with instead of the notebook's own (e.g. one that starts the kernel with fewer privileges)."""
    papermill = pytest.importorskip("papermill")
    source = NOTEBOOKS / lang / name                # an absolute path (a copy elsewhere) is taken as it is
    outputs = tmp_path / "outputs"
    monkeypatch.setenv("COURSE_HEADLESS", "1")
    monkeypatch.setenv("COURSE_OUTPUT_DIR", str(outputs))
    for key, value in (env or {}).items():
        if value is None:
            monkeypatch.delenv(key, raising=False)
        else:
            monkeypatch.setenv(key, str(value))
    executed = tmp_path / f"executed-{lang}-{Path(name).name}"
    try:
        papermill.execute_notebook(str(source), str(executed), parameters=parameters,
                                   cwd=str(cwd or source.parent), progress_bar=False, log_output=False,
                                   execution_timeout=timeout, kernel_name=kernel_name)
    except papermill.PapermillExecutionError:
        pass                                        # the executed notebook holds the failing cell's error output
    cells = [c for c in json.loads(executed.read_text(encoding="utf-8"))["cells"]     # as in the notebook: without
             if "injected-parameters" not in c.get("metadata", {}).get("tags", [])]   # the cell papermill injects
    run = NotebookRun(executed, outputs, cells)
    code = [c for c in cells if c["cell_type"] == "code"]
    for i, cell in enumerate(code):
        errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
        if errors:
            e = errors[0]
            run.error = StoppedAt(i, e.get("ename", ""), e.get("evalue", ""),
                                  _plain("\n".join(e.get("traceback", []))), "".join(cell.get("source", "")))
            break
    return run
