"""machinery.scoring: one-pass scoring, and constant predictions said in one sentence, in train_ch13 and predict.

Both ways with real training on small data: a normal run of a small CNN on the CIFAR stand-in never triggers the
sentence (neither at the end of training nor in predict), and runs that really collapse do, once each."""
import math

import pytest
import torch
from torch import nn

import helpers
import support
from machinery import scoring

CPU = [torch.device("cpu")]
LOSS = nn.CrossEntropyLoss(reduction="none")


def sentences(text):
    return [line for line in text.splitlines() if line.startswith("Constant predictions")]


def test_constant_on_probabilities():
    uniform = torch.full((6, 4), 0.25)
    assert "all 6 images get the same probabilities" in scoring.constant(uniform)
    almost = uniform + torch.linspace(0, 5e-4, 6)[:, None] * torch.tensor([1.0, -1.0, 0, 0])
    assert scoring.constant(almost) is not None                       # varies by less than the tolerance
    one_class = torch.softmax(torch.randn(6, 4) + torch.tensor([0, 0, 9.0, 0]), 1)
    assert "predicts 'frog' for all 6 test images" in scoring.constant(one_class, ["a", "b", "frog", "c"],
                                                                         "test images")
    assert "class 2" in scoring.constant(one_class)
    assert scoring.constant(one_class[:scoring.MIN_IMAGES_FOR_ONE_CLASS - 1]) is None   # too few to tell
    varied = torch.softmax(torch.randn(6, 4) * 3, 1)
    varied[:, :] = torch.eye(4)[[0, 1, 2, 3, 0, 1]] * 0.9 + 0.025
    assert scoring.constant(varied) is None
    assert scoring.constant(uniform[:1]) is None                      # one image: nothing to compare


def test_evaluate_matches_d2l_accuracy_and_the_loss_per_example(cifar_copy):
    helpers.seed_everything(0)
    _, loaders = support.cifar_loaders(cifar_copy)
    net = support.small_cnn().train()
    acc, loss, spread = scoring.evaluate(net, loaders["valid"], LOSS, torch.device("cpu"))
    assert net.training                                               # mode restored
    assert acc == pytest.approx(helpers.evaluate_accuracy_gpu(net, loaders["valid"]))
    assert loss == pytest.approx(helpers.evaluate_loss(net, loaders["valid"], LOSS), rel=1e-6)
    assert spread.n == len(loaders["valid"].dataset) and int(spread.counts.sum()) == spread.n
    assert all(math.isnan(v) for v in scoring.evaluate(net, None, LOSS, torch.device("cpu"))[:2])


def test_a_normal_run_says_nothing(cifar_copy, capsys):
    helpers.seed_everything(0)
    _, loaders = support.cifar_loaders(cifar_copy)
    net = support.small_cnn()
    trainer = torch.optim.SGD(net.parameters(), lr=0.002, momentum=0.9)
    history = helpers.train_ch13(net, loaders["train"], loaders["valid"], LOSS, trainer, 4, CPU, plot=False,
                                 eval_label="valid acc")
    helpers.predict(net, loaders["valid"])
    helpers.predict(net, loaders["test"])
    assert history["test_acc"][-1] > 0.3                              # it learned (chance: 0.1)
    assert sentences(capsys.readouterr().out) == []


def test_a_collapsed_run_is_said_once_at_the_end_of_training_and_in_predict(cifar_copy, capsys):
    """Weight decay 50 drives every weight to zero: each image gets the same probabilities and the loss is ln 10,
    the symptom notebook 40 showed on its stand-in (ln 120)."""
    helpers.seed_everything(0)
    _, loaders = support.cifar_loaders(cifar_copy)
    net = support.small_cnn()
    trainer = torch.optim.SGD(net.parameters(), lr=0.002, momentum=0.9, weight_decay=50)
    history = helpers.train_ch13(net, loaders["train"], loaders["valid"], LOSS, trainer, 3, CPU, plot=False,
                                 eval_label="valid acc")
    assert history["valid_loss"][-1] == pytest.approx(math.log(10), abs=0.02)
    said = sentences(capsys.readouterr().out)
    assert len(said) == 1 and f"all {len(loaders['valid'].dataset)} validation images get the same" in said[0]
    helpers.predict(net, loaders["valid"])                            # the same net on the same set: not again
    assert sentences(capsys.readouterr().out) == []
    helpers.predict(net, loaders["test"])                             # the test set: said for it
    assert sentences(capsys.readouterr().out) == [
        scoring.constant(torch.full((7, 10), 0.1), what=helpers.tr("images"))]


def test_a_net_trained_on_one_class_is_said_to_predict_it(cifar_copy, capsys):
    """Trained on images that all carry the label 'cat' (as a label file gone wrong would), the net predicts 'cat'
    for every validation image, with probabilities that still vary: the second form of the sentence."""
    helpers.seed_everything(0)
    datasets, loaders = support.cifar_loaders(cifar_copy)
    cat = datasets["train"].classes.index("cat")
    images = torch.stack([x for x, _ in datasets["train"]])
    one_label = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(images, torch.full((len(images),), cat)),
                                            batch_size=32, shuffle=True)
    net = support.small_cnn()
    trainer = torch.optim.SGD(net.parameters(), lr=0.002, momentum=0.9)
    helpers.train_ch13(net, one_label, loaders["valid"], LOSS, trainer, 2, CPU, plot=False, eval_label="valid acc")
    said = sentences(capsys.readouterr().out)
    assert said == [f"Constant predictions: the net predicts 'cat' for all {len(datasets['valid'])} validation "
                    f"images, so it does not tell them apart yet; train longer, or check the learning rate and the "
                    f"data."]
