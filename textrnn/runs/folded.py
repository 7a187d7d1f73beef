"""`FoldedLSTM`: inference of `Embedding -> LSTM -> ...` models straight from token ids.

What `Predictor` runs for the tutorial's shape of model (a `Sequential` starting with an
`Embedding` and an `LSTM` returning its last output) where the native kernels are available. Three
things make it fast, none of which changes the numbers beyond float rounding:

- The Embedding is folded into the LSTM's input projection: the table `embeddings @ kernel +
  bias`, `(input_dim, 4 * units)`, is computed once (again only when the weights change), so a
  step's input projection is a row of it (`textrnn.kernels.lstm_last_ids`); no `(batch, steps,
  features)` embedding or projection is ever made.
- Padding is never run. A masked model (`mask_zero=True`) skips it as Keras does. An unmasked
  model with padding in front (`padding="pre"`) runs its padding steps, but every row's padding
  is the same id 0 from the same zero state, so the state after `k` padding steps is the same for
  all rows: it is computed once for every `k` up to `maxlen` and each row starts from it at its
  first token. Padding at the end (`padding="post"`) is run as it is.
- Texts are not padded at all: the kernel reads each row's ids from `Vocabulary.encode_flat`'s
  flat array, in one call for all rows (sorted by length inside the kernel, the threads taking
  rows as they go).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from textrnn import kernels
from textrnn.layers import LSTM, Embedding
from textrnn.layers.rnn_kernels import has_fused_kernel

SMALL_WORK = 32_768
"""Token steps below which a call runs in one thread (a few milliseconds of work: a parallel
region would cost more than it saves when other processes hold the cores)."""

MAX_SHARED_PADDING = 1 << 22
"""Most `(maxlen + 1) * units` floats of the padding states kept (16 MiB per state); beyond it
an unmasked model runs its padding steps."""

_ANCHOR = 64  # steps between the padding states computed one after the other


class FoldedLSTM:
    """The fast inference path of one model; build it with `FoldedLSTM.of(model)`.

    Args:
        model: a `Sequential` whose first layers are `Embedding` and `LSTM` (see `of`).
    """

    def __init__(self, model: Any) -> None:
        self.model = model
        self.embedding: Embedding = model.layers[0]
        self.lstm: LSTM = model.layers[1]
        self.rest = list(model.layers[2:])
        self.masked = bool(self.embedding.mask_zero)
        self._key: tuple[Any, ...] | None = None
        self._table: torch.Tensor | None = None
        self._padded: tuple[int, torch.Tensor, torch.Tensor] | None = None

    @classmethod
    def of(cls, model: Any) -> FoldedLSTM | None:
        """The fast path of `model`, or None when it does not apply: the model must be a built
        `Sequential` starting with `Embedding` then `LSTM` (tanh and sigmoid activations, the last
        output only, forwards, float32 on the CPU, units a multiple of
        `textrnn.kernels.fused_lanes()`), and the native kernels must be available."""
        layers = getattr(model, "layers", None)
        if not layers or len(layers) < 2 or not getattr(model, "built", False):
            return None
        emb, lstm = layers[0], layers[1]
        if type(emb) is not Embedding or type(lstm) is not LSTM or not lstm.built:
            return None
        if lstm.return_sequences or lstm.return_state or lstm.go_backwards:
            return None
        if not has_fused_kernel(lstm.cell_spec()) or not kernels.available():
            return None
        lanes = kernels.fused_lanes()
        if not lanes or lstm.units % lanes or int(lstm.kernel.shape[0]) != emb.output_dim:
            return None
        return cls(model)

    def usable(self) -> bool:
        """Whether the weights are still float32 CPU tensors (the model may have moved)."""
        weights = [self.embedding.embeddings, self.lstm.kernel, self.lstm.recurrent_kernel]
        return all(w.device.type == "cpu" and w.dtype == torch.float32 for w in weights)

    # ------------------------------------------------------------------ weights
    def _weights(self) -> list[torch.Tensor]:
        lstm = self.lstm
        out: list[torch.Tensor] = [self.embedding.embeddings, lstm.kernel, lstm.recurrent_kernel]
        if lstm.use_bias:
            out.append(lstm.bias)
        return out

    def _refresh(self) -> torch.Tensor:
        """The folded table, recomputed (and the padding states dropped) when a weight changed."""
        key = tuple((w.data_ptr(), w._version) for w in self._weights())
        if key != self._key or self._table is None:
            lstm = self.lstm
            with torch.no_grad():
                emb = self.embedding.embeddings.detach()
                kernel = lstm.kernel.detach()
                if lstm.use_bias:
                    table = torch.addmm(lstm.bias.detach(), emb, kernel)
                else:
                    table = emb @ kernel
            self._table = table.contiguous()
            self._padded = None
            self._key = key
        return self._table

    def _padding_states(self, table: torch.Tensor, maxlen: int) -> tuple[torch.Tensor, torch.Tensor]:
        """`(h, c)`, `(maxlen + 1, units)`: row k is the state after k padding steps from zeros.

        In two passes of about `maxlen * (1 + _ANCHOR / 2)` steps in all (not maxlen squared):
        the states after every `_ANCHOR`-th step, each continuing the one before, then every row
        from its anchor. A state is all there is to continue from, so the numbers are those of
        one run through the padding.
        """
        if self._padded is not None and self._padded[0] >= maxlen:
            return self._padded[1], self._padded[2]
        recurrent = self.lstm.recurrent_kernel.detach()
        units = self.lstm.units
        one = torch.zeros(1, dtype=torch.int64)
        pads = torch.zeros(max(maxlen, 1), dtype=torch.int32)
        anchors_h = [torch.zeros((1, units))]
        anchors_c = [torch.zeros((1, units))]
        for _ in range(maxlen // _ANCHOR):
            h, c = kernels.lstm_last_ids(
                table, pads, one, one + _ANCHOR, one, anchors_h[-1], anchors_c[-1], recurrent, max_threads=1
            )
            anchors_h.append(h)
            anchors_c.append(c)
        k = torch.arange(maxlen + 1, dtype=torch.int64)
        h, c = kernels.lstm_last_ids(
            table,
            pads,
            torch.zeros(maxlen + 1, dtype=torch.int64),
            k % _ANCHOR,
            k // _ANCHOR,
            torch.cat(anchors_h),
            torch.cat(anchors_c),
            recurrent,
        )
        self._padded = (maxlen, h, c)
        return h, c

    # ------------------------------------------------------------------ inference
    def predict(
        self, ids: np.ndarray, offsets: np.ndarray, maxlen: int, padding: str, truncating: str
    ) -> np.ndarray | None:
        """The model's output `(samples, outputs)` for sequences laid end to end (`ids`, int32,
        and `offsets`, as `Vocabulary.encode_flat` gives), padded or truncated to `maxlen` as
        `pad_sequences(..., padding, truncating)` would; or None when these ids need the model's
        own path (an id outside the Embedding, for its error; an id 0 inside a masked row)."""
        if len(ids) and (int(ids.max()) >= self.embedding.input_dim or int(ids.min()) < 0):
            return None
        if self.masked and len(ids) and not ids.all():
            return None  # a 0 inside a text is masked there too: the model's masked path
        lengths = np.diff(offsets)
        kept = np.minimum(lengths, maxlen)
        first = offsets[:-1] + (lengths - kept if truncating == "pre" else 0)
        table = self._refresh()
        units = self.lstm.units
        if self.masked:
            state_rows = np.zeros(len(kept), dtype=np.int64)
            h0 = c0 = torch.zeros((1, units))
        elif padding == "pre" and (maxlen + 1) * units <= MAX_SHARED_PADDING:
            state_rows = maxlen - kept  # padding steps before the first token
            h0, c0 = self._padding_states(table, maxlen)
        else:  # padding after the tokens (or too long to share): run it
            full = np.zeros((len(kept), maxlen), dtype=np.int32)
            rows = np.repeat(np.arange(len(kept)), kept)
            within = np.arange(int(kept.sum())) - np.repeat(np.cumsum(kept) - kept, kept)
            dst = within if padding == "post" else np.repeat(maxlen - kept, kept) + within
            full[rows, dst] = ids[np.repeat(first, kept) + within]
            ids = full.reshape(-1)
            first = np.arange(len(kept), dtype=np.int64) * maxlen
            kept = np.full(len(kept), maxlen, dtype=np.int64)
            state_rows = np.zeros(len(kept), dtype=np.int64)
            h0 = c0 = torch.zeros((1, units))
        with torch.no_grad():
            h, _ = kernels.lstm_last_ids(
                table,
                torch.from_numpy(np.ascontiguousarray(ids, dtype=np.int32)),
                torch.from_numpy(np.ascontiguousarray(first, dtype=np.int64)),
                torch.from_numpy(np.ascontiguousarray(kept, dtype=np.int64)),
                torch.from_numpy(np.ascontiguousarray(state_rows, dtype=np.int64)),
                h0,
                c0,
                self.lstm.recurrent_kernel.detach(),
                max_threads=1 if int(kept.sum()) < SMALL_WORK else 0,
            )
            if self.masked:
                # Keras: a row with no unmasked step outputs zeros; with zero_output_for_mask, any
                # row whose last step is masked does.
                last_used = kept > 0 if padding == "pre" else kept == maxlen
                keep = last_used if self.lstm.zero_output_for_mask else kept > 0
                h = torch.where(torch.from_numpy(keep).unsqueeze(1), h, torch.zeros_like(h))
            out: Any = h
            mask = None
            for layer in self.rest:
                nxt = layer(out, mask=mask, training=False)
                mask = layer.compute_mask(out, mask)
                out = nxt
        return np.asarray(out.detach().numpy(), dtype=np.float32)
