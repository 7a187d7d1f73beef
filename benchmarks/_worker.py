"""One training run of the tutorial's model, in its own process (so that peak memory is its own).

Used by `imdb_tutorial.py` and `vs_keras.py`; not meant to be run by hand:

    python benchmarks/_worker.py --framework textrnn|textrnn-fast|keras-tensorflow|keras-jax \
        --rnn simple_rnn|lstm|gru --data arrays.npz --epochs 10 --out result.json

The tutorial's configuration: Embedding(10000, 32) -> RNN(32) -> Dense(1, sigmoid), rmsprop,
binary cross-entropy, batch 128, validation_split 0.2, on arrays padded to 500 steps.
`textrnn-fast` is the same model and data with `Embedding(mask_zero=True)` and
`fit(bucket_by_length=True)`: padding is skipped instead of computed.

`--recipe ema` trains the same model with the weight average the accuracy docs recommend, in code
that is the same for both libraries: `RMSprop(use_ema=True, ema_momentum=0.98,
ema_overwrite_frequency=<steps per epoch>)` and `EarlyStopping(patience=2, restore_best_weights=True)`.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import resource
import sys
import time
from pathlib import Path


def peak_rss_mib() -> float:
    # ru_maxrss is in KiB on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def recipe(optimizers, callbacks, args: argparse.Namespace, samples: int) -> tuple:
    """`(optimizer, callbacks)` of `args.recipe`, built from either library's modules."""
    if args.recipe == "tutorial":
        return "rmsprop", []
    steps_per_epoch = math.ceil(math.floor(samples * 0.8) / 128)  # validation_split=0.2, batch_size=128
    optimizer = optimizers.RMSprop(use_ema=True, ema_momentum=0.98, ema_overwrite_frequency=steps_per_epoch)
    return optimizer, [callbacks.EarlyStopping(patience=2, restore_best_weights=True)]


def run_textrnn(args: argparse.Namespace, data: dict) -> dict:
    import torch

    from textrnn import callbacks, layers, optimizers
    from textrnn.callbacks import Callback
    from textrnn.models import Sequential
    from textrnn.utils import set_random_seed

    set_random_seed(args.seed)
    fast = args.framework == "textrnn-fast"
    rnn = {"simple_rnn": layers.SimpleRNN, "lstm": layers.LSTM, "gru": layers.GRU}[args.rnn]
    model = Sequential(
        [layers.Embedding(10000, 32, mask_zero=fast), rnn(32), layers.Dense(1, activation="sigmoid")]
    )
    optimizer, extra_callbacks = recipe(optimizers, callbacks, args, len(data["x_train"]))
    model.compile(optimizer=optimizer, loss="binary_crossentropy", metrics=["acc"])

    times: list[float] = []

    class Timer(Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.t0 = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            times.append(time.perf_counter() - self.t0)

    extra = {"bucket_by_length": True} if fast else {}
    hist = model.fit(
        data["x_train"],
        data["y_train"],
        epochs=args.epochs,
        batch_size=128,
        validation_split=0.2,
        callbacks=[Timer(), *extra_callbacks],
        verbose=args.verbose,
        **extra,
    )
    t0 = time.perf_counter()
    test_loss, test_acc = model.evaluate(data["x_test"], data["y_test"], batch_size=1024, verbose=0)
    eval_s = time.perf_counter() - t0
    return {
        "epoch_seconds": times,
        "val_acc": [float(v) for v in hist.history["val_acc"]],
        "val_loss": [float(v) for v in hist.history["val_loss"]],
        "acc": [float(v) for v in hist.history["acc"]],
        "test_acc": float(test_acc),
        "test_loss": float(test_loss),
        "test_eval_seconds": eval_s,
        "threads": torch.get_num_threads(),
        "versions": {"torch": torch.__version__},
    }


def run_keras(args: argparse.Namespace, data: dict) -> dict:
    backend = args.framework.split("-", 1)[1]
    os.environ["KERAS_BACKEND"] = backend
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras

    keras.utils.set_random_seed(args.seed)
    rnn = {"simple_rnn": keras.layers.SimpleRNN, "lstm": keras.layers.LSTM, "gru": keras.layers.GRU}[args.rnn]
    model = keras.Sequential(
        [keras.layers.Embedding(10000, 32), rnn(32), keras.layers.Dense(1, activation="sigmoid")]
    )
    optimizer, extra_callbacks = recipe(keras.optimizers, keras.callbacks, args, len(data["x_train"]))
    model.compile(optimizer=optimizer, loss="binary_crossentropy", metrics=["acc"])
    times: list[float] = []

    class Timer(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.t0 = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            times.append(time.perf_counter() - self.t0)

    hist = model.fit(
        data["x_train"],
        data["y_train"],
        epochs=args.epochs,
        batch_size=128,
        validation_split=0.2,
        callbacks=[Timer(), *extra_callbacks],
        verbose=args.verbose,
    )
    t0 = time.perf_counter()
    test_loss, test_acc = model.evaluate(data["x_test"], data["y_test"], batch_size=1024, verbose=0)
    eval_s = time.perf_counter() - t0
    versions = {"keras": keras.__version__}
    if backend == "tensorflow":
        import tensorflow as tf

        versions["tensorflow"] = tf.__version__
    else:
        import jax

        versions["jax"] = jax.__version__
    return {
        "epoch_seconds": times,
        "val_acc": [float(v) for v in hist.history["val_acc"]],
        "val_loss": [float(v) for v in hist.history["val_loss"]],
        "acc": [float(v) for v in hist.history["acc"]],
        "test_acc": float(test_acc),
        "test_loss": float(test_loss),
        "test_eval_seconds": eval_s,
        "versions": versions,
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument(
        "--framework", required=True, choices=["textrnn", "textrnn-fast", "keras-tensorflow", "keras-jax"]
    )
    p.add_argument("--rnn", required=True, choices=["simple_rnn", "lstm", "gru"])
    p.add_argument("--data", required=True, type=Path)
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--verbose", type=int, default=0)
    p.add_argument("--recipe", choices=["tutorial", "ema"], default="tutorial")
    p.add_argument("--out", required=True, type=Path)
    args = p.parse_args()

    import numpy as np

    with np.load(args.data) as f:
        data = {k: f[k] for k in f.files}
    t0 = time.perf_counter()
    result = run_keras(args, data) if args.framework.startswith("keras") else run_textrnn(args, data)
    result.update(
        framework=args.framework,
        rnn=args.rnn,
        epochs=args.epochs,
        seed=args.seed,
        recipe=args.recipe,
        wall_seconds=time.perf_counter() - t0,
        peak_rss_mib=peak_rss_mib(),
        python=sys.version.split()[0],
        machine=platform.machine(),
        cpus=os.cpu_count(),
    )
    tmp = args.out.with_suffix(".tmp")
    tmp.write_text(json.dumps(result, indent=2))
    os.replace(tmp, args.out)


if __name__ == "__main__":
    main()
