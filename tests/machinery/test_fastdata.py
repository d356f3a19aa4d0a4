"""machinery.fastdata: the decode-once cache, batched per-sample augmentation, FastLoader and fast_loaders.

The fast path must be statistically equivalent to the PIL/torchvision path it replaces: same value range and
normalisation (exactly equal without augmentation), crop and flip frequencies as configured, and a new random crop
and flip for every image of a batch.
"""
import math
import os
import shutil
import sys

import numpy as np
import pytest
import torch
import torchvision
from PIL import Image
from torch import nn
from torchvision import transforms as T
from torchvision.transforms import v2

import helpers
from machinery import fastdata, standins

CIFAR_NORM = [T.ToTensor(), T.Normalize(helpers.CIFAR10_MEAN, helpers.CIFAR10_STD)]


@pytest.fixture
def cifar_tree(cifar_copy):
    """The 200-image CIFAR stand-in, reorganised (train / valid / train_valid / test)."""
    helpers.reorg_kaggle_data(cifar_copy, "trainLabels.csv", 0.1)
    return cifar_copy / "train_valid_test"


@pytest.fixture
def dog_tree(tmp_path):
    """A small dog stand-in: JPEGs of different sizes and aspect ratios, 4 breeds, reorganised."""
    folder = standins.make_standin("dog_tiny", tmp_path, n_train=40, n_test=3, num_classes=4, size=(60, 130))
    helpers.reorg_kaggle_data(folder, "labels.csv", 0.1)
    return folder / "train_valid_test"


def _pil(path):
    with Image.open(path) as img:
        return img.convert("RGB")


# ------------------------------------------------------------------------------------------------------------- cache

def test_cache_matches_imagefolder(cifar_tree):
    ds = fastdata.image_folder_cache(cifar_tree / "train", store="memory")
    ref = torchvision.datasets.ImageFolder(cifar_tree / "train")
    assert ds.images.dtype == torch.uint8 and ds.images.shape == (len(ref), 3, 32, 32)
    assert ds.targets.dtype == torch.int64 and ds.targets.tolist() == ref.targets
    assert ds.classes == ref.classes and ds.samples == ref.samples and len(ds) == len(ref)
    assert ds.sizes.tolist() == [[32, 32]] * len(ref)
    for i in (0, 17, len(ref) - 1):       # the pixels are the decoded files, channel first
        assert torch.equal(ds.images[i], torch.from_numpy(np.array(_pil(ref.samples[i][0]))).permute(2, 0, 1))
        assert ds[i][1] == ref.targets[i]


def test_cache_resizes_to_one_size_and_keeps_original_sizes(dog_tree):
    with pytest.raises(ValueError, match="pass cache_size= to fast_loaders"):
        fastdata.image_folder_cache(dog_tree / "train", store="memory")
    ds = fastdata.image_folder_cache(dog_tree / "train", size=48, store="memory")
    assert ds.images.shape == (len(ds.samples), 3, 48, 48) and ds.images.dtype == torch.uint8
    for i, (path, _) in enumerate(ds.samples[:5]):
        img = _pil(path)
        assert ds.sizes[i].tolist() == [img.height, img.width]
        expected = np.asarray(img.resize((48, 48), Image.BILINEAR)).transpose(2, 0, 1)
        assert np.array_equal(ds.images[i].numpy(), expected)
    assert len({tuple(s) for s in ds.sizes.tolist()}) > 5          # the files really differ in size


def test_disk_cache_is_reused_next_to_the_folder(cifar_tree):
    folder = cifar_tree / "train"
    first = fastdata.image_folder_cache(folder, store="disk")
    cache_dir = cifar_tree / ".train.fastcache"
    npy = cache_dir / "asis.npy"
    assert npy.exists() and not any(p.name.startswith(".") for p in folder.iterdir())   # not inside the folder
    assert torchvision.datasets.ImageFolder(folder).classes == first.classes
    stamp = npy.stat().st_mtime_ns
    fastdata._FAST_CACHE.clear()                                   # as a fresh process would start
    again = fastdata.image_folder_cache(folder, store="disk")
    assert npy.stat().st_mtime_ns == stamp and torch.equal(again.images, first.images)
    assert torch.equal(again.sizes, first.sizes)
    fastdata._FAST_CACHE.clear()
    mapped = fastdata.image_folder_cache(folder, store="disk", memmap=True)
    assert torch.equal(mapped.images, first.images)


