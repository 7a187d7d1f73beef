import io

import pytest

from textrnn.training.progress import (
    ProgressBar,
    format_duration,
    format_logs,
    format_per_step,
    format_value,
    print_epoch_header,
    resolve_verbose,
)


def test_formats():
    assert format_value(0.51234) == "0.5123"
    assert format_value(0.0000123) == "1.2300e-05"
    assert format_logs({"acc": 0.5, "loss": 0.69}) == " - acc: 0.5000 - loss: 0.6900"
    assert format_duration(12.4) == "12s"
    assert format_duration(125) == "2:05"
    assert format_duration(3723) == "1:02:03"
    assert format_per_step(0.075) == "75ms/step"
    assert format_per_step(2.0) == "2s/step"
    assert format_per_step(0.00005) == "50us/step"


def test_resolve_verbose():
    assert resolve_verbose("auto") == 1
    assert resolve_verbose(2) == 2
    with pytest.raises(ValueError, match="`verbose`"):
        resolve_verbose(3)


def test_verbose_1_to_a_file_writes_one_completed_line():
    out = io.StringIO()
    bar = ProgressBar(157, 1, stream=out)
    assert not bar.due(1)  # not a terminal: no live redraws
    bar.finish({"acc": 0.5123, "loss": 0.6921, "val_acc": 0.55, "val_loss": 0.68})
    text = out.getvalue()
    assert text.startswith("157/157 ━━━━━━━━━━━━━━━━━━━━ ")
    assert text.rstrip().endswith("- acc: 0.5123 - loss: 0.6921 - val_acc: 0.5500 - val_loss: 0.6800")
    assert "/step" in text and text.count("\n") == 1


def test_verbose_2_and_0():
    out = io.StringIO()
    ProgressBar(10, 2, stream=out).finish({"loss": 0.25})
    line = out.getvalue()
    assert line.startswith("10/10 - ") and line.rstrip().endswith("- loss: 0.2500")
    silent = io.StringIO()
    ProgressBar(10, 0, stream=silent).finish({"loss": 0.25})
    print_epoch_header(0, 3, 0, silent)
    assert silent.getvalue() == ""


def test_live_bar_on_a_terminal():
    class Tty(io.StringIO):
        def isatty(self):
            return True

    out = Tty()
    bar = ProgressBar(4, 1, stream=out, refresh_seconds=0.0)
    assert bar.due(1)
    bar.update(2, lambda: {"loss": 0.5})
    bar.finish({"loss": 0.4})
    text = out.getvalue()
    assert "2/4 ━━━━━━━━━━" in text and "loss: 0.5000" in text
    assert "4/4 ━━━━━━━━━━━━━━━━━━━━" in text and text.rstrip().endswith("loss: 0.4000")


def test_epoch_header():
    out = io.StringIO()
    print_epoch_header(2, 10, 1, out)
    assert out.getvalue() == "Epoch 3/10\n"
