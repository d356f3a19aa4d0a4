"""How long extracting a Kaggle-CIFAR-10-like .7z takes with the 7z tool and with py7zr (machinery.platforms uses
the tool when it is installed, else py7zr).

    .venv/bin/python benchmarks/seven_zip.py [N]        # N 32x32 PNGs (default 20000; Kaggle's test.7z has 300,000)

The archive is written once with the 7z tool (LZMA2, as Kaggle's), under /tmp; each engine then extracts it
through platforms.extract_7z into a fresh folder, twice, and the script prints seconds and files per second.
"""
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from machinery import platforms  # noqa: E402


def main(n=20000):
    work = Path(tempfile.mkdtemp(prefix="bench-7z-"))
    try:
        src = work / "src" / "test"
        src.mkdir(parents=True)
        rng = np.random.default_rng(0)
        base = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
        for i in range(1, n + 1):       # photo-like PNGs: a smooth base plus a little noise (about 3 KB each)
            noise = rng.integers(-12, 13, (32, 32, 3))
            Image.fromarray(np.clip(base.astype(int) + noise, 0, 255).astype(np.uint8)).save(src / f"{i}.png")
        archive = work / "test.7z"
        subprocess.run(["7z", "a", "-bd", "-mx=5", str(archive), "test"], cwd=src.parent, check=True,
                       capture_output=True)
        print(f"{n} PNGs, archive {archive.stat().st_size / 1e6:.1f} MB")
        tool = platforms.seven_zip()
        for engine in ("7z", "py7zr"):
            for attempt in (1, 2):
                target = work / f"out-{engine}-{attempt}" / "test"
                platforms.seven_zip = (lambda: tool) if engine == "7z" else (lambda: None)
                start = time.perf_counter()
                platforms.extract_7z(archive, target)
                s = time.perf_counter() - start
                assert len(list(target.iterdir())) == n
                print(f"{engine:6s} attempt {attempt}: {s:6.1f} s, {n / s:8.0f} files/s")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20000)
