#!/usr/bin/env bash
# Builds the engine (rust-core/jni) for linux x86_64 and aarch64 against glibc 2.28 with
# cargo zigbuild, copies the libraries to OUT/linux-<arch>/, and fails when one needs a
# newer glibc symbol, so the jar loads in the stock Confluent image (UBI8, glibc 2.28).
set -euo pipefail
# shellcheck source=scripts/env.sh
source "$(dirname "$0")/env.sh"
out="${1:?usage: build-native.sh OUT_DIR}"
cd "$SINETS3_ROOT"

ensure_tools() {
  if ! command -v cargo-zigbuild >/dev/null 2>&1; then
    echo "installing cargo-zigbuild (brings zig) with pip" >&2
    python3 -m pip install --quiet cargo-zigbuild
  fi
  if ! rustup target list --installed | grep -qx aarch64-unknown-linux-gnu; then
    rustup target add aarch64-unknown-linux-gnu
  fi
  rustup target list --installed | grep -qx x86_64-unknown-linux-gnu || rustup target add x86_64-unknown-linux-gnu
}

# Highest GLIBC_x.y version any dynamic symbol of $1 needs.
max_glibc() {
  readelf -W --dyn-syms "$1" | grep -o 'GLIBC_[0-9.]*' | sed 's/GLIBC_//' | sort -t. -k1,1n -k2,2n -k3,3n | tail -n 1
}

build_one() {
  local arch="$1"
  local triple="$arch-unknown-linux-gnu"
  echo "building the native library for linux-$arch (glibc 2.28)" >&2
  cargo zigbuild --release --locked -p s3sink-jni --target "$triple.2.28"
  local lib="target/$triple/release/libsinets3sink.so"
  local needed
  needed="$(max_glibc "$lib")"
  if [ "$(printf '%s\n2.28\n' "$needed" | sort -t. -k1,1n -k2,2n | tail -n 1)" != "2.28" ]; then
    echo "error: $lib needs GLIBC_$needed, newer than 2.28: it would not load in the stock image" >&2
    exit 1
  fi
  mkdir -p "$out/linux-$arch"
  cp "$lib" "$out/linux-$arch/libsinets3sink.so"
  echo "linux-$arch: $(stat -c %s "$lib") bytes, highest glibc symbol $needed" >&2
}

ensure_tools
build_one x86_64
build_one aarch64
