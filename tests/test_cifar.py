"""The CIFAR ResNet-18 (notebook 39): same architecture as the real d2l package's resnet18, layer for layer."""
import pytest
import torch
from torch import nn

import helpers


def _d2l_resnet18(num_classes, in_channels, size=32):
    """d2l.resnet18 from the installed d2l package, its lazy layers materialised by one forward pass."""
    from d2l import torch as d2l
    net = d2l.resnet18(num_classes, in_channels)
    net(torch.zeros(2, in_channels, size, size))
    return net


def _n_params(net):
    return sum(p.numel() for p in net.parameters())


@pytest.mark.parametrize("num_classes, in_channels", [(10, 3), (5, 1)])
def test_parameter_count_and_output_shape_match_d2l(num_classes, in_channels):
    ours, theirs = helpers.resnet18_cifar(num_classes, in_channels), _d2l_resnet18(num_classes, in_channels)
    assert _n_params(ours) == _n_params(theirs)
    X = torch.randn(4, in_channels, 32, 32)
    assert ours(X).shape == theirs(X).shape == (4, num_classes)


def test_defaults_are_cifar10():
    net = helpers.resnet18_cifar()
    assert _n_params(net) == _n_params(_d2l_resnet18(10, 3))
    assert net(torch.randn(2, 3, 32, 32)).shape == (2, 10)


def test_same_layers_so_d2l_weights_load_and_give_the_same_outputs():
    torch.manual_seed(0)
    theirs = _d2l_resnet18(10, 3)
    ours = helpers.resnet18_cifar(10, 3)
    theirs_sd = theirs.state_dict()
    assert list(ours.state_dict()) == list(theirs_sd)                       # same names, same order
    assert all(v.shape == theirs_sd[k].shape for k, v in ours.state_dict().items())
    ours.load_state_dict(theirs_sd)
    X = torch.randn(6, 3, 32, 32)
    for mode in ("eval", "train"):                                           # running stats and batch stats
        getattr(ours, mode)(), getattr(theirs, mode)()
        with torch.no_grad():
            torch.testing.assert_close(ours(X), theirs(X), rtol=1e-4, atol=1e-5)


def test_cifar_stem_keeps_the_resolution():
    """3x3 stride-1 stem, no max-pool: 32x32 stays 32x32 through stage 1, then 16, 8, 4 (ImageNet's stem: 8x8)."""
    net = helpers.resnet18_cifar().eval()
    assert not any(isinstance(m, nn.MaxPool2d) for m in net.modules())
    assert net[0].kernel_size == (3, 3) and net[0].stride == (1, 1)
    X, sides = torch.randn(1, 3, 32, 32), {}
    with torch.no_grad():
        for name, layer in net.named_children():
            X = layer(X)
            if name.startswith("resnet_block"):
                sides[name] = (X.shape[1], X.shape[-1])
    assert sides == {"resnet_block1": (64, 32), "resnet_block2": (128, 16), "resnet_block3": (256, 8),
                     "resnet_block4": (512, 4)}


def test_residual_block_shapes_and_shortcut():
    block = helpers.Residual(3, 6, use_1x1conv=True, strides=2)
    assert block(torch.randn(2, 3, 10, 10)).shape == (2, 6, 5, 5)
    same = helpers.Residual(4, 4)
    assert same.conv3 is None and same(torch.randn(2, 4, 7, 7)).shape == (2, 4, 7, 7)
    with pytest.raises(RuntimeError):           # a channel change needs the 1x1 shortcut, as in d2l
        helpers.Residual(3, 6)(torch.randn(1, 3, 8, 8))


def test_channels_last_gives_the_same_logits_and_trains():
    torch.manual_seed(0)
    net = helpers.resnet18_cifar().eval()
    X = torch.randn(3, 3, 32, 32)
    with torch.no_grad():
        ref = net(X)
        net_cl = net.to(memory_format=torch.channels_last)
        torch.testing.assert_close(net_cl(X.contiguous(memory_format=torch.channels_last)), ref,
                                   rtol=1e-4, atol=1e-4)
    net.train()
    trainer = torch.optim.SGD(net.parameters(), lr=0.01)
    y = torch.tensor([0, 1, 2])
    before = nn.functional.cross_entropy(net(X), y).item()
    for _ in range(5):
        helpers.train_batch_ch13(net, X, y, nn.CrossEntropyLoss(reduction="none"), trainer, [torch.device("cpu")])
    assert nn.functional.cross_entropy(net(X), y).item() < before
