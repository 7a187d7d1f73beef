"""Fault figures: kills injected and survived, hostile files refused, fuzz examples run.

Runs, each in fresh subprocesses on the CPU:
  * the crash harness (tests/reliability/crash.py): `textrnn train` SIGKILLed at every named point
    and at random moments, then `--resume`d; "survived" means the resume finished, the history has
    every epoch once and weights and history equal an uninterrupted run's, bit for bit;
  * the hostile-file cases (tests/reliability/test_hostile_*.py, test_kernel_lock.py), counted by
    kind from pytest's results;
  * the fuzz tests (tests/fuzz) with `--fuzz-examples` examples per test.

Prints a table and writes benchmarks/results/faults.json.

    PYTHONPATH=$PWD python benchmarks/faults.py --random-kills 5 --fuzz-examples 200
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "reliability"))

import crash  # noqa: E402

POINTS = [
    "before-rename:config.json@1",
    "after:summary.txt",
    "before-rename:state.json@1",
    "after:state.json@1",
    "after:state.json@2",
    "before-rename:model@1",
    "after:model@1",
    "between-renames:model@1",
    "between-renames:model@2",
    "before-rename:history.json@1",
    "after:history.json@1",
    "before-rename:history.json@2",
    "after:history.json@2",
    "after:history.csv@3",
    "after:metrics.json",
    "after:predictions.csv",
    "before-rename:model@3",
    "after:model@3",
]


def kills(points: list[str], randoms: int, seed: int) -> list[dict]:
    out = []
    with tempfile.TemporaryDirectory() as d:
        root = Path(d)
        data = crash.make_data(root)
        start = time.perf_counter()
        ref = crash.train(data, root / "ref")
        assert ref.returncode == 0, ref.stderr
        seconds = time.perf_counter() - start
        reference = crash.outcome(root / "ref")
        rng = random.Random(seed)  # random moments anywhere in a run as long as the reference
        faults = points + [f"random:{rng.uniform(0.3, 0.98) * seconds:.2f}" for _ in range(randoms)]
        for i, fault in enumerate(faults):
            run = root / f"run{i}"
            t = time.perf_counter()
            killed, last = crash.kill_and_resume(data, run, fault)
            record = {"point": fault, "killed": killed, "resumed": last.returncode == 0}
            if last.returncode == 0:
                history, weights = crash.outcome(run)
                same = (
                    history == reference[0]
                    and weights.keys() == reference[1].keys()
                    and all(bool((weights[k] == reference[1][k]).all()) for k in weights)
                )
                record["equal_to_uninterrupted"] = same
            else:
                record["equal_to_uninterrupted"] = False
                record["error"] = (last.stderr.strip().splitlines() or [""])[-1][:300]
            record["seconds"] = round(time.perf_counter() - t, 1)
            print(
                f"  {fault:32s} killed={killed!s:5} resumed={record['resumed']!s:5} "
                f"equal={record['equal_to_uninterrupted']}",
                flush=True,
            )
            out.append(record)
    return out


def pytest_counts(paths: list[str], extra_env: dict[str, str]) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT), **extra_env}
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rA", "-p", "no:cacheprovider", *paths],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    cases: dict[str, dict[str, int]] = {}
    for line in proc.stdout.splitlines():
        m = re.match(r"(PASSED|FAILED|XFAIL|XPASS|ERROR) (\S+?)::(\w+)", line)
        if m:
            status, _, name = m.groups()
            counts = cases.setdefault(name, {})
            counts[status] = counts.get(status, 0) + 1
    tail = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else proc.stderr[-300:]
    return {"returncode": proc.returncode, "summary": tail, "cases": cases}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--random-kills", type=int, default=5)
    parser.add_argument("--fuzz-examples", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--points", default="all", help="'all' or comma-separated kill points")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "faults.json"))
    args = parser.parse_args()
    points = POINTS if args.points == "all" else [p for p in args.points.split(",") if p]

    print(f"Kills ({len(points)} named points + {args.random_kills} random moments):")
    kill_records = kills(points, args.random_kills, args.seed)
    print("Hostile files:")
    hostile = pytest_counts(
        [
            "tests/reliability/test_hostile_models.py",
            "tests/reliability/test_hostile_archives.py",
            "tests/reliability/test_kernel_lock.py",
            "tests/reliability/test_predict_lines.py",
        ],
        {},
    )
    print("  " + hostile["summary"])
    print(f"Fuzzing ({args.fuzz_examples} examples per test):")
    fuzz = pytest_counts(
        ["tests/fuzz"],
        {"TEXTRNN_FUZZ_EXAMPLES": str(args.fuzz_examples), "TEXTRNN_FUZZ_RANDOM": "1"},
    )
    print("  " + fuzz["summary"])
    fuzz_tests = sum(sum(c.values()) for c in fuzz["cases"].values())

    survived = sum(r["killed"] and r["resumed"] and r["equal_to_uninterrupted"] for r in kill_records)
    result = {
        "kills": {
            "injected": sum(r["killed"] for r in kill_records),
            "survived": survived,
            "by_point": kill_records,
        },
        "hostile_files": hostile,
        "fuzz": {
            "examples_per_test": args.fuzz_examples,
            "tests": fuzz_tests,
            "examples_requested": fuzz_tests * args.fuzz_examples,
            **fuzz,
        },
        "python": sys.version.split()[0],
    }
    print(
        f"\nkills injected {result['kills']['injected']}, survived {survived}; "
        f"hostile-file tests: {hostile['summary']}; fuzz: {fuzz_tests} tests x {args.fuzz_examples} examples"
    )
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"Saved {out}")


if __name__ == "__main__":
    main()
