#!/usr/bin/env python3
"""What a learner meets in each notebook: its language, its visible code lines, and whether the Chinese and English
versions of a chapter run the same code.

    python tools/notebook_stats.py [MAX]      # from the repository root; MAX visible code lines (default 150)

A notebook is Chinese when at least 25% of the letters in its markdown are CJK characters, English when at most 3%.
Visible code lines are the non-blank, non-comment lines of code cells that JupyterLab shows; a cell is hidden when
its metadata has jupyter.source_hidden, or a tag among check / hide-input / hide-cell / remove-input (the CI checks
live in such cells, collapsed). Code cells are compared with comments and blank lines removed: comments may differ
between the languages, code may not. Exit status 1 when a chapter falls short.
"""
import io
import json
import re
import sys
import tokenize
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CHAPTERS = ("37", "38", "39", "40")
HIDDEN_TAGS = {"check", "hide-input", "hide-cell", "remove-input"}
CJK = re.compile(r"[\u4e00-\u9fff]")
LETTER = re.compile(r"[A-Za-z\u4e00-\u9fff]")


def source(cell):
    s = cell.get("source", "")
    return "".join(s) if isinstance(s, list) else s


def is_hidden(cell):
    md = cell.get("metadata", {})
    return bool(md.get("jupyter", {}).get("source_hidden")) or bool(set(md.get("tags", [])) & HIDDEN_TAGS)


def language(nb):
    """'zh', 'en' or 'mixed(<share of CJK letters>)' from the notebook's markdown."""
    text = "".join(source(c) for c in nb["cells"] if c["cell_type"] == "markdown")
    share = len(CJK.findall(text)) / max(1, len(LETTER.findall(text)))
    return "zh" if share >= 0.25 else "en" if share <= 0.03 else f"mixed({share:.2f})"


def visible_code_lines(nb):
    """Non-blank lines that are not comments, in code cells that JupyterLab shows expanded."""
    return sum(1 for c in nb["cells"] if c["cell_type"] == "code" and not is_hidden(c)
               for line in source(c).splitlines() if line.strip() and not line.strip().startswith("#"))


def code_without_comments(code):
    """The cell's code with comments, blank lines and runs of blanks removed (for comparing two languages)."""
    try:
        tokens = [t for t in tokenize.generate_tokens(io.StringIO(code).readline) if t.type != tokenize.COMMENT]
        code = tokenize.untokenize(tokens)
    except (tokenize.TokenError, IndentationError, SyntaxError):
        code = "\n".join(line.split("#")[0] for line in code.splitlines())
    return [re.sub(r"\s+", " ", line.strip()) for line in code.splitlines() if line.strip()]


def code_cells(nb):
    return [code_without_comments(source(c)) for c in nb["cells"] if c["cell_type"] == "code"]


def chapter_notebooks():
    """{chapter: {language: path}} for notebooks/<lang>/<chapter>_*.ipynb."""
    found = {}
    for path in sorted((REPO / "notebooks").glob("*/*.ipynb")):
        m = re.match(r"(\d\d)_", path.name)
        if m and ".ipynb_checkpoints" not in str(path):
            found.setdefault(m.group(1), {})[path.parent.name] = path
    return found


def problems(max_lines=150):
    """Lines describing what falls short: languages, identical code, visible code per chapter notebook."""
    short = []
    for chapter, langs in chapter_notebooks().items():
        books = {lang: json.loads(path.read_text(encoding="utf-8")) for lang, path in langs.items()}
        for lang, nb in books.items():
            if language(nb) != lang:
                short.append(f"{langs[lang].relative_to(REPO)}: its markdown reads as {language(nb)}, not {lang}")
            if chapter in CHAPTERS and visible_code_lines(nb) > max_lines:
                short.append(f"{langs[lang].relative_to(REPO)}: {visible_code_lines(nb)} visible code lines > {max_lines}")
        if set(books) != {"zh", "en"}:
            short.append(f"chapter {chapter}: languages {sorted(books)} (need zh and en)")
        elif code_cells(books["zh"]) != code_cells(books["en"]):
            zh, en = code_cells(books["zh"]), code_cells(books["en"])
            first = next((i for i, (a, b) in enumerate(zip(zh, en)) if a != b), min(len(zh), len(en)))
            short.append(f"chapter {chapter}: code cell {first} differs between zh and en ({len(zh)} vs {len(en)} "
                         f"code cells)")
    return short


def main():
    max_lines = int(sys.argv[1]) if len(sys.argv) > 1 else 150
    for chapter, langs in chapter_notebooks().items():
        for lang, path in langs.items():
            nb = json.loads(path.read_text(encoding="utf-8"))
            print(f"{path.relative_to(REPO)}: {language(nb)}, {visible_code_lines(nb)} visible code lines, "
                  f"{sum(c['cell_type'] == 'code' for c in nb['cells'])} code cells")
    short = problems(max_lines)
    print("SHORT: " + " | ".join(short) if short else
          f"every notebook: zh + en with identical code; chapters within {max_lines} visible code lines")
    return 1 if short else 0


if __name__ == "__main__":
    sys.exit(main())
