#!/usr/bin/env bash
# Set-up plus the whole test suite, GPU tests included, on the first Vulkan
# adapter (lavapipe on a machine without a GPU). Fails when there is none.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
cargo build --release
# Capture first: `grep -q` closing the pipe early would end the listing by
# SIGPIPE and fail the pipeline under pipefail.
adapters=$(./target/release/fashion-nn adapters 2>/dev/null || true)
if ! grep -q '^vulkan' <<<"$adapters"; then
  echo "test: no Vulkan adapter found; the GPU tests cannot run (apt-get install mesa-vulkan-drivers)" >&2
  exit 1
fi
# Mesa probes for a Wayland display on headless machines and complains when
# XDG_RUNTIME_DIR is unset; the tests have no display either.
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-$(mktemp -d)}"
cargo test --release
