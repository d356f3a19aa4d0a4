"""Fine-tuning helpers (notebook 37): pretrained weights through torchvision's real cache path, the target net with
a new (optionally reused) head, freezing, parameter groups, parameter counts and the experiment runner."""
import math

import pytest
import torch
import torchvision
from torch import nn
from torchvision.models import ResNet18_Weights

import helpers
from machinery import caveats, pretrained, standins

WEIGHTS = ResNet18_Weights.IMAGENET1K_V1


@pytest.fixture
def torch_home(tmp_path, monkeypatch):
    """An empty, private torch hub cache: torch.hub.get_dir() reads $TORCH_HOME."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setattr(caveats, "_CAVEATS", {})
    assert torch.hub.get_dir() == str(tmp_path / "torch" / "hub")
    return tmp_path / "torch"


@pytest.fixture(scope="module")
def source():
    """A ResNet-18 with seeded random weights standing in for the ImageNet one (same shapes, 1000 classes)."""
    torch.manual_seed(123)
    return torchvision.models.resnet18(weights=None).eval()


# --- pretrained weights -------------------------------------------------------------------------------------------

def test_weights_cache_path_is_under_torch_home(torch_home):
    path = helpers.weights_cache_path(WEIGHTS)
    assert path == torch_home / "hub" / "checkpoints" / "resnet18-f37072fd.pth"


def test_pretrained_model_loads_a_checkpoint_from_the_hub_cache(torch_home, source, monkeypatch, capsys):
    # the real torchvision path (get_model -> weights.get_state_dict -> torch.hub.load_state_dict_from_url) finds
    # the file in the cache and must not go to the network at all
    def no_network(*args, **kwargs):
        raise AssertionError("pretrained_model tried to download although the file is cached")
    monkeypatch.setattr(torch.hub, "download_url_to_file", no_network)
    path = helpers.weights_cache_path(WEIGHTS)
    path.parent.mkdir(parents=True)
    torch.save(source.state_dict(), path)

    model, is_pretrained = helpers.pretrained_model("resnet18", WEIGHTS)
    assert is_pretrained is True
    loaded, expected = model.state_dict(), source.state_dict()
    assert loaded.keys() == expected.keys()
    assert all(torch.equal(loaded[k], expected[k]) for k in expected)
    assert "RANDOM WEIGHTS" not in helpers.results_tag()
    assert str(path) in capsys.readouterr().out


def test_pretrained_model_accepts_the_weights_name_as_a_string(torch_home, source):
    path = helpers.weights_cache_path(WEIGHTS)
    path.parent.mkdir(parents=True)
    torch.save(source.state_dict(), path)
    model, is_pretrained = helpers.pretrained_model("resnet18", "IMAGENET1K_V1")
    assert is_pretrained and torch.equal(model.fc.weight, source.fc.weight)


def test_pretrained_model_offline_falls_back_to_random_weights_with_a_banner(torch_home, closed_port, monkeypatch,
                                                                             capsys):
    # torch's real downloader, pointed at a local port where nothing listens: a refused connection, as offline
    real_download = torch.hub.download_url_to_file
    monkeypatch.setattr(torch.hub, "download_url_to_file", lambda url, dst, *a, **k: real_download(
        f"http://127.0.0.1:{closed_port}/{url.split('/')[-1]}", dst, *a, **k))
    model, is_pretrained = helpers.pretrained_model("resnet18", WEIGHTS)
    out = capsys.readouterr().out
    assert is_pretrained is False
    assert isinstance(model, torchvision.models.ResNet) and model.fc.out_features == 1000
    assert "RANDOM WEIGHTS" in out and WEIGHTS.url in out and str(helpers.weights_cache_path(WEIGHTS)) in out
    assert helpers.results_tag() == "[RANDOM WEIGHTS] "                     # short: result lines stay one line
    assert 'Downloading: "' not in out                           # torch.hub's own English line is not shown
    assert not helpers.weights_cache_path(WEIGHTS).exists()     # nothing half-downloaded is left behind


def test_a_later_successful_load_clears_the_random_weights_caveat(torch_home, closed_port, source, monkeypatch):
    real_download = torch.hub.download_url_to_file
    monkeypatch.setattr(torch.hub, "download_url_to_file", lambda url, dst, *a, **k: real_download(
        f"http://127.0.0.1:{closed_port}/x.pth", dst, *a, **k))
    helpers.pretrained_model("resnet18", WEIGHTS)
    assert "RANDOM WEIGHTS" in helpers.results_tag()
    path = helpers.weights_cache_path(WEIGHTS)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(source.state_dict(), path)
    assert helpers.pretrained_model("resnet18", WEIGHTS)[1] is True
    assert helpers.results_tag() == ""


@pytest.mark.parametrize("damage", ["truncated", "garbage"])
def test_a_damaged_cached_weights_file_says_delete_it(torch_home, source, damage):
    path = helpers.weights_cache_path(WEIGHTS)
    path.parent.mkdir(parents=True)
    torch.save(source.state_dict(), path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2] if damage == "truncated" else b"garbage\n")
    with pytest.raises(RuntimeError, match="delete it"):
        helpers.pretrained_model("resnet18", WEIGHTS)


def test_imagenet_class_934_is_hotdog():
    # the row the reuse exercise copies (d2l's MXNet tab uses 713, which is a photocopier)
    assert WEIGHTS.meta["categories"][934] == "hotdog"
    assert WEIGHTS.meta["categories"][713] == "photocopier"


# --- the target net -----------------------------------------------------------------------------------------------

def test_build_finetune_net_copies_the_body_and_draws_a_xavier_head(source):
    before = {k: v.clone() for k, v in source.state_dict().items()}
    net = helpers.build_finetune_net(source, 2, seed=0)
    assert net is not source and isinstance(net.fc, nn.Linear)
    assert (net.fc.in_features, net.fc.out_features) == (512, 2)
    body = {k: v for k, v in net.state_dict().items() if not k.startswith("fc.")}
    assert body.keys() == {k for k in before if not k.startswith("fc.")}
    assert all(torch.equal(v, before[k]) for k, v in body.items())
    bound = math.sqrt(6 / (512 + 2))                          # Xavier-uniform bound for a 2 x 512 weight
    assert net.fc.weight.abs().max() <= bound and net.fc.weight.abs().max() > 0.8 * bound
    assert net.fc.weight.std().item() == pytest.approx(bound / math.sqrt(3), rel=0.15)
    # the source is untouched, and changing the copy leaves it alone
    with torch.no_grad():
        net.layer1[0].conv1.weight.add_(1)
    assert all(torch.equal(v, before[k]) for k, v in source.state_dict().items())


def test_build_finetune_net_is_reproducible_for_a_seed(source):
    a, b = helpers.build_finetune_net(source, 2, seed=5), helpers.build_finetune_net(source, 2, seed=5)
    c = helpers.build_finetune_net(source, 2, seed=6)
    assert torch.equal(a.fc.weight, b.fc.weight) and torch.equal(a.fc.bias, b.fc.bias)
    assert not torch.equal(a.fc.weight, c.fc.weight)


def test_build_finetune_net_reuses_a_pretrained_row(source):
    plain = helpers.build_finetune_net(source, 2, seed=1)
    net = helpers.build_finetune_net(source, 2, reuse_rows={0: 934}, seed=1)
    assert torch.equal(net.fc.weight[0], source.fc.weight[934])
    assert net.fc.bias[0].item() == source.fc.bias[934].item()
    # the other row keeps the random init it would have had anyway
    assert torch.equal(net.fc.weight[1], plain.fc.weight[1]) and net.fc.bias[1] == plain.fc.bias[1]
    assert net.fc.weight.requires_grad                          # a copied row is trained like any other
    x = torch.randn(3, 3, 32, 32)
    with torch.no_grad():
        assert torch.allclose(net(x)[:, 0], source(x)[:, 934], atol=1e-5)   # same logit as ImageNet's hot dog


def test_build_finetune_net_rejects_bad_rows_and_heads(source):
    with pytest.raises(IndexError):
        helpers.build_finetune_net(source, 2, reuse_rows={2: 934})
    with pytest.raises(IndexError):
        helpers.build_finetune_net(source, 2, reuse_rows={0: 1000})
    with pytest.raises(TypeError):
        helpers.build_finetune_net(source, 2, head="avgpool")


# --- freezing and counting ------------------------------------------------------------------------------------------

def test_count_parameters_matches_torchvision_and_follows_requires_grad(source):
    assert helpers.count_parameters(source, trainable_only=False) == WEIGHTS.meta["num_params"] == 11_689_512
    net = helpers.build_finetune_net(source, 2)
    total = 11_689_512 - 1000 * 513 + 2 * 513
    assert helpers.count_parameters(net) == total
    helpers.freeze_layers(net, "body")
    assert helpers.count_parameters(net) == 2 * 513
    assert helpers.count_parameters(net, trainable_only=False) == total


@pytest.mark.parametrize("upto, frozen_children", [
    (None, []),
    ("layer2", ["conv1", "bn1", "layer1", "layer2"]),
    ("body", ["conv1", "bn1", "layer1", "layer2", "layer3", "layer4"]),
])
def test_freeze_layers_freezes_the_body_up_to_a_stage(source, upto, frozen_children):
    net = helpers.build_finetune_net(source, 2)
    names = helpers.freeze_layers(net, upto)
    frozen = {n for n, p in net.named_parameters() if not p.requires_grad}
    assert set(names) == frozen
    assert {n.split(".")[0] for n in frozen} == set(frozen_children)
    assert all(p.requires_grad for p in net.fc.parameters())


def test_freeze_layers_never_freezes_the_head(source):
    net = helpers.build_finetune_net(source, 2)
    with pytest.raises(ValueError, match="head"):
        helpers.freeze_layers(net, "fc")
    with pytest.raises(ValueError):
        helpers.freeze_layers(net, "layer9")
    assert all(p.requires_grad for p in net.parameters())    # a refused call changes nothing


def test_d2l_style_freeze_everything_breaks_backward_and_ours_does_not(source):
    x, y = torch.randn(2, 3, 32, 32), torch.tensor([0, 1])
    d2l_style = helpers.build_finetune_net(source, 2)
    for p in d2l_style.parameters():
        p.requires_grad = False
    with pytest.raises(RuntimeError):
        nn.functional.cross_entropy(d2l_style(x), y).backward()
    ours = helpers.build_finetune_net(source, 2)
    helpers.freeze_layers(ours, "body")
    nn.functional.cross_entropy(ours(x), y).backward()
    assert ours.fc.weight.grad is not None and ours.layer4[1].conv2.weight.grad is None


# --- parameter groups ---------------------------------------------------------------------------------------------

def test_finetune_optimizer_gives_the_head_ten_times_the_body_lr(source):
    net = helpers.build_finetune_net(source, 2)
    opt = helpers.finetune_optimizer(net, 5e-5, weight_decay=1e-3)
    body, head = opt.param_groups
    assert (body["name"], head["name"]) == ("body", "head")
    assert head["lr"] == pytest.approx(10 * body["lr"]) and body["lr"] == 5e-5
    assert body["weight_decay"] == head["weight_decay"] == 1e-3
    assert {id(p) for p in head["params"]} == {id(p) for p in net.fc.parameters()}
    ids = [id(p) for g in opt.param_groups for p in g["params"]]
    assert len(ids) == len(set(ids)) == len(list(net.parameters()))      # every parameter once


def test_finetune_optimizer_leaves_frozen_parameters_out(source):
    net = helpers.build_finetune_net(source, 2)
    helpers.freeze_layers(net, "layer2")
    opt = helpers.finetune_optimizer(net, 1e-3, head_lr_mult=3, momentum=0.9)
    handed = {id(p) for g in opt.param_groups for p in g["params"]}
    assert handed == {id(p) for p in net.parameters() if p.requires_grad}
    assert opt.param_groups[1]["lr"] == pytest.approx(3e-3) and opt.param_groups[0]["momentum"] == 0.9
    helpers.freeze_layers(net, "body")
    only_head = helpers.finetune_optimizer(net, 1e-3)
    assert [g["name"] for g in only_head.param_groups] == ["head"]
    for p in net.fc.parameters():
        p.requires_grad_(False)
    with pytest.raises(ValueError, match="head"):
        helpers.finetune_optimizer(net, 1e-3)


# --- the experiment runner ----------------------------------------------------------------------------------------

def _loaders(n=24, size=32, seed=0):
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % 2
    X = torch.randn(n, 3, size, size, generator=g) * 0.3 + y.view(-1, 1, 1, 1).float()   # separable by brightness
    ds = torch.utils.data.TensorDataset(X, y)
    return (torch.utils.data.DataLoader(ds, 8, shuffle=True, drop_last=True),
            torch.utils.data.DataLoader(ds, 8))


def test_run_experiment_returns_a_results_row_and_keeps_frozen_parameters(source, capsys):
    train_iter, test_iter = _loaders()
    net = helpers.build_finetune_net(source, 2, seed=0)
    helpers.freeze_layers(net, "layer2")
    frozen = {n: p.detach().clone() for n, p in net.named_parameters() if not p.requires_grad}
    trainable = {n: p.detach().clone() for n, p in net.named_parameters() if p.requires_grad}
    trainer = helpers.finetune_optimizer(net, 1e-3)
    row, history = helpers.run_experiment("layer2 frozen", net, trainer, train_iter, test_iter, 2, seed=0,
                                          eval_start=True, columns={"frozen": "up to layer2"}, devices=["cpu"])
    assert list(row)[:3] == ["config", "frozen", "test acc at start"]
    assert row["config"] == "layer2 frozen" and row["trainable params"] == helpers.count_parameters(net)
    assert row["trainable params"] < helpers.count_parameters(net, trainable_only=False)
    assert row["test acc"] == history["test_acc"][-1] and 0 <= row["test acc"] <= 1
    assert row["time/epoch (s)"] == pytest.approx(sum(history["time_s"]) / 2)
    assert len(history["epoch"]) == 2 and math.isfinite(row["train loss"])
    params = dict(net.named_parameters())
    assert all(torch.equal(params[n], v) for n, v in frozen.items())
    assert any(not torch.equal(params[n], v) for n, v in trainable.items())
    assert "test acc" in capsys.readouterr().out


def test_run_experiment_with_a_seed_repeats_exactly(source):
    rows = []
    for _ in range(2):
        train_iter, test_iter = _loaders()
        net = helpers.build_finetune_net(source, 2, seed=0)
        helpers.freeze_layers(net, "body")
        rows.append(helpers.run_experiment("head only", net, helpers.finetune_optimizer(net, 1e-2), train_iter,
                                           test_iter, 1, seed=3, devices=["cpu"])[0])
    assert rows[0]["train loss"] == rows[1]["train loss"] and rows[0]["test acc"] == rows[1]["test acc"]
    assert rows[0]["trainable params"] == 2 * 513 and "test acc at start" not in rows[0]


# --- which results random weights concern, and which case a run is ---------------------------------------------

def _offline(monkeypatch, closed_port):
    """torch's real downloader pointed at a local port where nothing listens: the weights cannot be had."""
    real_download = torch.hub.download_url_to_file
    monkeypatch.setattr(torch.hub, "download_url_to_file", lambda url, dst, *a, **k: real_download(
        f"http://127.0.0.1:{closed_port}/{url.split('/')[-1]}", dst, *a, **k))


