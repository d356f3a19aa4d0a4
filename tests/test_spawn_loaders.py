"""Windows and macOS start DataLoader workers with spawn: a fresh interpreter gets the dataset, its transforms and the
collate function by pickling, and cannot import what a notebook cell defines. Each notebook is executed in a Jupyter
kernel up to its last cell that builds a loader (one epoch per training run); then every DataLoader it holds is rebuilt on the same dataset and
collate function with multiprocessing_context='spawn', num_workers=1, and must deliver a batch. A notebook that hands a
DataLoader a lambda, or a function or class of its own, fails here (the last test shows that it would)."""
import json
import re

import nbformat
import pytest

from notebook_runs import NOTEBOOKS, execute_notebook

BUILDS_A_LOADER = re.compile(r"DataLoader\(|_loaders\(")
LOADERS = ["loaders['train']", "loaders['valid']", "loaders['train_valid']", "loaders['test']"]
EXPECTED = {"00_toolkit_tour.ipynb": {*LOADERS},
            "37_fine_tuning.ipynb": {"train_iter", "test_iter"},
            "38_classify_leaves.ipynb": {"train_iter", "valid_iter", "test_iter"},
            "39_kaggle_cifar10.ipynb": {*LOADERS, *(name.replace("loaders", "plain") for name in LOADERS)},
            "40_kaggle_dog.ipynb": {*LOADERS, "clean_train"}}

# Run in the notebook's kernel after its loader cells: every DataLoader in the namespace (also inside dicts), rebuilt
# with spawned workers, one batch each. Prints {"name = other name": "ok <shapes>" or "<error>"} as JSON.
PROBE = '''
import json as _json
import torch as _torch
_found = {}
for _name, _value in list(globals().items()):
    _items = _value.items() if isinstance(_value, dict) and not _name.startswith("_") else [(None, _value)]
    for _key, _item in _items:
        if isinstance(_item, _torch.utils.data.DataLoader) and not _name.startswith("_"):
            _named = _name if _key is None else f"{_name}[{_key!r}]"
            _found[id(_item)] = (_found[id(_item)][0] + " = " + _named if id(_item) in _found else _named, _item)
_result = {}
for _name, _loader in _found.values():
    _spawned = _torch.utils.data.DataLoader(_loader.dataset, batch_size=2, num_workers=1,
                                            multiprocessing_context="spawn", collate_fn=_loader.collate_fn,
                                            worker_init_fn=_loader.worker_init_fn)
    try:
        _X, _y = next(iter(_spawned))[:2]
        _result[_name] = f"ok {tuple(_X.shape)} {tuple(_y.shape)}"
    except Exception as _e:
        _result[_name] = f"{type(_e).__name__}: {str(_e).strip().splitlines()[-1][:300]}"
print(_json.dumps(_result))
'''


ONE_EPOCH = "PRESETS = {name: {**preset, 'EPOCHS': 1} for name, preset in PRESETS.items()}   # the loaders stay the same"


