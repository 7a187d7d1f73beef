"""Where a training batch of the tutorial models goes: what is left after the fused kernels.

    python benchmarks/profile_step.py [--layers simple_rnn,lstm,gru --modes exact,fast
                                       --batches 30 --ids uniform|imdb-like --out profile_step.json]

The Keras tutorial's models (Embedding(10000, 32) -> RNN(32) -> Dense(1, sigmoid), rmsprop,
batches of 128, 500 steps of random ids; "fast" masks the padding of reviews of IMDB-like
lengths with mask_zero=True and bucket_by_length=True), one `fit` of `--batches` batches under
`torch.profiler` after one unprofiled warm-up `fit` (`--ids`: see `_common.tutorial_arrays`).
Each operator's self time (on the calling
thread; the kernels' own threads work inside it) is put in a group, in milliseconds per batch:

- recurrence forward / backward: the fused kernels' autograd functions (`_EmbeddedRecurrence`
  reads the projection table; its backward also takes the recurrent kernel's gradient and the
  table's gradient, `embedding_backward` and `grad_tn`);
- projection table: PyTorch's `aten::mm` (the fold's table products, `embeddings @ kernel + bias` and
  `d_table @ kernel^T`, ran there before `projection_table`; they now count in the recurrence's rows);
- optimizer: RMSprop's step and zero_grad;
- dense, loss and metrics: everything else PyTorch runs (the Dense head, the loss, `acc`, copies);
- outside operators: the batch's wall time minus all of the above (Python: the training loop,
  batching, callbacks, autograd's bookkeeping).

The profiler adds its own cost per operator, so the total is a little above an unprofiled batch
(also printed, from a second `fit` without the profiler).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from torch.profiler import ProfilerActivity, profile

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import IDS, save_rows, tutorial_arrays, tutorial_model  # noqa: E402

from textrnn.models import Sequential  # noqa: E402

BATCH = 128
RECURRENCES = ("_EmbeddedRecurrence", "_EmbeddedProjection", "_LSTM", "_GRU", "_SimpleRNN", "_Projection")


def _group(name: str) -> str:
    if name.endswith("Backward") and name.removesuffix("Backward") in RECURRENCES:
        return "recurrence backward"
    if name in RECURRENCES:
        return "recurrence forward"
    if name.startswith("Optimizer."):
        return "optimizer"
    if name == "aten::mm":
        return "projection table"
    return "dense, loss and metrics"


def _fit(model: Sequential, x: np.ndarray, y: np.ndarray, fast: bool) -> float:
    start = time.perf_counter()
    model.fit(x, y, epochs=1, batch_size=BATCH, verbose=0, shuffle=False, bucket_by_length=fast)
    return time.perf_counter() - start


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--layers", default="simple_rnn,lstm,gru")
    p.add_argument("--modes", default="exact,fast")
    p.add_argument("--batches", type=int, default=30)
    p.add_argument("--ids", default="uniform", choices=IDS)
    p.add_argument("--out", default="profile_step.json")
    args = p.parse_args()
    rows = []
    for kind in args.layers.split(","):
        for mode in args.modes.split(","):
            fast = mode == "fast"
            x, y = tutorial_arrays(fast, BATCH * args.batches, args.ids)
            model = tutorial_model(kind, fast)
            _fit(model, x[: 2 * BATCH], y[: 2 * BATCH], fast)  # warm-up: the build, the buffers
            with profile(activities=[ProfilerActivity.CPU]) as prof:
                wall = _fit(model, x, y, fast)
            plain = _fit(model, x, y, fast)
            groups: dict[str, float] = {}
            for event in prof.key_averages():
                group = _group(event.key)
                groups[group] = groups.get(group, 0.0) + event.self_cpu_time_total / 1e3  # ms
            per_batch = {g: ms / args.batches for g, ms in groups.items()}
            wall_ms = wall * 1e3 / args.batches
            per_batch["outside operators"] = max(0.0, wall_ms - sum(per_batch.values()))
            row = {
                "layer": kind, "mode": mode, "batches": args.batches, "ids": args.ids,
                "profiled_ms_per_batch": wall_ms, "unprofiled_ms_per_batch": plain * 1e3 / args.batches,
                "ms_per_batch": dict(sorted(per_batch.items(), key=lambda kv: -kv[1])),
            }  # fmt: skip
            rows.append(row)
            print(
                f"{kind} {mode}: {wall_ms:.2f} ms/batch profiled, "
                f"{row['unprofiled_ms_per_batch']:.2f} without",
                flush=True,
            )
            for group, ms in row["ms_per_batch"].items():
                print(f"    {group:26s} {ms:7.2f} ms  {100 * ms / wall_ms:5.1f}%")
    path = save_rows("profile_step", rows, args.out)
    print(f"saved {path}")


if __name__ == "__main__":
    main()