@pytest.mark.parametrize("store", ["disk", "memory"])
def test_cache_is_invalidated_when_the_folder_changes(cifar_tree, store):
    folder = cifar_tree / "train"
    before = fastdata.image_folder_cache(folder, store=store)
    n = len(before)
    # rewrite one image with new pixels (new bytes, new mtime)
    path = before.samples[0][0]
    Image.fromarray(np.full((32, 32, 3), 7, np.uint8)).save(path)
    os.utime(path, ns=(os.stat(path).st_atime_ns, os.stat(path).st_mtime_ns + 10**9))
    changed = fastdata.image_folder_cache(folder, store=store)
    assert torch.all(changed.images[0] == 7) and len(changed) == n
    # add an image
    label = before.classes[1]
    shutil.copy(before.samples[-1][0], folder / label / "extra.png")
    added = fastdata.image_folder_cache(folder, store=store)
    assert len(added) == n + 1 and (str(folder / label / "extra.png"), 1) in added.samples
    # remove one
    os.remove(folder / label / "extra.png")
    assert len(fastdata.image_folder_cache(folder, store=store)) == n
    # move an image to another class folder
    src = before.samples[-1][0]
    shutil.move(src, folder / before.classes[0] / os.path.basename(src))
    moved = fastdata.image_folder_cache(folder, store=store)
    assert moved.targets.tolist() == torchvision.datasets.ImageFolder(folder).targets


def test_fingerprint_changes_with_names_sizes_and_mtimes(tmp_path):
    (tmp_path / "a").mkdir()
    for k in range(3):
        (tmp_path / "a" / f"{k}.png").write_bytes(b"x" * (k + 1))
    samples = [(str(tmp_path / "a" / f"{k}.png"), 0) for k in range(3)]
    fp = fastdata.folder_fingerprint(samples)
    assert fastdata.folder_fingerprint(samples) == fp
    os.utime(samples[1][0], ns=(0, 12345))
    assert fastdata.folder_fingerprint(samples) != fp
    assert fastdata.folder_fingerprint(samples[:2]) != fastdata.folder_fingerprint(samples)
    assert fastdata.folder_fingerprint([(p, 1) for p, _ in samples]) != fastdata.folder_fingerprint(samples)


# ----------------------------------------------------------------------------------------- transforms: exact cases

def test_eval_batch_equals_totensor_normalize(cifar_tree):
    ds = fastdata.image_folder_cache(cifar_tree / "valid", store="memory")
    ours = fastdata.eval_batch(ds.images, **fastdata.FAST_RECIPES["cifar10"])
    ref = torch.stack([T.Compose(CIFAR_NORM)(_pil(p)) for p, _ in ds.samples])
    assert ours.dtype == torch.float32 and ours.shape == ref.shape
    assert torch.allclose(ours, ref, atol=1e-5)


def test_eval_batch_is_resize_then_centre_crop(dog_tree):
    recipe = dict(fastdata.FAST_RECIPES["imagenet"], size=56, cache_size=64, eval_crop=56 / 64)
    ds = fastdata.image_folder_cache(dog_tree / "valid", 64, store="memory")
    ours = fastdata.eval_batch(ds.images, **recipe, sizes=ds.sizes)
    tf = T.Compose([T.Resize(64), T.CenterCrop(56), T.ToTensor(), T.Normalize(helpers.IMAGENET_MEAN,
                                                                                helpers.IMAGENET_STD)])
    ref = torch.stack([tf(_pil(p)) for p, _ in ds.samples])
    assert ours.shape == ref.shape
    # resampled from the cached copy, not from the file: close, not equal
    assert (ours - ref).abs().mean() < 0.08 and abs(ours.mean() - ref.mean()) < 0.02


