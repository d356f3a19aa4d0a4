"""One vocabulary (issue 17, item 5): the Chinese text uses d2l-zh's terms, read from docs/glossary.zh.md (so the
test and the glossary cannot drift apart), and no Chinese sentence is broken across lines in markdown (a line
break inside a Chinese paragraph renders as a stray space)."""
import io
import json
import re
import tokenize
from pathlib import Path

import pytest

from machinery.messages_zh import ZH

REPO = Path(__file__).resolve().parents[1]
ZH_NOTEBOOKS = sorted(p.name for p in (REPO / "notebooks" / "zh").glob("[0-9]*.ipynb"))
CJK = "\u3000-\u303f\u3400-\u9fff\uf900-\ufaff\uff00-\uffef"
_CJK = re.compile(f"[{CJK}]")

# Notebooks whose owners are bringing them to the glossary in parallel (issue 17). Strict: once a notebook passes,
# the xfail fails, and its entry is removed at the merge.
VARIANTS_LEFT = {
}
BROKEN_LINES_LEFT = {
}


def waiting_for(table):
    return [pytest.param(name, marks=pytest.mark.xfail(strict=True, reason=table[name])) if name in table else name
            for name in ZH_NOTEBOOKS]


# ------------------------------------------------------------------------------------------------------ sources

def glossary():
    """[(term, variant, note)] from the table in docs/glossary.zh.md: every entry of its 不用 column, with the
    note in parentheses after it ('' when none)."""
    rows = [line.strip().strip("|").split("|") for line in
            (REPO / "docs" / "glossary.zh.md").read_text(encoding="utf-8").splitlines() if line.startswith("|")]
    header = [cell.strip() for cell in rows[0]]
    use, avoid = header.index("用这个词"), header.index("不用")
    entries = []
    for row in rows[2:]:
        for entry in re.split(r",\s*(?![^()]*\))", row[avoid].strip()):      # commas outside parentheses
            if entry:
                variant, _, note = entry.partition(" (")
                entries.append((row[use].strip(), variant.strip(), note.rstrip(")").strip()))
    return entries


def markdown_cells(name):
    cells = json.loads((REPO / "notebooks" / "zh" / name).read_text(encoding="utf-8"))["cells"]
    return ["".join(c["source"]) for c in cells if c["cell_type"] == "markdown"]


def comments(name):
    """The comments of a notebook's code cells, one string per cell (IPython magics dropped)."""
    cells = json.loads((REPO / "notebooks" / "zh" / name).read_text(encoding="utf-8"))["cells"]
    out = []
    for c in cells:
        if c["cell_type"] == "code":
            code = "\n".join(line for line in "".join(c["source"]).splitlines()
                             if not line.lstrip().startswith(("%", "!")))
            out.append("\n".join(t.string for t in tokenize.generate_tokens(io.StringIO(code).readline)
                                 if t.type == tokenize.COMMENT))
    return out


