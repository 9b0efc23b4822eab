#!/usr/bin/env bash
# Builds the engine (rust-core/jni) for linux x86_64 and aarch64 against glibc 2.28 with
# cargo zigbuild, copies the libraries to OUT/linux-<arch>/, and fails when one needs a
# newer glibc symbol, so the jar loads in the stock Confluent image (UBI8, glibc 2.28).
set -euo pipefail
# shellcheck source=scripts/env.sh
source "$(dirname "$0")/env.sh"
out="${1:?usage: build-native.sh OUT_DIR}"
cd "$SINETS3_ROOT"

# cargo-zigbuild with zig (versions as in docker/builder.Dockerfile), from pip into a venv of
# its own under the cache where it is not on PATH: no root, and no install into a system Python
# that refuses it (PEP 668). The venv's bin goes first on PATH for this build only, since
# cargo-zigbuild runs zig as `python3 -m ziglang`.
zigbuild_venv="$SINETS3_CACHE/zigbuild-venv"
ensure_tools() {
  if ! command -v cargo-zigbuild >/dev/null 2>&1; then
    if [[ ! -x $zigbuild_venv/bin/cargo-zigbuild ]]; then
      say "installing cargo-zigbuild 0.24.1 and zig 0.17.1 with pip into $zigbuild_venv"
      make_venv "$zigbuild_venv"
      "$zigbuild_venv/bin/python" -m pip install -q cargo-zigbuild==0.24.1 ziglang==0.17.1 ||
        die "pip install cargo-zigbuild into $zigbuild_venv failed (see above)"
    fi
    export PATH="$zigbuild_venv/bin:$PATH"
  fi
  command -v rustup >/dev/null 2>&1 || die "rustup not found: install Rust with rustup (https://rustup.rs)"
  local installed triple
  installed="$(rustup target list --installed)" || die "rustup target list failed"
  for triple in x86_64-unknown-linux-gnu aarch64-unknown-linux-gnu; do
    grep -qx "$triple" <<<"$installed" || rustup target add "$triple" || die "rustup target add $triple failed"
  done
}

# Highest GLIBC_x.y version any dynamic symbol of $1 needs ("none" when it needs none).
max_glibc() {
  local syms
  syms="$(readelf -W --dyn-syms "$1")" || die "readelf cannot read $1"
  syms="$(grep -o 'GLIBC_[0-9.]*' <<<"$syms" | sed 's/GLIBC_//' | sort -t. -k1,1n -k2,2n -k3,3n || true)"
  printf '%s\n' "${syms##*$'\n'}" | sed 's/^$/none/'
}

build_one() {
  local arch="$1"
  local triple="$arch-unknown-linux-gnu"
  say "building the native library for linux-$arch (glibc 2.28)"
  cargo zigbuild --release --locked -p s3sink-jni --target "$triple.2.28" ||
    die "cargo zigbuild for $triple failed (see above)"
  local lib="target/$triple/release/libsinets3sink.so"
  local needed
  needed="$(max_glibc "$lib")"
  if [ "$needed" != none ] && [ "$(printf '%s\n2.28\n' "$needed" | sort -t. -k1,1n -k2,2n | tail -n 1)" != "2.28" ]; then
    die "$lib needs GLIBC_$needed, newer than 2.28: it would not load in the stock image"
  fi
  mkdir -p "$out/linux-$arch"
  cp "$lib" "$out/linux-$arch/libsinets3sink.so"
  say "linux-$arch: $(stat -c %s "$lib") bytes, highest glibc symbol $needed"
}

ensure_tools
build_one x86_64
build_one aarch64
