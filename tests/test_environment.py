"""Project wiring: dependency lists agree, README/CI commands, notebooks committed clean, helpers stands alone."""
import ast
import json
import re
from pathlib import Path

import pytest
import yaml

import helpers

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((REPO / "notebooks").glob("[0-9]*.ipynb"))


def _pyproject_deps():
    import tomllib
    return tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]


def test_environment_yml_matches_pyproject():
    env = yaml.safe_load((REPO / "environment.yml").read_text())
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    assert sorted(pip_section) == sorted(_pyproject_deps())
    required = {"torch", "torchvision", "matplotlib", "pandas", "jupyterlab", "nbval", "pytest", "scipy", "requests"}
    names = {re.split(r"[<>=!~ ]", d)[0].lower() for d in _pyproject_deps()}
    assert required <= names and "d2l" not in names        # d2l goes in with --no-deps, see README


def test_readme_opens_with_the_two_commands_and_ci_runs_the_test_one():
    readme = (REPO / "README.md").read_text()
    first_block = re.search(r"```(?:bash|sh)?\n(.*?)```", readme, re.S).group(1)
    assert "make run" in first_block and "make test" in first_block
    for topic in ("make lab", "Colab", "environment.yml", "COURSE_DATA_MODE", "--no-deps d2l==1.0.3", "make strip"):
        assert topic in readme, topic
    assert "make test" in (REPO / ".ci" / "run").read_text()
    makefile = (REPO / "Makefile").read_text()
    assert "--nbval-current-env" in makefile and "--no-deps d2l==1.0.3" in makefile


def test_helpers_never_imports_d2l_and_documents_public_functions():
    tree = ast.parse((REPO / "helpers.py").read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            assert all(not a.name.startswith("d2l") for a in node.names)
        if isinstance(node, ast.ImportFrom):
            assert not (node.module or "").startswith("d2l")
    undocumented = [n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))
                    and not n.name.startswith("_") and not ast.get_docstring(n)]
    assert undocumented == []


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_committed_clean(path):
    nb = json.loads(path.read_text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert all(not c.get("outputs") and c.get("execution_count") is None for c in code), "run `make strip`"
    assert nb["metadata"].get("kernelspec", {}).get("name") == "python3"
    params = [c for c in code if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(params) == 1, "one parameters cell, tagged 'parameters'"
    setup = "".join(code[1]["source"]) if len(code) > 1 else ""
    assert "helpers.setup_notebook(" in setup and "google.colab" in setup
    assert "/work/" not in path.read_text() and "/root/" not in path.read_text()   # no local paths
