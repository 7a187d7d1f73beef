"""Fused CPU recurrence kernels (C++/OpenMP) for SimpleRNN, LSTM and GRU, plus the Embedding
gradient and the RMSprop and Adam updates that the tutorial's training step spends much of its time in.

PyTorch's CPU RNN kernels pay dispatcher and autograd overhead at each of hundreds of tiny steps
(a `(128, 32) @ (32, 32)` product per step for the IMDB tutorial). These kernels run the whole
recurrence, forward and hand-written backward, in one C++ call per direction: batch rows are cut
into chunks that the threads take from a shared counter and run for all steps (a thread that
loses its core to another process takes fewer), the per-step products keep their accumulators in
registers, and the recurrent kernel's gradient is one large GEMM at the end.

`recurrent_mask` adds Keras's recurrent dropout (a mask per row, and per gate for LSTM and GRU,
fixed for the sequence) to the fused recurrences; `lstm_last` is the inference-only LSTM that
returns the final states without saving or writing anything per step, and `lstm_last_ids` the same
for an Embedding folded into the LSTM (each step's input projection a row of a table, read by
token id from unpadded sequences). `embedded_projection` folds an Embedding into a recurrent
layer's input projection for training (a table `embeddings @ kernel + bias`, one row per word of
the vocabulary, read by id), and `embedded_rnn` runs the recurrence reading that table's rows
itself, without writing them out per step. The table holds only the rows a batch's ids name when
they are at most half of the vocabulary (a batch of 128 IMDB reviews names about a third of 10,000
words), and its products are taken row by row, each sum over the features in order, so that they
are the same bits at any thread count on every CPU. `mask_windows` finds each row's one run of
unmasked steps in one pass. `TokenTable` is a vocabulary's native hash table, which
`Vocabulary.encode_flat` looks many texts' tokens up in at once.

They take the input projection `xw = x @ kernel + bias` (one big matmul done outside) and Keras's
weight layout, and support left-aligned variable `lengths` (rows stop early, their state frozen),
which is what the masked/bucketed fast path needs. `xw` may be batch-major or time-major (a
`(batch, steps, .)` view of `(steps, batch, .)` memory, faster: each step's rows sit together);
outputs follow its layout. Large outputs and saved activations are recycled between calls
(`empty_cache()` frees them).

The extension is compiled on first use (a C++ compiler and ninja are needed once per machine; see
`textrnn.kernels._build`). Where it cannot be built, `available()` returns False after one warning
and the recurrent layers keep PyTorch's kernels. The kernels are CPU-only: on CUDA the layers use
cuDNN whatever `available()` says.

OpenMP's waiting and thread count are chosen for a shared machine when textrnn is imported
before torch (`textrnn._threads`).

Environment:
    TEXTRNN_KERNELS: `auto` (default: native when it builds), `native` (required: failing to build
        raises `KernelUnavailableError`), or `torch` (never build; PyTorch's kernels).
    TEXTRNN_HOME: where builds are cached (`$TEXTRNN_HOME/kernels`, else
        `~/.cache/textrnn/kernels`).

Example:
>>> import torch, textrnn.kernels as K
>>> if K.available():
...     out, h = K.simple_rnn(torch.randn(4, 10, 8), torch.zeros(4, 8), torch.eye(8) * 0.5)
"""

from __future__ import annotations

from textrnn.kernels._functions import (
    TokenTable,
    adam_update_,
    dense_product,
    embedded_projection,
    embedded_rnn,
    embedding_backward,
    fused_lanes,
    gru,
    invariant_products,
    lstm,
    lstm_last,
    lstm_last_ids,
    mask_windows,
    products_invariant,
    project,
    rmsprop_update_,
    simple_rnn,
)
from textrnn.kernels._loader import available, build_info, empty_cache, mode, threads_chosen_by_user

__all__ = [
    "TokenTable",
    "available",
    "build_info",
    "dense_product",
    "embedding_backward",
    "mask_windows",
    "empty_cache",
    "fused_lanes",
    "gru",
    "invariant_products",
    "lstm",
    "lstm_last",
    "lstm_last_ids",
    "mode",
    "products_invariant",
    "embedded_rnn",
    "embedded_projection",
    "project",
    "adam_update_",
    "rmsprop_update_",
    "simple_rnn",
    "threads_chosen_by_user",
]
