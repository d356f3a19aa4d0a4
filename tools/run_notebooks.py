#!/usr/bin/env python3
"""`make run`: execute notebooks headless and export each to HTML, printing one line per notebook and a summary.

    python tools/run_notebooks.py notebooks/zh/37_fine_tuning.ipynb ...     # default: every notebook, zh then en

Each notebook runs with papermill in its own folder (as in JupyterLab), with COURSE_HEADLESS=1 and
COURSE_OUTPUT_DIR=<repo>/outputs unless set; the executed notebook goes to outputs/notebooks/<lang>/<name>.ipynb and
its HTML beside it (check cells without their code, figures with their alt text: see machinery/alttext.py and
tools/nbconvert_templates/course/). What used to scroll past is gone: papermill's progress bar and log; the
kernel's own log (its "running over TCP without encryption" warning) goes to outputs/notebooks/<lang>/<name>.log
beside the executed notebook; nbconvert's "Alternative text is missing" (every figure has alt text now). A notebook that stops is reported with the cell and the error, and the others
still run; the exit status is 1 if any stopped. Warnings from the HTML export are counted on the notebook's line.
"""
import argparse
import contextlib
import json
import logging
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from machinery.messages import tr  # noqa: E402  (the sentences below, in $COURSE_LANG: en or zh)

TEMPLATES = REPO / "tools" / "nbconvert_templates"


class _Collect(logging.Handler):
    """Keeps the warnings that the HTML export logs, to count them on the notebook's line."""

    def __init__(self):
        super().__init__(logging.WARNING)
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


def first_error(executed):
    """(code cell index, 'ExceptionName: message') of the first failing cell of an executed notebook, or None."""
    cells = [c for c in json.loads(executed.read_text(encoding="utf-8"))["cells"] if c["cell_type"] == "code"
             and "injected-parameters" not in c.get("metadata", {}).get("tags", [])]
    for i, cell in enumerate(cells):
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                return i, f"{out.get('ename')}: {next(iter((out.get('evalue') or '').strip().splitlines()), '')}"
    return None


def export_html(executed, collect):
    """executed .ipynb -> .html beside it, with the course template (alt text) and check cells' code removed."""
    import nbformat
    from nbconvert import HTMLExporter
    from nbconvert.preprocessors import TagRemovePreprocessor
    exporter = HTMLExporter(template_name="course", extra_template_basedirs=[str(TEMPLATES)], embed_images=True)
    exporter.log.addHandler(collect)
    exporter.log.propagate = False
    exporter.register_preprocessor(TagRemovePreprocessor(remove_input_tags=("check",)), enabled=True)
    body, _ = exporter.from_notebook_node(nbformat.read(executed, as_version=4))
    html = executed.with_suffix(".html")
    html.write_text(body, encoding="utf-8")
    return html


@contextlib.contextmanager
def stderr_to(path):
    """Send this process's standard error, and that of the kernels it starts, to the file at `path`: the kernel's own
    log ("running over TCP without encryption", "KeyboardInterrupt caught in kernel" at shutdown) and native
    libraries' messages land there instead of between the lines of `make run`. Python-level errors of a notebook are
    in the executed notebook itself."""
    sys.stderr.flush()
    saved = os.dup(2)
    with open(path, "w", encoding="utf-8") as log:
        os.dup2(log.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)


def run(notebook, out_root):
    """Execute one notebook and export it; returns (ok, line to print)."""
    import papermill
    lang, name = notebook.parent.name, notebook.stem
    executed = out_root / "notebooks" / lang / f"{name}.ipynb"
    executed.parent.mkdir(parents=True, exist_ok=True)
    start, stopped, log = time.perf_counter(), None, executed.with_suffix(".log")
    try:
        with stderr_to(log):
            papermill.execute_notebook(str(notebook), str(executed), cwd=str(notebook.parent), progress_bar=False,
                                       log_output=False, kernel_name="python3")
    except papermill.PapermillExecutionError:
        stopped = first_error(executed)
    except Exception as e:                      # the kernel died, a cell timed out, the notebook is not readable...
        stopped = ("?", f"{type(e).__name__}: {next(iter(str(e).strip().splitlines()), '')} ({_short(log)})")
    collect = _Collect()
    html = export_html(executed, collect) if executed.exists() else None
    seconds = time.perf_counter() - start
    label = f"{lang}/{name}"
    if stopped:
        return False, f"STOP {label:<24} {seconds:5.0f} s  " + tr("stopped at code cell {i}: {error} (see {path})",
                                                                  i=stopped[0], error=stopped[1], path=_short(executed))
    warned = tr("  ({n} HTML warning(s): {first})", n=len(collect.messages), first=collect.messages[0]) \
        if collect.messages else ""
    return True, f"  ok {label:<24} {seconds:5.0f} s  {_short(html)}" + warned


def _short(path):
    """path relative to the current folder when it lies inside it (outputs/notebooks/...), else as it is."""
    return path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path)
    args = parser.parse_args(argv)
    notebooks = args.notebooks or sorted((REPO / "notebooks").glob("*/[0-9]*.ipynb"))
    os.environ.setdefault("COURSE_HEADLESS", "1")
    out_root = Path(os.environ.setdefault("COURSE_OUTPUT_DIR", str(REPO / "outputs")))
    logging.getLogger("papermill").setLevel(logging.ERROR)      # e.g. "Unable to parse line" of a PRESETS dict
    start, failed = time.perf_counter(), []
    for notebook in notebooks:
        ok, line = run(notebook.resolve(), out_root)
        print(line, flush=True)
        if not ok:
            failed.append(f"{notebook.parent.name}/{notebook.stem}")
    total = time.perf_counter() - start
    print(tr("{ok} of {n} notebooks ran to the end in {s:.0f} s{stopped}. Executed notebooks (.ipynb, .html), "
             "figures and submissions: {out}", ok=len(notebooks) - len(failed), n=len(notebooks), s=total,
             stopped=tr("; stopped: {names}", names=", ".join(failed)) if failed else "", out=_short(out_root)))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
