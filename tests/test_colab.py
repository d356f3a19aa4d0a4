"""Colab from a link (tools/colab_links.py, the setup cell): the repository's address lives in one file and agrees
with every setup cell and README badge; on a stand-in Colab the setup cell clones, installs d2l and runs the
notebook to its end, and without an address it stops with one clear message before any git command."""
import hashlib
import base64
import importlib.metadata
import importlib.util
import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from notebook_runs import execute_notebook

REPO = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("colab_links", REPO / "tools" / "colab_links.py")
colab_links = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(colab_links)

REHEARSED = "38_classify_leaves.ipynb"        # the chapter that runs fastest on its stand-in (docs/38_notes.md)


def test_the_address_file_every_setup_cell_and_every_badge_agree():
    assert colab_links.problems(REPO) == []


def test_setup_cells_are_the_template_with_comments_in_the_notebooks_language():
    from machinery import messages
    for path in colab_links.notebooks(REPO):
        cell = colab_links._source(colab_links.setup_cell_of(colab_links.read_notebook(path)))
        comments = messages.comment_text(cell)
        assert (messages._CJK.search(comments) is not None) == (path.parent.name == "zh"), path
        pip = [line for line in cell.splitlines() if '"pip"' in line and not line.lstrip().startswith("#")]
        assert "google.colab" in cell and len(pip) == 1 and "--no-deps" in pip[0] and "torch" not in pip[0]


def _repo_copy(dst):
    """The repository's tracked and untracked (not ignored) files, copied to dst: the test runs on the working tree."""
    names = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=REPO, check=True,
                           capture_output=True).stdout.decode().split("\0")
    for name in filter(None, names):
        if (REPO / name).is_file() and not name.startswith((".venv", "data/", "outputs/")):
            (dst / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, dst / name)
    return dst


def test_colab_links_writes_the_address_everywhere_and_follows_a_renamed_notebook(tmp_path):
    root = _repo_copy(tmp_path / "repo")
    tool = [sys.executable, str(root / "tools" / "colab_links.py"), "--root", str(root)]
    out = subprocess.run(tool + ["https://github.com/someone/d2l-finetune-kaggle.git"], capture_output=True,
                         text=True, cwd=root)
    assert out.returncode == 0, out.stderr
    assert (root / colab_links.URL_FILE).read_text().strip() == "https://github.com/someone/d2l-finetune-kaggle"
    assert colab_links.problems(root) == []
    readme = (root / "README.md").read_text()
    for path in colab_links.notebooks(root):
        link = ("https://colab.research.google.com/github/someone/d2l-finetune-kaggle/blob/main/"
                f"notebooks/{path.parent.name}/{path.name}")
        assert f"]({link})" in readme
        cell = colab_links._source(colab_links.setup_cell_of(colab_links.read_notebook(path)))
        assert 'REPO_URL = "https://github.com/someone/d2l-finetune-kaggle"' in cell
    # a notebook renamed after the links were written: its badge names the old file until the tool runs again
    old = root / "notebooks" / "en" / "40_kaggle_dog.ipynb"
    old.rename(old.with_name("40_dog_breeds.ipynb"))
    assert any("40_kaggle_dog.ipynb" in p for p in colab_links.problems(root))
    assert subprocess.run(tool, capture_output=True, cwd=root).returncode == 0
    readme = (root / "README.md").read_text()
    assert colab_links.problems(root) == [] and "main/notebooks/en/40_dog_breeds.ipynb)" in readme
    assert "main/notebooks/en/40_kaggle_dog.ipynb" not in readme
    bad = subprocess.run(tool + ["https://gitlab.com/someone/repo"], capture_output=True, text=True, cwd=root)
    assert bad.returncode == 2 and "https://github.com/OWNER/REPO" in bad.stdout


