import pytest

from textrnn.layers import GRU, LSTM, Bidirectional, Dense, Dropout, Embedding, SimpleRNN
from textrnn.models import Sequential
from textrnn.models.summary import explain_layer, readable_size


def test_tutorial_table():
    model = Sequential([Embedding(10000, 32), SimpleRNN(32), Dense(1, activation="sigmoid")])
    text = model.summary_text()
    lines = text.splitlines()
    assert lines[0] == f'Model: "{model.name}"'
    header = next(line for line in lines if "Layer (type)" in line)
    assert "Output Shape" in header and "Param #" in header
    row = next(line for line in lines if f"{model.layers[1].name} (SimpleRNN)" in line)
    assert "(None, 32)" in row and row.rstrip(" │").endswith("2,080")
    emb_row = next(line for line in lines if "(Embedding)" in line)
    assert "(None, None, 32)" in emb_row and "320,000" in emb_row
    assert " Total params: 322,113 (1.23 MB)" in lines
    assert " Trainable params: 322,113 (1.23 MB)" in lines
    assert " Non-trainable params: 0 (0.00 B)" in lines


def test_summary_prints_through_print_fn(capsys):
    model = Sequential([Embedding(100, 4), Dense(1)])
    got = []
    model.summary(print_fn=got.append)
    assert got == [model.summary_text()]
    model.summary()
    assert "Total params: 405" in capsys.readouterr().out


def test_explain_tutorial_numbers():
    model = Sequential([Embedding(10000, 32), SimpleRNN(32), Dense(1, activation="sigmoid")])
    text = model.summary_text(explain=True)
    assert "10,000 × 32 = 320,000" in text
    assert "(32 + 32 + 1) × 32 = 2,080" in text
    assert "(32 + 1) × 1 = 33" in text
    assert "320,000 + 2,080 + 33 = 322,113" in text


def test_explain_stacked_simple_rnns():
    model = Sequential(
        [
            Embedding(10000, 32),
            SimpleRNN(64, return_sequences=True),
            SimpleRNN(32, return_sequences=True),
            SimpleRNN(32),
        ]
    )
    text = model.summary_text(explain=True)
    assert "(32 + 64 + 1) × 64 = 6,208" in text
    assert "(64 + 32 + 1) × 32 = 3,104" in text
    assert "(32 + 32 + 1) × 32 = 2,080" in text


@pytest.mark.parametrize(
    "layer,expected,count",
    [
        (LSTM(32), "4 × (32 + 32 + 1) × 32 = 8,320", 8320),
        (GRU(32), "3 × (32 + 32 + 2) × 32 = 6,336", 6336),
        (GRU(32, reset_after=False), "3 × (32 + 32 + 1) × 32 = 6,240", 6240),
        (Bidirectional(LSTM(32)), "2 × 4 × (32 + 32 + 1) × 32 = 16,640", 16640),
        (SimpleRNN(32, use_bias=False), "(32 + 32) × 32 = 2,048", 2048),
    ],
)
def test_explain_recurrent_layers(layer, expected, count):
    model = Sequential([Embedding(10000, 32), layer])
    model.build()
    assert model.layers[1].count_params() == count
    assert explain_layer(model.layers[1]).startswith(expected)
    assert expected in model.summary_text(explain=True)


def test_explain_layers_without_weights_and_dense_without_bias():
    model = Sequential([Embedding(10, 4), Dropout(0.5), Dense(3, use_bias=False)])
    model.build()
    assert explain_layer(model.layers[1]) == "no weights = 0"
    assert explain_layer(model.layers[2]).startswith("4 × 3 = 12")


def test_readable_size():
    assert readable_size(0) == "0.00 B"
    assert readable_size(1288452) == "1.23 MB"
    assert readable_size(2048) == "2.00 KB"
