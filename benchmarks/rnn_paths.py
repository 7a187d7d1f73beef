"""Forward + backward time of the recurrence paths (fused, packed, loop) for each recurrent layer.

    python benchmarks/rnn_paths.py [--batch 128 --steps 500 --features 32 --units 32 --repeats 3]

"unmasked" runs the fused kernel against the step loop; "masked" gives every row a random number of
pre-padding steps (Keras's `pad_sequences` default) and runs the packed path against the loop.
"""

from __future__ import annotations

import argparse
import time

import torch

from textrnn.layers import GRU, LSTM, SimpleRNN, rnn_kernels


def timed(layer, x, mask, path, repeats):
    best = float("inf")
    for _ in range(repeats + 1):  # the first run warms up
        layer.zero_grad()
        start = time.perf_counter()
        with rnn_kernels.force_path(path):
            out = layer(x, mask=mask, training=True)
        out.sum().backward()
        if x.is_cuda:
            torch.cuda.synchronize()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--features", type=int, default=32)
    parser.add_argument("--units", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=0, help="CPU threads (0: PyTorch's default)")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    device = torch.device(args.device)
    x = torch.randn(args.batch, args.steps, args.features, device=device)
    lengths = torch.randint(args.steps // 10, args.steps + 1, (args.batch,), device=device)
    mask = torch.arange(args.steps, device=device)[None, :] >= (args.steps - lengths)[:, None]  # pre-padding
    print(
        f"batch {args.batch}, steps {args.steps}, features {args.features}, units {args.units}, "
        f"{device}, {torch.get_num_threads()} threads; forward + backward, best of {args.repeats}"
    )
    print(f"{'layer':<10} {'input':<9} {'fast path':>12} {'loop':>10} {'speed-up':>9}")
    for cls in (SimpleRNN, LSTM, GRU):
        layer = cls(args.units, return_sequences=False).to(device)
        layer.build((None, None, args.features))
        layer.to(device)
        for name, m, fast in (("unmasked", None, "fused"), ("masked", mask, "packed")):
            t_fast = timed(layer, x, m, fast, args.repeats)
            t_loop = timed(layer, x, m, "loop", args.repeats)
            print(
                f"{cls.__name__:<10} {name:<9} {t_fast * 1e3:>9.1f} ms {t_loop * 1e3:>7.1f} ms "
                f"{t_loop / t_fast:>8.1f}x"
            )


if __name__ == "__main__":
    main()