def test_random_weights_tag_their_model_and_its_copies_but_not_a_net_trained_from_scratch(torch_home, closed_port,
                                                                                          monkeypatch, capsys):
    """A net from scratch claims no ImageNet weights: its lines must not say 'RANDOM WEIGHTS instead of ImageNet'.
    The fine-tuned copy of the random 'pretrained' model must, and so must a table that mixes the two runs."""
    _offline(monkeypatch, closed_port)
    pretrained_net, is_pretrained = helpers.pretrained_model("resnet18", WEIGHTS)
    assert not is_pretrained
    capsys.readouterr()
    said = {}
    for config, net in (("fine-tuned", helpers.build_finetune_net(pretrained_net, 2, seed=0)),
                        ("from scratch", torchvision.models.resnet18(num_classes=2))):
        train_iter, test_iter = _loaders(n=16)
        helpers.run_experiment(config, net, helpers.finetune_optimizer(net, 1e-4), train_iter, test_iter, 1,
                               seed=0, devices=["cpu"])
        said[config] = capsys.readouterr().out
    assert said["fine-tuned"].startswith("[RANDOM WEIGHTS")            # the run's first line carries the tag
    assert "from scratch" in said["from scratch"] and "RANDOM WEIGHTS" not in said["from scratch"]
    assert "RANDOM WEIGHTS" in helpers.results_tag()                   # outside a run: every caveat
    frozen = helpers.FrozenBackboneNet(pretrained_net, nn.Linear(1000, 2))           # a wrapper holds the model
    with pretrained.reporting_on(frozen):
        assert "RANDOM WEIGHTS" in helpers.results_tag()


def test_say_case_names_each_of_the_four_cases_in_the_notebooks_language(tmp_path, monkeypatch, no_caveats, capsys):
    real = tmp_path / "real"
    real.mkdir()
    standin = standins.make_standin("hotdog", tmp_path / "s", n_train=1, n_test=1, size=16)
    said = {}
    for folder in (real, standin):
        for is_pretrained in (True, False):
            helpers.say_case(folder, is_pretrained)
            said[folder == real, is_pretrained] = capsys.readouterr().out
    assert said[True, True].startswith("This run: real photos and ImageNet weights.")
    assert said[True, False].startswith("This run: real photos, but RANDOM weights")
    assert said[False, False].startswith("This run: STAND-IN images (synthetic) and RANDOM weights")
    assert said[False, True].startswith("This run: STAND-IN images (synthetic) with ImageNet weights")
    assert all(text.count("\n") == 1 for text in said.values())
    monkeypatch.setenv("COURSE_LANG", "zh")
    helpers.say_case(real, False)
    assert capsys.readouterr().out.startswith("本次运行：真实照片，但权重是随机的")
