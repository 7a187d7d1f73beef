"""Each training option declared once: validate(), the CLI flags, --help, presets and reproduce."""

from __future__ import annotations

import ast
import dataclasses
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

import textrnn.runs.options as options_module
from textrnn import presets
from textrnn.cli import app
from textrnn.cli.options import given
from textrnn.layers import ngram_embedding
from textrnn.runs.options import GROUPS, PRESETS, Option, TrainOptions, flag_of, preset_values

OPTIONS = TrainOptions.OPTIONS
BY_NAME = {o.name: o for o in OPTIONS}
COMMAND = typer.main.get_command(app)
RUN_FLAGS = {"out", "resume", "verbose"}
HOSTILE = "x'$(touch P).csv"


def params_of(command: str) -> dict[str, object]:
    return {p.name: p for p in COMMAND.commands[command].params if p.name != "help"}  # type: ignore[attr-defined]


def parse(argv: list[str]) -> TrainOptions:
    """What `textrnn train ARGV` would train with, parsed by the real command, not run."""
    assert argv[:2] == ["textrnn", "train"]
    ctx = COMMAND.commands["train"].make_context("train", argv[2:])  # type: ignore[attr-defined]
    values = given({k: v for k, v in ctx.params.items() if k not in RUN_FLAGS})
    return TrainOptions.from_preset(values.pop("preset", "tutorial"), **values)


# ------------------------------------------------------------------------------ declaration
def test_every_field_is_declared_with_help_group_and_type():
    assert [o.name for o in OPTIONS] == [f.name for f in dataclasses.fields(TrainOptions)]
    for o in OPTIONS:
        assert o.help.endswith(".") and "Default" not in o.help, o.name
        assert o.group in GROUPS and o.type in (str, int, float, bool), o.name
        assert o.flag.startswith("--") and not o.flag.startswith("--no-"), o.name
        assert o.default is not None or o.optional, o.name
        o.check(o.default)  # the default is valid
    assert BY_NAME["data_format"].flag == "--format" and flag_of("data_format") == "--format"
    assert BY_NAME["ngrams"].maximum == ngram_embedding.MAX_NGRAMS


def bad_values(o: Option) -> list[object]:
    """Values the declaration rules out, derived from it independently of `Option.accepts`."""
    bad: list[object] = [[1]]
    if o.type is bool:
        return bad + ["yes", 1, None]
    if not o.optional:
        bad.append(None)
    if o.type is str:
        return bad + ["", 3] + (["NOT-A-CHOICE"] if o.choices else [])
    bad += ["3", True, float("nan")]
    if o.type is int:
        bad.append(2.5)
    for low in (o.minimum, o.above):
        if low is not None:
            bad.append(low - 1 if o.type is int else low - 0.5)
    if o.above is not None:
        bad.append(o.above)
    if o.below is not None:
        bad += [o.below, o.below + 1]
    if o.maximum is not None:
        bad.append(o.maximum + 1)
    return bad


@pytest.mark.parametrize("name", [o.name for o in OPTIONS])
def test_validate_is_generated_from_the_declaration(name):
    o = BY_NAME[name]
    base = {"data": "d.csv"} if name == "test_data" else {}
    for value in bad_values(o):
        pattern = f"argument `{name}` \\(`{o.flag}`\\), expected .*got "
        with pytest.raises(ValueError, match=pattern):
            TrainOptions(**base, **{name: value})
    base = {"monitor": "loss"} if name == "validation_split" else base
    for value in (o.minimum, o.maximum, *o.choices):  # the bounds are inclusive
        if value is not None:
            assert getattr(TrainOptions(**base, **{name: value}), name) == value


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"units": 0},
            "Received an invalid value for argument `units` (`--units`), expected a "
            "positive integer, got 0. Pass --units 1 or more.",
        ),
        (
            {"num_words": 3},
            "`num_words` (`--num-words`), expected an integer of at least 4, got 3. "
            "Pass --num-words 4 or more.",
        ),
        ({"ngrams": 6}, "`ngrams` (`--ngrams`), expected an integer from 1 to 5, got 6."),
        ({"dropout": 1}, "`dropout` (`--dropout`), expected a fraction in [0, 1), got 1."),
        ({"test_split": 0}, "`test_split` (`--test-split`), expected a fraction in (0, 1), got 0."),
        ({"clipnorm": 0.0}, "`clipnorm` (`--clipnorm`), expected a positive number, got 0.0."),
        (
            {"data_format": "xls"},
            "`data_format` (`--format`), expected one of csv, tsv, jsonl, parquet, folder, got 'xls'.",
        ),
        ({"preset": "huge"}, "`preset` (`--preset`), expected one of tutorial, fast, best"),
        (
            {"validation_split": 0.0},
            "`monitor` (`--monitor`), expected `loss` or `acc` when there "
            "is no validation data, got 'val_loss'. Pass --monitor loss",
        ),
        ({"test_data": "t.csv"}, "Pass --data as well."),
        ({"bucket_by_length": True}, "add --mask-zero."),
    ],
)
def test_messages_name_the_flag_and_the_fix(changes, message):
    with pytest.raises(ValueError) as info:
        TrainOptions(**changes)
    assert message in str(info.value)


