"""`make run` (tools/run_notebooks.py) prints one line per notebook and a summary: no progress bars, no kernel or
papermill log, no nbconvert warning (figures have alt text); check cells' code is left out of the HTML; a notebook that
stops is named with its cell and error, the others still run, and the exit status says so."""
import subprocess
import sys
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parents[1]


def notebook(path, *cells, check=None):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    if check:
        cell = nbformat.v4.new_code_cell(check)
        cell.metadata.update(tags=["check"], jupyter={"source_hidden": True})
        nb.cells.append(cell)
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


def test_make_run_prints_one_line_per_notebook_and_a_summary(tmp_path):
    setup = (f"import sys\nsys.path.insert(0, {str(REPO)!r})\n"
             "# Setup\nimport helpers\ncfg = helpers.setup_notebook('99_demo')")
    figure = ("import matplotlib.pyplot as plt\nfig, ax = plt.subplots()\nax.plot([3, 1, 2])\n"
              "ax.set(title='a demo curve', xlabel='epoch', ylabel='loss')\nplt.show()")
    good = notebook(tmp_path / "nb" / "en" / "98_good.ipynb", setup, figure,
                    "from tqdm.auto import tqdm\nfor _ in tqdm(range(3)): pass",
                    check="assert 1 + 1 == 2, 'checked_by_a_collapsed_cell'")
    bad = notebook(tmp_path / "nb" / "en" / "99_bad.ipynb", setup, "raise ValueError('a wrong parameter')",
                   "print('never')")
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "COURSE_OUTPUT_DIR": str(tmp_path / "out"),
           "COURSE_LANG": "en", "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, str(REPO / "tools" / "run_notebooks.py"), str(good), str(bad)],
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=600)
    lines = (done.stdout + done.stderr).rstrip().splitlines()
    assert done.returncode == 1 and len(lines) == 3, lines
    assert lines[0].startswith("  ok en/98_good") and lines[0].endswith("out/notebooks/en/98_good.html")
    assert lines[1].startswith("STOP en/99_bad") and "code cell 1: ValueError: a wrong parameter" in lines[1]
    assert lines[2].startswith("1 of 2 notebooks ran to the end") and "stopped: en/99_bad" in lines[2]
    html = (tmp_path / "out" / "notebooks" / "en" / "98_good.html").read_text()
    assert 'alt="Figure: a demo curve; epoch / loss"' in html and "No description has been provided" not in html
    assert "checked_by_a_collapsed_cell" not in html
    assert (tmp_path / "out" / "notebooks" / "en" / "99_bad.html").exists()
