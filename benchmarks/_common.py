"""Shared pieces of the IMDB benchmarks: the arrays, the worker process, the summaries."""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"


def prepare_arrays(folder: Path, num_words: int = 10000, maxlen: int = 500) -> Path:
    """The tutorial's arrays, made once with textrnn's Keras-convention loader and saved for the workers."""
    import numpy as np

    from textrnn.datasets import imdb
    from textrnn.preprocessing.sequence import pad_sequences

    (x_train, y_train), (x_test, y_test) = imdb.load_data(num_words=num_words)
    out = folder / f"imdb_{num_words}_{maxlen}.npz"
    np.savez(
        out,
        x_train=pad_sequences(list(x_train), maxlen=maxlen),
        y_train=np.asarray(y_train, dtype="float32"),
        x_test=pad_sequences(list(x_test), maxlen=maxlen),
        y_test=np.asarray(y_test, dtype="float32"),
    )
    return out


def run_worker(
    python: str,
    framework: str,
    rnn: str,
    data: Path,
    epochs: int,
    seed: int,
    workdir: Path,
    verbose: int = 0,
    lock: str | None = None,
    recipe: str = "tutorial",
) -> dict:
    """Run one training in a fresh process; with `lock`, hold that file's flock while it runs (so that
    other heavy jobs on a shared machine that take the same lock never run beside a measurement).

    A Keras worker gets the environment without the OpenMP settings textrnn chose for itself
    (`textrnn._threads`), so each library runs with its own defaults."""
    if lock:
        import fcntl

        with open(lock, "a") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                return run_worker(python, framework, rnn, data, epochs, seed, workdir, verbose, recipe=recipe)
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)
    out = workdir / f"{framework}_{rnn}_{seed}.json"
    cmd = [
        python,
        str(HERE / "_worker.py"),
        "--framework",
        framework,
        "--rnn",
        rnn,
        "--data",
        str(data),
        "--epochs",
        str(epochs),
        "--seed",
        str(seed),
        "--out",
        str(out),
        "--verbose",
        str(verbose),
        "--recipe",
        recipe,
    ]
    env = dict(os.environ)
    if framework.startswith("keras"):
        from textrnn import _threads

        for name, value in _threads.set_by_textrnn.items():
            if env.get(name) == value:
                del env[name]
    env["PYTHONPATH"] = str(HERE.parent) + os.pathsep + env.get("PYTHONPATH", "")
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        print(proc.stdout[-2000:], proc.stderr[-4000:], file=sys.stderr)
        return {
            "framework": framework,
            "rnn": rnn,
            "error": proc.stderr[-2000:],
            "wall_seconds": time.perf_counter() - t0,
        }
    return json.loads(out.read_text())


def summarise(r: dict) -> dict:
    """Median seconds per epoch over the epochs after the first, best validation accuracy, test accuracy."""
    if "error" in r:
        return {"framework": r["framework"], "rnn": r["rnn"], "error": True}
    secs = r["epoch_seconds"]
    steady = secs[1:] if len(secs) > 1 else secs
    return {
        "framework": r["framework"],
        "rnn": r["rnn"],
        "median_epoch_s": statistics.median(steady),
        "first_epoch_s": secs[0],
        "best_val_acc": max(r["val_acc"]),
        "best_epoch": 1 + r["val_acc"].index(max(r["val_acc"])),
        "final_val_acc": r["val_acc"][-1],
        "epochs_run": len(secs),
        "test_acc": r["test_acc"],
        "peak_rss_mib": r["peak_rss_mib"],
    }


def machine() -> dict:
    info = {
        "platform": platform.platform(),
        "processor": platform.processor(),
        "cpus": os.cpu_count(),
        "python": sys.version.split()[0],
    }
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu_model"] = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return info


def save_json(obj: dict, name: str) -> Path:
    """Write `obj` to `benchmarks/results/NAME` (a bare file name) or to the path `name` (one with a
    folder in it, relative to the working directory), through a temporary file renamed into place."""
    path = Path(name) if Path(name).parent != Path(".") else RESULTS / name
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False, suffix=".tmp") as f:
        json.dump(obj, f, indent=2)
    try:
        os.replace(f.name, path)
    except OSError:
        os.unlink(f.name)
        raise
    return path


# The Keras tutorial's model and batch shape, for the in-process benchmarks of a training batch.
TUTORIAL_VOCAB, TUTORIAL_DIM, TUTORIAL_UNITS, TUTORIAL_STEPS = 10_000, 32, 32, 500


IDS = ("uniform", "imdb-like")