# ------------------------------------------------------------------------------------- CLI
def test_train_flags_are_the_dataclass_fields():
    params = params_of("train")
    assert set(params) - RUN_FLAGS == set(BY_NAME)
    for name, param in params.items():
        if name in RUN_FLAGS:
            continue
        o = BY_NAME[name]
        assert param.opts == [o.flag], name  # type: ignore[attr-defined]
        assert param.secondary_opts == (["--no-" + o.flag[2:]] if o.type is bool else []), name  # type: ignore[attr-defined]
        assert param.default is None and param.help == o.help_with_defaults(), name  # type: ignore[attr-defined]
        assert param.rich_help_panel == o.group, name  # type: ignore[attr-defined]


def test_summary_flags_are_the_model_options():
    params = params_of("summary")
    model = {o.name for o in OPTIONS if o.group == "Model"}
    assert set(params) == model | {"num_words", "maxlen", "preset", "num_classes"}
    assert params["units"].opts == ["--units"]  # type: ignore[attr-defined]


def test_summary_takes_every_model_option():
    args = ["summary", "--preset", "fast", "--ngrams", "1", "--pooling", "last"]
    out = CliRunner().invoke(app, args)
    assert out.exit_code == 0, out.output
    assert "gru (GRU)" in out.stdout and "NGramEmbedding" not in out.stdout
    bad = CliRunner().invoke(app, ["summary", "--spatial-dropout", "1"])
    assert bad.exit_code == 1 and "`spatial_dropout` (`--spatial-dropout`)" in bad.stderr


def test_help_shows_the_tutorial_default_and_each_presets():
    assert BY_NAME["units"].help_with_defaults().endswith("Default: 32 (fast: 64, best: 64).")
    assert BY_NAME["layers"].help_with_defaults().endswith("Default: 1.")
    assert BY_NAME["early_stopping"].help_with_defaults().endswith("off (fast: 1, best: 1).")
    assert BY_NAME["bidirectional"].help_with_defaults().endswith("Default: no (best: yes).")
    for name in PRESETS:
        assert name in BY_NAME["preset"].help_with_defaults()
    result = CliRunner().invoke(app, ["train", "--help"], env={"COLUMNS": "400"})
    assert result.exit_code == 0
    text = " ".join(result.stdout.replace("│", " ").split())  # rich's boxes and line wrapping
    for o in OPTIONS:  # every option and its defaults, as generated
        assert o.flag in text and o.help_with_defaults() in text, o.name
    for group in (*GROUPS, "Run folder"):
        assert f"─ {group} ─" in result.stdout
    assert "Default: 32." not in result.stdout  # no hard-coded tutorial default


def test_rnn_aliases_in_any_case():
    assert parse(["textrnn", "train", "--rnn", "SimpleRNN"]).rnn == "simple_rnn"
    assert parse(["textrnn", "train", "--rnn", "LSTM"]).rnn == "lstm"


# --------------------------------------------------------------------------------- presets
@pytest.mark.parametrize("name", sorted(PRESETS))
def test_presets_are_small_override_dicts_that_validate(name):
    overrides = PRESETS[name].overrides
    settable = {o.name for o in OPTIONS if not o.per_run}
    assert set(overrides) <= settable and len(overrides) < len(settable)
    for key, value in overrides.items():
        assert value != BY_NAME[key].default, f"{name} repeats the default of {key}"
    made = TrainOptions.from_preset(name)
    assert {k: getattr(made, k) for k in overrides} == dict(overrides)
    assert preset_values(name) == dict(presets.PRESETS[name]) == presets.get_preset(name)
    assert presets.overrides(name) == dict(overrides)
    assert PRESETS[name].summary


def test_the_tutorial_is_the_defaults():
    assert PRESETS["tutorial"].overrides == {}
    assert TrainOptions.from_preset("tutorial") == TrainOptions()


