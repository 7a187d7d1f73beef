"""The tutorial's configuration in textrnn on the real IMDB data, for SimpleRNN, LSTM and GRU.

num_words 10,000, maxlen 500, Embedding(10000, 32) -> RNN(32) -> Dense(1, sigmoid), rmsprop, batch 128,
validation_split 0.2, N epochs (default 10). Writes JSON with per-epoch seconds, per-epoch validation
accuracy, test accuracy, peak memory (RSS of the training process) and the machine.

    TEXTRNN_IMDB=../shared/data/aclImdb_v1.tar.gz python benchmarks/imdb_tutorial.py --epochs 10
    ... --fast      # also the padded-text fast mode (mask_zero + length bucketing)
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine, prepare_arrays, run_worker, save_json, summarise  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--rnn", nargs="+", default=["simple_rnn", "lstm", "gru"])
    p.add_argument("--fast", action="store_true", help="also run the fast mode for padded text")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--lock", default=None, help="a lock file held (flock) during each training run")
    p.add_argument("--out", default="imdb_tutorial.json")
    args = p.parse_args()
    frameworks = ["textrnn", "textrnn-fast"] if args.fast else ["textrnn"]
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        data = prepare_arrays(Path(tmp))
        for rnn in args.rnn:
            for fw in frameworks:
                print(f"[{rnn}] {fw} ...", flush=True)
                runs.append(
                    run_worker(
                        sys.executable, fw, rnn, data, args.epochs, args.seed, Path(tmp), lock=args.lock
                    )
                )
                s = summarise(runs[-1])
                if "error" not in s:
                    print(
                        f"    {s['median_epoch_s']:.2f} s/epoch, best val_acc {s['best_val_acc']:.4f} "
                        f"(epoch {s['best_epoch']}), test_acc {s['test_acc']:.4f}, "
                        f"peak RSS {s['peak_rss_mib']:.0f} MiB",
                        flush=True,
                    )
    summaries = [summarise(r) for r in runs]
    path = save_json(
        {
            "benchmark": "imdb_tutorial",
            "epochs": args.epochs,
            "seed": args.seed,
            "machine": machine(),
            "summary": summaries,
            "runs": runs,
        },
        args.out,
    )
    print(f"saved {path}")


if __name__ == "__main__":
    main()
