"""The fast data path: decode every image once, then crop, flip, colour-jitter and normalise whole batches on the
training device, with different random parameters for every image.

d2l's loaders decode and augment each image with PIL on the CPU in every epoch (num_workers=0). With 2 CPU cores
(Colab) the GPU then waits on the CPU. Here a folder is decoded ONCE into a uint8 tensor (N, 3, H, W), kept on the
device, and each batch is augmented there (torchvision.transforms.v2 applied to a batch would use one crop and one
flip for the whole batch). `fast_loaders` is the one-flag switch: the same split names as
helpers.reorganised_loaders; the ImageFolder path stays the default for teaching.
"""
import contextlib
import hashlib
import json
import math
import os
import sys
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch
from torch import nn

from . import storage
from .accel import device_for
from .constants import CIFAR10_MEAN, CIFAR10_STD, IMAGE_EXTENSIONS, IMAGENET_MEAN, IMAGENET_STD
from .images import load_rgb, numbered_by
from .messages import tr

FAST_CACHE_VERSION = 2          # 2: pixels stored channels-last (N, H, W, 3)
_FAST_CACHE: dict = {}   # (folder, size tag) -> (fingerprint, CachedImageFolder): decoded sets reused in this process

# Recipes for `fast_loaders` / `augment_batch` / `eval_batch`. size: output side (pixels); cache_size: side the images
# are decoded to (None: keep the files' size); crop 'resized' = RandomResizedCrop(size, scale, ratio), 'pad' =
# RandomCrop(size, padding); flip: probability per image; jitter: ColorJitter(brightness, contrast, saturation) or None;
# eval_crop: the test transform's centre square as a fraction of the shorter side (default 1: the whole image).
FAST_RECIPES = {
    # d2l's Kaggle CIFAR-10 transform: Resize(40), RandomResizedCrop(32, scale=(0.64, 1), ratio=(1, 1)), flip. The
    # Resize(40) does not change the crops: their side is sqrt(U(0.64, 1)) of the image's side either way.
    "cifar10": dict(size=32, cache_size=None, crop="resized", scale=(0.64, 1.0), ratio=(1.0, 1.0), padding=0, flip=0.5,
                    jitter=None, mean=CIFAR10_MEAN, std=CIFAR10_STD),
    # airbench's CIFAR-10 recipe: pad by 4 pixels, crop 32x32 at a random offset, flip
    "cifar10_pad": dict(size=32, cache_size=None, crop="pad", scale=None, ratio=None, padding=4, flip=0.5,
                        jitter=None, mean=CIFAR10_MEAN, std=CIFAR10_STD),
    # d2l's dog / ImageNet transform: RandomResizedCrop(224), flip, ColorJitter(0.4, 0.4, 0.4). Images are decoded
    # to 256 x 256 (aspect not kept, original sizes remembered) so crops are drawn over the WHOLE original image;
    # eval_crop 224/256 is the test transform Resize(256) + CenterCrop(224).
    "imagenet": dict(size=224, cache_size=256, crop="resized", scale=(0.08, 1.0), ratio=(3 / 4, 4 / 3), padding=0,
                     flip=0.5, jitter=(0.4, 0.4, 0.4), eval_crop=224 / 256, mean=IMAGENET_MEAN, std=IMAGENET_STD),
}


def folder_fingerprint(samples):
    """sha1 over (relative path, byte size, mtime in ns) of every file in `samples` [(path, class index)]: it changes
    when an image is added, removed, renamed, moved to another class folder or rewritten."""
    h = hashlib.sha1(f"v{FAST_CACHE_VERSION}".encode())
    for path, target in samples:
        st = os.stat(path)
        h.update(f"{Path(path).parent.name}/{Path(path).name},{target},{st.st_size},{st.st_mtime_ns}\n".encode())
    return h.hexdigest()


class CachedImageFolder(torch.utils.data.Dataset):
    """A decoded ImageFolder: images (N, 3, H, W) uint8, targets (N,) int64, sizes (N, 2) int64 (each file's own
    height and width before resizing), and ImageFolder's classes, class_to_idx and samples [(path, class index)] in
    ImageFolder's order. Item i is (images[i], int target)."""

    def __init__(self, root, images, targets, classes, samples, sizes):
        self.root, self.images, self.targets, self.sizes = Path(root), images, targets, sizes
        self.classes, self.class_to_idx = list(classes), {c: i for i, c in enumerate(classes)}
        self.samples = self.imgs = [(str(p), int(t)) for p, t in samples]

    def __len__(self):
        return len(self.samples)

    def __getitem__(self, i):
        return self.images[i], int(self.targets[i])