def test_a_bad_preset_fails_at_import(monkeypatch):
    monkeypatch.setitem(PRESETS, "typo", options_module.Preset("x", {"unit": 3}))
    with pytest.raises(TypeError, match="'typo' sets \\['unit'\\]"):
        options_module._check_presets()
    monkeypatch.setitem(PRESETS, "typo", options_module.Preset("x", {"units": 0}))
    with pytest.raises(ValueError, match="`units`"):
        options_module._check_presets()


def test_options_imports_no_other_part_of_runs_nor_presets_nor_the_cli():
    tree = ast.parse(Path(options_module.__file__).read_text())
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    imported |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    textrnn_imports = {m for m in imported if m and m.startswith("textrnn")}
    assert textrnn_imports == {"textrnn", "textrnn.data.readers"}


def test_the_command_line_does_not_load_pytorch():
    code = "import sys, textrnn.cli; print('torch' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=120)  # fmt: skip
    assert result.stdout.strip() == "False", result.stderr


# ------------------------------------------------------------------------------- reproduce
CASES = [
    TrainOptions(),
    TrainOptions(
        seed=5, rnn="gru", bidirectional=True, learning_rate=0.01, validation_split=0.0, monitor="loss"
    ),
    TrainOptions.from_preset(
        "fast",
        data="my data.csv",
        data_format="csv",
        mask_zero=False,
        bucket_by_length=False,
        seed=3,
        ema=0.98,
        split_seed=0,
    ),
    TrainOptions.from_preset(
        "best",
        data=HOSTILE,
        test_data="t 1.csv",
        text_column="a b",
        seed=1,
        units=8,
        monitor="val_loss",
        ensemble=2,
    ),
]


@pytest.mark.parametrize("options", CASES, ids=range(len(CASES)))
def test_reproduce_line_parses_back_to_the_same_options(options):
    line = options.command_line(out=Path("runs") / "it's mine")
    argv = shlex.split(line)
    assert argv[-2:] == ["--out", "runs/it's mine"]
    assert parse(argv[:-2]) == options


def test_reproduce_line_spells_out_only_what_differs_from_the_preset_in_order():
    assert TrainOptions().command_line() == "textrnn train"
    line = CASES[2].command_line()
    assert line == (
        "textrnn train --data 'my data.csv' --format csv --no-mask-zero "
        "--no-bucket-by-length --ema 0.98 --split-seed 0 --seed 3 --preset fast"
    )
    assert "--units" not in CASES[3].command_line("o").replace("--units 8", "")


def test_reproduce_line_is_shell_safe(tmp_path):
    line = CASES[3].command_line(out=tmp_path / "$(touch Q)")
    # A shell runs the line with `textrnn` standing for a command that prints its arguments.
    script = 'textrnn() { for a in "$@"; do printf "%s\\n" "$a"; done; }\n' + line + "\n"
    result = subprocess.run(["sh", "-c", script], cwd=tmp_path, capture_output=True, text=True,
                            timeout=60, check=True)  # fmt: skip
    assert result.stdout.splitlines() == shlex.split(line)[1:]
    assert HOSTILE in result.stdout.splitlines()
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # nothing was executed
    assert parse(shlex.split(line)[:-2]).data == HOSTILE


def test_the_run_records_the_reproduce_line(tmp_path):
    from textrnn.data.toy import toy_texts, write_toy_csv

    texts, labels = toy_texts(40, seed=0)
    data = write_toy_csv(tmp_path / HOSTILE, texts, labels)
    out = tmp_path / "run 1"
    tiny = ["--units", "4", "--embedding-dim", "4", "--maxlen", "12", "--num-words", "50"]
    result = CliRunner().invoke(
        app,
        [
            "train",
            "--data",
            str(data),
            *tiny,
            "--epochs",
            "1",
            "--seed",
            "2",
            "--out",
            str(out),
            "--verbose",
            "0",
        ],
    )
    assert result.exit_code == 0, result.output
    import json

    config = json.loads((out / "config.json").read_text())
    argv = shlex.split(config["reproduce"])
    assert argv[-2:] == ["--out", str(out)]
    assert parse(argv[:-2]) == TrainOptions.from_dict(config["options"])
    assert not (tmp_path / "P").exists()


def test_a_run_folder_from_before_an_option_existed_takes_its_default():
    older = {k: v for k, v in TrainOptions(seed=1).to_dict().items() if k not in ("ema", "ngrams")}
    assert TrainOptions.from_dict(older) == TrainOptions(seed=1)


def test_docs_list_every_flag():
    docs = (Path(__file__).parents[2] / "docs" / "cli.md").read_text()
    assert [o.flag for o in OPTIONS if f"`{o.flag}" not in docs] == []
