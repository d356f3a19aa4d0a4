"""benchmarks/leaves_ladder.py: the competition's tricks measured one rung at a time on the REAL Classify Leaves data,
on a CPU, at low resolution, from random weights. Lecture 43 lists what the top teams added; this script measures
a ladder of the cheapest ones on the same split, so that notebook 38 can show measured figures next to the lecture's.

    nice -n 15 .venv/bin/python benchmarks/leaves_ladder.py --data data/classify-leaves-real
    .venv/bin/python benchmarks/leaves_ladder.py --data <folder> --quick      # a smoke test (1,000 photos, 1 epoch)

The rungs (each adds one thing to the rung above; all are scored on one stratified 10% validation split,
helpers.stratified_split(seed=0)):

    1. baseline           a small ResNet (d2l's ResNet-18 layout, `--width` channels in the first stage), random
                          weights, random crop (pad 4) + horizontal and vertical flips, SGD + Nesterov momentum,
                          a one-cycle learning rate (15% warm-up to 0.1, then cosine decay), weight decay 5e-4
    2. + flip TTA         the same model, softmax averaged over the photo and its mirror image (helpers.predict's
                          tta_flip)
    3. + label smoothing  a new model trained with CrossEntropyLoss(label_smoothing=0.1), scored with flip TTA
    4. + CutMix           a new model, label smoothing + CutMix (a box from another photo of the batch, labels mixed
                          by area), scored with flip TTA
    5. + two-model avg    the rung-4 model and a second one trained the same way with another seed, probabilities
                          averaged, flip TTA

Noise: the validation split has 1,750 photos, so one photo is 0.057 points and the binomial standard error of an
accuracy near 0.5 is ~1.2 points. The two rung-4 models differ only in their seed: their gap is printed as a
measure of seed-to-seed noise. One seed per rung: a difference smaller than ~2 points is not evidence.

Defaults (24 px, width 16, 4 epochs, 1 thread) are sized for a 2-core CPU shared with other jobs: ~10-15 minutes
per model there. On a shared CPU more threads are slower (measured: 2 threads ran at a fifth of 1 thread's speed at
load ~11, spinning while other jobs held the cores).

The photos are decoded once (PIL's JPEG draft mode, then an antialiased resize to --size) into a uint8 array cached
next to this run's outputs (outputs/leaves_ladder/cache-<size>.npz). Prints a table and writes
outputs/leaves_ladder/ladder.json (with --quick: ladder_quick.json): every figure, per-model wall times, the command,
the date, the machine and the load average before and after.
"""
import argparse
import json
import math
import os
import platform
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import numpy as np                                  # noqa: E402
import pandas as pd                                 # noqa: E402
import torch                                        # noqa: E402
from PIL import Image                               # noqa: E402
from torch import nn                                # noqa: E402

import helpers                                      # noqa: E402


def load_photos(data_dir, size, cache):
    """(uint8 array (N, 3, size, size), labels list) for train.csv, decoded once and cached in `cache` (.npz)."""
    table = pd.read_csv(Path(data_dir) / "train.csv", dtype=str)
    if cache.exists():
        z = np.load(cache, allow_pickle=False)
        if list(z["images"]) == list(table.image):
            return z["x"], list(table.label)
    x = np.empty((len(table), 3, size, size), np.uint8)
    for i, rel in enumerate(table.image):
        with Image.open(Path(data_dir) / rel) as img:
            img.draft("RGB", (size * 2, size * 2))            # JPEG: decode at a reduced scale, much faster
            x[i] = np.asarray(img.convert("RGB").resize((size, size), Image.BILINEAR)).transpose(2, 0, 1)
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.savez(cache, x=x, images=np.array(table.image, dtype=str))
    return x, list(table.label)


def small_resnet(num_classes, width):
    """d2l's ResNet-18 layout (stem conv, four stages of two helpers.Residual blocks, global average pooling, linear)
    with width, 2*width, 4*width, 8*width channels. (B, 3, S, S) -> (B, num_classes)."""
    def stage(cin, cout, first):
        return nn.Sequential(helpers.Residual(cin, cout, use_1x1conv=not first, strides=1 if first else 2),
                             helpers.Residual(cout, cout))
    w = width
    return nn.Sequential(nn.Conv2d(3, w, 3, padding=1), nn.BatchNorm2d(w), nn.ReLU(),
                         stage(w, w, True), stage(w, 2 * w, False), stage(2 * w, 4 * w, False),
                         stage(4 * w, 8 * w, False), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8 * w, num_classes))