def test_crop_resize_batch_cuts_each_box():
    x = torch.arange(2 * 3 * 12 * 16, dtype=torch.float32).view(2, 3, 12, 16)
    full = fastdata.crop_resize_batch(x, (torch.zeros(2), torch.zeros(2), torch.full((2,), 12.), torch.full((2,), 16.)),
                                     12)
    assert full.shape == (2, 3, 12, 12)
    same = fastdata.crop_resize_batch(x[..., :12], (torch.zeros(2), torch.zeros(2), torch.full((2,), 12.),
                                                   torch.full((2,), 12.)), 12)
    assert torch.allclose(same, x[..., :12], atol=1e-3)                       # a full box is the identity
    boxes = (torch.tensor([1., 4.]), torch.tensor([2., 7.]), torch.tensor([6., 6.]), torch.tensor([6., 6.]))
    x8 = x.to(torch.uint8)
    for method in ("grid", "resize", "auto"):
        out = fastdata.crop_resize_batch(x8, boxes, 6, flip=torch.tensor([False, True]), method=method)
        assert out.dtype == torch.float32
        assert torch.allclose(out[0], x8[0, :, 1:7, 2:8].float(), atol=1e-3)              # each image its own box
        assert torch.allclose(out[1], x8[1, :, 4:10, 7:13].flip(2).float(), atol=1e-3)


def test_crop_resize_methods_agree():
    """The CPU 'resize' path (per image, uint8) and the batched 'grid' path give the same enlargements."""
    torch.manual_seed(0)
    x = torch.randint(0, 256, (16, 3, 40, 50), dtype=torch.uint8)
    top, left, h, w = fastdata.resized_crop_params(16, 40, 50, (0.1, 0.5), (3 / 4, 4 / 3))
    flip = torch.rand(16) < 0.5
    grid = fastdata.crop_resize_batch(x, (top, left, h, w), 48, flip, method="grid")
    resized = fastdata.crop_resize_batch(x, (top, left, h, w), 48, flip, method="resize")
    assert (grid - resized).abs().max() <= 1.01                 # uint8 rounding of the 'resize' output only


@pytest.mark.parametrize("method", ["grid", "resize"])
def test_crops_read_in_place_equal_crops_of_gathered_images(method):
    """index=...: crops cut straight from the stored set equal crops of the gathered batch (same boxes, same flips),
    and augment_batch(store, index=idx) equals augment_batch(store[idx]) under the same seed."""
    torch.manual_seed(0)
    store = torch.randint(0, 256, (10, 3, 40, 50), dtype=torch.uint8)
    idx = torch.tensor([7, 2, 2, 9, 0])
    boxes = fastdata.resized_crop_params(5, 40, 50, (0.1, 1.0), (3 / 4, 4 / 3))
    flip = torch.tensor([True, False, True, False, True])
    gathered = fastdata.crop_resize_batch(store[idx], boxes, 64, flip, method=method)
    in_place = fastdata.crop_resize_batch(store, boxes, 64, flip, method=method, index=idx)
    assert torch.equal(gathered, in_place)
    recipe = dict(fastdata.FAST_RECIPES["imagenet"], size=64)
    torch.manual_seed(1)
    a = fastdata.augment_batch(store[idx], **recipe)
    torch.manual_seed(1)
    b = fastdata.augment_batch(store, **recipe, index=idx)
    assert torch.equal(a, b)
    assert not torch.equal(b[1], b[2])           # the same image twice in a batch still gets two crops


def test_pad_crop_batch_offsets_and_padding():
    torch.manual_seed(0)
    x = torch.randint(1, 256, (500, 3, 8, 8), dtype=torch.uint8)
    out, (top, left) = fastdata.pad_crop_batch(x, 8, 2)
    padded = nn.functional.pad(x, (2, 2, 2, 2))
    for i in range(0, 500, 37):
        assert torch.equal(out[i], padded[i, :, top[i]:top[i] + 8, left[i]:left[i] + 8])
    assert out.dtype == torch.uint8 and set(top.tolist()) == set(range(5)) == set(left.tolist())
    # as torchvision's RandomCrop(8, padding=2): zero padding, offsets uniform over 0..4
    assert abs(top.float().mean().item() - 2) < 0.25 and (out == 0).any()


# ------------------------------------------------------------------------------------- frequencies and distributions

def _flipped(out, image):
    """Per output image: True if it is the mirror of `image`, False if it is `image` itself."""
    same = (out == image).flatten(1).all(1)
    mirrored = (out == image.flip(-1)).flatten(1).all(1)
    assert torch.all(same ^ mirrored)
    return mirrored


