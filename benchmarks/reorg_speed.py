"""Seconds to reorganise bench.py's Kaggle layout (50,000 train + 1,000 test PNGs) with one or more checkouts' code,
interleaved so that each sees the same machine load: from scratch (as bench.py (d) does), and again with nothing to
do (a notebook run a second time). Each measurement runs in a fresh process that imports that checkout's helpers.

    python benchmarks/reorg_speed.py --repos /work/main . --reps 5
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CHILD = r"""
import json, shutil, sys, time
sys.path.insert(0, sys.argv[1])
import helpers
folder = sys.argv[2]
shutil.rmtree(f"{folder}/train_valid_test", ignore_errors=True)
t0 = time.perf_counter()
helpers.reorg_kaggle_data(folder, "trainLabels.csv", 0.1)
t1 = time.perf_counter()
helpers.reorg_kaggle_data(folder, "trainLabels.csv", 0.1)
t2 = time.perf_counter()
print(json.dumps({"scratch": t1 - t0, "again": t2 - t1}))
"""


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repos", nargs="+", default=[str(REPO)], help="checkouts whose helpers.py is timed")
    parser.add_argument("--reps", type=int, default=5)
    args = parser.parse_args(argv)
    sys.path.insert(0, str(REPO / "benchmarks"))
    sys.argv = [sys.argv[0]]
    import bench                                    # noqa: E402  (its layout builder, cached under data/bench/)
    folder = bench.kaggle_layout(50000, 1000)
    repos = [str(Path(r).resolve()) for r in args.repos]
    times = {r: {"scratch": [], "again": []} for r in repos}
    load = [os.getloadavg()[0]]
    for rep in range(args.reps):
        for r in (repos if rep % 2 == 0 else repos[::-1]):
            out = subprocess.run([sys.executable, "-c", CHILD, r, str(folder)], capture_output=True, text=True,
                                 env={**os.environ, "PYTHONPATH": r}, check=True).stdout
            for k, v in json.loads(out.strip().splitlines()[-1]).items():
                times[r][k].append(v)
        load.append(os.getloadavg()[0])
    for r in repos:
        print(f"{r}: from scratch median {statistics.median(times[r]['scratch']):.2f} s "
              f"({', '.join(f'{t:.2f}' for t in times[r]['scratch'])}); again median "
              f"{statistics.median(times[r]['again']):.3f} s ({', '.join(f'{t:.3f}' for t in times[r]['again'])})")
    print(f"load average (1 min) before and after each round: {', '.join(f'{x:.1f}' for x in load)}")
    return times


if __name__ == "__main__":
    main()
