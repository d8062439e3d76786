#!/usr/bin/env bash
# Set-up plus the whole test suite, GPU tests included, on the first Vulkan
# adapter (lavapipe on a machine without a GPU). Fails when there is none.
# Honours CARGO_TARGET_DIR (a relative one is taken from the repository root,
# as cargo does here).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
cargo build --release
bin="${CARGO_TARGET_DIR:-target}/release/fashion-nn"
# Mesa probes for a Wayland display on headless machines and complains when
# XDG_RUNTIME_DIR is unset; the tests have no display either.
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-$(mktemp -d)}"
# Capture first: `grep -q` closing the pipe early would end the listing by
# SIGPIPE and fail the pipeline under pipefail. Its stderr stays visible.
if ! adapters=$("$bin" adapters); then
  echo "test: \`$bin adapters\` failed (see above); cannot tell whether there is a Vulkan adapter" >&2
  exit 1
fi
if ! grep -q '^vulkan' <<<"$adapters"; then
  echo "test: no Vulkan adapter found; the GPU tests cannot run (apt-get install mesa-vulkan-drivers)" >&2
  exit 1
fi
cargo test --release
