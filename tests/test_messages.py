"""What a learner reads (machinery/messages.py): one catalogue for every printed sentence, the notebook's language
read from its own comments, and learner errors shown as their message alone."""
import ast
import json
import re
import string
from pathlib import Path

import nbformat
import pytest

from machinery import messages
from machinery.messages_zh import ZH

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((REPO / "notebooks").glob("*/[0-9]*.ipynb"))


def code_cells(path):
    return ["".join(c["source"]) for c in json.loads(path.read_text(encoding="utf-8"))["cells"]
            if c["cell_type"] == "code"]


def python_sources():
    """(where, code) for helpers.py, every machinery module, the tools (make run, make colab-links) and every notebook
    code cell (IPython magics dropped)."""
    modules = [*sorted((REPO / "machinery").glob("*.py")), *sorted((REPO / "tools").glob("*.py"))]
    for path in [REPO / "helpers.py", *modules]:
        yield path.name, path.read_text(encoding="utf-8")
    for path in NOTEBOOKS:
        for i, code in enumerate(code_cells(path)):
            yield f"{path.parent.name}/{path.name} cell {i}", "\n".join(
                line for line in code.splitlines() if not line.lstrip().startswith(("%", "!")))


def sentences_in(code):
    """The literal sentences given to tr(msgid, ...) and check(condition, msgid, ...) in this code."""
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.Call):
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", None)
            position = {"tr": 0, "check": 1}.get(name)
            if position is not None and len(node.args) > position:
                arg = node.args[position]
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                    yield arg.value


def fields(text):
    return sorted(name for _, name, _, _ in string.Formatter().parse(text) if name)


def test_every_sentence_given_to_tr_or_check_has_a_chinese_translation():
    missing = sorted({f"{where}: {s!r}" for where, code in python_sources() for s in sentences_in(code)
                      if s not in ZH})
    assert not missing, "add these to machinery/messages_zh.py:\n" + "\n".join(missing)


def test_no_sentence_is_in_the_catalogue_twice():
    """A dict literal keeps the last of two equal keys silently: two groups translating one sentence differently
    would make one of them lie."""
    tree = ast.parse((REPO / "machinery" / "messages_zh.py").read_text(encoding="utf-8"))
    keys = [ast.literal_eval(k) for node in ast.walk(tree) if isinstance(node, ast.Dict) for k in node.keys]
    assert sorted({k for k in keys if keys.count(k) > 1}) == []


def test_each_translation_has_the_fields_of_its_original_and_reads_as_chinese():
    for english, chinese in ZH.items():
        assert fields(english) == fields(chinese), (english, chinese)
        words = re.sub(r"\{[^{}]*\}", "", english)                # field names are not words to translate
        assert re.search(r"[\u4e00-\u9fff]", chinese) or not re.search(r"[A-Za-z]{3}", words), (english, chinese)


def test_tr_speaks_the_language_chosen_and_falls_back_to_english(monkeypatch):
    monkeypatch.delenv("COURSE_LANG", raising=False)
    monkeypatch.setitem(messages._chosen, "language", None)
    assert messages.tr("as asked") == "as asked"
    messages.set_language("zh")
    assert messages.tr("as asked") == ZH["as asked"]
    assert messages.tr("a sentence nobody translated: {n}", n=3) == "a sentence nobody translated: 3"
    monkeypatch.setenv("COURSE_LANG", "en")                 # the variable wins over set_language
    assert messages.tr("as asked") == "as asked"
    with pytest.raises(ValueError, match="COURSE_LANG"):
        monkeypatch.setenv("COURSE_LANG", "fr")
        messages.language()


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_each_notebook_is_recognised_in_its_own_language_from_its_comments(path):
    """The language setup_notebook will pick is the notebook's folder, from the cells up to the setup cell and from
    the whole notebook (a kernel's history holds at least the setup cell when setup_notebook runs)."""
    cells = code_cells(path)
    setup = next(i for i, code in enumerate(cells) if "setup_notebook(" in code)
    assert messages.language_of_code(cells[:setup + 1]) == path.parent.name
    assert messages.language_of_code(cells) == path.parent.name
    if path.parent.name == "en":                    # one CJK comment would make an English notebook speak Chinese
        assert not messages._CJK.search(" ".join(messages.comment_text(c) for c in cells))


def test_a_learner_error_shows_as_its_message_alone_and_stops_the_notebook(tmp_path):
    """In a real kernel: the check fails with the learner's sentence in red and no traceback frames, the cell counts
    as failed (papermill and Run All stop there), and the next cell does not run."""
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell(f"import sys; sys.path.insert(0, {str(REPO)!r})\n"
                                  "# 准备工作\nimport helpers\nhelpers.set_language(helpers.messages.notebook_language())"
                                  "\nhelpers.messages.show_learner_errors_plainly()"),
        nbformat.v4.new_code_cell("helpers.check(1 + 1 == 3, 'the preset must be {p}', p='small')"),
        nbformat.v4.new_code_cell("print('ran on')"),
    ])
    client = NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}})
    with pytest.raises(CellExecutionError):
        client.execute()
    error = [o for o in nb.cells[1].outputs if o.output_type == "error"]
    assert len(error) == 1 and error[0].ename == "CheckFailed"
    shown = "\n".join(error[0].traceback)
    assert "笔记本在这里停下了" in shown and "the preset must be small" in shown      # zh heading: the comment is Chinese
    assert "Traceback" not in shown and "File " not in shown and ".py" not in shown
    assert nb.cells[2].outputs == []
