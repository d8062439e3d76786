#!/usr/bin/env bash
# The GPU-vs-CPU benchmark in one run: the article's NumPy method (float64,
# OpenBLAS) and `fashion-nn bench` on both workloads, then one table of the
# medians with each backend's ratio to NumPy on the article workload.
#
#   ./scripts/bench.sh [--epochs N] [--backends cpu,vulkan]
#
# Writes the raw JSON of each part to bench/ in cargo's target folder
# (${CARGO_TARGET_DIR:-target}/bench, a relative CARGO_TARGET_DIR taken from
# the repository root as cargo does here). A part that fails leaves the file
# of the run before as it was. Quote figures only from a machine with nothing
# else running: every backend here shares the same cores.
set -euo pipefail
cd "$(dirname "$0")/.."

# The names `fashion-nn bench --backends` accepts (BackendChoice in
# src/cli.rs; tests/scripts.rs checks that the two lists agree).
known=(auto vulkan metal dx12 gl cpu)
usage="usage: scripts/bench.sh [--epochs N] [--backends LIST]; LIST: comma-separated, each once, of: ${known[*]}"
fail() {
  echo "bench.sh: $1" >&2
  echo "$usage" >&2
  exit 2
}

epochs=5
backends=cpu,vulkan
while [ $# -gt 0 ]; do
  case "$1" in
    --epochs)
      [ $# -ge 2 ] || fail "--epochs needs a number"
      epochs=$2; shift 2 ;;
    --epochs=*) epochs=${1#*=}; shift ;;
    --backends)
      [ $# -ge 2 ] || fail "--backends needs a list such as cpu,vulkan"
      backends=$2; shift 2 ;;
    --backends=*) backends=${1#*=}; shift ;;
    -h|--help) echo "$usage"; exit 0 ;;
    *) fail "unknown argument '$1'" ;;
  esac
done

# Every argument is checked before anything is installed, built or run.
digits=${epochs#"${epochs%%[!0]*}"} # without leading zeros
if ! [[ $epochs =~ ^[0-9]+$ ]] || [ -z "$digits" ] || [ ${#digits} -gt 9 ]; then
  fail "--epochs '$epochs': give a whole number from 1 to 999999999"
fi
epochs=$digits
seen=()
rest="$backends,"
while [ -n "$rest" ]; do
  name=${rest%%,*}
  rest=${rest#*,}
  if [ -z "$name" ]; then
    fail "--backends '$backends' has an empty entry; separate the names by single commas, such as cpu,vulkan"
  fi
  is_known=0
  for k in "${known[@]}"; do [ "$name" = "$k" ] && is_known=1; done
  [ $is_known = 1 ] || fail "--backends '$backends': unknown backend '$name'"
  for s in "${seen[@]}"; do
    [ "$name" != "$s" ] || fail "--backends '$backends': $name is named more than once; name each backend once"
  done
  seen+=("$name")
done

./scripts/setup.sh
if ! python3 -c 'import numpy' 2>/dev/null; then
  echo "bench.sh: NumPy is missing; installing it into the current python3 ($(command -v python3)) with pip: python3 -m pip install numpy" >&2
  python3 -m pip install --quiet numpy || {
    echo "bench.sh: pip could not install NumPy into $(command -v python3); install it (python3 -m pip install numpy, or your system's python3-numpy package) and run again" >&2
    exit 1
  }
fi
cargo build --release --quiet
bin="${CARGO_TARGET_DIR:-target}/release/fashion-nn"
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-$(mktemp -d)}"
out="${CARGO_TARGET_DIR:-target}/bench"
mkdir -p "$out"

# Runs a command with its stdout into a temporary file beside FILE, and moves
# it onto FILE only when the command succeeded.
part=""
trap 'if [ -n "$part" ]; then rm -f "$part"; fi' EXIT
save_to() {
  local file=$1
  shift
  part="$file.part.$$"
  "$@" >"$part"
  mv "$part" "$file"
  part=""
}

plural=s; [ "$epochs" = 1 ] && plural=
echo "bench.sh: NumPy, article workload ($epochs epoch$plural)" >&2
save_to "$out/numpy.json" python3 benches/numpy_article.py --epochs "$epochs" --json
for workload in article wide; do
  echo "bench.sh: fashion-nn bench --workload $workload --backends $backends --epochs $epochs" >&2
  save_to "$out/$workload.json" "$bin" bench --workload "$workload" --backends "$backends" \
    --epochs "$epochs" --json
done

python3 - "$out" <<'PY'
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
PY
