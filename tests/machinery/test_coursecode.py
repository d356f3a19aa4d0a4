"""machinery.coursecode and helpers.show_source: our code beside the course's, read from the installed d2l package at
run time, or a link to d2l-zh's source where d2l is not installed or does not hold the function."""
import inspect
import re
import sys

import pytest
from d2l import torch as d2l_en      # the real package: what the notebooks must show
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output

import helpers
from machinery import coursecode, messages

LECTURE = ["read_csv_labels", "reorg_train_valid", "reorg_test", "train_batch_ch13", "train_ch13"]


def shown(*args, **kwargs):
    """What show_source displays in a notebook: {'text/html': ..., 'text/plain': ...}."""
    InteractiveShell.instance()
    with capture_output() as cap:
        helpers.show_source(*args, **kwargs)
    assert len(cap.outputs) == 1
    return cap.outputs[0].data


@pytest.mark.parametrize("name", LECTURE)
def test_the_course_function_is_read_from_the_installed_package(name):
    code, version = coursecode.package_source(name)
    assert code == inspect.getsource(getattr(d2l_en, name)).rstrip() and version == "d2l 1.0.3"
    out = shown(getattr(helpers, name))
    assert code in out["text/plain"] and inspect.getsource(getattr(helpers, name)).rstrip() in out["text/plain"]
    assert "read from the installed package" in out["text/html"]
    for sentence in coursecode.notes(name):                     # what ours adds, under the two
        assert sentence in out["text/plain"]


def test_every_package_name_kept_is_in_the_package_and_chapter_functions_are_links():
    for name in coursecode.WHERE:
        if ":" in name:
            assert coursecode.package_source(name) is None
            url = coursecode.link(name)
            assert url.startswith("https://github.com/d2l-ai/d2l-zh/blob/") and re.search(r"\.md\?plain=1#L\d+$", url)
        else:
            assert coursecode.package_source(name) is not None and hasattr(d2l_en, name), name


def test_a_chapter_function_is_shown_as_a_link_with_our_code_and_notes():
    out = shown(helpers.build_finetune_net, d2l="fine-tuning:train_fine_tuning", notes=["ours copies the net"])
    assert "chapter fine-tuning only" in out["text/plain"] and "fine-tuning.md?plain=1#L290" in out["text/html"]
    assert "def build_finetune_net" in out["text/plain"] and "- ours copies the net" in out["text/plain"]


def test_without_d2l_every_function_is_a_link(monkeypatch):
    monkeypatch.setitem(sys.modules, "d2l", None)                # import d2l now fails, as where it is not installed
    assert coursecode.package_file() is None
    out = shown(helpers.train_ch13)
    assert "d2l is not installed here" in out["text/plain"] and "d2l/torch.py#L1534" in out["text/html"]
    assert "def train_ch13(net, train_iter" in out["text/plain"]


def test_ours_alone_and_functions_without_a_counterpart():
    alone = shown(helpers.train_ch13, d2l=False, notes=[])
    assert "d2l" not in alone["text/plain"].split("def train_ch13")[0]
    assert shown(helpers.predict)["text/plain"].startswith("def predict(")     # no d2l function of that name


def test_captions_and_notes_speak_the_notebooks_language(monkeypatch):
    monkeypatch.setenv("COURSE_LANG", "zh")
    out = shown(helpers.train_ch13)
    assert "课程的代码" in out["text/plain"] and "我们的代码" in out["text/plain"]
    assert all(re.search(r"[\u4e00-\u9fff]", s) for name in LECTURE for s in coursecode.notes(name))
    monkeypatch.setenv("COURSE_LANG", "en")
    assert messages.tr("images") == "images"
