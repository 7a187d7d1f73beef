"""NGramEmbedding: hashed n-gram vectors added to word vectors, with the right gradients and configs."""

import numpy as np
import pytest
import torch

from textrnn.layers import GRU, Dense, Embedding, GlobalMaxAvgPooling1D, NGramEmbedding
from textrnn.layers.ngram_embedding import ngram_ids
from textrnn.models import Sequential, load_model


def _reference(layer: NGramEmbedding, x: torch.Tensor) -> torch.Tensor:
    """Word vector + the table row of every n-gram that lies inside the row and avoids padding, by loops."""
    words, *tables = [w.detach() for w in layer.weights]
    out = words[x].clone()
    for n, table in enumerate(tables, start=2):
        ids, _ = ngram_ids(x, n, layer.buckets)
        for b in range(x.shape[0]):
            for t in range(x.shape[1]):
                gram = x[b, t - n + 1 : t + 1] if t >= n - 1 else None
                if gram is not None and bool((gram != 0).all()):
                    out[b, t] += table[ids[b, t]]
    return out


def test_ids_depend_on_the_ngram_only_and_skip_padding_and_row_starts():
    x = torch.tensor([[0, 0, 5, 6, 7, 5, 6], [5, 6, 9, 9, 5, 6, 7]])
    ids, valid = ngram_ids(x, 2, 1000)
    assert valid.tolist() == [
        [False, False, False, True, True, True, True],
        [False, True, True, True, True, True, True],
    ]
    assert ids[0, 3] == ids[0, 6] == ids[1, 1] == ids[1, 5]  # "5 6" wherever it is
    assert ids[0, 3] != ids[0, 4]  # "5 6" and "6 7"
    assert (ids[~valid] == 0).all() and (ids[valid] >= 1).all() and (ids[valid] < 1000).all()
    ids3, valid3 = ngram_ids(x, 3, 1000)
    assert valid3[0].tolist() == [False, False, False, False, True, True, True]
    assert ids3[0, 4] == ids3[1, 6]  # "5 6 7"
    short, short_valid = ngram_ids(torch.tensor([[4]]), 3, 10)  # a row shorter than n
    assert short.tolist() == [[0]] and not short_valid.any()


@pytest.mark.parametrize("ngrams", [2, 3])
def test_output_is_the_word_vector_plus_its_ngram_vectors(ngrams):
    torch.manual_seed(0)
    layer = NGramEmbedding(30, 4, ngrams=ngrams, buckets=7, ngram_initializer="uniform")
    x = torch.tensor([[0, 0, 3, 4, 5, 3, 4], [3, 4, 29, 3, 4, 5, 2]])
    torch.testing.assert_close(layer(x), _reference(layer, x))


def test_an_untrained_table_adds_nothing():
    layer = NGramEmbedding(30, 4, ngrams=3, buckets=11)
    plain = Embedding(30, 4)
    plain.set_weights(layer.get_weights()[:1])
    x = torch.randint(0, 30, (3, 9))
    torch.testing.assert_close(layer(x), plain(x))


def test_gradients_match_autograd_and_never_reach_the_no_ngram_row():
    torch.manual_seed(1)
    layer = NGramEmbedding(20, 3, ngrams=3, buckets=5, ngram_initializer="uniform")
    x = torch.tensor([[0, 0, 3, 4, 3, 4, 5], [3, 4, 5, 3, 4, 19, 3]])
    upstream = torch.randn(2, 7, 3)
    with torch.enable_grad():
        (layer(x, training=True) * upstream).sum().backward()
    copies = [w.detach().clone().requires_grad_(True) for w in layer.weights]
    reference = NGramEmbedding(20, 3, ngrams=3, buckets=5)
    out = copies[0][x]
    for n, table in enumerate(copies[1:], start=2):
        ids, valid = ngram_ids(x, n, 5)
        out = out + table[ids] * valid.unsqueeze(-1)
    (out * upstream).sum().backward()
    for mine, ref in zip(layer.weights, copies, strict=True):
        torch.testing.assert_close(mine.grad, ref.grad)
    for table in layer.weights[1:]:
        assert (table.grad[0] == 0).all()
    assert reference.count_params() == (20 + 2 * 5) * 3


def test_weights_config_and_a_saved_model_round_trip(tmp_path):
    model = Sequential(
        [
            NGramEmbedding(50, 6, ngrams=2, buckets=64, mask_zero=True, name="embedding"),
            GRU(4, return_sequences=True),
            GlobalMaxAvgPooling1D(),
            Dense(1, activation="sigmoid"),
        ]
    )
    model.build((None, 10))
    emb = model.layers[0]
    assert [tuple(w.shape) for w in emb.get_weights()] == [(50, 6), (64, 6)]
    assert emb.count_params() == (50 + 64) * 6
    config = emb.get_config()
    assert config["ngrams"] == 2 and config["buckets"] == 64 and config["mask_zero"] is True
    assert NGramEmbedding.from_config(config).get_config() == config
    model.compile(optimizer="adam", loss="binary_crossentropy")
    rng = np.random.default_rng(0)
    x = rng.integers(1, 50, size=(32, 10))
    x[:8, :4] = 0
    y = rng.integers(0, 2, size=32).astype("float32")
    before = emb.get_weights()[1].copy()
    model.fit(x, y, epochs=1, batch_size=8, verbose=0)
    assert not np.allclose(before, emb.get_weights()[1])  # the bigram table learns
    assert np.all(emb.get_weights()[1][0] == 0)  # its "no n-gram" row does not
    model.save(tmp_path / "m")
    again = load_model(tmp_path / "m")
    assert isinstance(again.layers[0], NGramEmbedding)
    np.testing.assert_allclose(again.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"ngrams": 1}, "`ngrams`.*Embedding"),
        ({"ngrams": 6}, "`ngrams`"),
        ({"ngrams": True}, "`ngrams`"),
        ({"buckets": 1}, "`buckets`"),
        ({"buckets": 0}, "`buckets`"),
    ],
)
def test_bad_arguments_are_named(kwargs, match):
    with pytest.raises(ValueError, match=match):
        NGramEmbedding(10, 2, **kwargs)
