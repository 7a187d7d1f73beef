#!/usr/bin/env bash
# The GPU checks, as one bounded script (< 10 minutes) for a machine with CUDA.
#
#     TEXTRNN_IMDB=/path/to/aclImdb_v1.tar.gz bash benchmarks/gpu.sh [OUT_DIR]
#
# 1. the environment: torch, CUDA, the device textrnn picks (`textrnn.backend.default_device`);
# 2. `benchmarks/vs_keras.py` on CUDA, textrnn's two paths only (Keras is not installed there):
#    the tutorial's LSTM and GRU, 3 epochs, on all 25,000 reviews (at most 4 minutes);
# 3. `benchmarks/imdb_accuracy.py --models gru_masked fast`: test accuracy on the 25,000 test
#    reviews, each from raw text (at most 4 minutes).
# Each step has its own timeout, so one that hangs leaves time for the rest; the JSON results and
# a log go to OUT_DIR (default $OUT when set, else benchmarks/results/gpu/). Nothing here is a
# claim until it has run: put figures in docs only from the files it writes.
set -u
cd "$(dirname "$0")/.."
out="${1:-${OUT:-benchmarks/results/gpu}}"
mkdir -p "$out"
log="$out/gpu.log"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
step() {  # step SECONDS NAME COMMAND...: run one bounded step, log its exit status
    local limit=$1 name=$2
    shift 2
    echo "== $name (limit ${limit}s) $(date -u +%H:%M:%S)" | tee -a "$log"
    timeout --kill-after=10 "$limit" "$@" 2>&1 | tail -n 40 | tee -a "$log"
    echo "== $name: exit ${PIPESTATUS[0]}" | tee -a "$log"
}

step 60 environment python - <<'EOF'
import json, platform, torch
from textrnn.backend import default_device
info = {"torch": torch.__version__, "cuda": torch.version.cuda, "available": torch.cuda.is_available(),
        "device": str(default_device()), "python": platform.python_version()}
if torch.cuda.is_available():
    info["name"] = torch.cuda.get_device_name(0)
print(json.dumps(info))
EOF
if ! python -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)"; then
    echo "No CUDA device: stopping (the steps below would measure the CPU)." | tee -a "$log"
    exit 1
fi
if [ -z "${TEXTRNN_IMDB:-}" ] || [ ! -e "$TEXTRNN_IMDB" ]; then
    echo "Set TEXTRNN_IMDB to aclImdb_v1.tar.gz (the machine cannot download it)." | tee -a "$log"
    exit 1
fi

step 240 vs_keras python benchmarks/vs_keras.py --frameworks textrnn textrnn-fast --rnn lstm gru \
    --epochs 3 --out "$out/vs_keras_cuda.json"
# imdb_accuracy merges into benchmarks/results/imdb_accuracy.json: copy that aside, and restore it
cp benchmarks/results/imdb_accuracy.json "$out/.imdb_accuracy.before.json" 2>/dev/null
step 240 imdb_accuracy python benchmarks/imdb_accuracy.py --models gru_masked fast --seeds 1 --verbose 2
cp benchmarks/results/imdb_accuracy.json "$out/imdb_accuracy_cuda.json" 2>/dev/null
if [ -f "$out/.imdb_accuracy.before.json" ]; then
    mv "$out/.imdb_accuracy.before.json" benchmarks/results/imdb_accuracy.json
fi
echo "Results in $out" | tee -a "$log"
