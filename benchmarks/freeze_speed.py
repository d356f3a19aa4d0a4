"""benchmarks/freeze_speed.py: what freezing ResNet-18's lower layers saves per training step, and why (notebook 37,
d2l's exercise 3 of section 13.2).

    .venv/bin/python benchmarks/freeze_speed.py                      # 32 and 224 px, batch 16, 1 CPU thread
    .venv/bin/python benchmarks/freeze_speed.py --device cuda --batch 128 --threads 0    # d2l's setting on a GPU
    .venv/bin/python benchmarks/freeze_speed.py --sizes 32 --epochs-on /path/to/hotdog   # + whole epochs, loading in

For each image size, the median time of one training step as d2l's train_fine_tuning takes it (forward, backward of
the summed cross-entropy, SGD with weight decay 1e-3 over the parameters that require a gradient, the head at 10x),
on random tensors already on the device (no data loading, which freezing does not change), with

    nothing frozen | the stem to layer2 frozen | the whole body frozen (only the new fc trains)

Times are CPU seconds of this process (time.process_time), with wall seconds beside them: on a shared machine the
wall clock measures the scheduler as much as the work (at a load average of 18 on 2 cores, one run's wall-clock
saving of the stem-to-layer2 freeze came out at 0.5%, and another's at 30%), while the CPU time a step consumes
hardly changes with the load; with one torch thread (the default here) it is the work itself. The configurations are
also interleaved round by round, so that a change in the machine's load hits all three alike. To
explain the figures it also prints each top-level block's share of the parameters and of the forward multiply-adds
at that size (counted with forward hooks on every Conv2d and Linear), and what freezing cannot touch: the time to load
one training image the way notebook 37 does (PIL decode, RandomResizedCrop, flip, ToTensor, normalise; one process,
as d2l's num_workers=0), measured on the 18 real photos of tests/real_photo_sets.py (14x25 to 1411x1411 pixels).
With --epochs-on a hotdog folder, it also times whole training epochs over <folder>/train as notebook 37 runs them
(ImageFolder, the small preset's crop, a DataLoader with 0 workers, loading included), the configurations interleaved
epoch by epoch. Results: a table, and outputs/freeze_speed.json.
"""
import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import tempfile

import torch
import torchvision
from torch import nn
from torchvision import transforms as T

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
import helpers  # noqa: E402

CONFIGS = {"nothing frozen": None, "stem to layer2 frozen": "layer2", "whole body frozen": "body"}


def make_net(upto, device):
    torch.manual_seed(0)
    net = helpers.build_finetune_net(torchvision.models.resnet18(), 2, seed=0)
    helpers.freeze_layers(net, upto)
    return net.to(device).train()


def block_shares(size):
    """{block: (share of parameters, share of forward multiply-adds)} for ResNet-18 with a 2-class head at size px."""
    net = helpers.build_finetune_net(torchvision.models.resnet18(), 2, seed=0).eval()
    macs = {}

    def counter(block):
        def hook(module, inputs, output):
            per_output = module.weight[0].numel()             # in_channels/groups * kh * kw, or in_features
            macs[block] = macs.get(block, 0) + output.numel() * per_output
        return hook

    for block, child in net.named_children():
        for m in child.modules() if list(child.children()) else [child]:
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                m.register_forward_hook(counter(block))
    with torch.no_grad():
        net(torch.zeros(1, 3, size, size))
    params = {block: sum(p.numel() for p in child.parameters()) for block, child in net.named_children()}
    total_p, total_m = sum(params.values()), sum(macs.values())
    return {b: (params[b] / total_p, macs.get(b, 0) / total_m) for b in params if params[b]}, total_m


def load_time(photos, size, rounds):
    """Median seconds to load one training image as notebook 37 does, at `size` pixels."""
    augs = T.Compose([T.RandomResizedCrop(size, scale=(0.08, 1.0)), T.RandomHorizontalFlip(), T.ToTensor(),
                      T.Normalize(helpers.IMAGENET_MEAN, helpers.IMAGENET_STD)])
    data = helpers.image_folder(photos, augs)
    times = []
    for _ in range(rounds):
        t0 = time.process_time()
        for i in range(len(data)):
            data[i]
        times.append((time.process_time() - t0) / len(data))
    return statistics.median(times)


def epoch_times(folder, size, batch, rounds, device):
    """{config: [seconds of one training epoch over folder, loading included]}, interleaved epoch by epoch."""
    augs = T.Compose([T.RandomResizedCrop(size, scale=(0.8, 1.0)), T.RandomHorizontalFlip(), T.ToTensor(),
                      T.Normalize(helpers.IMAGENET_MEAN, helpers.IMAGENET_STD)])
    data = helpers.image_folder(folder, augs)
    loader = torch.utils.data.DataLoader(data, batch, shuffle=True, drop_last=len(data) % batch == 1)
    nets = {name: make_net(upto, device) for name, upto in CONFIGS.items()}
    trainers = {name: helpers.finetune_optimizer(net, 1e-4) for name, net in nets.items()}
    loss = nn.CrossEntropyLoss(reduction="none")
    times = {name: [] for name in CONFIGS}
    for _ in range(rounds):
        for name, net in nets.items():
            t0 = clock(device)
            for X, y in loader:
                trainers[name].zero_grad()
                loss(net(X.to(device)), y.to(device)).sum().backward()
                trainers[name].step()
            if device.type == "cuda":
                torch.cuda.synchronize()
            times[name].append(clock(device) - t0)
    return times, len(data)