def spawn_probe(notebook, tmp_path, monkeypatch, cwd, one_epoch=False):
    """Execute `notebook` (a NotebookNode) up to its last cell that builds a loader, then the probe; return the
    probe's {loader: result}, each loader named by every name the notebook gives it. one_epoch: a cell after the
    parameters cell makes every training run one epoch long."""
    code = [i for i, c in enumerate(notebook.cells) if c.cell_type == "code"]
    last = max(i for i in code if BUILDS_A_LOADER.search(notebook.cells[i].source))
    cells = notebook.cells[:last + 1] + [nbformat.v4.new_code_cell(PROBE)]
    if one_epoch:
        params = next(i for i, c in enumerate(cells) if "parameters" in c.metadata.get("tags", []))
        cells.insert(params + 1, nbformat.v4.new_code_cell(ONE_EPOCH))
    notebook.cells = cells
    path = tmp_path / "upto-loaders.ipynb"
    nbformat.write(notebook, path)
    run = execute_notebook(path, tmp_path, monkeypatch, env={"COURSE_LANG": "en"}, cwd=cwd)
    assert run.error is None, run.error
    return json.loads(run.cell_text(-1).strip().splitlines()[-1])


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_loader_a_notebook_builds_delivers_a_batch_through_a_spawned_worker(name, tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_DATA_MODE", "standin")
    notebook = nbformat.read(NOTEBOOKS / "en" / name, as_version=4)
    result = spawn_probe(notebook, tmp_path, monkeypatch, cwd=NOTEBOOKS / "en", one_epoch=True)
    names = {n for names in result for n in names.split(" = ")}
    assert names >= EXPECTED[name], f"the probe found {sorted(names)}; the notebook's loaders were renamed? {result}"
    assert all(r.startswith("ok ") for r in result.values()), result


def test_the_probe_fails_on_what_a_spawned_worker_cannot_have(tmp_path, monkeypatch):
    """A collate function that is a lambda, and a dataset class defined in the notebook: both fail through spawn, as
    they would on Windows and macOS; a dataset that torch defines passes."""
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "import torch\n"
        "pairs = torch.utils.data.TensorDataset(torch.ones(4, 2), torch.ones(4))\n"
        "builtin_iter = torch.utils.data.DataLoader(pairs, 2)\n"
        "lambda_iter = torch.utils.data.DataLoader(pairs, 2, collate_fn=lambda batch: torch.utils.data.default_collate(batch))\n"
        "class Squares(torch.utils.data.Dataset):\n"
        "    def __len__(self): return 4\n"
        "    def __getitem__(self, i): return torch.full((2,), float(i * i)), i\n"
        "own_class_iter = torch.utils.data.DataLoader(Squares(), 2)")])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    result = spawn_probe(notebook, tmp_path, monkeypatch, cwd=tmp_path)
    assert result["builtin_iter"].startswith("ok "), result
    assert not result["lambda_iter"].startswith("ok ") and "lambda" in result["lambda_iter"], result
    # the class pickles by name in the kernel, but the spawned worker cannot import it from the notebook's __main__
    # ("Can't get attribute 'Squares'" on the worker's stderr): the worker dies
    assert not result["own_class_iter"].startswith("ok ") and "worker" in result["own_class_iter"], result


def test_default_num_workers_is_zero_in_a_notebook_whose_workers_spawn_and_says_so_once(tmp_path, monkeypatch):
    """In a kernel set to start processes with spawn (as on Windows and macOS): 0 workers and one line saying why;
    in a script file (which a spawned worker can import) the count of cores beyond the first, at most 4."""
    import os
    import subprocess
    import sys
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "import multiprocessing, sys\n"
        "multiprocessing.set_start_method('spawn', force=True)\n"
        f"sys.path.insert(0, {str(NOTEBOOKS.parent)!r})\n"
        "import helpers\n"
        "print('workers:', helpers.default_num_workers(), helpers.default_num_workers())")])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(notebook, tmp_path / "spawn.ipynb")
    run = execute_notebook(tmp_path / "spawn.ipynb", tmp_path, monkeypatch, env={"COURSE_LANG": "en"}, cwd=tmp_path)
    assert run.error is None, run.error
    assert "workers: 0 0" in run.text and run.text.count("num_workers=0") == 1 and "'spawn'" in run.text
    script = tmp_path / "train.py"
    script.write_text("import multiprocessing, sys\n"
                      f"sys.path.insert(0, {str(NOTEBOOKS.parent)!r})\n"
                      "import helpers\n"
                      "if __name__ == '__main__':\n"
                      "    multiprocessing.set_start_method('spawn')\n"
                      "    print(helpers.default_num_workers())\n")
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, check=True).stdout
    assert out.strip() == str(min(4, max(0, (os.cpu_count() or 1) - 1)))
