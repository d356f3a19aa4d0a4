"""The notebooks as a learner meets them: every chapter in Chinese and English with the same code, at most 150
visible code lines per chapter, checks out of sight, and the lecture's functions shown from their one definition."""
import importlib.util
import json
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("notebook_stats", REPO / "tools" / "notebook_stats.py")
stats = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(stats)
CHAPTERS = stats.chapter_notebooks()


def test_every_notebook_exists_in_both_languages_with_the_same_code_and_lecture_length():
    assert set(CHAPTERS) >= {"00", "37", "38", "39", "40"}
    assert stats.problems(150) == []


@pytest.mark.parametrize("chapter", sorted(CHAPTERS))
def test_checks_are_collapsed_and_tagged(chapter):
    """A cell tagged 'check' (asserts that exist for CI) is collapsed in JupyterLab, and a collapsed cell is tagged."""
    for path in CHAPTERS[chapter].values():
        for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
            md = cell.get("metadata", {})
            tagged = "check" in md.get("tags", [])
            assert tagged == bool(md.get("jupyter", {}).get("source_hidden")), (path.name, stats.source(cell)[:60])


@pytest.mark.parametrize("chapter, functions", [
    ("39", ["read_csv_labels", "reorg_train_valid", "reorg_test", "train_batch_ch13", "train_ch13"]),
    ("37", ["finetune_optimizer"]),
])
def test_the_lecture_code_is_shown_from_its_one_definition(chapter, functions):
    for path in CHAPTERS[chapter].values():
        code = "".join(stats.source(c) for c in json.loads(path.read_text(encoding="utf-8"))["cells"]
                       if c["cell_type"] == "code")
        for name in functions:
            assert f"helpers.{name}" in code and "show_source(" in code, (path.name, name)


def test_attached_images_are_the_ones_in_img():
    """Images are attached to markdown cells (they then show on Colab too); each must equal its file in img/, which
    the drawing scripts in tools/ regenerate."""
    import base64
    found = 0
    for langs in CHAPTERS.values():
        for path in langs.values():
            for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
                for name, data in cell.get("attachments", {}).items():
                    assert base64.b64decode(data["image/png"]) == (REPO / "img" / name).read_bytes(), (path, name)
                    found += 1
    assert found >= 2
