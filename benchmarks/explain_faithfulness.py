"""Are the explanations faithful? Deleting a review's top-k words should move the probability
more than deleting k random words.

For `--n` IMDB test reviews (a seeded sample), each explanation method gives a weight per word;
we delete the review's `--k` highest-weighted words, and separately `--k` words drawn at random
(seeded), and measure how much the probability of the originally predicted class drops. Reported
per method: the mean drop for the top-k and for random words, the share of reviews where the
top-k drop is larger, the labels flipped, and the seconds per explanation. Integrated gradients
(Captum, 32 steps) runs on the first `--ig-n` reviews of the same sample to bound the time (0 to
skip it), with occlusion measured again on that subset for a like-for-like comparison.

    TEXTRNN_IMDB=/work/shared/data/aclImdb_v1.tar.gz python benchmarks/explain_faithfulness.py \\
        --run /tmp/lstm-run   # from `textrnn train --rnn lstm --epochs 2 --out /tmp/lstm-run`

Results: benchmarks/results/explain_faithfulness.json.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine, save_json  # noqa: E402

import textrnn  # noqa: E402
from textrnn.datasets import imdb  # noqa: E402
from textrnn.explain import explain  # noqa: E402
from textrnn.preprocessing.text import tokenize  # noqa: E402


def _without(tokens: list[str], drop: set[int]) -> str:
    return " ".join(t for i, t in enumerate(tokens) if i not in drop)


def measure(predictor, texts: list[str], method: str, k: int, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    top_drops, random_drops, seconds = [], [], []
    flips = [0, 0]
    for text in texts:
        tokens = tokenize(text)
        t0 = time.perf_counter()
        e = explain(predictor, text, method=method)
        seconds.append(time.perf_counter() - t0)
        j = predictor.label_names.index(e.label)
        p = e.probabilities[e.label]
        order = np.argsort([-w.weight for w in e.words], kind="stable")
        top = set(order[:k].tolist())
        rand = set(rng.choice(len(tokens), size=min(k, len(tokens)), replace=False).tolist())
        after = predictor.predict_proba([_without(tokens, top), _without(tokens, rand)])
        top_drops.append(p - float(after[0, j]))
        random_drops.append(p - float(after[1, j]))
        flips[0] += int(after[0].argmax() != j)
        flips[1] += int(after[1].argmax() != j)
    top_a, rand_a = np.asarray(top_drops), np.asarray(random_drops)
    return {
        "method": method,
        "reviews": len(texts),
        "mean_drop_top_k": float(top_a.mean()),
        "mean_drop_random_k": float(rand_a.mean()),
        "share_top_k_larger": float((top_a > rand_a).mean()),
        "label_flips_top_k": flips[0],
        "label_flips_random_k": flips[1],
        "seconds_per_explanation_median": statistics.median(seconds),
        "seconds_per_explanation_mean": float(np.mean(seconds)),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run", required=True, help="A run folder (e.g. `textrnn train --rnn lstm --epochs 2`).")
    ap.add_argument("--n", type=int, default=1000, help="IMDB test reviews (default 1000).")
    ap.add_argument("--ig-n", type=int, default=100, help="Of them, how many integrated gradients explains.")
    ap.add_argument("--k", type=int, default=5, help="Words deleted (default 5).")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default="explain_faithfulness.json")
    args = ap.parse_args()

    predictor = textrnn.load(args.run)
    texts, _ = imdb.load_texts(subset="test")
    pick = np.random.default_rng(args.seed).choice(len(texts), size=args.n, replace=False)
    sample = [texts[i] for i in pick]
    results = {"occlusion": measure(predictor, sample, "occlusion", args.k, args.seed + 1)}
    print(results["occlusion"], flush=True)
    if args.ig_n:
        results["integrated_gradients"] = measure(
            predictor, sample[: args.ig_n], "integrated_gradients", args.k, args.seed + 1
        )
        if args.ig_n < args.n:  # occlusion on the same subset, for a like-for-like comparison
            results["occlusion_on_ig_subset"] = measure(
                predictor, sample[: args.ig_n], "occlusion", args.k, args.seed + 1
            )
        print(results["integrated_gradients"], flush=True)
    out = save_json(
        {
            "run": str(args.run),
            "k": args.k,
            "seed": args.seed,
            "machine": machine(),
            "note": "2-core machine shared with other jobs: timings are upper bounds",
            "results": results,
        },
        args.out,
    )
    print(f"Wrote {out}")


if __name__ == "__main__":
    main()