def augment(x, gen):
    """Per photo: a random crop after reflect-padding by 4 pixels, a horizontal and a vertical flip with p=0.5.
    x: (B, 3, S, S) float."""
    b, _, s, _ = x.shape
    padded = nn.functional.pad(x, (4, 4, 4, 4), mode="reflect")
    dx, dy = torch.randint(0, 9, (2, b), generator=gen)
    out = torch.stack([padded[i, :, dy[i]:dy[i] + s, dx[i]:dx[i] + s] for i in range(b)])
    h, v = torch.rand(2, b, generator=gen) < 0.5
    out[h] = out[h].flip(3)
    out[v] = out[v].flip(2)
    return out


def cutmix(x, y, gen):
    """CutMix (Yun et al., 2019): paste a box from a shuffled copy of the batch; lam = kept area.
    Returns (x, y, y_other, lam)."""
    b, _, s, _ = x.shape
    lam = float(torch.distributions.Beta(1.0, 1.0).sample())
    perm = torch.randperm(b, generator=gen)
    cut = int(s * math.sqrt(1 - lam))
    cy, cx = torch.randint(0, s, (2,), generator=gen).tolist()
    y0, y1, x0, x1 = max(cy - cut // 2, 0), min(cy + cut // 2, s), max(cx - cut // 2, 0), min(cx + cut // 2, s)
    x = x.clone()
    x[:, :, y0:y1, x0:x1] = x[perm, :, y0:y1, x0:x1]
    lam = 1 - (y1 - y0) * (x1 - x0) / (s * s)
    return x, y, y[perm], lam


def train_model(x, y, train_idx, num_classes, args, seed, smoothing=0.0, use_cutmix=False, label=""):
    """Train one small ResNet from random weights; returns (net, seconds)."""
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    net = small_resnet(num_classes, args.width)
    steps_per_epoch = len(train_idx) // args.batch_size
    opt = torch.optim.SGD(net.parameters(), lr=args.lr, momentum=0.9, nesterov=True, weight_decay=5e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, args.lr, total_steps=args.epochs * steps_per_epoch,
                                                pct_start=0.15)
    loss_fn = nn.CrossEntropyLoss(label_smoothing=smoothing)
    mean, std = x[train_idx].float().mean((0, 2, 3), keepdim=True), x[train_idx].float().std((0, 2, 3), keepdim=True)
    start = time.time()
    for epoch in range(args.epochs):
        net.train()
        order = torch.as_tensor(train_idx)[torch.randperm(len(train_idx), generator=gen)]
        total, n = 0.0, 0
        for k in range(steps_per_epoch):
            idx = order[k * args.batch_size:(k + 1) * args.batch_size]
            xb, yb = augment((x[idx].float() - mean) / std, gen), y[idx]
            if use_cutmix:
                xb, ya, yb2, lam = cutmix(xb, yb, gen)
                out = net(xb)
                loss = lam * loss_fn(out, ya) + (1 - lam) * loss_fn(out, yb2)
            else:
                loss = loss_fn(net(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total, n = total + loss.item() * len(idx), n + len(idx)
        print(f"  {label} epoch {epoch + 1}/{args.epochs}: train loss {total / n:.3f} "
              f"({time.time() - start:.0f} s)", flush=True)
    net.mean, net.std = mean, std
    return net, time.time() - start


def probabilities(net, x, idx, tta_flip):
    """(len(idx), C) softmax probabilities in eval mode; tta_flip averages the photo and its mirror image."""
    net.eval()
    out = []
    with torch.no_grad():
        for k in range(0, len(idx), 512):
            xb = (x[idx[k:k + 512]].float() - net.mean) / net.std
            p = torch.softmax(net(xb), 1)
            if tta_flip:
                p = (p + torch.softmax(net(xb.flip(3)), 1)) / 2
            out.append(p)
    return torch.cat(out)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", required=True, help="a Classify Leaves folder (train.csv, images/)")
    parser.add_argument("--size", type=int, default=24, help="side of the decoded photos in pixels")
    parser.add_argument("--width", type=int, default=16, help="channels of the first stage (d2l's ResNet-18: 64)")
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--lr", type=float, default=0.1, help="peak of the one-cycle schedule")
    parser.add_argument("--threads", type=int, default=1, help="1: on a shared CPU more threads spin and run slower")
    parser.add_argument("--quick", action="store_true", help="1,000 photos, 1 epoch: a smoke test")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.quick:
        args.epochs = 1
    out_dir = helpers.output_dir("leaves_ladder")
    load_before, t0 = os.getloadavg(), time.time()
    x, labels = load_photos(args.data, args.size, out_dir / f"cache-{args.size}.npz")
    decode_s = time.time() - t0
    classes = sorted(set(labels))
    y = torch.tensor([classes.index(lb) for lb in labels])
    train_idx, valid_idx = helpers.stratified_split(y.tolist(), 0.1, seed=0)
    if args.quick:
        train_idx, valid_idx = train_idx[:900], valid_idx[:100]
    x = torch.from_numpy(x)
    print(f"{len(labels)} photos decoded at {args.size} px in {decode_s:.0f} s; train {len(train_idx)}, "
          f"valid {len(valid_idx)}, {len(classes)} species", flush=True)
    y_valid = y[valid_idx]
    acc = lambda p: (p.argmax(1) == y_valid).float().mean().item()  # noqa: E731
    models, seconds = {}, {}
    recipes = {"baseline": dict(seed=0), "label smoothing": dict(seed=0, smoothing=0.1),
               "cutmix": dict(seed=0, smoothing=0.1, use_cutmix=True),
               "cutmix, seed 1": dict(seed=1, smoothing=0.1, use_cutmix=True)}
    for name, recipe in recipes.items():
        models[name], seconds[name] = train_model(x, y, train_idx, len(classes), args, label=name, **recipe)
    p = {name: probabilities(net, x, valid_idx, tta_flip=True) for name, net in models.items()}
    rungs = [("1. baseline", acc(probabilities(models["baseline"], x, valid_idx, tta_flip=False))),
             ("2. + flip TTA", acc(p["baseline"])),
             ("3. + label smoothing 0.1", acc(p["label smoothing"])),
             ("4. + CutMix", acc(p["cutmix"])),
             ("5. + average of two models (seeds 0, 1)", acc((p["cutmix"] + p["cutmix, seed 1"]) / 2))]
    seed_gap = abs(acc(p["cutmix"]) - acc(p["cutmix, seed 1"]))
    result = {
        "date": time.strftime("%Y-%m-%d %H:%M"), "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "machine": f"{platform.node()}: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
                   f"torch {torch.__version__}, {args.threads} threads",
        "settings": vars(args), "photos": len(labels), "train": len(train_idx), "valid": len(valid_idx),
        "species": len(classes), "decode_s": decode_s, "train_seconds": seconds,
        "rungs": dict(rungs), "second_seed_alone": acc(p["cutmix, seed 1"]), "seed_gap": seed_gap,
        "binomial_se": math.sqrt(rungs[0][1] * (1 - rungs[0][1]) / len(valid_idx)),
        "wall_s": time.time() - t0, "load_before": load_before, "load_after": os.getloadavg()}
    (out_dir / ("ladder_quick.json" if args.quick else "ladder.json")).write_text(json.dumps(result, indent=1))
    print(f"\nMeasured on this CPU at {args.size} px from random weights ({args.epochs} epochs per model, "
          f"one seed per rung):")
    print(f"| rung | valid acc |\n|---|---:|")
    for name, a in rungs:
        print(f"| {name} | {a:.3f} |")
    print(f"seed 1 alone (rung 4's recipe): {result['second_seed_alone']:.3f}; gap between the two seeds "
          f"{seed_gap:.3f}; binomial standard error {result['binomial_se']:.3f}")
    print(f"training seconds per model: {', '.join(f'{k} {v:.0f}' for k, v in seconds.items())}; "
          f"wall {result['wall_s']:.0f} s; load {load_before[0]:.1f} -> {result['load_after'][0]:.1f}")


if __name__ == "__main__":
    main()
