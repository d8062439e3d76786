#!/usr/bin/env bash
# Set-up plus the main job: trains on the real Fashion-MNIST data through
# Vulkan. Extra arguments go to fashion-nn (e.g. --json, --epochs 3); a
# --backend of your own, or a sub-command (adapters, bench, eval, predict, download),
# replaces the default `--backend vulkan`; `train` keeps it.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
default=(--backend vulkan)
command=()
case "${1:-}" in
  train) command=(train); shift ;;
  adapters|bench|eval|predict|download|help|-h|--help|-V|--version) default=() ;;
esac
for a in "$@"; do
  case "$a" in --backend|--backend=*) default=() ;; esac
done
exec cargo run --release -- "${command[@]}" "${default[@]}" "$@"
