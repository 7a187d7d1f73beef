"""Forward + backward seconds of one batch: textrnn's native kernels against PyTorch's fused ones.

    python benchmarks/kernels_micro.py [--batch 128 --steps 500 --features 32 --units 32
                                        --repeats 15 --threads N --out benchmarks/results/...]

Each layer runs the Keras tutorial's shape, (batch, steps, features) -> units, with the last state
as output (return_sequences=False) and `h_last.sum()` as the loss, so both sides include the input
projection and its gradient:

- "exact": every row runs all steps. native = `x @ kernel + bias` (time-major) and
  `textrnn.kernels.<cell>`; torch = `torch.rnn_tanh` / `torch.lstm` / `torch.gru` (oneDNN/MKL).
- "lengths": rows of IMDB-like lengths (mean ~235 of 500 steps), left-aligned. native = the same
  kernels with `lengths`; torch = a packed sequence through the same fused calls.

Prints a table and writes the medians (and every repeat) as JSON.

`--schedules` instead times the native kernels with their two ways of splitting rows over
threads, alternating one repeat of each: "dynamic" (chunks of rows taken from a shared counter, the
default) and "static" (one fixed set of rows per thread, as before). `--busy N` runs N busy
Python processes during the measurement (stopped after it), to see how each copes with a CPU
taken by another process:

    python benchmarks/kernels_micro.py --schedules --busy 1 --layers lstm,simple_rnn
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch
from torch.nn.utils.rnn import pack_padded_sequence

import textrnn.kernels as K
from textrnn.kernels import _loader

GATES = {"simple_rnn": 1, "lstm": 4, "gru": 3}


def _weights(kind: str, features: int, units: int) -> dict[str, torch.Tensor]:
    g = GATES[kind]
    w = {
        "kernel": torch.randn(features, g * units) / features**0.5,
        "recurrent_kernel": torch.randn(units, g * units) / units**0.5,
        "bias": torch.zeros(g * units),
    }
    if kind == "gru":
        w["recurrent_bias"] = torch.zeros(g * units)
    return {k: v.requires_grad_() for k, v in w.items()}


def native_step(
    kind: str, x: torch.Tensor, w: dict[str, torch.Tensor], lengths: torch.Tensor | None
) -> Callable[[], None]:
    batch, units = x.shape[0], w["recurrent_kernel"].shape[0]
    h0 = torch.zeros(batch, units)

    def run() -> None:
        # Time-major projection, as textrnn's layers compute it for the kernels.
        xw = torch.nn.functional.linear(x.transpose(0, 1), w["kernel"].t(), w["bias"]).transpose(0, 1)
        if kind == "simple_rnn":
            _, h = K.simple_rnn(xw, h0, w["recurrent_kernel"], lengths)
        elif kind == "lstm":
            _, h, _ = K.lstm(xw, h0, h0, w["recurrent_kernel"], lengths)
        else:
            _, h = K.gru(xw, h0, w["recurrent_kernel"], w["recurrent_bias"], lengths)
        h.sum().backward()

    return run


def torch_step(
    kind: str, x: torch.Tensor, w: dict[str, torch.Tensor], lengths: torch.Tensor | None
) -> Callable[[], None]:
    batch, units = x.shape[0], w["recurrent_kernel"].shape[0]
    h0 = torch.zeros(1, batch, units)

    def run() -> None:
        # PyTorch's layout: (G * units, in); gate order differs from Keras but costs the same.
        rb = w.get("recurrent_bias", torch.zeros_like(w["bias"]))
        flat = [w["kernel"].t(), w["recurrent_kernel"].t(), w["bias"], rb]
        if lengths is None:
            data, sizes = x, None
        else:
            packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
            data, sizes = packed.data, packed.batch_sizes
        res: tuple[torch.Tensor, ...]
        if kind == "lstm":
            hx = (h0, h0)
            res = (
                torch.lstm(data, hx, flat, True, 1, 0.0, True, False, True)
                if sizes is None
                else torch.lstm(data, sizes, hx, flat, True, 1, 0.0, True, False)
            )
        else:
            fn = torch.rnn_tanh if kind == "simple_rnn" else torch.gru
            res = (
                fn(data, h0, flat, True, 1, 0.0, True, False, True)
                if sizes is None
                else fn(data, sizes, h0, flat, True, 1, 0.0, True, False)
            )
        res[1].sum().backward()

    return run


def measure(fn: Callable[[], None], repeats: int) -> list[float]:
    fn()  # warm up (allocator, oneDNN primitive caches)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def imdb_like_lengths(batch: int, steps: int, gen: torch.Generator) -> torch.Tensor:
    """Review lengths in tokens: log-normal, median 200, mean ~235 once clipped to [10, steps]."""
    raw = torch.exp(torch.randn(batch, generator=gen) * 0.75 + 5.3)
    return raw.round().clamp(10, steps).to(torch.int64)


def _write_json(path: Path, payload: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(payload, f, indent=2)
            f.write("\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


SPIN = "import time, sys\nend = time.monotonic() + float(sys.argv[1])\nwhile time.monotonic() < end: pass"


def schedules(args: argparse.Namespace, x: torch.Tensor, lengths: torch.Tensor) -> list[dict]:
    """Dynamic against static row splitting, one repeat of each in turn, medians."""
    ext = _loader.extension()
    assert ext is not None
    print(f"{'layer':<11}{'mode':<9}{'dynamic':>11}{'static':>11}{'static/dyn':>12}")
    rows = []
    for kind in args.layers.split(","):
        w = _weights(kind, args.features, args.units)
        for mode, lens in (("exact", None), ("lengths", lengths)):
            step = native_step(kind, x, w, lens)
            step()
            times: dict[str, list[float]] = {"dynamic": [], "static": []}
            try:
                for _ in range(args.repeats):
                    for name, chunk in (("dynamic", -1), ("static", 0)):
                        ext.set_chunk_rows(chunk)
                        start = time.perf_counter()
                        step()
                        times[name].append(time.perf_counter() - start)
            finally:
                ext.set_chunk_rows(-1)
            dyn, sta = statistics.median(times["dynamic"]), statistics.median(times["static"])
            print(f"{kind:<11}{mode:<9}{dyn * 1e3:>8.2f} ms{sta * 1e3:>8.2f} ms{sta / dyn:>11.2f}x")
            rows.append(
                {
                    "layer": kind,
                    "mode": mode,
                    "dynamic_s": dyn,
                    "static_s": sta,
                    "dynamic_all_s": times["dynamic"],
                    "static_all_s": times["static"],
                }
            )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--features", type=int, default=32)
    parser.add_argument("--units", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: as is)")
    parser.add_argument("--layers", default="simple_rnn,lstm,gru")
    parser.add_argument("--schedules", action="store_true", help="dynamic against static row splitting")
    parser.add_argument("--busy", type=int, default=0, help="busy processes running beside the measurement")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "kernels_micro.json")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if not K.available():
        raise SystemExit(f"native kernels unavailable: {K.build_info()['error']}")
    info = K.build_info()
    load_before = os.getloadavg() if hasattr(os, "getloadavg") else None
    gen = torch.Generator().manual_seed(0)
    torch.manual_seed(0)
    x = torch.randn(args.batch, args.steps, args.features, generator=gen)
    lengths = imdb_like_lengths(args.batch, args.steps, gen)
    print(
        f"batch {args.batch}, steps {args.steps}, features {args.features}, units {args.units}; "
        f"{torch.get_num_threads()} threads; forward + backward, median of {args.repeats}"
    )
    print(f"lengths: mean {lengths.float().mean():.0f}, max {int(lengths.max())}")
    spinners = [subprocess.Popen([sys.executable, "-c", SPIN, "1800"]) for _ in range(max(0, args.busy))]
    try:
        rows = schedules(args, x, lengths) if args.schedules else compare(args, x, lengths)
    finally:
        for proc in spinners:
            proc.kill()
            proc.wait()
    payload = {
        "benchmark": "kernels_micro_schedules" if args.schedules else "kernels_micro",
        "busy_processes": args.busy,
        "config": {
            "batch": args.batch,
            "steps": args.steps,
            "features": args.features,
            "units": args.units,
            "repeats": args.repeats,
            "threads": torch.get_num_threads(),
            "mean_length": float(lengths.float().mean()),
        },
        "machine": {
            "processor": platform.processor() or platform.machine(),
            "cpus": os.cpu_count(),
            "torch": torch.__version__,
            "kernel_flags": info["flags"],
            # Other processes on a shared machine skew timings, threaded ones most.
            "load_average_1min_before_after": [
                load_before[0] if load_before else None,
                os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
            ],
        },
        "results": rows,
    }
    _write_json(args.out, payload)
    print(f"written to {args.out}")


def compare(args: argparse.Namespace, x: torch.Tensor, lengths: torch.Tensor) -> list[dict]:
    """Native against PyTorch's kernels, medians."""
    print(f"{'layer':<11}{'mode':<9}{'native':>11}{'torch':>11}{'speed-up':>10}")
    rows = []
    for kind in args.layers.split(","):
        w = _weights(kind, args.features, args.units)
        for mode, lens in (("exact", None), ("lengths", lengths)):
            t_native = measure(native_step(kind, x, w, lens), args.repeats)
            t_torch = measure(torch_step(kind, x, w, lens), args.repeats)
            med_n, med_t = statistics.median(t_native), statistics.median(t_torch)
            print(f"{kind:<11}{mode:<9}{med_n * 1e3:>8.2f} ms{med_t * 1e3:>8.2f} ms{med_t / med_n:>9.1f}x")
            rows.append(
                {
                    "layer": kind,
                    "mode": mode,
                    "native_s": med_n,
                    "torch_s": med_t,
                    "speedup": med_t / med_n,
                    "native_all_s": t_native,
                    "torch_all_s": t_torch,
                }
            )
    return rows


if __name__ == "__main__":
    main()