@pytest.mark.parametrize("p", [0.5, 0.2, 0.0])
def test_flip_rate_is_as_configured(p):
    torch.manual_seed(1)
    image = torch.arange(3 * 4 * 5, dtype=torch.uint8).view(3, 4, 5)         # not symmetric left-right
    batch = image.expand(4000, 3, 4, 5)
    rate = _flipped(fastdata.augment_batch(batch, 4, crop=None, flip=p, mean=(0, 0, 0), std=(1 / 255,) * 3),
                    image.float()).float().mean().item()
    assert abs(rate - p) < 0.03                               # binomial sd at p=0.5 over 4000: 0.008
    # through the resized-crop path (a crop of the whole image): the same rate
    out = fastdata.augment_batch(batch[..., :4], 4, crop="resized", scale=(1, 1), ratio=(1, 1), flip=p,
                                mean=(0, 0, 0), std=(1 / 255,) * 3).round()
    assert abs(_flipped(out, image[..., :4].float()).float().mean().item() - p) < 0.03


@pytest.mark.parametrize("hw, scale, ratio", [((256, 256), (0.08, 1.0), (3 / 4, 4 / 3)),
                                               ((120, 300), (0.08, 1.0), (3 / 4, 4 / 3)),
                                               ((40, 40), (0.64, 1.0), (1.0, 1.0))])
def test_resized_crop_params_match_torchvision(hw, scale, ratio):
    torch.manual_seed(0)
    H, W = hw
    top, left, h, w = fastdata.resized_crop_params(20000, H, W, scale, ratio)
    assert torch.all((h >= 1) & (w >= 1) & (top >= 0) & (left >= 0) & (top + h <= H) & (left + w <= W))
    frac = h * w / (H * W)
    rounding = 2 / min(H, W)                              # integer sides move the area fraction a little
    assert frac.min() >= scale[0] - rounding - 1e-6 and frac.max() <= scale[1] + 1e-6
    theirs = torch.tensor([T.RandomResizedCrop.get_params(torch.empty(1, H, W), list(scale), list(ratio))
                           for _ in range(4000)], dtype=torch.float32)
    t_frac = theirs[:, 2] * theirs[:, 3] / (H * W)
    for q in (0.1, 0.5, 0.9):                               # the distribution of crop areas, quantile by quantile
        assert abs(frac.quantile(q) - t_frac.quantile(q)) < 0.04, q
    assert abs((w / h).log().mean() - (theirs[:, 3] / theirs[:, 2]).log().mean()) < 0.03
    assert abs((top / H).mean() - (theirs[:, 0] / H).mean()) < 0.03
    if ratio == (1.0, 1.0):
        assert torch.all(h == w)


def test_resized_crop_params_with_one_size_per_image():
    torch.manual_seed(0)
    H, W = torch.tensor([50, 400, 120]).repeat(2000), torch.tensor([400, 50, 120]).repeat(2000)
    top, left, h, w = fastdata.resized_crop_params(6000, H, W)
    assert torch.all((top + h <= H) & (left + w <= W) & (h >= 1) & (w >= 1))
    r = w / h
    assert torch.all((r > 0.7) & (r < 1.4))      # extreme images take the fallback: the allowed ratio nearest theirs


def test_crops_use_the_original_geometry(dog_tree):
    """With a resized cache, crop boxes are drawn in each file's own pixels (as the PIL path does)."""
    ds = fastdata.image_folder_cache(dog_tree / "train", 64, store="memory")
    torch.manual_seed(0)
    sizes = ds.sizes.repeat(50, 1)
    top, left, h, w = fastdata.resized_crop_params(len(sizes), sizes[:, 0], sizes[:, 1], (0.25, 0.25), (1.0, 1.0))
    side = (sizes.prod(1).float() * 0.25).sqrt().round()
    assert torch.equal(h, side) and torch.equal(w, side)
    cache_top, cache_left, cache_h, cache_w = fastdata._to_cache_pixels((top, left, h, w), sizes, 64, 64)
    assert torch.allclose(cache_h, side * 64 / sizes[:, 0]) and torch.allclose(cache_w, side * 64 / sizes[:, 1])


