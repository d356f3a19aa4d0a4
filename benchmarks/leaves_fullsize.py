"""benchmarks/leaves_fullsize.py: notebook 38 executed on the FULL Classify Leaves data (18,353 labelled and 8,800
test photos), as a learner runs it: papermill, the notebook's own preset choice (on a CPU: 'small'), LEAVES_DIR set.

    OMP_NUM_THREADS=1 nice -n 10 .venv/bin/python benchmarks/leaves_fullsize.py --data data/classify-leaves-real

On a CPU shared with other jobs, set OMP_NUM_THREADS=1 (the kernel inherits it): with torch's default of one thread
per core, the first run here spent 645 s of CPU in its two compute threads without finishing the first epoch of
16,353 photos (load ~12-20), the threads spinning while other jobs held the cores.

Measures the wall time of the whole execution, the peak memory of the kernel's process tree (the sum of the resident
set sizes of the kernel and its DataLoader workers, sampled every second with psutil; the peak of the largest single
process is reported too), the time each code cell took (papermill's cell metadata), the valid accuracies the notebook
printed, and whether the submission it wrote validates. Writes outputs/leaves_fullsize.json and prints a summary.
A benchmark, not a test: it asserts nothing.
"""
import argparse
import json
import os
import platform
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def sample_tree(root_pid, peaks, stop):
    """Every second: the summed RSS of root_pid's descendants, and the largest single RSS among them (bytes)."""
    while not stop.is_set():
        try:
            procs = psutil.Process(root_pid).children(recursive=True)
        except psutil.NoSuchProcess:
            return
        rss = []
        for p in procs:
            try:
                rss.append(p.memory_info().rss)
            except psutil.NoSuchProcess:
                pass
        if rss:
            peaks["tree"] = max(peaks["tree"], sum(rss))
            peaks["single"] = max(peaks["single"], max(rss))
        stop.wait(1.0)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", required=True, help="the Classify Leaves folder (train.csv, test.csv, images/)")
    parser.add_argument("--lang", default="en", choices=("en", "zh"))
    args = parser.parse_args()
    import helpers
    out_dir = helpers.output_dir("leaves_fullsize")
    executed = out_dir / f"38_classify_leaves.{args.lang}.ipynb"
    env = {**os.environ, "COURSE_HEADLESS": "1", "COURSE_OUTPUT_DIR": str(out_dir)}
    cmd = [sys.executable, "-m", "papermill", "--log-level", "WARNING", "--no-progress-bar",
           str(REPO / "notebooks" / args.lang / "38_classify_leaves.ipynb"), str(executed),
           "-p", "LEAVES_DIR", str(Path(args.data).resolve())]
    load_before, start = os.getloadavg(), time.time()
    proc = subprocess.Popen(cmd, env=env, cwd=REPO / "notebooks" / args.lang)
    peaks, stop = {"tree": 0, "single": 0}, threading.Event()
    sampler = threading.Thread(target=sample_tree, args=(proc.pid, peaks, stop), daemon=True)
    sampler.start()
    rc = proc.wait()
    wall = time.time() - start
    stop.set()
    sampler.join()
    nb = json.loads(executed.read_text(encoding="utf-8"))
    text = "".join("".join(o.get("text", "")) for c in nb["cells"] if c["cell_type"] == "code"
                   for o in c.get("outputs", []) if o.get("output_type") == "stream")
    cells = [(c["source"].splitlines()[0][:70] if isinstance(c["source"], str) else "".join(c["source"])[:70],
              c.get("metadata", {}).get("papermill", {}).get("duration"))
             for c in nb["cells"] if c["cell_type"] == "code"]
    submission = out_dir / "submissions" / "38_leaves_submission.csv"
    try:
        import pandas as pd
        train = pd.read_csv(Path(args.data) / "train.csv", dtype=str)
        test = pd.read_csv(Path(args.data) / "test.csv", dtype=str)
        helpers.validate_label_submission(submission, list(test.image), sorted(set(train.label)),
                                          columns=("image", "label"))
        valid = "valid"
    except Exception as e:                                         # a benchmark reports, it does not stop
        valid = f"INVALID: {e}"
    result = {"date": time.strftime("%Y-%m-%d %H:%M"), "command": " ".join(sys.argv), "papermill": " ".join(cmd),
              "machine": f"{platform.node()}: {os.cpu_count()} CPUs, {psutil.virtual_memory().total / 2**30:.1f} GiB",
              "returncode": rc, "wall_s": wall, "peak_tree_gib": peaks["tree"] / 2**30,
              "peak_single_gib": peaks["single"] / 2**30, "load_before": load_before, "load_after": os.getloadavg(),
              "valid_acc_lines": re.findall(r"epoch \d+/\d+:.*valid acc [0-9.]+", text),
              "lines": [line for line in text.splitlines() if re.search(r"photos|train \d+|This run|preset", line)],
              "submission": valid, "cell_seconds": cells}
    (out_dir / "leaves_fullsize.json").write_text(json.dumps(result, indent=1, ensure_ascii=False))
    print(json.dumps({k: v for k, v in result.items() if k != "cell_seconds"}, indent=1, ensure_ascii=False))
    for src, sec in cells:
        print(f"{sec if sec is not None else float('nan'):8.1f} s  {src}")


if __name__ == "__main__":
    main()
