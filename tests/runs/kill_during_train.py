"""Run `textrnn.runs.train` in this process and SIGKILL it at a named point of a write.

    python kill_during_train.py POINT N OPTIONS_JSON OUT

The points are found through `os.replace`, the rename every atomic write of textrnn ends with,
so they do not depend on how the run-folder code is arranged:

- `checkpoint`: right after the N-th checkpoint (`checkpoint/state.json`) is in place;
- `model-swap`: between the two renames of the N-th swap of a new `model/` (the old one renamed
  aside, the new one not yet in place);
- `history`: just before the N-th `history.json` is put in place.
"""

import json
import os
import signal
import sys
from pathlib import Path

import torch

torch.set_num_threads(1)

import textrnn.fileio  # noqa: E402
from textrnn.runs import TrainOptions, train  # noqa: E402

point, n, options, out = sys.argv[1], int(sys.argv[2]), json.loads(sys.argv[3]), sys.argv[4]
real_replace = os.replace
seen = {"checkpoint": 0, "model-swap": 0, "history": 0}


def die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def replace(src, dst, *args, **kwargs):
    d = Path(dst)
    aside = not d.exists() and any(d.parent.glob(f".{d.name}.old-*"))
    if point == "model-swap" and d.name == "model" and aside:
        seen[point] += 1
        if seen[point] == n:
            die()
    if point == "history" and d.name == "history.json":
        seen[point] += 1
        if seen[point] == n:
            die()
    real_replace(src, dst, *args, **kwargs)
    if point == "checkpoint" and d.name == "state.json" and d.parent.name == "checkpoint":
        seen[point] += 1
        if seen[point] == n:
            die()


os.replace = replace
if point == "model-swap":
    # Where the system swaps two folders atomically there is no moment between two renames;
    # the window exists in the two-rename fallback, which other systems use: test that one.
    textrnn.fileio._exchange = lambda a, b: False
train(TrainOptions(**options), out, verbose=0)
