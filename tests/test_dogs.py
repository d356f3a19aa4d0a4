"""Helpers of the dog-breed chapter (notebook 40): Kaggle's log loss, FrozenBackboneNet, extract_features."""
import math

import numpy as np
import pytest
import torch
import torchvision
from torch import nn

import helpers


# ---------------------------------------------------------------------------------------------------------------------
# multiclass_log_loss: Kaggle's metric
# ---------------------------------------------------------------------------------------------------------------------

def test_log_loss_hand_computed():
    probs = [[0.7, 0.2, 0.1],
             [0.1, 0.1, 0.8]]
    # by hand: -(ln 0.7 + ln 0.8) / 2 = (0.356675 + 0.223144) / 2 = 0.289909
    assert helpers.multiclass_log_loss(probs, [0, 2]) == pytest.approx(0.289909, abs=1e-6)


def test_log_loss_clips_zero_probabilities():
    # a confident wrong answer costs -ln(1e-15) = 34.538776 instead of infinity
    assert helpers.multiclass_log_loss([[1.0, 0.0]], [1]) == pytest.approx(34.538776, abs=1e-5)
    assert math.isfinite(helpers.multiclass_log_loss([[0.0, 0.0, 1.0]], [0]))


def test_log_loss_renormalises_rows_and_uniform_is_log_k():
    # rows are rescaled to sum to 1, as Kaggle does: [2, 2] counts as [0.5, 0.5] -> ln 2
    assert helpers.multiclass_log_loss([[2.0, 2.0]], [0]) == pytest.approx(0.693147, abs=1e-6)
    # guessing uniformly over the 120 breeds scores ln 120 = 4.787492
    assert helpers.multiclass_log_loss(np.full((5, 120), 1 / 120), [0, 7, 30, 99, 119]) == pytest.approx(4.787492,
                                                                                                      abs=1e-6)


def test_log_loss_agrees_with_cross_entropy_on_softmax():
    torch.manual_seed(0)
    logits, y = torch.randn(16, 7), torch.randint(0, 7, (16,))
    expected = nn.functional.cross_entropy(logits, y).item()
    assert helpers.multiclass_log_loss(torch.softmax(logits, 1), y) == pytest.approx(expected, abs=1e-6)


# ---------------------------------------------------------------------------------------------------------------------
# FrozenBackboneNet
# ---------------------------------------------------------------------------------------------------------------------

def _small_backbone():
    return nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.Dropout(0.5),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten())


