#!/usr/bin/env bash
# Set-up plus the main job: trains on the real Fashion-MNIST data through
# Vulkan. Extra arguments go to fashion-nn (e.g. --json, --epochs 3).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
exec cargo run --release -- --backend vulkan "$@"
