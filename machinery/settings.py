"""Where things live: the repository, the data and output folders, the COURSE_* environment variables, and whether
code runs inside a notebook frontend.

Environment variables (all optional):
    COURSE_DATA_MODE   real | standin | auto    forces the data mode everywhere (CI and tests set 'standin')
    COURSE_DATA_DIR    where datasets are downloaded and built      (default: <repo>/data)
    COURSE_OUTPUT_DIR  where figures and submissions are written   (default: <repo>/outputs)
    COURSE_HEADLESS    1 = no live plot/progress updates (set by `make test` and `make run`)
    COURSE_KAGGLE_ROOT Kaggle Notebooks' root folder (default: /kaggle; tests point it elsewhere)

On Kaggle Notebooks (<kaggle root>/input exists) the defaults change: data goes to <kaggle root>/temp/course-data
(writable, large, not saved with the notebook's output) and outputs to <kaggle root>/working (what Kaggle saves and
where its "Submit" button looks for submission.csv). The COURSE_* variables still win.
"""
import os
from pathlib import Path

from . import storage
from .messages import tr

REPO_DIR = Path(__file__).resolve().parent.parent
DATA_MODES = ("real", "standin", "auto")


def kaggle_root():
    """Kaggle Notebooks' root folder (a Path) when this runs there, that is when <root>/input exists; else None.
    root: $COURSE_KAGGLE_ROOT, else /kaggle."""
    root = Path(os.environ.get("COURSE_KAGGLE_ROOT") or "/kaggle").expanduser()
    return root if (root / "input").is_dir() else None


def data_dir_root():
    """Where archives are downloaded, extracted and stand-ins built: $COURSE_DATA_DIR, else on Kaggle Notebooks
    <kaggle root>/temp/course-data, else <repo>/data."""
    if os.environ.get("COURSE_DATA_DIR"):
        return Path(os.environ["COURSE_DATA_DIR"]).expanduser()
    kaggle = kaggle_root()
    return kaggle / "temp" / "course-data" if kaggle else REPO_DIR / "data"


def output_dir(*parts):
    """The folder for figures, submissions and checkpoints, created and checked writable (storage.check_writable: a
    clear error now, not after the work): $COURSE_OUTPUT_DIR, else on Kaggle Notebooks <kaggle root>/working, else
    <repo>/outputs."""
    kaggle = kaggle_root()
    default = kaggle / "working" if kaggle else REPO_DIR / "outputs"
    path = Path(os.environ.get("COURSE_OUTPUT_DIR") or default).expanduser().joinpath(*parts)
    return storage.check_writable(path, tr("figures, checkpoints and submissions"))


def data_mode(mode=None):
    """The data mode in force: $COURSE_DATA_MODE if set (it wins, so CI can force it), else `mode`, else 'auto'."""
    chosen = os.environ.get("COURSE_DATA_MODE") or mode or "auto"
    if chosen not in DATA_MODES:
        raise ValueError(f"data mode must be 'real', 'standin' or 'auto', not {chosen!r} "
                         f"(check COURSE_DATA_MODE)")
    return chosen


def mode_forced():
    """True when COURSE_DATA_MODE overrides the mode passed in code."""
    return bool(os.environ.get("COURSE_DATA_MODE"))


def in_notebook():
    """True inside a Jupyter kernel (JupyterLab, Colab, VS Code, nbval, papermill)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and hasattr(shell, "kernel")


def headless():
    """True when nothing should be updated live: COURSE_HEADLESS=1 (make run, make test), or no notebook kernel."""
    return os.environ.get("COURSE_HEADLESS", "") not in ("", "0") or not in_notebook()
