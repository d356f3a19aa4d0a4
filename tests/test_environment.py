"""Project wiring: dependency lists agree, README/CI commands, notebooks committed clean, helpers stands alone."""
import ast
import json
import re
from pathlib import Path

import pytest
import yaml

import helpers  # noqa: F401  (imported first: the tests need it importable)

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((REPO / "notebooks").glob("*/[0-9]*.ipynb"))


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


LAYERS = [REPO / "helpers.py", *sorted((REPO / "machinery").glob("*.py"))]


def _imports(tree):
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            yield ("." * node.level) + (node.module or "")


@pytest.mark.parametrize("path", LAYERS, ids=lambda p: p.name)
def test_layers_never_import_d2l_and_document_public_functions(path):
    tree = ast.parse(path.read_text())
    assert not [name for name in _imports(tree) if name.split(".")[0] == "d2l"]
    undocumented = [n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))
                    and not n.name.startswith("_") and not ast.get_docstring(n)]
    assert undocumented == [] and ast.get_docstring(tree)


def test_machinery_never_imports_helpers_and_has_no_cycles():
    """helpers imports the machinery, never the reverse; the machinery's own imports form no cycle."""
    graph = {}
    for path in (REPO / "machinery").glob("*.py"):
        names = set(_imports(ast.parse(path.read_text())))
        assert "helpers" not in names, f"{path.name} imports helpers"
        graph[path.stem] = {n.lstrip(".").split(".")[0] for n in names if n.startswith(".")} | \
                           {n.split(".")[1] for n in names if n.startswith("machinery.")}
    for path in (REPO / "machinery").glob("*.py"):     # `from . import x, y`
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level == 1 and not node.module:
                graph[path.stem] |= {a.name for a in node.names}
    graph = {k: v - {""} for k, v in graph.items()}
    visiting, done = set(), set()

    def visit(module, trail):
        assert module not in visiting, f"import cycle: {' -> '.join(trail + [module])}"
        if module in done:
            return
        visiting.add(module)
        for dep in graph.get(module, ()):
            visit(dep, trail + [module])
        visiting.discard(module)
        done.add(module)
    for module in graph:
        visit(module, [])


def test_helpers_is_a_lecture_layer_of_readable_functions():
    """At most about 1,000 lines, and the code of every function or method in it (its docstring aside) fits on a
    screen: at most 40 lines."""
    source = (REPO / "helpers.py").read_text()
    assert len(source.splitlines()) <= 1000
    long = []
    for n in ast.walk(ast.parse(source)):
        if isinstance(n, ast.FunctionDef):
            doc = n.body[0] if ast.get_docstring(n) else None
            code = n.end_lineno - n.lineno + 1 - ((doc.end_lineno - doc.lineno + 1) if doc else 0)
            if code > 40:
                long.append((n.name, code))
    assert long == []


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_notebook_is_committed_clean(path):
    nb = json.loads(path.read_text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert all(not c.get("outputs") and c.get("execution_count") is None for c in code), "run `make strip`"
    assert nb["metadata"].get("kernelspec", {}).get("name") == "python3"
    params = [c for c in code if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(params) == 1, "one parameters cell, tagged 'parameters'"
    assert any("helpers.setup_notebook(" in "".join(c["source"]) and "google.colab" in "".join(c["source"])
               for c in code[:3]), "a setup cell near the top that works locally and on Colab"
    assert "/work/" not in path.read_text() and "/root/" not in path.read_text()   # no local paths