def _decode(path, size):
    """One image file -> ((H, W, 3) uint8 array, (height, width) of the file); size None: as is; (H, W): resized to
    exactly H x W (PIL's antialiased bilinear, aspect not kept). Errors name the file (images.load_rgb)."""
    from PIL import Image
    img = load_rgb(path)
    original = (img.height, img.width)
    if size is not None and img.size != (size[1], size[0]):
        img = img.resize((size[1], size[0]), Image.BILINEAR)
    return np.asarray(img), original


def _decode_all(paths, size, first, workers=None):
    """Decode every file of `paths` (first: paths[0] already decoded) into one (N, H, W, 3) uint8 array, on
    `workers` threads; returns (array, (N, 2) int64 tensor of the files' own heights and widths)."""
    array = np.empty((len(paths), *first.shape), dtype=np.uint8)
    sizes = torch.empty(len(paths), 2, dtype=torch.int64)

    def fill(i):
        img, (sizes[i, 0], sizes[i, 1]) = _decode(paths[i], size)
        if img.shape != first.shape:
            raise ValueError(f"{paths[i]} is {img.shape[1]}x{img.shape[0]}, {paths[0]} is "
                             f"{first.shape[1]}x{first.shape[0]}: pass cache_size= to fast_loaders "
                             f"(size= to image_folder_cache) to resize them to one size")
        array[i] = img
    with ThreadPoolExecutor(workers or os.cpu_count() or 1) as pool:
        list(pool.map(fill, range(len(paths))))
    return array, sizes


def _cache_writable(cache_dir, folder, need_bytes=0):
    """True when the decode cache of `folder` can be written in cache_dir (storage.check_writable, with room for
    need_bytes); otherwise a warning says why, and the decoded images stay in memory only."""
    try:
        storage.check_writable(cache_dir, tr("the decode cache of {folder}", folder=folder.name), need_bytes)
        return True
    except storage.StorageError as e:
        warnings.warn(tr("{problem} Until then the decoded images are kept in memory only (this run is not "
                         "affected).", problem=e), stacklevel=3)
        return False


def _load_disk_cache(npy, meta, fingerprint, n, memmap=False):
    """(images (N, 3, H, W) uint8, sizes (N, 2)) from the decode cache on disk when its manifest `meta` says it was
    made from `fingerprint` and the pixels hold n images of the manifest's shape; else None (absent, stale or
    damaged: it is rebuilt)."""
    try:
        info = json.loads(meta.read_text())
        if info.get("fingerprint") != fingerprint:
            return None
        array = np.load(npy, mmap_mode="c" if memmap else None)
        if list(array.shape) != info["shape"] or array.shape[0] != n:
            return None
        return torch.from_numpy(array).permute(0, 3, 1, 2), torch.tensor(info["sizes"], dtype=torch.int64)
    except (ValueError, OSError, KeyError):
        return None


def _save_disk_cache(npy, meta, array, info):
    """Write a decode cache: the old manifest goes first, the pixels are written aside and renamed into place, the
    manifest comes last (renamed into place too). A process killed on the way leaves pixels without a manifest,
    which nobody trusts, and at most a .tmp file, which the next writer removes. A failed write (a full disk)
    removes its partial file and warns: the decoded images are then kept in memory only."""
    for stale in [meta, *npy.parent.glob(f"{npy.name}.*.tmp"), *meta.parent.glob(f"{meta.name}.*.tmp")]:
        stale.unlink(missing_ok=True)
    tmp, meta_tmp = (p.with_name(f"{p.name}.{os.getpid()}.tmp") for p in (npy, meta))
    try:
        with open(tmp, "wb") as f:
            np.save(f, array)
        os.replace(tmp, npy)
        storage.write_json(meta, info)                   # written as meta_tmp, then renamed
    except OSError as e:
        for partial in (tmp, meta_tmp, npy):
            with contextlib.suppress(OSError):
                partial.unlink(missing_ok=True)
        warnings.warn(tr("Could not write the decode cache {path} ({error}); the partial file was removed. The "
                         "decoded images are kept in memory only.", path=npy, error=e.strerror or e), stacklevel=3)


