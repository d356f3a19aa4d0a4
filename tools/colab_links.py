#!/usr/bin/env python3
"""`make colab-links URL=https://github.com/OWNER/REPO`: the repository's address, written everywhere it is needed.

The address lives in one place, tools/repository_url.txt (one line; empty until it is set). This tool writes it
into every notebook's setup cell (REPO_URL, which Colab and Kaggle clone) and into the README's "Open in Colab"
badges, one per notebook and language. Without URL it rewrites them from the file (after a template change).

    python tools/colab_links.py https://github.com/OWNER/REPO     # set the address and write it everywhere
    python tools/colab_links.py                                   # write the address in the file everywhere
    python tools/colab_links.py --check                           # list disagreements; exit status 1 if any

The setup cell is generated here, from one template: the code is the same in every notebook, the comments are in
the notebook's language (notebooks/zh: Chinese; notebooks/en: English only). tests/test_colab.py checks that the
file, every setup cell and every badge agree, and rehearses the cell on a stand-in Colab.
"""
import argparse
import json
import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
URL_FILE = Path("tools") / "repository_url.txt"
CLONE = "d2l-finetune-kaggle"                   # the folder the setup cell clones into (on Colab: /content/...)
BRANCH = "main"
BADGE = "https://colab.research.google.com/assets/colab-badge.svg"
BEGIN, END = "<!-- colab-links: begin (written by `make colab-links`) -->", "<!-- colab-links: end -->"
GITHUB = re.compile(r"^https://github\.com/([A-Za-z0-9][A-Za-z0-9-]*)/([A-Za-z0-9._-]+?)(?:\.git)?/?$")

COMMENTS = {
    "en": {"head": "# Setup: in a clone of the repository (make lab), on Colab and on Kaggle Notebooks.",
           "url": "# The repository this notebook came from (`make colab-links URL=...` writes it here).",
           "clone": "# On Colab or Kaggle the first run clones it and adds d2l (--no-deps: the platform's torch stays)."},
    "zh": {"head": "# 准备工作：在克隆的仓库里（make lab）、Colab 和 Kaggle Notebooks 上都能运行。",
           "url": "# 本笔记本所在的仓库（由 `make colab-links URL=...` 写入）。",
           "clone": "# 在 Colab 或 Kaggle 上，第一次运行时克隆仓库并补装 d2l（--no-deps：不重装平台自带的 torch）。"},
}

TEMPLATE = '''{head}
import os, sys, pathlib, subprocess
{c_url}
REPO_URL = "{url}"
here = [p for p in [pathlib.Path.cwd(), *pathlib.Path.cwd().parents] if (p / "helpers.py").exists()]
{c_clone}
if REPO_URL and not here and ("google.colab" in sys.modules or "KAGGLE_KERNEL_RUN_TYPE" in os.environ):
    if not pathlib.Path("{clone}/helpers.py").exists():
        subprocess.run(["git", "clone", "-q", "--depth", "1", REPO_URL, "{clone}"], check=True)
        subprocess.run([sys.executable, "-m", "pip", "install", "-qq", "--no-deps", "d2l==1.0.3"], check=True)
    here = [pathlib.Path("{clone}").resolve()]
if not here:
    raise RuntimeError("Colab/Kaggle: set REPO_URL above to this notebook's GitHub repository; elsewhere: open it in a "
                       "clone (make lab). 在 Colab/Kaggle 上请把 REPO_URL 设为本笔记本的 GitHub 仓库，在别处请在克隆的仓库里打开它。")
sys.path.insert(0, str(here[0]))
import helpers
cfg = helpers.setup_notebook("{chapter}", seed=0)
device = cfg["device"]'''


def setup_cell(chapter, lang, url):
    """The setup cell's source for notebook `chapter` (its file stem) in `lang`, cloning `url` ('' = not set)."""
    c = COMMENTS[lang]
    if '"' in url or "\\" in url:
        raise ValueError(f"a repository address cannot hold quotes or backslashes: {url!r}")
    return TEMPLATE.format(head=c["head"], url=url, c_url=c["url"], c_clone=c["clone"],
                           clone=CLONE, chapter=chapter)


def notebooks(root):
    """The notebooks of the course: notebooks/<lang>/<NN>_*.ipynb."""
    return sorted((root / "notebooks").glob("*/[0-9][0-9]_*.ipynb"))


def colab_link(url, notebook, root):
    """https://colab.research.google.com/github/OWNER/REPO/blob/main/notebooks/<lang>/<file>.ipynb"""
    owner, repo = GITHUB.match(url).groups()
    return f"https://colab.research.google.com/github/{owner}/{repo}/blob/{BRANCH}/{notebook.relative_to(root).as_posix()}"


