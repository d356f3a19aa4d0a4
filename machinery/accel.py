"""Devices and speed switches: Apple MPS detection, mixed precision, channels_last, moving batches to a device."""
import torch


def mps_available():
    """True on Apple silicon with a PyTorch that supports it."""
    return hasattr(torch.backends, "mps") and torch.backends.mps.is_available()


def device_for(i=0):
    """Device i: `cuda:i` if it exists, else Apple `mps` (i == 0 only), else `cpu`."""
    if torch.cuda.device_count() > i:
        return torch.device(f"cuda:{i}")
    if i == 0 and mps_available():
        return torch.device("mps")
    return torch.device("cpu")


def amp_settings(device, amp):
    """(enabled, dtype) for torch.autocast. amp: False, True or 'auto' ('auto': on for CUDA only). CUDA uses bf16
    where supported, else fp16 (then train with a GradScaler); on a CPU bf16 is slower than fp32 unless the CPU has
    AMX, so 'auto' leaves it off there."""
    if amp == "auto":
        amp = device.type == "cuda"
    if not amp:
        return False, None
    if device.type == "cuda":
        return True, torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return True, torch.bfloat16


def to_device(X, device, channels_last=False):
    """A batch (a tensor or a list of tensors) on `device`, 4-d tensors optionally in channels_last layout."""
    if isinstance(X, (list, tuple)):
        return [to_device(x, device, channels_last) for x in X]
    X = X.to(device, non_blocking=True)
    return X.contiguous(memory_format=torch.channels_last) if channels_last and X.dim() == 4 else X


def first_device(devices):
    """torch.device of devices[0] (devices: a list, a single device, or a name such as 'cpu')."""
    d = devices[0] if isinstance(devices, (list, tuple)) else devices
    return torch.device(d)


def autocast(device, amp):
    """torch.autocast for `device` with amp_settings (a no-op context when mixed precision is off)."""
    enabled, dtype = amp_settings(device, amp)
    return torch.autocast(device.type, dtype=dtype, enabled=enabled)


def prepare(net, devices, amp=False, channels_last="auto"):
    """Move net to devices[0] and set up the speed switches of a training run. Returns (model, scaler,
    channels_last): model is net, or nn.DataParallel(net) over several CUDA devices; scaler is a GradScaler when
    amp means fp16, else None; channels_last is the resolved switch ('auto': on for CUDA)."""
    device = torch.device(devices[0])
    net.to(device)
    use_channels_last = device.type == "cuda" if channels_last == "auto" else bool(channels_last)
    if use_channels_last:
        net.to(memory_format=torch.channels_last)
    enabled, dtype = amp_settings(device, amp)
    scaler = torch.amp.GradScaler("cuda") if enabled and dtype == torch.float16 else None
    model = torch.nn.DataParallel(net, device_ids=list(devices)) if len(devices) > 1 and device.type == "cuda" \
        else net
    return model, scaler, use_channels_last


def synchronize(device):
    """Wait until the device has finished its queued work (CUDA runs asynchronously), so that a timer is honest."""
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize(device)


class Collector:
    """Per-batch results (B, ...) gathered into one CPU tensor allocated once, when the first batch arrives, for
    len(data_iter.dataset) rows (grown by doubling when that is unknown). Keeping one small tensor per batch while
    batch-sized temporaries come and go fragments a CPU's heap: predicting the 10,357 dog test photos at 256 pixels
    grew a process by 6.2 GiB that way (benchmarks/rehearsal.py)."""

    def __init__(self, data_iter):
        dataset = getattr(data_iter, "dataset", None)
        self.capacity = len(dataset) if dataset is not None and hasattr(dataset, "__len__") else 0
        self.data, self.n = None, 0

    def add(self, batch):
        batch = batch.detach().to("cpu")
        if self.data is None or self.n + len(batch) > len(self.data):
            grown = torch.empty((max(self.capacity, 2 * self.n + len(batch)), *batch.shape[1:]), dtype=batch.dtype)
            if self.data is not None:
                grown[: self.n] = self.data[: self.n]
            self.data = grown
        self.data[self.n: self.n + len(batch)] = batch
        self.n += len(batch)

    def result(self):
        """The rows collected so far (a tensor; empty when nothing came)."""
        return self.data[: self.n] if self.data is not None else torch.empty(0)