def _snapshot(module):
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def _same(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_frozen_backbone_stays_in_eval_mode_and_frozen():
    torch.manual_seed(0)
    net = helpers.FrozenBackboneNet(_small_backbone(), nn.Sequential(nn.Linear(4, 8), nn.Dropout(0.5), nn.Linear(8, 3)))
    for mode in (True, False, True):
        net.train(mode)
        assert net.training is mode and net.head.training is mode
        assert not any(m.training for m in net.backbone.modules())
    assert not any(p.requires_grad for p in net.backbone.parameters())
    assert all(p.requires_grad for p in net.head.parameters())
    assert net.train() is net          # train() still returns the module, like nn.Module.train


def test_training_changes_the_head_only_and_not_the_batchnorm_statistics():
    torch.manual_seed(0)
    net = helpers.FrozenBackboneNet(_small_backbone(), nn.Linear(4, 3))
    backbone_before, head_before = _snapshot(net.backbone), _snapshot(net.head)
    trainer = torch.optim.SGD(net.head.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
    net.train()
    for _ in range(3):
        X, y = torch.randn(8, 3, 10, 10) * 3 + 1, torch.randint(0, 3, (8,))
        trainer.zero_grad()
        nn.functional.cross_entropy(net(X), y).backward()
        trainer.step()
    assert _same(net.backbone.state_dict(), backbone_before)      # parameters AND running statistics
    assert not _same(net.head.state_dict(), head_before)


def test_d2l_style_freezing_lets_batchnorm_drift_and_ours_does_not():
    torch.manual_seed(0)
    d2l_style = _small_backbone()
    for p in d2l_style.parameters():
        p.requires_grad_(False)                                     # d2l's freeze: no eval()
    ours = helpers.FrozenBackboneNet(_small_backbone(), nn.Identity())
    ours.backbone.load_state_dict(d2l_style.state_dict())
    d2l_style.train(), ours.train()
    X = torch.randn(6, 3, 8, 8) * 2 + 3
    before = _snapshot(d2l_style)
    d2l_style(X)
    assert not torch.equal(d2l_style[1].running_mean, before["1.running_mean"])   # the bug: statistics move
    # ours: the features of one image do not depend on the rest of the batch, and match eval mode exactly
    single, in_batch = ours(X[:1]), ours(X)[:1]
    assert torch.allclose(single, in_batch, atol=1e-6)
    assert torch.allclose(ours(X), ours.eval()(X))
    assert _same(ours.backbone.state_dict(), before)


def test_frozen_torchvision_resnet_trains_with_train_ch13():
    torch.manual_seed(0)
    backbone = torchvision.models.resnet18(num_classes=10)
    net = helpers.FrozenBackboneNet(backbone, nn.Sequential(nn.Linear(10, 16), nn.ReLU(), nn.Linear(16, 3)))
    before = _snapshot(net.backbone)
    data = torch.utils.data.TensorDataset(torch.randn(24, 3, 32, 32), torch.randint(0, 3, (24,)))
    loader = torch.utils.data.DataLoader(data, batch_size=8, shuffle=True)
    trainer = torch.optim.SGD(net.head.parameters(), lr=1e-3, momentum=0.9, weight_decay=1e-4)
    history = helpers.train_ch13(net, loader, loader, nn.CrossEntropyLoss(reduction="none"), trainer, 2,
                                 [torch.device("cpu")], scheduler=torch.optim.lr_scheduler.StepLR(trainer, 1, 0.5),
                                 plot=False)
    assert len(history["epoch"]) == 2 and history["lr"] == pytest.approx([1e-3, 5e-4])
    assert _same(net.backbone.state_dict(), before)
    assert not any(m.training for m in net.backbone.modules())


# ---------------------------------------------------------------------------------------------------------------------
# extract_features
# ---------------------------------------------------------------------------------------------------------------------

def test_extract_features_matches_the_backbone_in_eval_mode_and_restores_its_mode():
    torch.manual_seed(0)
    backbone = _small_backbone()
    X, y = torch.randn(10, 3, 8, 8), torch.arange(10) % 3
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(X, y), batch_size=4)
    backbone.train()
    stats = _snapshot(backbone)
    features, labels = helpers.extract_features(backbone, loader, "cpu")
    assert features.shape == (10, 4) and features.dtype == torch.float32 and labels.dtype == torch.int64
    assert torch.equal(labels, y)
    assert backbone.training and _same(backbone.state_dict(), stats)       # mode restored, statistics untouched
    with torch.no_grad():
        expected = backbone.eval()(X)
    assert torch.allclose(features, expected, atol=1e-6)
    assert not features.requires_grad


def test_cached_head_outputs_equal_the_live_net():
    torch.manual_seed(0)
    net = helpers.FrozenBackboneNet(_small_backbone(), nn.Sequential(nn.Linear(4, 5), nn.ReLU(), nn.Linear(5, 3)))
    X = torch.randn(9, 3, 8, 8)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(X, torch.zeros(9, dtype=torch.long)), 4)
    features, _ = helpers.extract_features(net.backbone, loader)
    net.eval()
    with torch.no_grad():
        assert torch.allclose(net.head(features), net(X), atol=1e-6)


def test_extract_features_keeps_pairs_from_a_shuffled_loader():
    X = torch.arange(12, dtype=torch.float32).reshape(12, 1, 1, 1).expand(12, 3, 2, 2).contiguous()
    y = torch.arange(12)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(X, y), batch_size=5, shuffle=True,
                                         generator=torch.Generator().manual_seed(1))
    probe = nn.Sequential(nn.Flatten(), nn.Linear(12, 1, bias=False))
    nn.init.constant_(probe[1].weight, 1 / 12)                      # mean of the image = its index
    features, labels = helpers.extract_features(probe, loader)
    assert labels.tolist() != list(range(12))                        # it did shuffle
    assert torch.allclose(features[:, 0], labels.float(), atol=1e-5)


def test_extract_features_rejects_an_empty_loader():
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.empty(0, 3, 4, 4),
                                                                        torch.empty(0, dtype=torch.long)), 4)
    with pytest.raises(ValueError, match="no batch"):
        helpers.extract_features(_small_backbone(), loader)


def test_a_backbone_switched_to_training_from_outside_is_put_back_into_eval():
    """A view that shares the backbone's modules (nn.Sequential(*children)) and a call that restores its 'previous'
    training mode can switch the frozen layers back to training; the next forward pass undoes it."""
    backbone = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.AdaptiveAvgPool2d(1), nn.Flatten())
    net = helpers.FrozenBackboneNet(backbone, nn.Linear(4, 2))
    stats = backbone[1].running_mean.clone()
    backbone.train()
    net(torch.randn(8, 3, 8, 8))
    assert not any(m.training for m in backbone.modules()) and torch.equal(backbone[1].running_mean, stats)
