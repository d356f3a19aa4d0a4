"""The course's language throughout (issue 17, item 3): a Chinese notebook prints no English sentence and comments
its code in Chinese. The Chinese notebooks are executed here, once each, with papermill, as a learner would run
them; this replaces nbval for notebooks/zh (notebooks/conftest.py), so `make test` executes each notebook once, as
before. The detector (tests/english.py) is tested first, on lines the notebooks printed."""
import html
import io
import json
import re
import tokenize
from pathlib import Path

import pytest

from english import english_sentences
from machinery.messages import _CJK
from notebook_runs import execute_notebook

REPO = Path(__file__).resolve().parents[1]
ZH_NOTEBOOKS = sorted(p.name for p in (REPO / "notebooks" / "zh").glob("[0-9]*.ipynb"))

# Notebooks whose owners are bringing them into Chinese in parallel (issue 17). Strict: once a notebook passes, the
# xfail fails, and its entry is removed at the merge.
PRINTS_ENGLISH = {
}
ENGLISH_COMMENTS = {
}
ENGLISH_SETUP_COMMENTS = {}      # every zh setup cell comments in Chinese now (tools/colab_links.py writes them)


def waiting_for(table):
    return [pytest.param(name, marks=pytest.mark.xfail(strict=True, reason=table[name])) if name in table else name
            for name in ZH_NOTEBOOKS]


# ------------------------------------------------------------------------------------------------- the detector

D2L_ZH_PRINTS = [       # what d2l-zh's own notebooks print, and what ours print that is not a sentence
    "[替身数据] epoch 3/5: loss 0.512, train acc 0.812, valid acc 0.790, lr 0.0002, 4.1 s, 250 img/s",
    "loss 0.677, train acc 0.724, valid acc 0.825",
    "1234.5 examples/sec on [device(type='cuda', index=0)]",
    "95.7 examples/sec on cpu",
    "已把 5 行写入 /work/wt/voice/outputs/submissions/00_tour_submission.csv",
    r"替身数据所在的文件夹：C:\Users\Li Ming\d2l\data\standin\hotdog-0a0751b1\hotdog",
    "正在下载 resnet18 的权重（https://download.pytorch.org/models/resnet18-f37072fd.pth）……",
    "torch 2.14.1+cu130，设备 cpu（没有 GPU：小预设可以在 CPU 上运行；在 Colab 上请选择 GPU 运行时）",
    "预设 'small'（数据是替身数据）：",
    "  BATCH_SIZE 32, EPOCHS 3, LR 0.002, LR_SWEEP [1e-05, 0.0001, 0.001], FREEZE ['layer2', 'body']",
    "             airplane  automobile  bird  cat  deer  dog  frog  horse  ship  \\",
    "   epoch  train_loss  train_acc  valid_acc     lr  time_s  img_per_s",
    "[('1', 'cat'), ('2', 'bird'), ('3', 'cat')]",
    "{'train': 240, 'valid': 120, 'train_valid': 360, 'test': 10}",
    "resnet_block2    output shape (1, 128, 16, 16)",
    "Linear(in_features=512, out_features=2, bias=True)",
    "beagle, pug, chow, whippet, basenji",
    "0  10b7b7e55faaae01e8a76b766ead8205       0.008027      0.008426",
    "原因：下载失败（系统的原话：“[Errno -2] Name or service not known”）。",
    "用 ResNet-18 和 ImageNet 的权重做微调",
    "[5 rows x 121 columns]",
]
ENGLISH_SENTENCES = [   # lines the zh notebooks printed on 2026-12-06 (machine: this 2-core CPU, stand-in data)
    "3 epochs, 32-pixel images, 128 training images",
    "the final run started from run 1's initial weights, not its trained ones: True",
    "parameter tensors that the final run changed: 76 of 76",
    "This run: stand-in data (synthetic images), random weights",
    "95.7 examples/sec on cpu (data loading included); 13.2 s of training",
    "train: 128 images, test: 80 images, classes ['hotdog', 'not-hotdog']",
    "backward() fails: element 0 of tensors does not require grad and does not have a grad_fn",
    "ValueError: 1 image file(s) listed in the table are missing under /data/classify-leaves: ['images/x.jpg']",
    "# Why: the stand-in was asked for (mode 'standin', forced by COURSE_DATA_MODE).         #",
    "! Why: [Errno -2] Name or service not known                                            !",
    "from scratch               0.45     0.650      0.648       0.771",
    "images per class         6           6     6    6     6    6     6      6",
    "[替身数据] 1 validation image(s) per class, in /data/kaggle_cifar10_tiny/train_valid_test",
    "[替身数据] epoch 1/3: loss 2.437, train acc 0.083, no valid set, lr 0.001, 13.1 s, 4 img/s",
    'Downloading: "https://download.pytorch.org/models/resnet18-f37072fd.pth" to /root/.cache/torch/hub',
    "数据：same file as train/1.png",
]


