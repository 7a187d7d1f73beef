"""Seconds to read a Keras-format `imdb.npz` (25,000 + 25,000 reviews): textrnn's pickle-opcode
reader as it is against an older version of it, side by side, and numpy's own unpickling
(`np.load(allow_pickle=True)`, what Keras does: it runs the pickle) for scale.

    python benchmarks/keras_npz.py [--old-rev 1e1c0bb] [--repeats 3] [--out keras_npz.json]

The file is synthetic, written once in a temporary folder: IMDB-like review lengths (log-normal,
median ~180 ids, at most 2,500) and Zipf-like word ids up to 88,586, so every int opcode numpy
writes (BININT1, BININT2, BININT) appears, saved with `np.savez_compressed` as Keras's file is.
The old reader is `textrnn/datasets/keras_npz.py` at `--old-rev` (`git show`), loaded as a module
of its own. Each repeat reads the file once with every reader, in turn; the medians are printed
and saved (benchmarks/results/) with every repeat. All readers must give the same lists.
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from textrnn.datasets import keras_npz

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine, save_json  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
NAMES = ("x_train", "y_train", "x_test", "y_test")


def synthetic_npz(folder: Path, reviews: int, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    arrays = {}
    for part in ("train", "test"):
        lengths = np.clip(rng.lognormal(5.2, 0.6, reviews).astype(int), 10, 2500)
        x = np.empty(reviews, dtype=object)
        for i, n in enumerate(lengths):
            x[i] = [1, *np.minimum(rng.zipf(1.3, n - 1) + 3, 88_586).tolist()]
        arrays[f"x_{part}"] = x
        arrays[f"y_{part}"] = rng.integers(0, 2, reviews)
    path = folder / "imdb.npz"
    np.savez_compressed(path, **arrays)
    return path


def old_reader(rev: str, folder: Path):
    source = subprocess.run(
        ["git", "show", f"{rev}:textrnn/datasets/keras_npz.py"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    path = folder / "keras_npz_old.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("keras_npz_old", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # (its dataclasses look their module up there)
    spec.loader.exec_module(module)
    return module


def numpy_unpickle(path: Path) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=True) as f:
        return {k: f[k] for k in NAMES}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--old-rev", default="1e1c0bb", help="git revision of the old reader")
    ap.add_argument("--reviews", type=int, default=25_000, help="reviews in each of train and test")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", default="keras_npz.json")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        path = synthetic_npz(folder, args.reviews)
        readers = {
            "old": old_reader(args.old_rev, folder).load,
            "new": keras_npz.load,
            "numpy_unpickle": lambda p, names: numpy_unpickle(p),
        }
        times: dict[str, list[float]] = {k: [] for k in readers}
        first: dict[str, dict] = {}
        for _ in range(args.repeats):
            for name, read in readers.items():
                t = time.perf_counter()
                arrays = read(path, NAMES)
                times[name].append(time.perf_counter() - t)
                if name not in first:
                    first[name] = {k: v.tolist() for k, v in arrays.items()}
                del arrays
        for name in readers:
            if first[name] != first["numpy_unpickle"]:
                raise SystemExit(f"the {name} reader gives other lists than numpy's unpickling")
        ints = sum(len(r) for k in ("x_train", "x_test") for r in first["new"][k])
        size = path.stat().st_size
    med = {k: statistics.median(v) for k, v in times.items()}
    print(f"{2 * args.reviews} reviews, {ints} ids, {size / 2**20:.1f} MiB compressed")
    print(f"{'reader':<16}{'median s':>10}   repeats")
    for name, v in times.items():
        print(f"{name:<16}{med[name]:>10.3f}   {', '.join(f'{s:.3f}' for s in v)}")
    ratio = med["new"] / med["numpy_unpickle"]
    print(f"old / new: {med['old'] / med['new']:.1f}x   new / numpy_unpickle: {ratio:.2f}x")
    out = save_json(
        {
            "reviews": 2 * args.reviews,
            "ints": ints,
            "old_rev": args.old_rev,
            "repeats": args.repeats,
            "median_s": med,
            "seconds": times,
            "old_over_new": med["old"] / med["new"],
            "new_over_numpy_unpickle": med["new"] / med["numpy_unpickle"],
            "machine": machine(),
        },
        args.out,
    )
    print(f"saved {out}")


if __name__ == "__main__":
    main()