def test_per_sample_randomness():
    torch.manual_seed(0)
    image = torch.randint(0, 256, (3, 32, 32), dtype=torch.uint8)
    batch = image.expand(64, 3, 32, 32).contiguous()
    for recipe in ("cifar10", "cifar10_pad", "imagenet"):
        r = dict(fastdata.FAST_RECIPES[recipe], size=32)
        out = fastdata.augment_batch(batch, **r)
        # two images of a batch get different crops: 32-pixel crops come in a few hundred variants (integer sides
        # and offsets, times the flip), so a few of 64 draws coincide; one draw for the batch would give 1 variant
        distinct = len({tuple(o.flatten()[::7].round(decimals=3).tolist()) for o in out})
        assert distinct >= 40, (recipe, distinct)
        pairs_equal = sum(torch.allclose(out[i], out[i + 1]) for i in range(63))
        assert pairs_equal <= 12, (recipe, pairs_equal)
    # what we avoid: torchvision.transforms.v2 on a batch draws ONE crop and ONE flip for all images
    same = v2.RandomResizedCrop(32, scale=(0.64, 1.0))(batch)
    assert all(torch.equal(same[0], s) for s in same)


def test_color_jitter_matches_torchvision(cifar_standin, tmp_path):
    """Per image factors and order, clamping after each step: the same distribution as ColorJitter on PIL images."""
    shutil.copytree(cifar_standin / "train", tmp_path / "all" / "x")
    ds = fastdata.image_folder_cache(tmp_path / "all", store="memory")
    jitter = T.ColorJitter(0.4, 0.4, 0.4)
    torch.manual_seed(0)
    images = [_pil(p) for p, _ in ds.samples]
    pil = torch.stack([T.functional.pil_to_tensor(jitter(img)) for _ in range(8) for img in images]).float()
    ours = torch.cat([fastdata.color_jitter_batch(ds.images, 0.4, 0.4, 0.4) for _ in range(8)])
    assert ours.dtype == torch.float32 and ours.min() >= 0 and ours.max() <= 255
    assert torch.allclose(ours.mean((0, 2, 3)), pil.mean((0, 2, 3)), atol=2.5)        # 0..255 units
    assert torch.allclose(ours.std((0, 2, 3)), pil.std((0, 2, 3)), rtol=0.04)
    # the spread of per-image brightness is what the jitter adds: alike too
    assert abs(ours.mean((1, 2, 3)).std() / pil.mean((1, 2, 3)).std() - 1) < 0.08
    # with mean and std, the output is the normalised jitter
    torch.manual_seed(1)
    a = fastdata.color_jitter_batch(ds.images[:50], 0.4, 0.4, 0.4)
    torch.manual_seed(1)
    b = fastdata.color_jitter_batch(ds.images[:50], 0.4, 0.4, 0.4, mean=helpers.CIFAR10_MEAN, std=helpers.CIFAR10_STD)
    assert torch.allclose(fastdata.normalize_batch(a, helpers.CIFAR10_MEAN, helpers.CIFAR10_STD), b, atol=1e-4)


def test_color_jitter_draws_one_factor_per_image():
    torch.manual_seed(0)
    x = torch.full((2000, 3, 4, 4), 100.0)
    out = fastdata.color_jitter_batch(x, brightness=0.4, contrast=0, saturation=0)
    factor = out[:, 0, 0, 0] / 100
    assert torch.all((factor >= 0.6 - 1e-5) & (factor <= 1.4 + 1e-5)) and len(factor.unique()) > 1900
    assert abs(factor.mean() - 1) < 0.02 and abs(factor.std() - 0.8 / math.sqrt(12)) < 0.02   # U(0.6, 1.4)
    gray = fastdata.color_jitter_batch(torch.rand(50, 3, 8, 8) * 255, 0, 0, 0.4)
    assert gray.min() >= 0 and gray.max() <= 255


def test_color_jitter_in_chunks_equals_whole_batch():
    """The CPU path runs the jitter rounds over groups of images that fit in the cache: same draws, same result."""
    x = torch.randint(0, 256, (10, 3, 20, 24), dtype=torch.uint8)
    results = []
    for chunk_bytes in (None, 3 * 4 * 20 * 24 * 3, 1):       # whole batch, 3 images per group, 1 image per group
        torch.manual_seed(0)
        results.append(fastdata.color_jitter_batch(x, mean=helpers.IMAGENET_MEAN, std=helpers.IMAGENET_STD,
                                                  chunk_bytes=chunk_bytes))
    assert torch.allclose(results[0], results[1], atol=1e-5) and torch.allclose(results[0], results[2], atol=1e-5)


