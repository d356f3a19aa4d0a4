"""Two processes reorganising one Kaggle folder at the same moment (a learner running notebook 39 in Chinese and in
English side by side), repeated: how often one of them fails, how often a call returns before the tree is complete,
how often the tree left behind is incomplete, and how often a later reorganisation, run alone, keeps such a broken
tree as current (training would then use part of the images, silently). With --kill, one of the two is SIGKILLed at
a random moment instead (a kernel restarted mid-way), and a later run alone must end with the complete tree.

    python benchmarks/reorg_race.py --tries 50                     # this checkout's code
    python benchmarks/reorg_race.py --tries 12 --repo /work/main   # another checkout's code (e.g. before a change)
    python benchmarks/reorg_race.py --tries 20 --kill

Each try starts from a folder without a reorganised tree; both processes import helpers (from --repo) first, then
start reorg_kaggle_data together. A tree is complete when every split holds exactly the files, in exactly the class
folders, that one reorganisation run alone produces (compared file by file, through a digest of the listing).
STAND-IN data: 300 + 300 small PNGs (the layout of issue 18's report: train 270, valid 30).
"""
import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

# The tree as a learner's loaders would see it; run here and in the children (the same code in both).
TREE = r'''
import hashlib, json, os
from pathlib import Path


def tree(data):
    """{split/label: sorted file names} of <data>/train_valid_test (hidden entries ignored), or {} if absent."""
    base = Path(data) / "train_valid_test"
    if not base.is_dir():
        return {}
    return {f"{split.name}/{label.name}": sorted(os.listdir(label))
            for split in sorted(base.iterdir()) if split.is_dir() and not split.name.startswith(".")
            for label in sorted(split.iterdir()) if label.is_dir()}


def digest(data):
    return hashlib.sha1(json.dumps(tree(data)).encode()).hexdigest()[:12]
'''
exec(TREE)

# A child imports helpers from the checkout under test, says it is ready, waits for the go signal, reorganises, and
# prints the digest of the tree as it is the moment its own call returns.
CHILD = TREE + r'''
import sys, time
sys.path.insert(0, sys.argv[1])
import helpers
open(sys.argv[3], "w").close()                     # ready: imports done
while not os.path.exists(sys.argv[4]):             # wait for the go signal, so that both start together
    time.sleep(0.001)
try:
    helpers.reorg_kaggle_data(sys.argv[2], "trainLabels.csv", 0.1)
except Exception as e:
    print(f"{type(e).__name__}: {e}"[:300])
    sys.exit(1)
print("tree", digest(sys.argv[2]))
'''


def spawn(repo, data, ready, go, env):
    return subprocess.Popen([sys.executable, "-c", CHILD, str(repo), str(data), str(ready), str(go)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def wait_ready(procs, readies):
    deadline = time.time() + 300
    while not all(r.exists() for r in readies):
        for p in procs:
            if p.poll() is not None:
                raise RuntimeError(f"a child died before it was ready: {p.stdout.read()}")
        if time.time() > deadline:
            raise RuntimeError("children not ready after 300 s")
        time.sleep(0.01)


def alone(repo, data, work, env):
    """One reorganisation run alone (a later notebook run); returns its last output line."""
    ready, go = work / "ready-alone", work / "go-alone"
    go.touch()
    p = spawn(repo, data, ready, go, env)
    return (p.communicate(timeout=600)[0].strip().splitlines() or ["?"])[-1]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tries", type=int, default=50)
    parser.add_argument("--repo", default=str(REPO), help="the checkout whose helpers.py is tested (default: this one)")
    parser.add_argument("--kill", action="store_true", help="SIGKILL one of the two at a random moment instead")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    repo = Path(args.repo).resolve()
    rng = random.Random(args.seed)
    sys.path.insert(0, str(REPO))
    from machinery import standins                  # the data only; the code under test runs in the children
    work = Path(tempfile.mkdtemp(prefix="reorg_race-"))
    env = {**os.environ, "PYTHONPATH": str(repo), "COURSE_HEADLESS": "1", "OMP_NUM_THREADS": "1"}
    try:
        src = standins.make_standin("cifar10_tiny", work / "src", n_train=300, n_test=300)
        data = work / "data"
        shutil.copytree(src, data)
        print(f"code under test: {repo}; data: {data} (STAND-IN, 300 train + 300 test PNGs); "
              f"load average {os.getloadavg()[0]:.2f}")
        first = alone(repo, data, work, env)
        reference, complete = tree(data), f"tree {digest(data)}"
        assert first == complete and reference, first
        counts = {k: len(v) for k, v in reference.items()}
        print(f"reference tree: {sum(counts.values())} entries in {len(counts)} class folders")
        failures, returned_early, incomplete, trusted, errors = 0, 0, 0, 0, {}
        t0 = time.time()
        for t in range(args.tries):
            shutil.rmtree(data / "train_valid_test", ignore_errors=True)
            readies, go = [work / f"ready-{t}-{k}" for k in range(2)], work / f"go-{t}"
            procs = [spawn(repo, data, r, go, env) for r in readies]
            wait_ready(procs, readies)
            go.touch()
            if args.kill:
                time.sleep(rng.uniform(0.0, 0.6))
                procs[0].send_signal(signal.SIGKILL)
            lasts = [(p.communicate(timeout=600)[0].strip().splitlines() or ["?"])[-1] for p in procs]
            codes = [p.returncode for p in procs]
            failed = [last for code, last in zip(codes, lasts) if code not in (0, -signal.SIGKILL)]
            failures += bool(failed)
            for last in failed:
                errors[last.split(":")[0]] = errors.get(last.split(":")[0], 0) + 1
            # a call that returned normally must have left the complete tree behind it
            early = sum(code == 0 and last != complete for code, last in zip(codes, lasts))
            returned_early += early
            broken = tree(data) != reference
            incomplete += broken
            kept_broken = False
            if broken or args.kill:
                alone(repo, data, work, env)
                kept_broken = tree(data) != reference
                trusted += kept_broken
            print(f"try {t + 1:2d}: exit codes {codes}, {early} call(s) returned without the complete tree, "
                  f"{'INCOMPLETE tree' if broken else 'complete tree'}"
                  + (f"; a later run alone: {'KEPT IT (a broken tree trusted)' if kept_broken else 'rebuilt it'}"
                     if broken else "")
                  + (f"; errors: {[f[:120] for f in failed]}" if failed else ""), flush=True)
        summary = {"repo": str(repo), "tries": args.tries, "kill": args.kill, "tries_with_a_failed_process": failures,
                   "calls_that_returned_without_the_complete_tree": returned_early,
                   "incomplete_trees_after_both": incomplete, "broken_trees_kept_by_a_later_run": trusted,
                   "errors": errors, "seconds": round(time.time() - t0, 1),
                   "load_average_after": round(os.getloadavg()[0], 2)}
        print(json.dumps(summary, indent=1))
        return summary
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