def image_folder_cache(folder, size=None, store="disk", memmap=False, workers=None, classes=None):
    """Decode the ImageFolder-style `folder` (<folder>/<class>/<image>) once; return a CachedImageFolder.

    size: None (every image must already share one size), an int S or (H, W): every image resized to S x S (H x W)
    WITHOUT keeping its aspect ratio; its own size is kept in `.sizes`, so that augment_batch / eval_batch draw crops
    in the original geometry over the whole image (a centre square would lose the sides of every landscape photo).
    Classes, labels and order are ImageFolder's.
    store='disk' also writes the decoded set as <parent>/.<folder name>.fastcache/<size>.npy (+ .json) NEXT TO the
    folder (not inside it: ImageFolder would take the folder for a class) and reuses it across processes; 'memory'
    keeps it in this process only. Either way the cache is rebuilt when `folder_fingerprint` changes (an image added,
    removed, renamed or rewritten). memmap=True reads the .npy lazily (sets larger than RAM); otherwise it is loaded
    into RAM.
    Decoding runs on `workers` threads (default: one per core; PIL releases the GIL while decoding).
    classes: a class list that fixes the numbering (as images.CheckedImageFolder); folders not in it are refused.
    Pixels are stored channels-last: `.images` is an (N, 3, H, W) view of an (N, H, W, 3) array.
    Cost: N x 3 x H x W bytes (50,000 CIFAR images: 154 MB; 10,000 dogs at 256: 2 GB).
    """
    from torchvision.datasets.folder import find_classes, make_dataset
    if store not in ("disk", "memory"):
        raise ValueError(f"store must be 'disk' or 'memory', not {store!r}")
    folder = Path(folder)
    size = (size, size) if isinstance(size, int) else size
    classes, class_to_idx = find_classes(folder) if classes is None else numbered_by(folder, classes)
    samples = make_dataset(folder, class_to_idx, extensions=tuple(sorted(IMAGE_EXTENSIONS)),
                           allow_empty=True)
    if not samples:                 # e.g. a validation split whose classes all had a single image
        return CachedImageFolder(folder, torch.empty(0, 3, *(size or (0, 0)), dtype=torch.uint8),
                                 torch.empty(0, dtype=torch.int64), classes, [], torch.empty(0, 2, dtype=torch.int64))
    fingerprint = folder_fingerprint(samples)
    tag = "asis" if size is None else f"{size[0]}x{size[1]}"
    key = (str(folder.resolve()), tag)
    if key in _FAST_CACHE and _FAST_CACHE[key][0] == fingerprint:
        return _FAST_CACHE[key][1]
    cache_dir = folder.parent / f".{folder.name}.fastcache"
    npy, meta = cache_dir / f"{tag}.npy", cache_dir / f"{tag}.json"
    targets = torch.tensor([t for _, t in samples], dtype=torch.int64)
    paths = [p for p, _ in samples]
    if store == "disk" and not _cache_writable(cache_dir, folder):
        store = "memory"
    waiting = tr("Another notebook or process is decoding {folder}; waiting until it has finished.", folder=folder)
    with storage.locked(cache_dir / f"{tag}.lock", waiting) if store == "disk" else contextlib.nullcontext():
        loaded = _load_disk_cache(npy, meta, fingerprint, len(paths), memmap) if store == "disk" else None
        if loaded is not None:
            images, sizes = loaded
        else:
            first, _ = _decode(paths[0], size)
            if store == "disk" and not _cache_writable(cache_dir, folder, len(paths) * first.nbytes):
                store = "memory"
            array, sizes = _decode_all(paths, size, first, workers)
            images = torch.from_numpy(array).permute(0, 3, 1, 2)       # (N, 3, H, W), channels-last: no copy
            if store == "disk":
                _save_disk_cache(npy, meta, array, {"fingerprint": fingerprint, "shape": list(array.shape),
                                                    "classes": classes, "size": tag, "sizes": sizes.tolist()})
    dataset = CachedImageFolder(folder, images, targets, classes, samples, sizes)
    _FAST_CACHE[key] = (fingerprint, dataset)
    return dataset