def test_augmented_batches_are_statistically_equivalent_to_pil(cifar_standin, tmp_path):
    """d2l's CIFAR train transform on PIL images vs the 'cifar10' recipe on the cache: same range, same per-channel
    mean and spread (the PIL path resamples twice, Resize(40) then the crop, so it is a little smoother)."""
    shutil.copytree(cifar_standin / "train", tmp_path / "all" / "x")
    ds = fastdata.image_folder_cache(tmp_path / "all", store="memory")
    tf = T.Compose([T.Resize(40), T.RandomResizedCrop(32, scale=(0.64, 1.0), ratio=(1.0, 1.0)),
                    T.RandomHorizontalFlip(), *CIFAR_NORM])
    torch.manual_seed(0)
    images = [_pil(p) for p, _ in ds.samples]
    pil = torch.stack([tf(img) for _ in range(3) for img in images])
    ours = torch.cat([fastdata.augment_batch(ds.images, **fastdata.FAST_RECIPES["cifar10"]) for _ in range(3)])
    assert ours.shape == pil.shape and ours.dtype == pil.dtype
    lo = (0 - torch.tensor(helpers.CIFAR10_MEAN)) / torch.tensor(helpers.CIFAR10_STD)
    hi = (1 - torch.tensor(helpers.CIFAR10_MEAN)) / torch.tensor(helpers.CIFAR10_STD)
    for x in (ours, pil):
        assert torch.all(x.amin((0, 2, 3)) >= lo - 1e-4) and torch.all(x.amax((0, 2, 3)) <= hi + 1e-4)
    assert torch.allclose(ours.mean((0, 2, 3)), pil.mean((0, 2, 3)), atol=0.05)
    assert torch.allclose(ours.std((0, 2, 3)), pil.std((0, 2, 3)), rtol=0.04)
    # the mean image: both are left-right symmetric on average (flip at rate 0.5) and alike
    assert (ours.mean(0) - pil.mean(0)).abs().mean() < 0.1


def test_imagenet_recipe_is_statistically_equivalent_to_pil(dog_tree):
    recipe = dict(fastdata.FAST_RECIPES["imagenet"], size=48, cache_size=96)
    ds = fastdata.image_folder_cache(dog_tree / "train_valid", 96, store="memory")
    tf = T.Compose([T.RandomResizedCrop(48), T.RandomHorizontalFlip(), T.ColorJitter(0.4, 0.4, 0.4), T.ToTensor(),
                    T.Normalize(helpers.IMAGENET_MEAN, helpers.IMAGENET_STD)])
    torch.manual_seed(0)
    images = [_pil(p) for p, _ in ds.samples]
    pil = torch.stack([tf(img) for _ in range(20) for img in images])
    ours = torch.cat([fastdata.augment_batch(ds.images, **recipe, sizes=ds.sizes) for _ in range(20)])
    assert ours.shape == pil.shape
    # 40 images: the crops' content varies a lot, so only wrong normalisation or a missing step fails this
    assert torch.allclose(ours.mean((0, 2, 3)), pil.mean((0, 2, 3)), atol=0.1)
    assert torch.allclose(ours.std((0, 2, 3)), pil.std((0, 2, 3)), rtol=0.06)


# ------------------------------------------------------------------------------------------------------------ loaders

