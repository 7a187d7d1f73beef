"""`textrnn serve` under load: concurrent clients on 127.0.0.1 for a bounded time.

Starts `textrnn serve RUN` on a free port (one worker unless `--workers`), then runs each
scenario for at most `--seconds` seconds or `--max-requests` requests, whichever ends first:

- `single`: `--clients` (default 32) concurrent clients, each sending one IMDB test review per
  request, a new request as soon as its answer arrives;
- `batch`: `--batch-clients` (default 4) clients sending requests of `--batch` (default 64) reviews.

The clients are asyncio connections speaking plain HTTP/1.1 keep-alive (no client library in the
way). Reported per scenario: requests/s, texts/s, p50/p90/p99 latency, errors (non-200 answers
and failed connections); and the server's peak memory (VmHWM). First, as a reference, the
reviews/s of `predict_proba` called directly in this process on batches of 1, 32 and `--batch`
reviews (the ceiling for the server on this machine at this moment). Each `--batch-wait-ms`
value given restarts the server with that batching wait, to compare them. Stops the server at
the end.

    TEXTRNN_IMDB=/work/shared/data/aclImdb_v1.tar.gz python benchmarks/serve_load.py /tmp/lstm-run
    # a run from `textrnn train --rnn lstm --epochs 2 --out /tmp/lstm-run`

Results: benchmarks/results/serve_load.json. Targets (tutorial LSTM, 2 cores): zero errors, p99
under 100 ms for `single` at 32 clients, at least 3,000 reviews/s for `batch`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine, save_json  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(run: str, port: int, workers: int, wait_ms: float) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    cmd = [
        sys.executable,
        "-m",
        "textrnn",
        "serve",
        run,
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--batch-wait-ms",
        str(wait_ms),
        "--max-texts",
        "1000",
    ]
    log = Path(os.environ.get("TMPDIR", "/tmp")) / f"textrnn-serve-load-{port}.log"  # one line per request
    with log.open("w") as fh:
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=fh)
    deadline = time.monotonic() + 120
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2):
                return proc
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise SystemExit("The server did not start: " + log.read_text()) from None
            time.sleep(0.25)


def peak_rss_mb(pid: int) -> float:
    """Peak resident memory of `pid` and its children (the --workers processes), in MiB."""
    total = 0
    pids = [pid]
    try:
        pids += [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        pass
    for p in pids:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


async def client(port: int, bodies: list[bytes], stop_at: float, budget: list[int], out: dict) -> None:
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        out["errors"] += 1
        return
    i = 0
    try:
        while time.monotonic() < stop_at and budget[0] > 0:
            budget[0] -= 1
            body = bodies[i % len(bodies)]
            i += 1
            head = (
                f"POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\n\r\n"
            ).encode()
            t0 = time.perf_counter()
            writer.write(head + body)
            await writer.drain()
            status_line = await reader.readline()
            length = 0
            while True:
                line = await reader.readline()
                if line in (b"\r\n", b""):
                    break
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            await reader.readexactly(length)
            out["latencies"].append(time.perf_counter() - t0)
            if b" 200 " not in status_line:
                out["errors"] += 1
            else:
                out["texts"] += out["per_request"]
    except (OSError, asyncio.IncompleteReadError, ValueError):
        out["errors"] += 1
    finally:
        writer.close()


async def scenario(
    port: int, reviews: list[str], clients: int, per_request: int, seconds: float, max_requests: int
) -> dict:
    bodies = [
        json.dumps({"texts": reviews[s : s + per_request]}).encode()
        for s in range(0, len(reviews) - per_request + 1, per_request)
    ][:500]
    out: dict = {"latencies": [], "errors": 0, "texts": 0, "per_request": per_request}
    budget = [max_requests]
    t0 = time.perf_counter()
    stop_at = time.monotonic() + seconds
    await asyncio.gather(
        *(client(port, bodies[c::clients] or bodies, stop_at, budget, out) for c in range(clients))
    )
    wall = time.perf_counter() - t0
    lat = np.asarray(out["latencies"]) * 1000
    return {
        "clients": clients,
        "texts_per_request": per_request,
        "seconds": round(wall, 2),
        "requests": int(lat.size),
        "requests_per_s": round(lat.size / wall, 1),
        "texts_per_s": round(out["texts"] / wall, 1),
        "p50_ms": round(float(np.percentile(lat, 50)), 2) if lat.size else None,
        "p90_ms": round(float(np.percentile(lat, 90)), 2) if lat.size else None,
        "p99_ms": round(float(np.percentile(lat, 99)), 2) if lat.size else None,
        "errors": out["errors"],
    }


def direct_baseline(run: str, reviews: list[str], sizes: list[int], seconds: float) -> list[dict]:
    """Reviews/s of `predict_proba` called in this process on batches of each size: the ceiling the
    server approaches on this machine at this moment (no HTTP, JSON or queue)."""
    import textrnn

    predictor = textrnn.load(run)
    predictor.predict_proba(reviews[:64])  # warm-up
    out = []
    for size in sizes:
        done, t0 = 0, time.perf_counter()
        while time.perf_counter() - t0 < seconds:
            predictor.predict_proba(reviews[done % 8000 : done % 8000 + size])
            done += size
        out.append({"batch": size, "reviews_per_s": round(done / (time.perf_counter() - t0), 1)})
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run", help="A run folder made by `textrnn train`.")
    ap.add_argument("--clients", type=int, default=32)
    ap.add_argument("--batch-clients", type=int, default=4)
    ap.add_argument("--batch", type=int, default=64, help="Reviews per request in the batch scenario.")
    ap.add_argument("--seconds", type=float, default=20.0, help="Most seconds per scenario.")
    ap.add_argument("--max-requests", type=int, default=20_000, help="Most requests per scenario.")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--batch-wait-ms", default="2", help="Comma-separated batching waits to compare.")
    ap.add_argument("--out", default="serve_load.json")
    args = ap.parse_args()

    from textrnn.datasets import imdb

    reviews, _ = imdb.load_texts(subset="test")
    rng = np.random.default_rng(0)
    reviews = [reviews[i] for i in rng.permutation(len(reviews))[:8192]]
    lengths = [len(r) for r in reviews]
    baseline = direct_baseline(args.run, reviews, [1, 32, args.batch], seconds=min(5.0, args.seconds))
    print(json.dumps({"direct_predict_proba": baseline}), flush=True)
    results = []
    for wait in [float(w) for w in args.batch_wait_ms.split(",")]:
        port = free_port()
        proc = start_server(args.run, port, args.workers, wait)
        try:
            asyncio.run(scenario(port, reviews, 4, 1, 2.0, 200))  # warm-up
            single = asyncio.run(scenario(port, reviews, args.clients, 1, args.seconds, args.max_requests))
            batch = asyncio.run(
                scenario(port, reviews, args.batch_clients, args.batch, args.seconds, args.max_requests)
            )
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health") as r:
                health = json.loads(r.read())
            row = {
                "batch_wait_ms": wait,
                "workers": args.workers,
                "single": single,
                "batch": batch,
                "server_peak_rss_mib": round(peak_rss_mb(proc.pid), 1),
                "forward_passes": health.get("batches"),
                "texts_per_forward_pass": round(health["texts"] / health["batches"], 1)
                if health.get("batches")
                else None,
            }
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
        print(json.dumps(row), flush=True)
        results.append(row)
    path = save_json(
        {
            "run": args.run,
            "machine": machine(),
            "direct_predict_proba": baseline,
            "review_chars_median": int(np.median(lengths)),
            "note": "measured on a 2-core machine shared with other jobs (client and server on the "
            "same cores)",
            "results": results,
        },
        args.out,
    )
    print(f"Wrote {path}")


if __name__ == "__main__":
    main()