def readme_chinese():
    """The README's 中文 part: from its '## 中文' heading to the next heading of that level (or the end)."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    part = text[text.index("\n## 中文") + 1:]
    following = re.search(r"^## ", part[3:], flags=re.MULTILINE)
    return part[:following.start() + 3] if following else part


# ---------------------------------------------------------------------------------------------------- variants

def without_code(text):
    """Markdown text without fenced code blocks, inline code, link targets and {fields}."""
    text = re.sub(r"^(```|~~~).*?^\1", "", text, flags=re.MULTILINE | re.DOTALL)
    text = re.sub(r"\{[^{}\s]*\}", "", text)                          # the {fields} of a catalogue sentence
    return re.sub(r"\]\([^)]*\)", "]", re.sub(r"`[^`\n]*`", "", text))


def variants_in(text):
    """['variant (term) in: ...context...'] for every glossary variant found in `text` (markdown or comments)."""
    text = without_code(text)
    unquoted = re.sub(r"“[^”]*”|「[^」]*」|『[^』]*』", "", "\n".join(
        line for line in text.splitlines() if not line.lstrip().startswith(">")))
    found = []
    for term, variant, note in glossary():
        if re.fullmatch(r"[A-Za-z -]+", variant):                    # an English word: only in Chinese prose
            lines = [re.sub(r"（[^）]*）|\([^)]*\)", "", line) for line in text.splitlines() if _CJK.search(line)]
            pattern, where = rf"(?<![A-Za-z_]){re.escape(variant)}s?(?![A-Za-z_])", "\n".join(lines)
        else:
            pattern, where = re.escape(variant), unquoted if "quoting" in note else text
        found += [f"{variant} ({term}) in: ...{where[max(0, m.start() - 12):m.end() + 12]}...".replace("\n", "⏎")
                  for m in re.finditer(pattern, where)]
    return found


def test_the_glossary_lists_the_variants_that_issue_17_found():
    entries = glossary()
    variants = {variant for _, variant, _ in entries}
    assert {"迭代周期", "准确率", "批量归一化", "池化", "替代数据", "notebook"} <= variants
    assert all(variant and variant != term for term, variant, _ in entries)
    used = {word for term, _, _ in entries for word in term.split(" / ")}
    assert not used & variants, used & variants                    # no word is both used and rejected


@pytest.mark.parametrize("text, found", [
    ("每个迭代周期之后重画一次", ["迭代周期"]),
    ("训练 5 个周期，最后一个周期的精度", ["个周期", "个周期"]),
    ("每个 epoch 之后", ["epoch"]),
    ("每轮（epoch）之后，`num_epochs` 控制轮数", []),
    ("The epochs of an English line", []),
    ("用的是替代数据或随机权重", ["替代数据"]),
    ("课件上写的是“标号”", []),
    ("源数据集的标号包含目标标号", ["标号", "标号"]),
    ("在 Kaggle Notebooks 上，每个 notebook 都", ["notebook"]),
    ("周期性学习率和 CPU 的时钟周期", []),
    ("```python\n# 迭代周期\n```\n正文", []),
])
def test_the_variant_finder_on_examples(text, found):
    assert [f.split(" (")[0] for f in variants_in(text)] == found


@pytest.mark.parametrize("name", waiting_for(VARIANTS_LEFT))
def test_zh_notebook_uses_the_glossary_terms(name):
    found = [f"markdown: {f}" for cell in markdown_cells(name) for f in variants_in(cell)]
    found += [f"comment: {f}" for cell in comments(name) for f in variants_in(cell)]
    assert not found, "\n".join(found)


def test_the_catalogue_uses_the_glossary_terms():
    found = [f"{english!r}: {f}" for english, chinese in ZH.items() for f in variants_in(chinese)]
    assert not found, "\n".join(found)


def test_the_readme_chinese_part_uses_the_glossary_terms():
    assert not variants_in(readme_chinese())


# ------------------------------------------------------------------------------------------------- line breaks

_BLOCK_START = re.compile(r"\s*([-*+]\s|\d+[.)]\s|\||#|>|<|```|~~~|\$\$|!\[|={3,}\s*$|-{3,}\s*$)")


def sentence_breaks(markdown):
    """['...end of line⏎start of next...'] for every line break inside a paragraph of Chinese text.

    Markdown joins the lines of a paragraph with a space, which is a stray space in Chinese ('要区分，⏎要' renders
    as '，  要'). A break is structural, and not reported, before a list item, a table row, a heading, a quote, a
    fence, an HTML block, display math or an image; after a heading or a table row; at a hard break (two trailing
    spaces, a backslash, <br>); and anywhere inside a fenced code block. Every other break next to a Chinese
    character or punctuation mark is inside the paragraph: the sentence runs on, or a new one starts in the
    same paragraph (also reported: the house rule is one paragraph, one line)."""
    found, fenced = [], False
    lines = markdown.split("\n")
    for a, b in zip(lines, lines[1:]):
        if re.match(r"\s*(```|~~~)", a):
            fenced = not fenced
        if fenced or not a.strip() or not b.strip() or _BLOCK_START.match(b) or re.match(r"\s*(#|\|)", a):
            continue
        if a.endswith("  ") or a.rstrip().endswith(("\\", "<br>", "<br/>")):
            continue
        if _CJK.match(a.rstrip()[-1]) or _CJK.match(b.lstrip()[0]):
            found.append(f"...{a.rstrip()[-16:]}⏎{b.lstrip()[:16]}...")
    return found


REAL_BREAKS = [        # from the notebooks as they were on main on 2026-12-06
    # 40, markdown cell 0: the sentence runs on after a link (issue 17's example)
    "第 40 讲参加第三个比赛：[Dog Breed Identification](https://www.kaggle.com/c/dog-breed-identification)，\n"
    "要区分 120 个狗的品种，照片大小不一。",
    # 40, markdown cell 0: inside a list item, between two Chinese characters
    "- **这些照片是 ImageNet 的一个子集。** 在 ImageNet 上预训练（pretraining）的 ResNet-34 早就见过这些品种，所以我们把它整个\n"
    "  **冻结**（freeze）起来当作特征提取器（feature extraction）。",
    # 00, markdown cell 1: after an enumeration comma, before code
    "- **`helpers.py` 是讲义层**：课上讲的函数，名字和参数都和 d2l 一样（`read_csv_labels`、`reorg_train_valid`、\n"
    "  `train_ch13`、`predict` 等），每个都短到可以在 notebook 里读完。",
    # 00, markdown cell 1: code, then Chinese on the next line
    "每个都短到可以在 notebook 里读完。各章用 `helpers.show_source(...)`\n  把它们显示出来，显示的就是真正运行的那一份定义。",
    # 00, markdown cell 2: after a colon, before code
    "所有可调参数都在下一个单元格里。各章都是同样的写法：\n`\"full\"` 给 GPU 上的真实数据用，`\"small\"` 给 CPU 或替代数据用。",
    # 40, markdown cell 0: a new sentence in the same paragraph
    "本章按 d2l 的步骤走：数据、整理数据集、图像增广、模型、训练和验证、用全部有标签的照片再训练一次、提交结果。\n"
    "另外有两处补充。",
]
NOT_BREAKS = [
    "第一段。\n\n第二段。",                                                   # a paragraph break
    "要点：\n- 第一条\n- 第二条\n1. 第三条",                                 # list items
    "| 模式 | 做什么 |\n|---|---|\n| `real` | 下载 |",                          # a table
    "## 标题\n正文从这里开始。",                                             # after a heading
    "```python\nx = 1  # 中文注释\ny = 2  # 另一行\n```",                     # code
    "第一行  \n第二行（两个空格：有意的换行）",                               # a hard break
    "引文如下：\n> 李沐：我应该花多一点时间读代码",                          # a quote
    "The English paragraph\nwraps here, as English may.",                   # not Chinese
    "见下图：\n![图](img/x.png)",                                           # an image
]


@pytest.mark.parametrize("text", REAL_BREAKS)
def test_the_break_finder_finds_breaks_inside_chinese_paragraphs(text):
    assert len(sentence_breaks(text)) == 1


@pytest.mark.parametrize("text", NOT_BREAKS)
def test_the_break_finder_leaves_structural_breaks_alone(text):
    assert sentence_breaks(text) == []


@pytest.mark.parametrize("name", waiting_for(BROKEN_LINES_LEFT))
def test_no_line_break_inside_a_chinese_paragraph_of_a_zh_notebook(name):
    found = [f"markdown cell {i}: {b}" for i, cell in enumerate(markdown_cells(name)) for b in sentence_breaks(cell)]
    assert not found, f"{len(found)} line break(s) inside Chinese paragraphs:\n" + "\n".join(found)


def test_no_line_break_inside_a_chinese_paragraph_of_the_readme():
    assert not sentence_breaks(readme_chinese())