def _d2l_wheel(folder):
    """A wheel of the installed d2l (1.0.3), packed from its installed files: pip installs it offline, as Colab would
    install d2l from PyPI."""
    dist = importlib.metadata.distribution("d2l")
    name = f"d2l-{dist.version}-py3-none-any.whl"
    skip = {"RECORD", "INSTALLER", "REQUESTED", "direct_url.json"}
    record, info = [], f"d2l-{dist.version}.dist-info"
    folder.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(folder / name, "w", zipfile.ZIP_DEFLATED) as whl:
        for file in dist.files:
            if file.name in skip or "__pycache__" in file.parts or file.parts[0].startswith(".."):
                continue
            data = Path(dist.locate_file(file)).read_bytes()
            whl.writestr(file.as_posix(), data)
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            record.append(f"{file.as_posix()},sha256={digest},{len(data)}")
        whl.writestr(f"{info}/RECORD", "\n".join(record + [f"{info}/RECORD,,"]) + "\n")
    return folder / name


def _stand_in_colab(tmp_path, url, lang="zh"):
    """/content with the notebook alone in it (its REPO_URL set to `url`), and a stand-in google.colab that the
    kernel imports at start-up, as Colab's kernel does. Returns (content folder, notebook, environment)."""
    content = tmp_path / "content"
    content.mkdir()
    notebook = content / REHEARSED
    shutil.copyfile(REPO / "notebooks" / lang / REHEARSED, notebook)
    colab_links.write_setup_cell(notebook, colab_links.setup_cell(notebook.stem, lang, url))
    site = tmp_path / "colab-site"
    (site / "google" / "colab").mkdir(parents=True)
    (site / "google" / "colab" / "__init__.py").write_text('"""A stand-in for Colab\'s google.colab (tests)."""\n')
    (site / "sitecustomize.py").write_text("import google.colab  # Colab's kernel has it imported at start-up\n")
    env = {"PYTHONPATH": str(site),                     # the repository is NOT importable: only the clone will be
           "PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(_d2l_wheel(tmp_path / "wheels")),
           "PIP_TARGET": str(tmp_path / "pip-target"),  # pip writes here, never into the test's environment
           "PIP_NO_CACHE_DIR": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1",
           "COURSE_DATA_DIR": None, "COURSE_LANG": None, "KAGGLE_KERNEL_RUN_TYPE": None, "COURSE_KAGGLE_ROOT": None}
    return content, notebook, env


def test_on_colab_the_setup_cell_clones_installs_d2l_and_the_notebook_runs_to_its_end(tmp_path, monkeypatch):
    origin = _repo_copy(tmp_path / "origin")
    git = ["git", "-c", "user.name=test", "-c", "user.email=test@example.com", "-c", "init.defaultBranch=main"]
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "the working tree"]):
        subprocess.run(git + args, cwd=origin, check=True)
    content, notebook, env = _stand_in_colab(tmp_path, origin.as_uri())
    assert [p.name for p in content.iterdir()] == [REHEARSED]
    monkeypatch.setenv("COURSE_DATA_MODE", "standin")
    run = execute_notebook(notebook, tmp_path, monkeypatch, lang="zh", env=env, cwd=content)
    assert run.error is None, run.error
    clone = content / colab_links.CLONE
    assert (clone / "helpers.py").is_file() and (clone / ".git" / "shallow").is_file()      # git clone --depth 1
    assert sorted(p.name for p in (tmp_path / "pip-target").iterdir() if not p.name.startswith(".")) == \
        ["d2l", "d2l-1.0.3.dist-info"]                                                      # d2l only: no torch
    assert any((clone / "data" / "standin").iterdir())       # helpers came from the clone: its data/ on local disk
    setup_text = run.cell_text(1)
    assert "torch" in setup_text and "cpu" in setup_text and "fatal" not in setup_text and "WARNING" not in setup_text
    assert "设备" in setup_text                                 # the Chinese notebook speaks Chinese from cell 1
    assert list((run.outputs / "submissions").glob("*.csv"))


def test_on_colab_without_an_address_the_setup_cell_stops_with_one_clear_message(tmp_path, monkeypatch):
    content, notebook, env = _stand_in_colab(tmp_path, "", lang="en")
    run = execute_notebook(notebook, tmp_path, monkeypatch, lang="en", env=env, cwd=content)
    assert run.error is not None and run.error.code_cell == 1 and run.error.ename == "RuntimeError"
    assert "set REPO_URL above" in run.error.evalue and "REPO_URL 设为" in run.error.evalue
    assert "fatal:" not in run.text and "CalledProcessError" not in run.text
    assert not (content / colab_links.CLONE).exists()
    assert not (tmp_path / "pip-target").exists() and not run.ran(2)
