#!/usr/bin/env bash
# Installs what fashion-nn needs on a Debian machine, when it is missing:
# the software Vulkan driver lavapipe (mesa-vulkan-drivers) and the real
# Fashion-MNIST files (dataset-fashion-mnist, into /usr/share/datasets/fashion-mnist).
set -euo pipefail

need=()
dpkg -s mesa-vulkan-drivers >/dev/null 2>&1 || need+=(mesa-vulkan-drivers)
[ -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ] || need+=(dataset-fashion-mnist)

if [ ${#need[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "setup: installing ${need[*]}" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null
fi

if ! command -v cargo >/dev/null 2>&1; then
  echo "setup: cargo not found; install Rust 1.88 or newer (https://rustup.rs) and run again" >&2
  exit 1
fi
