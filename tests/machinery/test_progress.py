"""machinery/progress.py: the headless progress lines of a run (one per epoch, compact for many epochs)."""
import pytest

from machinery import progress


def run_reporter(num_epochs, capsys):
    """Feed a headless Reporter num_epochs epochs of a history, as Board does; return the printed lines."""
    reporter = progress.Reporter(num_epochs, num_batches=4, eval_label="valid acc")
    history = {key: [] for key in progress.HISTORY_KEYS}
    for epoch in range(1, num_epochs + 1):
        for key, value in {"epoch": epoch, "train_loss": 2.0 / epoch, "train_acc": 0.5, "test_acc": 0.4,
                           "valid_loss": 1.5, "lr": 1e-3, "lrs": [1e-3], "time_s": 1.0, "img_per_s": 100.0}.items():
            history[key].append(value)
        reporter.epoch(history)
    return capsys.readouterr().out.splitlines(), history


@pytest.mark.parametrize("num_epochs", [1, 3, 10])
def test_a_short_run_prints_every_epoch_in_d2l_zh_s_format(num_epochs, capsys, monkeypatch):
    monkeypatch.setenv("COURSE_HEADLESS", "1")
    lines, _ = run_reporter(num_epochs, capsys)
    assert [line.split(":")[0] for line in lines] == [f"epoch {e}/{num_epochs}" for e in range(1, num_epochs + 1)]
    assert lines[-1] == (f"epoch {num_epochs}/{num_epochs}: loss {2 / num_epochs:.3f}, train acc 0.500, valid loss "
                         "1.500, valid acc 0.400, lr 0.001, 1.0 s, 100 img/s")


@pytest.mark.parametrize("num_epochs, shown", [
    (30, [1, 3, 6, 9, 12, 15, 18, 21, 24, 27, 30]),
    (20, [1, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20]),
    (11, [1, 2, 4, 6, 8, 10, 11]),
    (100, [1, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100]),
])
def test_a_long_run_prints_the_first_every_kth_and_the_last_epoch_and_says_so(num_epochs, shown, capsys,
                                                                               monkeypatch):
    monkeypatch.setenv("COURSE_HEADLESS", "1")
    monkeypatch.setenv("COURSE_LANG", "en")
    lines, history = run_reporter(num_epochs, capsys)
    k = progress.line_every(num_epochs)
    assert lines[0] == (f"{num_epochs} epochs: a line every {k} epochs (and for the first and the last); the "
                        "history keeps every epoch.")
    assert [int(line.split()[1].split("/")[0]) for line in lines[1:]] == shown
    assert all(line.startswith("epoch ") and ": loss " in line for line in lines[1:])
    assert history["epoch"] == list(range(1, num_epochs + 1))          # the history keeps every epoch


def test_the_compact_note_and_the_scored_set_speak_chinese(capsys, monkeypatch):
    monkeypatch.setenv("COURSE_HEADLESS", "1")
    monkeypatch.setenv("COURSE_LANG", "zh")
    lines, _ = run_reporter(30, capsys)
    assert lines[0] == "共 30 轮：每 3 轮打印一行（另加第 1 轮和最后一轮），历史记录里每一轮都有。"
    assert "每轮结束后在验证集上评估" in progress.run_line("t", 3, 4, ["cpu"], "valid acc", True)
    assert "没有测试集" in progress.run_line("t", 3, 4, ["cpu"], "test acc", False)
