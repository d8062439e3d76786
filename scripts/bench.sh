#!/usr/bin/env bash
# The GPU-vs-CPU benchmark in one run: the article's NumPy method (float64,
# OpenBLAS) and `fashion-nn bench` on both workloads, then one table of the
# medians with each backend's ratio to NumPy on the article workload.
#
#   ./scripts/bench.sh [--epochs N] [--backends cpu,vulkan]
#
# Writes the raw JSON of each part to target/bench/. Quote figures only from a
# machine with nothing else running: every backend here shares the same cores.
set -euo pipefail
cd "$(dirname "$0")/.."

epochs=5
backends=cpu,vulkan
while [ $# -gt 0 ]; do
  case "$1" in
    --epochs) epochs="${2:?--epochs needs a number}"; shift 2 ;;
    --backends) backends="${2:?--backends needs a list such as cpu,vulkan}"; shift 2 ;;
    *) echo "bench.sh: unknown argument '$1' (use --epochs N, --backends LIST)" >&2; exit 2 ;;
  esac
done

./scripts/setup.sh
if ! python3 -c 'import numpy' 2>/dev/null; then
  echo "bench.sh: installing NumPy (pip) for the reference row" >&2
  python3 -m pip install --quiet numpy || {
    echo "bench.sh: could not install NumPy; install it (pip install numpy) and run again" >&2
    exit 1
  }
fi
cargo build --release --quiet
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-$(mktemp -d)}"
out=target/bench
mkdir -p "$out"

echo "bench.sh: NumPy, article workload ($epochs epochs)" >&2
python3 benches/numpy_article.py --epochs "$epochs" --json >"$out/numpy.json"
for workload in article wide; do
  echo "bench.sh: fashion-nn bench --workload $workload --backends $backends --epochs $epochs" >&2
  ./target/release/fashion-nn bench --workload "$workload" --backends "$backends" \
    --epochs "$epochs" --json >"$out/$workload.json"
done

python3 - "$out" <<'EOF'
import json, os, sys
out = sys.argv[1]
numpy = json.load(open(os.path.join(out, "numpy.json")))
print(f"{'workload':8} {'backend':14} {'median s':>9} {'GFLOP/s':>8} {'vs numpy':>9} {'start-up s':>10}  adapter")
print(f"{'article':8} {'numpy-float64':14} {numpy['median_s']:9.4f} {numpy['gflops']:8.1f} {1.0:8.2f}x {'':>10}  NumPy {numpy['numpy']}")
for workload in ("article", "wide"):
    report = json.load(open(os.path.join(out, workload + ".json")))
    for r in report["results"]:
        ratio = f"{numpy['median_s'] / r['median_s']:8.2f}x" if workload == "article" else f"{'':>9}"
        print(f"{workload:8} {r['backend']:14} {r['median_s']:9.4f} {r['gflops']:8.1f} {ratio} {r['startup_s']:10.2f}  {r['adapter']}")
EOF