def resized_crop_params(n, height, width, scale=(0.08, 1.0), ratio=(3 / 4, 4 / 3), device=None, trials=10):
    """Crop boxes for n images at once, drawn as torchvision's RandomResizedCrop.get_params draws one: area fraction
    ~ U(scale), log aspect ratio ~ U(log ratio), integer sides, up to `trials` draws, else the centre crop.
    height, width: ints, or (n,) tensors (one size per image). Returns (top, left, h, w): four (n,) float tensors,
    in pixels of each image."""
    H = torch.as_tensor(height, dtype=torch.float32, device=device).expand(n)
    W = torch.as_tensor(width, dtype=torch.float32, device=device).expand(n)
    target = (H * W)[:, None] * torch.empty(n, trials, device=device).uniform_(*scale)
    log_r = torch.empty(n, trials, device=device).uniform_(math.log(ratio[0]), math.log(ratio[1]))
    w = torch.sqrt(target * torch.exp(log_r)).round()
    h = torch.sqrt(target / torch.exp(log_r)).round()
    ok = (w > 0) & (w <= W[:, None]) & (h > 0) & (h <= H[:, None])
    first = ok.float().argmax(dim=1, keepdim=True)         # the first trial that fits, as torchvision takes it
    w, h = w.gather(1, first).squeeze(1), h.gather(1, first).squeeze(1)
    # no trial fitted: the whole image, cut to the nearest allowed aspect ratio (torchvision's fallback)
    in_ratio = W / H
    fw = torch.where(in_ratio > max(ratio), (H * max(ratio)).round(), W)
    fh = torch.where(in_ratio < min(ratio), (W / min(ratio)).round(), H)
    fits = ok.any(dim=1)
    w, h = torch.where(fits, w, fw), torch.where(fits, h, fh)
    top = torch.where(fits, (torch.rand(n, device=device) * (H - h + 1)).floor(), ((H - h) / 2).floor())
    left = torch.where(fits, (torch.rand(n, device=device) * (W - w + 1)).floor(), ((W - w) / 2).floor())
    return top, left, h, w


def crop_resize_batch(images, boxes, size, flip=None, method="auto", float_out=True, index=None):
    """Cut box b out of images[b] and resample it to size x size, every image with its own box and flip.

    images: (B, C, H, W) uint8 or float; boxes: (top, left, h, w) (B,) tensors in pixels; flip: optional (B,) bool
    mask of images to mirror left-right. Returns (B, C, size, size) float32 in the input's units (0..255 for uint8).
    method 'grid': ONE bilinear grid_sample over the batch; the grid is an axis-aligned affine map per image, built
    by broadcasting (cheaper than F.affine_grid); boxes may have fractional pixels; no antialiasing when a box is
    shrunk (rare in RandomResizedCrop, which mostly enlarges). With align_corners=False a whole-image box at the
    image's own size returns the image unchanged. method 'resize': torch's vectorised uint8 bilinear resize, image by
    image (boxes rounded to whole pixels, antialiased like PIL); for outputs of 64 pixels and more it is 2-5x faster
    than a float grid_sample on a CPU (for 32x32 the per-image calls cost more than they save). 'auto': 'resize'
    for uint8 images on a CPU with size >= 64, else 'grid'. float_out=False keeps the uint8 result of 'resize' (the
    next step converts it on the fly). index: optional (B,) indices into `images` (then a whole stored set): box b is
    cut from images[index[b]]; 'resize' then reads the crops straight from the store instead of first gathering
    B whole images (about 12% of the CPU time of a 224x224 batch).
    """
    if method == "auto":
        method = "resize" if images.device.type == "cpu" and images.dtype == torch.uint8 and size >= 64 else "grid"
    if index is not None and method != "resize":
        images, index = images[index.to(images.device)], None
    B = len(index) if index is not None else images.shape[0]
    _, C, H, W = images.shape
    if method == "resize":
        out = torch.empty(B, C, size, size, dtype=torch.float32 if float_out else images.dtype)
        mirror = flip.tolist() if flip is not None else [False] * B
        source = index.tolist() if index is not None else range(B)
        for b, (t, l, hh, ww) in enumerate(zip(*(v.round().long().clamp(min=0).tolist() for v in boxes))):
            t, l, i = min(t, H - 1), min(l, W - 1), source[b]
            crop = images[i:i + 1, :, t:t + max(1, min(hh, H - t)), l:l + max(1, min(ww, W - l))]
            resized = nn.functional.interpolate(crop, size=(size, size), mode="bilinear", antialias=True,
                                                align_corners=False)[0]
            out[b] = resized.flip(2) if mirror[b] else resized
        return out
    top, left, h, w = (t.to(images.device, torch.float32) for t in boxes)
    pos = (torch.arange(size, device=images.device, dtype=torch.float32) + 0.5) / size      # output pixel centres
    # sample positions in grid_sample's [-1, 1] coordinates, kept inside the box's outer pixel centres (crop first,
    # then resize: the box's edge pixels are repeated, never its neighbours blended in)
    gy = ((2 * top[:, None] + 2 * pos * h[:, None]) / H - 1).clamp(min=((2 * top + 1) / H - 1)[:, None],
                                                                    max=((2 * (top + h) - 1) / H - 1)[:, None])
    gx = ((2 * left[:, None] + 2 * pos * w[:, None]) / W - 1).clamp(min=((2 * left + 1) / W - 1)[:, None],
                                                                     max=((2 * (left + w) - 1) / W - 1)[:, None])
    if flip is not None:
        gx = torch.where(flip.to(images.device)[:, None], gx.flip(1), gx)
    grid = torch.stack(torch.broadcast_tensors(gx[:, None, :], gy[:, :, None]), dim=-1)    # (B, size, size, 2)
    return nn.functional.grid_sample(images.contiguous().float(), grid, mode="bilinear", padding_mode="border",
                                     align_corners=False)