@pytest.mark.parametrize("line", D2L_ZH_PRINTS)
def test_the_detector_passes_log_lines_paths_names_identifiers_and_quotations(line):
    assert english_sentences(line) == []


@pytest.mark.parametrize("line", ENGLISH_SENTENCES)
def test_the_detector_finds_english_sentences(line):
    assert english_sentences(line)


# ----------------------------------------------------------------------------------------- the notebooks, executed

def learner_text(output):
    """What the learner reads in one output: streams, errors, and the text of displays, except images (the figure's
    text/plain is matplotlib's repr) and code shown by show_source (highlighted HTML: code, not sentences). HTML
    (a DataFrame) is read cell by cell."""
    kind = output.get("output_type")
    if kind == "stream":
        return "".join(output.get("text", ""))
    if kind == "error":
        return re.sub(r"\x1b\[[0-9;]*m", "", "\n".join(output.get("traceback", [])))
    data = output.get("data", {})
    if any(key.startswith("image/") for key in data):
        return ""
    page = "".join(data.get("text/html", ""))
    if page:
        if 'class="highlight"' in page:
            return ""
        page = re.sub(r"<(style|script)\b.*?</\1>", "", page, flags=re.DOTALL | re.IGNORECASE)
        return html.unescape(re.sub(r"<[^>]+>", "\n", page))
    return "".join(data.get("text/markdown", "")) + "".join(data.get("text/plain", ""))


@pytest.fixture(scope="module")
def zh_run(tmp_path_factory):
    """Each Chinese notebook executed once (papermill, headless, outputs in a folder of the test's own)."""
    runs = {}

    def run(name):
        if name not in runs:
            with pytest.MonkeyPatch.context() as monkeypatch:
                runs[name] = execute_notebook(name, tmp_path_factory.mktemp(name.split("_")[0]), monkeypatch,
                                              lang="zh")
        return runs[name]
    return run


@pytest.mark.parametrize("name", ZH_NOTEBOOKS)
def test_each_zh_notebook_runs_to_the_end(zh_run, name):
    run = zh_run(name)
    assert run.error is None, run.error


@pytest.mark.parametrize("name", waiting_for(PRINTS_ENGLISH))
def test_no_zh_notebook_prints_an_english_sentence(zh_run, name):
    run = zh_run(name)
    found = [f"code cell {i}: {line.strip()[:160]!r} -> {english_sentences(line)}"
             for i, cell in enumerate(c for c in run.cells if c["cell_type"] == "code")
             for output in cell.get("outputs", []) for line in learner_text(output).splitlines()
             if english_sentences(line)]
    assert not found, f"{len(found)} English line(s) in zh/{name}:\n" + "\n".join(found)


def english_comments(name, setup):
    """'code cell i: comment' for each comment without Chinese that holds an English word ('# ---' and '# (1)' hold
    none), in the setup cell (setup=True) or in every other code cell."""
    cells = json.loads((REPO / "notebooks" / "zh" / name).read_text(encoding="utf-8"))["cells"]
    english = []
    for i, code in enumerate("".join(c["source"]) for c in cells if c["cell_type"] == "code"):
        if ("setup_notebook(" in code) != setup:
            continue
        code = "\n".join(line for line in code.splitlines() if not line.lstrip().startswith(("%", "!")))
        for comment in [t.string for t in tokenize.generate_tokens(io.StringIO(code).readline)
                        if t.type == tokenize.COMMENT]:
            if not _CJK.search(comment) and re.search(r"[A-Za-z]{2,}", re.sub(r"`[^`]*`|noqa\S*", "", comment)):
                english.append(f"code cell {i}: {comment}")
    return english


@pytest.mark.parametrize("name", waiting_for(ENGLISH_COMMENTS))
def test_each_comment_in_a_zh_notebook_is_chinese(name):
    assert not english_comments(name, setup=False)


@pytest.mark.parametrize("name", waiting_for(ENGLISH_SETUP_COMMENTS))
def test_the_setup_cell_of_a_zh_notebook_comments_in_chinese(name):
    assert not english_comments(name, setup=True)
