"""One optimizer step, textrnn's native one-pass kernel against its multi-tensor PyTorch update.

The weights are those of `--preset best`'s IMDB model: an `NGramEmbedding` with 30,000 word rows
and 2 × 262,144 hashed bigram and trigram rows of 100 floats (each table a weight of its own), a
Bi-GRU(64) and the dense head; 55,492,801 floats in all, every one with a gradient each step (Keras's Adam and
RMSprop update every weight, a zero gradient included). Both updates run side by side in rounds,
in one process; each figure is the median over the rounds of the median step time of a round.

    python benchmarks/optimizer_step.py --rounds 5 --out optimizer_step.json
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import save_rows  # noqa: E402

from textrnn.optimizers import Adam, RMSprop  # noqa: E402

GRU = [(100, 192), (64, 192), (2, 192)]  # one direction's kernel, recurrent kernel, biases
SHAPES = [(30_000, 100), (262_144, 100), (262_144, 100), *GRU, *GRU, (256, 1), (1,)]


def step_ms(optimizer: str, mode: str, steps: int) -> float:
    os.environ["TEXTRNN_KERNELS"] = mode
    g = torch.Generator().manual_seed(0)
    params = [torch.nn.Parameter(torch.randn(s, generator=g) * 0.05) for s in SHAPES]
    opt = Adam(learning_rate=0.002) if optimizer == "adam" else RMSprop(learning_rate=0.001)
    opt.build(params)
    for p in params:
        p.grad = torch.randn(p.shape, generator=g) * 1e-3
    times = []
    for _ in range(steps + 2):
        t = time.perf_counter()
        opt.step()
        times.append(time.perf_counter() - t)
    return 1e3 * statistics.median(times[2:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--out", default="optimizer_step.json")
    args = parser.parse_args()
    floats = sum(torch.Size(s).numel() for s in SHAPES)
    rows = []
    for optimizer in ("adam", "rmsprop"):
        got: dict[str, list[float]] = {"native": [], "torch": []}
        for _ in range(args.rounds):
            for mode in got:  # side by side, taking turns
                got[mode].append(step_ms(optimizer, mode, args.steps))
        native, multi = statistics.median(got["native"]), statistics.median(got["torch"])
        rows.append(
            {"optimizer": optimizer, "floats": floats, "native_ms": native, "multi_tensor_ms": multi,
             "speedup": multi / native, "rounds_native_ms": got["native"],
             "rounds_multi_tensor_ms": got["torch"]}
        )  # fmt: skip
        print(
            f"{optimizer:8s} {floats:,} floats: native {native:.1f} ms, "
            f"multi-tensor {multi:.1f} ms ({multi / native:.2f}×)"
        )
    print(f"saved {save_rows('optimizer_step', rows, args.out)}")


if __name__ == "__main__":
    main()
