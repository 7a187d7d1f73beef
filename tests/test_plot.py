import matplotlib

matplotlib.use("Agg")

import pytest  # noqa: E402
from matplotlib.colors import to_rgba  # noqa: E402

from textrnn.callbacks import History  # noqa: E402
from textrnn.plot import plot_comparison, plot_history  # noqa: E402

PNG = b"\x89PNG\r\n\x1a\n"
HIST = {
    "acc": [0.6, 0.7, 0.8],
    "loss": [0.7, 0.5, 0.4],
    "val_acc": [0.55, 0.65, 0.7],
    "val_loss": [0.72, 0.6, 0.58],
}


def test_plot_history_writes_a_png_with_the_tutorial_figures(tmp_path):
    path = tmp_path / "curves.png"
    fig = plot_history(HIST, path)
    data = path.read_bytes()
    assert data.startswith(PNG) and len(data) > 1000
    assert [p.name for p in tmp_path.iterdir()] == ["curves.png"]
    acc_ax, loss_ax = fig.axes
    assert acc_ax.get_title() == "Training and validation accuracy"
    assert loss_ax.get_title() == "Training and validation loss"
    train, val = acc_ax.get_lines()
    blue = to_rgba("b")
    assert (
        train.get_marker() == "o" and train.get_linestyle() == "None" and to_rgba(train.get_color()) == blue
    )
    assert val.get_linestyle() == "-" and to_rgba(val.get_color()) == blue
    assert list(train.get_xdata()) == [1, 2, 3] and list(val.get_ydata()) == HIST["val_acc"]
    assert [t.get_text() for t in acc_ax.get_legend().get_texts()] == [
        "Training accuracy",
        "Validation accuracy",
    ]


def test_plot_history_accepts_history_objects_and_accuracy_naming(tmp_path):
    h = History()
    h.history = {"accuracy": [0.5, 0.6], "loss": [0.7, 0.6]}
    fig = plot_history(h, tmp_path / "a.png")  # metric="acc" finds "accuracy"
    assert fig.axes[0].get_title() == "Training accuracy"
    assert len(fig.axes[0].get_lines()) == 1


def test_plot_history_errors(tmp_path):
    with pytest.raises(ValueError, match="'auc' is not in the history"):
        plot_history(HIST, tmp_path / "x.png", metric="auc")
    with pytest.raises(ValueError, match="empty"):
        plot_history({}, tmp_path / "x.png")
    with pytest.raises(TypeError, match="History"):
        plot_history([0.1, 0.2], tmp_path / "x.png")
    assert list(tmp_path.iterdir()) == []


def test_plot_comparison(tmp_path):
    other = {"accuracy": [0.5], "loss": [0.7], "val_accuracy": [0.6, 0.7], "val_loss": [0.6]}
    fig = plot_comparison({"SimpleRNN": HIST, "LSTM": other}, tmp_path / "c.png")
    assert (tmp_path / "c.png").read_bytes().startswith(PNG)
    (ax,) = fig.axes
    assert [line.get_label() for line in ax.get_lines()] == ["SimpleRNN", "LSTM"]
    assert list(ax.get_lines()[1].get_ydata()) == [0.6, 0.7]
    assert ax.get_title() == "Validation accuracy by run"
    with pytest.raises(ValueError, match="non-empty dict"):
        plot_comparison({}, tmp_path / "d.png")