def badge_block(url, root):
    """The README's table of "Open in Colab" badges (a line asking for the address while none is set)."""
    if not url:
        return (f"{BEGIN}\nThe \"Open in Colab\" links appear here once the repository's address is set: "
                f"`make colab-links URL=https://github.com/OWNER/REPO` (it is kept in `{URL_FILE.as_posix()}`).\n{END}")
    books = {}
    for nb in notebooks(root):
        books.setdefault(nb.stem, {})[nb.parent.name] = nb
    rows = ["| notebook | 中文 | English |", "|---|---|---|"]
    for stem, langs in sorted(books.items()):
        cells = [f"[![Open in Colab]({BADGE})]({colab_link(url, langs[lang], root)})" if lang in langs else ""
                 for lang in ("zh", "en")]
        rows.append(f"| `{stem}` | {cells[0]} | {cells[1]} |")
    return "\n".join([BEGIN, *rows, END])


def _source(cell):
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def setup_cell_of(nb):
    """The setup cell (a dict) of a notebook read with json: its one code cell that calls setup_notebook."""
    found = [c for c in nb["cells"] if c["cell_type"] == "code" and "setup_notebook(" in _source(c)]
    if len(found) != 1:
        raise ValueError(f"expected one setup cell (a code cell calling setup_notebook), found {len(found)}")
    return found[0]


def read_notebook(path):
    return json.loads(Path(path).read_text(encoding="utf-8"))


def write_setup_cell(path, source):
    """Replace the setup cell's code, keeping everything else of the file as it is (key order, ids, tags)."""
    nb = read_notebook(path)
    cell = setup_cell_of(nb)
    if _source(cell) != source:
        cell["source"] = source.splitlines(keepends=True)
        Path(path).write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def write_all(root, url):
    """Write `url` into the address file, every notebook's setup cell and the README's badge block."""
    (root / URL_FILE).write_text(url + "\n" if url else "", encoding="utf-8")
    for path in notebooks(root):
        write_setup_cell(path, setup_cell(path.stem, path.parent.name, url))
    readme = root / "README.md"
    text = readme.read_text(encoding="utf-8")
    if BEGIN not in text or END not in text:
        raise ValueError(f"README.md has no badge block ({BEGIN} ... {END})")
    head, rest = text.split(BEGIN, 1)
    readme.write_text(head + badge_block(url, root) + rest.split(END, 1)[1], encoding="utf-8")


def read_url(root):
    return (root / URL_FILE).read_text(encoding="utf-8").strip() if (root / URL_FILE).exists() else ""


def problems(root):
    """Where the address file, the setup cells and the README's badges disagree ([] when they all agree)."""
    url, found = read_url(root), []
    if url and not GITHUB.match(url):
        found.append(f"{URL_FILE}: {url!r} is not https://github.com/OWNER/REPO")
        return found
    for path in notebooks(root):
        if _source(setup_cell_of(read_notebook(path))) != setup_cell(path.stem, path.parent.name, url):
            found.append(f"{path.relative_to(root)}: the setup cell is not the template's for {url or 'no address'!r}")
    readme = (root / "README.md").read_text(encoding="utf-8")
    block = readme.split(BEGIN, 1)[-1].split(END, 1)[0] if BEGIN in readme else None
    if block is None or BEGIN + block + END != badge_block(url, root):
        found.append("README.md: the Open-in-Colab badges are not those of the address and notebooks")
    links = re.findall(r"colab\.research\.google\.com/github/([^)\s]+)", readme)
    expected = {colab_link(url, nb, root).split("/github/", 1)[1] for nb in notebooks(root)} if url else set()
    found += [f"README.md: a Colab link names {link}, which is not a notebook of this repository at {url!r}"
              for link in links if link not in expected]
    return found


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url", nargs="?", help="https://github.com/OWNER/REPO (default: the one in the file)")
    parser.add_argument("--check", action="store_true", help="only list disagreements")
    parser.add_argument("--root", type=Path, default=REPO, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    sys.path.insert(0, str(REPO))
    from machinery.messages import tr
    if args.check:
        found = problems(args.root)
        print("\n".join(found) or tr("The address, the setup cells and the Colab badges agree."))
        return 1 if found else 0
    url = read_url(args.root) if args.url is None else args.url.strip()
    match = GITHUB.match(url) if url else None
    if url and not match:
        print(tr("{url!r} is not a GitHub repository address: give https://github.com/OWNER/REPO", url=url))
        return 2
    url = f"https://github.com/{match.group(1)}/{match.group(2)}" if match else ""
    write_all(args.root, url)
    print(tr("Wrote {url} into {file}, {n} setup cells and the README's Colab badges.", url=url or "''",
             file=URL_FILE.as_posix(), n=len(notebooks(args.root))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