def pad_crop_batch(images, size, padding, flip=None, fill=0):
    """RandomCrop(size, padding) for a whole batch with one random offset per image, plus an optional flip mask.
    images: (B, C, H, W), any dtype; the padding is constant `fill` (torchvision's default). Returns (B, C, size, size)
    in the input dtype; the offsets are the second output: (top, left), two (B,) long tensors."""
    B, C, H, W = images.shape
    padded = nn.functional.pad(images, (padding,) * 4, value=fill) if padding else images
    top = torch.randint(0, padded.shape[2] - size + 1, (B,), device=images.device)
    left = torch.randint(0, padded.shape[3] - size + 1, (B,), device=images.device)
    rows = top[:, None] + torch.arange(size, device=images.device)
    cols = left[:, None] + torch.arange(size, device=images.device)
    if flip is not None:
        cols = torch.where(flip.to(images.device)[:, None], cols.flip(1), cols)
    batch = torch.arange(B, device=images.device)[:, None, None]
    out = padded.permute(0, 2, 3, 1)[batch, rows[:, :, None], cols[:, None, :]]             # (B, size, size, C)
    return out.permute(0, 3, 1, 2), (top, left)


def color_jitter_batch(x, brightness=0.4, contrast=0.4, saturation=0.4, mean=None, std=None, chunk_bytes="auto"):
    """ColorJitter(brightness, contrast, saturation) with its own factors and its own order of the steps for every
    image, as torchvision draws them (each factor ~ U(max(0, 1 - v), 1 + v)), clamped to 0..255 after every step as
    torchvision does. x: (B, 3, H, W) in 0..255 units (uint8 or float; not modified) -> float32 in the same units, or
    normalised as by `normalize_batch` when mean and std are given.
    Every step blends the image with something: black (brightness), its mean gray (contrast) or each pixel's gray
    (saturation). One round does one step per image, each image its own, with in-place ops on one float copy (large
    fresh tensors are slow on a CPU: each new page is faulted in).
    chunk_bytes: on a CPU the rounds run over groups of images of about this many float bytes ('auto': 16 MB), so
    that a group stays in the cache for all its rounds: 2x faster for 224x224 batches than whole-batch passes
    through memory. None: the whole batch at once (the default on GPUs). The result does not depend on it (up to
    float rounding, ~1e-6).
    """
    B, C, H, W = x.shape
    dev = x.device
    steps = torch.tensor([k for k, v in enumerate((brightness, contrast, saturation)) if v], device=dev)
    ranges = torch.tensor([[max(0.0, 1 - v), 1 + v] for v in (brightness, contrast, saturation)], device=dev)
    factors = ranges[:, 0] + (ranges[:, 1] - ranges[:, 0]) * torch.rand(B, 3, device=dev)
    order = steps[torch.rand(B, len(steps), device=dev).argsort(dim=1)]   # a random order of the steps per image
    if chunk_bytes == "auto":
        chunk_bytes = 16 * 2 ** 20 if dev.type == "cpu" else None
    per_chunk = B if chunk_bytes is None else max(1, int(chunk_bytes) // (4 * C * H * W))
    out = torch.empty(B, C, H * W, device=dev)
    if mean is not None:
        scale = 1 / (255 * torch.tensor(std, device=dev, dtype=torch.float32))[None, :, None]
        shift = -torch.tensor(mean, device=dev, dtype=torch.float32)[None, :, None] * 255 * scale
    luma = torch.tensor([0.299, 0.587, 0.114], device=dev).view(1, 1, 3)
    gray_buffer = torch.empty(min(per_chunk, B), 1, H * W, device=dev)
    for i in range(0, B, per_chunk):
        o, n = out[i:i + per_chunk], min(per_chunk, B - i)
        o.copy_(x[i:i + n].reshape(n, C, H * W))
        to_gray, gray = luma.expand(n, 1, 3), gray_buffer[:n]
        for r in range(len(steps)):
            step = order[i:i + n, r, None, None]
            f = factors[i:i + n].gather(1, order[i:i + n, r:r + 1])[:, :, None]
            torch.bmm(to_gray, o, out=gray)                                # each pixel's gray, as it is now
            # blend towards black (brightness), the mean gray (contrast) or each pixel's gray (saturation):
            # o = f * o + (1 - f) * target, i.e. lerp(o, target, 1 - f), in place
            mean_gray = gray.mean(dim=2, keepdim=True)
            target = gray.mul_(step == 2).add_(mean_gray * (step == 1))   # in place: fresh tensors are slow on a CPU
            o.lerp_(target, 1 - f).clamp_(0, 255)
        if mean is not None:
            o.mul_(scale).add_(shift)
    return out.view(B, C, H, W)


def normalize_batch(x, mean, std):
    """(x / 255 - mean) / std per channel, as ToTensor() + Normalize(mean, std); x (B, 3, H, W) in 0..255 units."""
    scale = 1 / (torch.tensor(std, device=x.device, dtype=torch.float32).view(1, -1, 1, 1) * 255)
    shift = -torch.tensor(mean, device=x.device, dtype=torch.float32).view(1, -1, 1, 1) * 255 * scale
    return torch.addcmul(shift, x.contiguous(), scale)        # one pass over the batch (uint8 converts on the fly)


def _to_cache_pixels(boxes, sizes, H, W):
    """Boxes drawn in each image's original pixels -> pixels of its H x W cached copy."""
    if sizes is None:
        return boxes
    sy, sx = H / sizes[:, 0].float(), W / sizes[:, 1].float()
    top, left, h, w = boxes
    return top * sy, left * sx, h * sy, w * sx


def augment_batch(images, size, crop="resized", scale=(0.08, 1.0), ratio=(3 / 4, 4 / 3), padding=4, flip=0.5,
                  jitter=None, mean=IMAGENET_MEAN, std=IMAGENET_STD, sizes=None, index=None, **unused):
    """The training transform of a whole batch, with fresh random parameters for EVERY image.

    images: (B, 3, H, W) uint8 on any device. crop='resized': RandomResizedCrop(size, scale, ratio); 'pad':
    RandomCrop(size, padding); None: no crop. flip: probability that an image is mirrored. jitter: (brightness,
    contrast, saturation) as in ColorJitter, or None. Then normalisation. Returns (B, 3, size, size) float32.
    sizes: (B, 2) original (height, width) of resized images (CachedImageFolder.sizes): crops are then drawn in that
    geometry, as the PIL transform would draw them on the file. Recipe keys that do not apply here are ignored.
    index: optional (B,) indices: the batch is images[index] (images is then a whole stored set; see crop_resize_batch).
    """
    if index is not None and crop != "resized":
        images, index = images[index.to(images.device)], None
    B = len(index) if index is not None else images.shape[0]
    H, W = images.shape[2:]
    mirror = torch.rand(B, device=images.device) < flip if flip else None
    if crop == "resized":
        sizes = sizes.to(images.device) if sizes is not None else None
        boxes = resized_crop_params(B, sizes[:, 0] if sizes is not None else H, sizes[:, 1] if sizes is not None
                                    else W, scale, ratio, images.device)
        x = crop_resize_batch(images, _to_cache_pixels(boxes, sizes, H, W), size, mirror, float_out=False,
                              index=index)
    elif crop == "pad":
        x = pad_crop_batch(images, size, padding, mirror)[0]
    elif crop is None:
        x = torch.where(mirror[:, None, None, None], images.flip(3), images) if mirror is not None else images
    else:
        raise ValueError(f"crop must be 'resized', 'pad' or None, not {crop!r}")
    if jitter:
        return color_jitter_batch(x, *jitter, mean=mean, std=std)
    return normalize_batch(x, mean, std)


def eval_batch(images, size, mean=IMAGENET_MEAN, std=IMAGENET_STD, eval_crop=1.0, sizes=None, **unused):
    """The test transform of a batch: Resize(round(size / eval_crop)) + CenterCrop(size), i.e. the centre square of
    eval_crop x the shorter side, resampled to size x size, then normalisation. images (B, 3, H, W) uint8 ->
    (B, 3, size, size) float32; sizes: original sizes as in augment_batch. Images that are size x size already (and
    eval_crop 1) are only normalised, exactly as ToTensor() + Normalize() would do it."""
    B, _, H, W = images.shape
    if sizes is None and eval_crop == 1 and H == W == size:
        return normalize_batch(images, mean, std)
    hw = sizes.to(images.device).float() if sizes is not None else \
        torch.tensor([[H, W]], dtype=torch.float32, device=images.device).expand(B, 2)
    side = hw.min(dim=1).values * eval_crop
    boxes = ((hw[:, 0] - side) / 2, (hw[:, 1] - side) / 2, side, side)
    # 'grid': the centre box is rarely whole pixels, and a test transform should not move by rounding
    return normalize_batch(crop_resize_batch(images, _to_cache_pixels(boxes, sizes, H, W), size, method="grid"),
                           mean, std)


_MALLOC_TUNED = []


def keep_freed_cpu_memory(max_block_bytes=1 << 30):
    """Make glibc's malloc keep freed blocks of up to max_block_bytes for reuse instead of handing each one back to the
    operating system. Returns True when applied (Linux with glibc; once per process), False elsewhere (no effect).

    Why: a batch of 128 ImageNet-sized float images is 77 MB. glibc serves blocks over 32 MB with a fresh mmap and
    unmaps them on free, so every batch pays ~19,000 page faults and the kernel zeroes 77 MB: on a 2-core CPU that
    was about half of the fast path's augmentation time (0.46 -> 0.34 ms per 224x224 image, see `make bench`).
    Cost: the process keeps its peak heap (it reuses it, it does not grow). FastLoader calls this on the CPU.
    """
    if _MALLOC_TUNED:
        return _MALLOC_TUNED[0]
    ok = False
    if sys.platform.startswith("linux"):
        try:
            import ctypes
            import ctypes.util
            libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
            M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
            ok = bool(libc.mallopt(M_MMAP_THRESHOLD, int(max_block_bytes))) and \
                bool(libc.mallopt(M_TRIM_THRESHOLD, 2 ** 31 - 1))
        except (OSError, AttributeError):       # not glibc (musl has no mallopt): leave the allocator alone
            ok = False
    _MALLOC_TUNED.append(ok)
    return ok


class FastLoader:
    """airbench-style loader: a whole split sits on `device` as uint8; each batch is gathered and transformed there.

    images (N, 3, H, W) uint8, labels (N,) int64, sizes: optional (N, 2) original sizes (CachedImageFolder.sizes);
    recipe: a FAST_RECIPES entry (or a dict with its keys).
    train=True: a new shuffle every epoch, the last partial batch dropped (as d2l's training loaders), augment_batch;
    train=False: file order, every image, eval_batch. Yields (X (B, 3, size, size) float32, y (B,) int64) on device.
    on_device=False keeps the images in host memory (or memory-mapped on disk) and copies each batch over, through a
    pinned buffer on CUDA: for sets larger than the device's memory. `dataset` is kept for its classes and samples (e.g. to read test ids).
    """

    def __init__(self, images, labels, batch_size, recipe, train=True, device=None, shuffle=None, drop_last=None,
                 dataset=None, sizes=None, on_device=True):
        self.device = torch.device(device) if device is not None else device_for(0)
        if self.device.type == "cpu":
            keep_freed_cpu_memory()             # batches are tens of MB: reuse their memory (see the docstring)
        self.images = images.to(self.device) if on_device else images       # no copy when already there
        if self.device.type == "cpu" and train:
            # torch's uint8 resize (crop_resize_batch on a CPU, crops of 64 pixels and more) is ~1.6x faster on
            # channels-last images, which is how image_folder_cache stores them (no copy); the grid path of small
            # images (CIFAR) is ~10% faster on plain NCHW, worth one copy of a small set
            resize_path = recipe.get("crop") == "resized" and recipe["size"] >= 64
            self.images = self.images.contiguous(memory_format=torch.channels_last if resize_path
                                                 else torch.contiguous_format)
        self.sizes = sizes.to(self.device) if sizes is not None else None
        self.labels = torch.as_tensor(labels, dtype=torch.int64).to(self.device)
        self.batch_size, self.recipe, self.train, self.dataset = batch_size, dict(recipe), train, dataset
        self.shuffle = train if shuffle is None else shuffle
        self.drop_last = (train and len(self.labels) > batch_size) if drop_last is None else drop_last

    def __len__(self):
        n = len(self.labels)
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    def __iter__(self):
        n = len(self.labels)
        order = torch.randperm(n, device=self.device) if self.shuffle else torch.arange(n, device=self.device)
        for k in range(len(self)):
            idx = order[k * self.batch_size:(k + 1) * self.batch_size]
            sizes = self.sizes[idx] if self.sizes is not None else None
            if self.train and self.images.device == self.device and self.recipe.get("crop") == "resized":
                X = augment_batch(self.images, **{**self.recipe, "sizes": sizes}, index=idx)   # crops read in place
            else:
                images = self.images[idx.to(self.images.device)]
                if images.device != self.device and self.device.type == "cuda":
                    images = images.pin_memory()            # one batch pinned, never the whole set
                images = images.to(self.device, non_blocking=True)
                X = (augment_batch if self.train else eval_batch)(images, **{**self.recipe, "sizes": sizes})
            yield X, self.labels[idx]


def fast_loaders(data_dir, batch_size, recipe="cifar10", device=None, folder=None, store="disk", on_device=True,
                 memmap=False, splits=("train", "valid", "train_valid", "test"), **overrides):
    """The fast counterpart of helpers.reorganised_loaders: (datasets, loaders) keyed by the same splits (train,
    valid, train_valid, test) of the reorganised tree of data_dir (or <data_dir>/<folder>), with FastLoaders on
    `device` (default: the first GPU, else the CPU). Every labelled split numbers its classes by train_valid's list.

    recipe: a FAST_RECIPES name or dict; overrides replace its keys (e.g. scale=(0.5, 1)). Each split is decoded once
    (image_folder_cache, at recipe['cache_size']) and stored next to it (store='disk'), so later runs start fast.
    Memory: every split loaded is held as uint8 (N x 3 x H x W bytes; train_valid repeats train + valid): load only
    the `splits` a step needs (e.g. ("train_valid", "test") for the final run), memmap=True reads them from the disk
    cache on demand instead of into RAM (CPU), on_device=False keeps them off the GPU and copies batch by batch.
    """
    from .folders import split_classes, tree_root
    recipe = {**(FAST_RECIPES[recipe] if isinstance(recipe, str) else recipe), **overrides}
    root = Path(data_dir) / folder if folder else tree_root(data_dir)
    classes = split_classes(root)
    datasets, loaders = {}, {}
    for split in splits:
        if not (root / split).exists():
            continue
        datasets[split] = ds = image_folder_cache(root / split, recipe.get("cache_size"), store=store, memmap=memmap,
                                                  classes=classes if split != "test" else None)
        loaders[split] = FastLoader(ds.images, ds.targets, batch_size, recipe, train=split in ("train", "train_valid"),
                                    device=device, dataset=ds, sizes=ds.sizes if recipe.get("cache_size") else None,
                                    on_device=on_device)
    return datasets, loaders
