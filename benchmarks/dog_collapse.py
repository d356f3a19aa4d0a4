"""Why notebook 40's head collapsed offline, measured: random ResNet-34 features with and without BatchNorm statistics.

    PYTHONPATH=. .venv/bin/python benchmarks/dog_collapse.py [--quick]

Offline, notebook 40 runs a randomly initialised ResNet-34 (the weights cannot be downloaded) in eval mode on the dog
stand-in, and trains d2l's output network Linear(1000|512, 256)-ReLU-Linear(256, 120) on its features with d2l's
recipe (SGD, momentum 0.9, weight decay 1e-4, lr 1e-4 on the SUMMED loss, batch 32, StepLR(2, 0.9)). Before the fix
every run ended at loss ln 120 = 4.788 with the same probabilities for every photo. This script measures, on the
cached 512-d pooled features and the 1000 scores of 120 breeds x 3 pictures at 64 px (2 for training, 1 for
validation per breed, as the notebook's stand-in):

  - how alike the features of different photos are (mean cosine similarity between photos) and how long they are
    (mean L2 norm), with the BatchNorm layers' initial placeholders (mean 0, variance 1) and after measuring their
    statistics on the training pictures (torch.optim.swa_utils.update_bn, as the notebook does with random weights);
  - the head trained with d2l's recipe on each: train loss per epoch, valid log loss and accuracy, the share of its
    256 hidden ReLUs that are dead (zero for every training photo), and how many breeds it predicts;
  - for the placeholder statistics, whether a smaller learning rate or more epochs avoid the collapse;
  - how well the features tell breeds apart at all: the valid accuracy of the nearest breed mean;
  - the same for the stand-in pictures before this fix (machinery.standins.synthetic_image) and after (dog_image),
    and the likeness of the features of 22 real photos (tests/real_photo_sets.py).

It prints one line per case. Nothing here is a lesson about dogs: random weights, synthetic pictures.
"""
import argparse
import time

import numpy as np
import torch
import torchvision
from PIL import Image
from torch import nn
from torchvision import transforms as T

import helpers
from machinery import standins

SIZE, BATCH, BREEDS, PER_BREED = 64, 32, 120, 3


def pictures(generator, seed=0):
    """(images (N, 3, SIZE, SIZE), labels (N,), is_valid (N,)): PER_BREED pictures per breed, the first one valid."""
    rng = np.random.default_rng(seed)
    tf = T.Compose([T.Resize(round(SIZE * 256 / 224)), T.CenterCrop(SIZE), T.ToTensor(),
                    T.Normalize(helpers.IMAGENET_MEAN, helpers.IMAGENET_STD)])
    X, y = [], []
    for breed in range(BREEDS):
        for _ in range(PER_BREED):
            h, w = int(rng.integers(64, 97)), int(rng.integers(64, 97))
            X.append(tf(Image.fromarray(generator(rng, breed, h, w))))
            y.append(breed)
    y = torch.tensor(y)
    return torch.stack(X), y, torch.arange(len(y)) % PER_BREED == 0


def real_photos():
    """The 22 real photographs of tests/real_photo_sets.py (from installed wheels), as the notebook's test view."""
    import sys
    from pathlib import Path
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    import real_photo_sets
    tf = T.Compose([T.Resize(round(SIZE * 256 / 224)), T.CenterCrop(SIZE), T.ToTensor(),
                    T.Normalize(helpers.IMAGENET_MEAN, helpers.IMAGENET_STD)])
    return torch.stack([tf(real_photo_sets._open(name).convert("RGB")) for name in real_photo_sets.PHOTOS])


def features(resnet, X):
    """(pooled 512-d features, 1000 scores) of X through resnet in eval mode."""
    body = nn.Sequential(*list(resnet.children())[:-1], nn.Flatten()).eval()
    with torch.no_grad():
        f = torch.cat([body(X[i:i + BATCH]) for i in range(0, len(X), BATCH)])
        return f, resnet.fc(f)


def likeness(f):
    """Mean cosine similarity between the features of different photos, and the mean L2 norm of a feature vector."""
    z = nn.functional.normalize(f, dim=1)
    c = z @ z.T
    return c[~torch.eye(len(f), dtype=torch.bool)].mean().item(), f.norm(dim=1).mean().item()


def nearest_mean(f, y, valid):
    """Valid accuracy of the nearest breed mean (standardised features): how much the features tell breeds apart,
    whatever a head trained by SGD makes of it."""
    mu, sd = f[~valid].mean(0), f[~valid].std(0) + 1e-6
    z = (f - mu) / sd
    means = torch.stack([z[~valid][y[~valid] == b].mean(0) for b in range(BREEDS)])
    return (torch.cdist(z[valid], means).argmin(1) == y[valid]).float().mean().item()