def test_loader_covers_every_image_once_per_epoch():
    n = 103
    images = torch.arange(n, dtype=torch.uint8).view(n, 1, 1, 1).expand(n, 3, 4, 4).contiguous()
    recipe = dict(size=4, mean=(0, 0, 0), std=(1 / 255,) * 3, crop=None, flip=0.5)
    loader = fastdata.FastLoader(images, torch.arange(n), 16, recipe, train=False, shuffle=True, device="cpu")
    assert len(loader) == 7
    epochs = []
    for _ in range(2):
        xs, ys = zip(*loader)
        y = torch.cat(ys)
        assert sorted(y.tolist()) == list(range(n))                             # every image exactly once
        assert torch.equal(torch.cat(xs)[:, 0, 0, 0].round().long(), y)         # each image with its own label
        epochs.append(y)
    assert not torch.equal(*epochs)                                             # a new order each epoch
    train = fastdata.FastLoader(images, torch.arange(n), 16, recipe, train=True, device="cpu")
    ys = [y for _, y in train]
    assert len(ys) == len(train) == n // 16 and all(len(y) == 16 for y in ys)   # d2l drops the last partial batch
    assert len(set(torch.cat(ys).tolist())) == 16 * (n // 16)                   # no image twice
    ordered = fastdata.FastLoader(images, torch.arange(n), 16, recipe, train=False, device="cpu")
    assert torch.equal(torch.cat([y for _, y in ordered]), torch.arange(n))     # valid/test: file order
    staged = fastdata.FastLoader(images, torch.arange(n), 16, recipe, train=False, device="cpu", on_device=False)
    assert all(torch.equal(a[0], b[0]) for a, b in zip(staged, ordered))


def test_fast_loaders_mirror_reorganised_loaders(cifar_tree):
    datasets, loaders = helpers.fast_loaders(cifar_tree.parent, 32, device="cpu")
    ref_sets, ref_loaders = helpers.reorganised_loaders(cifar_tree.parent, T.Compose(CIFAR_NORM),
                                                        T.Compose(CIFAR_NORM), 32, num_workers=0)
    assert datasets.keys() == ref_sets.keys() == {"train", "valid", "train_valid", "test"}
    for split in datasets:
        assert datasets[split].classes == ref_sets[split].classes
        assert datasets[split].samples == ref_sets[split].samples
        assert len(loaders[split]) == len(ref_loaders[split])
    X, y = next(iter(loaders["train"]))
    assert X.shape == (32, 3, 32, 32) and X.dtype == torch.float32 and y.dtype == torch.int64
    Xv = torch.cat([x for x, _ in loaders["valid"]])
    Xr = torch.cat([x for x, _ in ref_loaders["valid"]])
    assert torch.allclose(Xv, Xr, atol=1e-5)                                     # same images, same order


def test_train_ch13_learns_with_fast_loaders(cifar_tree):
    helpers.seed_everything(0)
    _, loaders = helpers.fast_loaders(cifar_tree.parent, 32, device="cpu", store="memory")
    net = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
                        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                        nn.Linear(32, 10))
    trainer = torch.optim.SGD(net.parameters(), lr=0.002, momentum=0.9)
    history = helpers.train_ch13(net, loaders["train"], loaders["valid"], nn.CrossEntropyLoss(reduction="none"),
                                 trainer, 6, [torch.device("cpu")], plot=False)
    assert history["test_acc"][-1] >= 0.5, history                              # chance is 0.1
    assert history["train_loss"][-1] < history["train_loss"][0]


def test_keep_freed_cpu_memory_is_applied_once_by_cpu_loaders():
    import platform
    loader = fastdata.FastLoader(torch.zeros(4, 3, 8, 8, dtype=torch.uint8), torch.arange(4), 2,
                                fastdata.FAST_RECIPES["cifar10"], device="cpu")
    assert fastdata._MALLOC_TUNED, "a CPU FastLoader tunes the allocator"
    applied = fastdata.keep_freed_cpu_memory()
    assert applied is fastdata._MALLOC_TUNED[0] and len(fastdata._MALLOC_TUNED) == 1       # once per process
    if sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc":
        assert applied is True
    assert len(list(loader)) == 2                 # and the loader works as before


def test_a_corrupt_image_is_named_and_no_cache_is_written(cifar_tree):
    train = cifar_tree / "train"
    bad = sorted(train.rglob("*.png"))[3]
    data = bad.read_bytes()
    bad.unlink()                                                # a new file, not the hard-linked source
    bad.write_bytes(data[:60])                                  # truncated
    fastdata._FAST_CACHE.clear()
    with pytest.raises(OSError, match=str(bad)):
        fastdata.image_folder_cache(train, store="disk")
    assert not list(cifar_tree.glob(".train.fastcache/*.npy"))


# ------------------------------------------------------------------------- the decode cache: concurrency, kills, disks

