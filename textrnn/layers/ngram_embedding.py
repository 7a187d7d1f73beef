"""NGramEmbedding: word vectors plus hashed n-gram vectors, summed at each position."""

from __future__ import annotations

from typing import Any

import torch

from textrnn import checks, initializers
from textrnn.checks import positive_int
from textrnn.layers.base import Layer, Shape
from textrnn.layers.embedding import Embedding, LookupWithIndexAddBackward

# Odd 62-bit-safe multiplier of the polynomial hash: ids < 2**31 and n <= 5 never overflow int64.
_HASH_MULTIPLIER = 1_000_003
MAX_NGRAMS = 5


def ngram_ids(inputs: torch.Tensor, n: int, buckets: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The bucket of the `n`-gram ending at each position, and where such an n-gram exists.

    The n-gram ending at step `t` is `inputs[:, t-n+1 : t+1]`; it exists when all its indices are
    non-zero (0 is padding) and it lies inside the row. Buckets are `1 + hash % (buckets - 1)`;
    bucket 0 is where there is no n-gram.

    Returns:
        `(ids, valid)`: int64 `(batch, steps)` buckets, and a bool `(batch, steps)` mask.
    """
    x = inputs.long()
    h = x.clone()
    valid = x != 0
    for back in range(1, n):
        earlier = (
            torch.nn.functional.pad(x[:, :-back], (back, 0)) if x.shape[1] > back else torch.zeros_like(x)
        )
        h = h * _HASH_MULTIPLIER + earlier
        valid = valid & (earlier != 0)
    ids = torch.where(valid, h.remainder(buckets - 1) + 1, torch.zeros_like(h))
    return ids, valid


class NGramEmbedding(Embedding):
    """An `Embedding` that also embeds the word n-grams ending at each position, hashed into buckets.

    The vector at step `t` is the word's vector plus, for each `n` in `2..ngrams`, the vector of
    the bucket of the n-gram `inputs[t-n+1 .. t]` (the "region embedding" of Johnson & Zhang,
    2015). A recurrent layer reading these vectors sees short phrases ("not good", "at all") as
    units of their own, learned from the labels, while the word vectors can still start from
    pre-trained ones. N-grams that reach into padding (index 0) or before the first step add
    nothing. N-grams are hashed (a polynomial hash of their word indices) into `buckets` rows per
    order, so the table's size is fixed whatever the data; rare n-grams share rows.

    Args:
        input_dim: vocabulary size (largest index + 1).
        output_dim: size of each vector.
        ngrams: the longest n-gram embedded, 2 to 5 (2: words and bigrams).
        buckets: rows of each n-gram table (row 0 is never used: "no n-gram").
        embeddings_initializer: the word vectors' initializer; default uniform in ±0.05.
        ngram_initializer: the n-gram vectors' initializer; default zeros, so an untrained table
            leaves the word vectors unchanged.
        mask_zero: as `Embedding`: index 0 is padding, masked for the recurrent layers.

    Input `(batch, steps)` integers → output `(batch, steps, output_dim)`. Parameters:
    `(input_dim + (ngrams - 1) × buckets) × output_dim`. Weights, in order: `embeddings`, then
    `ngram_embeddings_2`, ..., `ngram_embeddings_{ngrams}`.

    Example:
        >>> NGramEmbedding(30000, 100, ngrams=2, buckets=2**18).count_params()
        29214400
    """

    def __init__(
        self,
        input_dim: int,
        output_dim: int,
        ngrams: int = 2,
        buckets: int = 2**18,
        embeddings_initializer: Any = "uniform",
        ngram_initializer: Any = "zeros",
        mask_zero: bool = False,
        *,
        name: str | None = None,
        trainable: bool = True,
    ) -> None:
        if isinstance(ngrams, bool) or not isinstance(ngrams, int) or not 2 <= ngrams <= MAX_NGRAMS:
            raise checks.invalid(
                "ngrams", f"an integer from 2 to {MAX_NGRAMS}", ngrams, "For words alone use `Embedding`."
            )
        self.ngrams = ngrams
        self.buckets = positive_int("buckets", buckets)
        if self.buckets < 2:
            raise checks.invalid("buckets", "at least 2", buckets)
        initializers.get(ngram_initializer)
        self.ngram_initializer = ngram_initializer
        super().__init__(
            input_dim, output_dim, embeddings_initializer, mask_zero=mask_zero, name=name, trainable=trainable
        )

    def build(self, input_shape: Shape) -> None:
        if self.built:
            return
        self.embeddings = self.add_weight(
            "embeddings", (self.input_dim, self.output_dim), self.embeddings_initializer
        )
        for n in range(2, self.ngrams + 1):
            self.add_weight(f"ngram_embeddings_{n}", (self.buckets, self.output_dim), self.ngram_initializer)
        Layer.build(self, input_shape)

    def ngram_tables(self) -> list[torch.Tensor]:
        """The n-gram tables, for n = 2 .. `ngrams`."""
        return [getattr(self, f"ngram_embeddings_{n}") for n in range(2, self.ngrams + 1)]

    def call(
        self, inputs: Any, mask: torch.Tensor | None = None, training: bool = False, **kwargs: Any
    ) -> torch.Tensor:
        out = super().call(inputs, mask=mask, training=training, **kwargs)
        fast_grad = inputs.device.type == "cpu" and torch.is_grad_enabled()
        for n, table in enumerate(self.ngram_tables(), start=2):
            ids, valid = ngram_ids(inputs, n, self.buckets)
            if fast_grad and table.requires_grad:
                vectors = LookupWithIndexAddBackward.apply(table, ids)
            else:
                vectors = torch.nn.functional.embedding(ids, table)
            # times 0 where there is no n-gram: row 0 gets no gradient and adds nothing
            out = out + vectors * valid.unsqueeze(-1).to(vectors.dtype)
        return out

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "ngrams": self.ngrams,
            "buckets": self.buckets,
            "ngram_initializer": initializers.serialize(self.ngram_initializer),
        }