def train_head(X, y, Xv, yv, lr=1e-4, epochs=3):
    """d2l's output network on cached features with d2l's recipe; returns a dict of what it learnt."""
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(X.shape[1], 256), nn.ReLU(), nn.Linear(256, BREEDS))
    trainer = torch.optim.SGD(net.parameters(), lr=lr, momentum=0.9, weight_decay=1e-4)
    scheduler = torch.optim.lr_scheduler.StepLR(trainer, 2, 0.9)
    order, losses = torch.Generator().manual_seed(0), []
    for _ in range(epochs):
        total, n = 0.0, 0
        for idx in torch.randperm(len(X), generator=order).split(BATCH):
            if len(idx) < BATCH:                          # drop_last, as d2l's training loader
                continue
            l = nn.functional.cross_entropy(net(X[idx]), y[idx], reduction="none")
            trainer.zero_grad()
            l.sum().backward()
            trainer.step()
            total, n = total + l.sum().item(), n + len(idx)
        scheduler.step()
        losses.append(total / n)
    with torch.no_grad():
        dead = (torch.relu(net[0](X)).amax(0) == 0).float().mean().item()
        probs = torch.softmax(net(Xv), 1)
    return {"losses": losses, "valid_loss": helpers.multiclass_log_loss(probs, yv),
            "valid_acc": (probs.argmax(1) == yv).float().mean().item(), "dead": dead,
            "predicted": len(set(probs.argmax(1).tolist()))}


def line(name, r):
    return (f"{name:64s} train loss {' '.join(f'{v:.3f}' for v in r['losses'][:3])}"
            f"{' ... %.3f' % r['losses'][-1] if len(r['losses']) > 3 else ''} | valid loss {r['valid_loss']:.3f}, "
            f"acc {r['valid_acc']:.3f} | dead ReLUs {r['dead']:.0%} | breeds predicted {r['predicted']}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="skip the learning-rate and epoch scans")
    args = parser.parse_args()
    torch.set_num_threads(1)                              # a shared 2-core machine: one thread is steadier
    start = time.perf_counter()
    torch.manual_seed(0)
    resnet = torchvision.models.resnet34().eval()        # random weights, as offline
    stand_ins = {"stand-in before (synthetic_image)": lambda rng, b, h, w: standins.synthetic_image(rng, b, BREEDS, h, w),
                 "stand-in now (dog_image)": standins.dog_image}
    for picture_name, generator in stand_ins.items():
        X, y, valid = pictures(generator)
        filled = torchvision.models.resnet34()
        filled.load_state_dict(resnet.state_dict())
        loader = [(X[~valid][i:i + BATCH], None) for i in range(0, int((~valid).sum()), BATCH)]
        torch.optim.swa_utils.update_bn(loader, filled)   # what the notebook does with random weights
        for stats_name, net in (("placeholder BatchNorm statistics", resnet), ("measured BatchNorm statistics", filled)):
            pooled, scores = features(net.eval(), X)
            cos, norm = likeness(pooled[~valid])
            print(f"{picture_name}, {stats_name}: pooled features: mean cosine between photos {cos:.3f}, "
                  f"mean norm {norm:.1f}, nearest breed mean {nearest_mean(pooled, y, valid):.3f} valid acc")
            for feature_name, F in (("1000 scores", scores), ("512 pooled", pooled)):
                r = train_head(F[~valid], y[~valid], F[valid], y[valid])
                print("  " + line(f"{feature_name}, d2l's lr 1e-4, 3 epochs", r))
            if stats_name.startswith("placeholder") and not args.quick:
                for lr in (1e-5, 1e-6):
                    r = train_head(scores[~valid], y[~valid], scores[valid], y[valid], lr=lr, epochs=20)
                    print("  " + line(f"1000 scores, lr {lr:g}, 20 epochs", r))
                r = train_head(scores[~valid], y[~valid], scores[valid], y[valid], epochs=30)
                print("  " + line("1000 scores, d2l's lr 1e-4, 30 epochs", r))
            if stats_name.startswith("measured") and not args.quick:
                r = train_head(pooled[~valid], y[~valid], pooled[valid], y[valid], epochs=30)
                print("  " + line("512 pooled, d2l's lr 1e-4, 30 epochs (the notebook's CACHE_EPOCHS)", r))
    real = real_photos()
    filled = torchvision.models.resnet34()
    filled.load_state_dict(resnet.state_dict())
    torch.optim.swa_utils.update_bn([(real, None)], filled)
    for stats_name, net in (("placeholder BatchNorm statistics", resnet), ("measured BatchNorm statistics", filled)):
        cos, norm = likeness(features(net.eval(), real)[0])
        print(f"the {len(real)} real photos of tests/real_photo_sets.py, {stats_name}: pooled features: mean cosine "
              f"between photos {cos:.3f}, mean norm {norm:.1f}")
    print(f"uniform guess: ln 120 = {np.log(120):.3f}; chance accuracy 1/120 = {1 / 120:.4f}; "
          f"{time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