def clock(device):
    """CPU seconds of this process on a CPU run; wall seconds on a GPU (whose work is not the process's CPU time)."""
    return time.process_time() if device.type == "cpu" else time.perf_counter()


def step_time(net, X, y, device):
    trainer = helpers.finetune_optimizer(net, 5e-5, head_lr_mult=10, weight_decay=1e-3)
    loss = nn.CrossEntropyLoss(reduction="none")

    def step():
        trainer.zero_grad()
        loss(net(X), y).sum().backward()
        trainer.step()
        if device.type == "cuda":
            torch.cuda.synchronize()
    return step


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[32, 224])
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (0: torch's default)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=3, help="timed steps per configuration and round")
    parser.add_argument("--epochs-on", type=Path, help="a hotdog folder: also time whole epochs over its train/")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    load_before = os.getloadavg()[0]
    sys.path.insert(0, str(REPO / "tests"))
    import real_photo_sets
    photos = real_photo_sets.build_hotdog(tempfile.mkdtemp()) / "train"
    results = []
    for size in args.sizes:
        shares, total_macs = block_shares(size)
        X = torch.randn(args.batch, 3, size, size, device=device)
        y = torch.randint(0, 2, (args.batch,), device=device)
        steps = {name: step_time(make_net(upto, device), X, y, device) for name, upto in CONFIGS.items()}
        for step in steps.values():                       # warm up (allocator, kernels)
            step(), step()
        times, walls = {name: [] for name in CONFIGS}, {name: [] for name in CONFIGS}
        for r in range(args.rounds):
            for name in (list(CONFIGS) if r % 2 == 0 else list(CONFIGS)[::-1]):
                for _ in range(args.steps):
                    t0, w0 = clock(device), time.perf_counter()
                    steps[name]()
                    times[name].append(clock(device) - t0)
                    walls[name].append(time.perf_counter() - w0)
        base = statistics.median(times["nothing frozen"])
        loading = load_time(photos, size, args.rounds)
        print(f"\n{size} px, batch {args.batch}, {device}, {torch.get_num_threads()} thread(s); forward: "
              f"{total_macs / 1e9:.3f} GMAC per image")
        print(f"  loading one training image (real photos, one process): {1e3 * loading:.1f} ms of CPU; a training "
              f"step, nothing frozen: {1e3 * base / args.batch:.1f} ms per image")
        print("  block     params  forward MACs")
        for block, (p, m) in shares.items():
            print(f"  {block:<8} {p:7.1%}  {m:7.1%}")
        wall_base = statistics.median(walls["nothing frozen"])
        for name in CONFIGS:
            med, wall = statistics.median(times[name]), statistics.median(walls[name])
            print(f"  {name:<24} {1e3 * med:9.1f} ms per step   saves {1 - med / base:5.1%}   (wall clock: "
                  f"{1e3 * wall:.1f} ms, saves {1 - wall / wall_base:5.1%})")
            results.append({"size": size, "batch": args.batch, "device": str(device), "config": name,
                            "median_ms": 1e3 * med, "ratio": med / base, "wall_ms": 1e3 * wall,
                            "n": len(times[name]), "load_ms_per_image": 1e3 * loading,
                            "clock": "process_time" if device.type == "cpu" else "wall"})
        if args.epochs_on:
            epochs, n = epoch_times(args.epochs_on / "train", size, args.batch, args.rounds, device)
            base = statistics.median(epochs["nothing frozen"])
            own = load_time(args.epochs_on / "train", size, args.rounds)
            print(f"  whole epochs over {n} photos of {args.epochs_on / 'train'} (loading one: {1e3 * own:.1f} ms of "
                  f"CPU), loading included (CPU seconds):")
            for name in CONFIGS:
                med = statistics.median(epochs[name])
                print(f"  {name:<24} {med:9.2f} s per epoch    saves {1 - med / base:5.1%}   "
                      f"({', '.join(f'{t:.2f}' for t in epochs[name])})")
                results.append({"size": size, "batch": args.batch, "device": str(device), "config": name,
                                "epoch_s": med, "epochs": epochs[name], "photos": n, "load_ms_per_photo": 1e3 * own})
    load_after = os.getloadavg()[0]
    print(f"\nload average: {load_before:.2f} before, {load_after:.2f} after")
    out = Path(os.environ.get("COURSE_OUTPUT_DIR", REPO / "outputs")) / "freeze_speed.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"results": results, "load": [load_before, load_after],
                               "torch": torch.__version__}, indent=1))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