def tutorial_arrays(fast: bool, rows: int, ids: str = "uniform"):  # -> tuple[np.ndarray, np.ndarray]
    """`rows` reviews of 500 random ids and their labels; `fast` pads them in front to IMDB-like
    lengths (median ~175 tokens, capped at 500), for mask_zero and length buckets. `ids`:
    "uniform" draws every id alike (a batch of 128 names ~9,000 of the 10,000), "imdb-like" by
    Zipf's law (id r with probability ~1/r, as words' ranks go), so that a batch names a few
    thousand, as real reviews do (IMDB's: a median of 3,457 per bucketed batch)."""
    import numpy as np

    if ids not in IDS:
        raise ValueError(f"`ids` must be one of {IDS}, got {ids!r}.")
    rng = np.random.default_rng(0)
    if ids == "uniform":
        x = rng.integers(1, TUTORIAL_VOCAB, size=(rows, TUTORIAL_STEPS))
    else:
        ranks = np.arange(1, TUTORIAL_VOCAB)
        x = rng.choice(ranks, size=(rows, TUTORIAL_STEPS), p=(1.0 / ranks) / (1.0 / ranks).sum())
    if fast:
        lengths = np.minimum(TUTORIAL_STEPS, rng.lognormal(5.2, 0.6, size=rows).astype(int) + 10)
        for i, n in enumerate(lengths):
            x[i, : TUTORIAL_STEPS - n] = 0
    return x, rng.integers(0, 2, size=rows).astype("float32")


def tutorial_model(kind: str, fast: bool):  # -> textrnn.models.Sequential
    """Embedding(10000, 32, mask_zero=fast) -> SimpleRNN / LSTM / GRU(32) -> Dense(1, sigmoid),
    compiled as the tutorial compiles it (rmsprop, binary cross-entropy, acc), seed 0."""
    import torch

    from textrnn import layers
    from textrnn.models import Sequential

    rnn = {"simple_rnn": layers.SimpleRNN, "lstm": layers.LSTM, "gru": layers.GRU}[kind]
    torch.manual_seed(0)
    model = Sequential(
        [
            layers.Embedding(TUTORIAL_VOCAB, TUTORIAL_DIM, mask_zero=fast),
            rnn(TUTORIAL_UNITS),
            layers.Dense(1, activation="sigmoid"),
        ]
    )
    model.compile(optimizer="rmsprop", loss="binary_crossentropy", metrics=["acc"])
    return model


def save_rows(benchmark: str, rows: list[dict], name: str) -> Path:
    """`save_json` of a benchmark's rows with the machine, the thread count and the time it finished."""
    import torch

    return save_json(
        {
            "benchmark": benchmark,
            "machine": machine(),
            "threads": torch.get_num_threads(),
            "finished": time.strftime("%Y-%m-%dT%H:%M:%S"),
            "rows": rows,
        },
        name,
    )


def proc_status(keys: tuple[str, ...] = ("RssAnon", "RssFile", "VmHWM")) -> dict[str, int]:
    """These `/proc/self/status` fields of this process, in KiB."""
    out = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in keys:
            out[key] = int(value.split()[0])
    return out


class PeakMemory:
    """The peak anonymous and file-backed resident memory of this process between `start()` and
    `stop()` (or inside a `with` block), sampled every 50 ms by a thread (the pages of a
    memory-mapped file count as file pages, which the kernel can drop), as the `peak_rss_*_mib`
    and `vm_hwm_mib` fields of a row."""

    def __init__(self) -> None:
        import threading

        self.peak = {"RssAnon": 0, "RssFile": 0}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.is_set():
            now = proc_status()
            for k in self.peak:
                self.peak[k] = max(self.peak[k], now.get(k, 0))
            time.sleep(0.05)

    def start(self) -> PeakMemory:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def __enter__(self) -> PeakMemory:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def fields(self) -> dict[str, float]:
        return {
            "peak_rss_anon_mib": round(self.peak["RssAnon"] / 1024, 1),
            "peak_rss_file_mib": round(self.peak["RssFile"] / 1024, 1),
            "vm_hwm_mib": round(proc_status()["VmHWM"] / 1024, 1),
        }


def epoch_clock():
    """A callback recording each epoch's wall seconds in `.seconds` (imports textrnn when called)."""
    from textrnn.callbacks import Callback

    class EpochClock(Callback):
        def __init__(self) -> None:
            super().__init__()
            self.seconds: list[float] = []

        def on_epoch_begin(self, epoch, logs=None):
            self.t0 = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.seconds.append(time.perf_counter() - self.t0)

    return EpochClock()
