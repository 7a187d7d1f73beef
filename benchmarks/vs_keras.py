"""textrnn against Keras (TensorFlow and JAX backends) on the tutorial's IMDB configuration.

Each run is a fresh process (its peak RSS is its own); the frameworks take turns layer by layer, on the
same padded arrays. Reported per layer: median seconds per epoch over the epochs after the first, the
faster Keras backend's median divided by textrnn's, best validation and final test accuracy, peak RSS.

    pip install -e '.[bench]'          # keras, tensorflow-cpu, jax (benchmarks only)
    TEXTRNN_IMDB=../shared/data/aclImdb_v1.tar.gz python benchmarks/vs_keras.py --epochs 10

`--recipe ema` trains the tutorial model with Keras's weight average and early stopping instead
(`docs/accuracy.md`), written once for both libraries.

Keras may live in another environment: `--keras-python /path/to/python` (that interpreter needs
keras, tensorflow and jax; textrnn is only imported by the textrnn runs).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine, prepare_arrays, run_worker, save_json, summarise  # noqa: E402

FRAMEWORKS = ["textrnn", "textrnn-fast", "keras-jax", "keras-tensorflow"]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--rnn", nargs="+", default=["simple_rnn", "lstm", "gru"])
    p.add_argument("--frameworks", nargs="+", default=FRAMEWORKS, choices=FRAMEWORKS)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--lock", default=None, help="a lock file held (flock) during each training run")
    p.add_argument("--keras-python", default=sys.executable)
    p.add_argument("--recipe", choices=["tutorial", "ema"], default="tutorial",
                   help="tutorial: 10 plain epochs; ema: + RMSprop(use_ema=True, ema_momentum=0.98) averaged every "
                        "epoch and EarlyStopping(patience=2, restore_best_weights=True), the same code in both libraries")
    p.add_argument("--out", default="vs_keras.json")
    args = p.parse_args()

    runs: list[dict] = []
    with tempfile.TemporaryDirectory() as tmp:
        data = prepare_arrays(Path(tmp))
        for rnn in args.rnn:
            for fw in args.frameworks:
                python = args.keras_python if fw.startswith("keras") else sys.executable
                print(f"[{rnn}] {fw} ...", flush=True)
                r = run_worker(python, fw, rnn, data, args.epochs, args.seed, Path(tmp),
                               lock=args.lock, recipe=args.recipe)
                runs.append(r)
                s = summarise(r)
                if "error" not in s:
                    print(f"    {s['median_epoch_s']:.2f} s/epoch, best val_acc {s['best_val_acc']:.4f}, "
                          f"test_acc {s['test_acc']:.4f}, peak RSS {s['peak_rss_mib']:.0f} MiB", flush=True)
    summaries = [summarise(r) for r in runs]
    table = []
    for rnn in args.rnn:
        rows = {s["framework"]: s for s in summaries if s["rnn"] == rnn and "error" not in s}
        keras = [rows[k] for k in ("keras-jax", "keras-tensorflow") if k in rows]
        best_keras = min(keras, key=lambda s: s["median_epoch_s"]) if keras else None
        for fw in ("textrnn", "textrnn-fast"):
            if fw in rows and best_keras:
                rows[fw]["speedup_vs_faster_keras"] = best_keras["median_epoch_s"] / rows[fw]["median_epoch_s"]
                rows[fw]["faster_keras"] = best_keras["framework"]
        table.extend(rows.values())
    result = {"benchmark": "vs_keras", "epochs": args.epochs, "seed": args.seed, "recipe": args.recipe, "machine": machine(),
              "summary": table, "runs": runs}
    path = save_json(result, args.out)
    print()
    print("| layer | framework | s/epoch (median) | × faster Keras | epochs | best val acc | test acc | peak RSS MiB |")
    print("|---|---|---|---|---|---|---|---|")
    for s in table:
        sp = s.get("speedup_vs_faster_keras")
        print(f"| {s['rnn']} | {s['framework']} | {s['median_epoch_s']:.2f} | "
              f"{'' if sp is None else f'{sp:.2f}×'} | {s['epochs_run']} | {s['best_val_acc']:.4f} | {s['test_acc']:.4f} | "
              f"{s['peak_rss_mib']:.0f} |")
    print(f"\nsaved {path}")


if __name__ == "__main__":
    main()