CACHE_CHILD = r"""
import hashlib, os, sys, time
import numpy as np
from machinery import fastdata
if sys.argv[3]:                                    # write half a cache, then pause (to be SIGKILLed)
    def slow_save(f, array):
        f.write(b"\x93NUMPY half a cache")
        f.flush()
        open(sys.argv[3], "w").close()
        time.sleep(120)
    np.save = slow_save
while sys.argv[2] and not os.path.exists(sys.argv[2]):   # wait for the go signal
    time.sleep(0.001)
ds = fastdata.image_folder_cache(sys.argv[1], store="disk")
print(hashlib.sha1(ds.images.contiguous().numpy().tobytes()).hexdigest())
"""


def _cache_child(folder, go="", pause=""):
    import subprocess
    env = {**os.environ, "PYTHONPATH": str(helpers.REPO_DIR), "OMP_NUM_THREADS": "1"}
    return subprocess.Popen([sys.executable, "-c", CACHE_CHILD, str(folder), str(go), str(pause)], env=env,
                            text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def _digest(ds):
    import hashlib
    return hashlib.sha1(ds.images.contiguous().numpy().tobytes()).hexdigest()


def test_two_processes_decoding_one_folder_get_the_same_complete_cache(cifar_tree, tmp_path):
    import time
    folder = cifar_tree / "train"
    fastdata._FAST_CACHE.clear()
    expected = _digest(fastdata.image_folder_cache(folder, store="memory"))
    fastdata._FAST_CACHE.clear()
    go = tmp_path / "go"
    procs = [_cache_child(folder, go) for _ in range(2)]
    time.sleep(0.5)
    go.touch()
    outs = [p.communicate(timeout=300)[0] for p in procs]
    assert [o.strip().splitlines()[-1] for o in outs] == [expected, expected], outs
    cache = sorted(p.name for p in (cifar_tree / ".train.fastcache").iterdir())
    assert cache == ["asis.json", "asis.lock", "asis.npy"]                        # no partial file left
    assert _digest(fastdata.image_folder_cache(folder, store="disk")) == expected     # read from the disk


def test_a_cache_write_killed_mid_way_is_not_trusted(cifar_tree, tmp_path):
    import signal
    import time
    folder = cifar_tree / "train"
    ready = tmp_path / "ready"
    proc = _cache_child(folder, pause=ready)
    deadline = time.time() + 120
    while not ready.exists():
        assert proc.poll() is None and time.time() < deadline, proc.stdout.read()
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait(60)
    cache_dir = cifar_tree / ".train.fastcache"
    assert not (cache_dir / "asis.json").exists() and list(cache_dir.glob("asis.npy.*.tmp"))
    fastdata._FAST_CACHE.clear()
    expected = _digest(fastdata.image_folder_cache(folder, store="memory"))
    fastdata._FAST_CACHE.clear()
    assert _digest(fastdata.image_folder_cache(folder, store="disk")) == expected        # rebuilt, not trusted
    assert sorted(p.name for p in cache_dir.iterdir()) == ["asis.json", "asis.lock", "asis.npy"]


def test_a_decode_cache_without_room_stays_in_memory_and_says_why(cifar_standin, tmp_path):
    """A real 2 MiB filesystem holding the data and its tree of links: the 0.55 MB cache (+ margin) does not fit."""
    import support
    with support.small_filesystem(tmp_path / "disk", "2m") as disk:
        data = disk / "kaggle_cifar10_tiny"
        shutil.copytree(cifar_standin, data)
        helpers.reorg_kaggle_data(data, "trainLabels.csv", 0.1)
        folder = data / "train_valid_test" / "train"
        fastdata._FAST_CACHE.clear()
        with pytest.warns(UserWarning, match=r"Not enough free space for the decode cache of train in .*"
                                             r"Until then the decoded images are kept in memory only"):
            ds = fastdata.image_folder_cache(folder, store="disk")
        cache_dir = data / "train_valid_test" / ".train.fastcache"
        assert [p.name for p in cache_dir.iterdir()] == ["asis.lock"]                 # nothing half-written
        fastdata._FAST_CACHE.clear()
        assert _digest(ds) == _digest(fastdata.image_folder_cache(folder, store="memory")) and len(ds) == 180
