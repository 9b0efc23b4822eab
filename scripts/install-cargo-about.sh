#!/usr/bin/env bash
# Installs cargo-about (MIT OR Apache-2.0), which lists the licences of the Rust crates in the
# engine, from crates.io into ~/.cache/sinets3/bin, unless that version is already there.
# The first install compiles it: about 3 minutes on 2 cores.
set -euo pipefail
# shellcheck source=scripts/env.sh
source "$(dirname "$0")/env.sh"
version="0.9.3"
bin="$SINETS3_CACHE/bin/cargo-about"
if [ -x "$bin" ] && [ "$(cat "$bin.version" 2>/dev/null)" = "$version" ]; then
  exit 0
fi
mkdir -p "$SINETS3_CACHE/bin"
# The builder image (docker/builder.Dockerfile) brings it on PATH.
if [ "$(cargo-about --version 2>/dev/null)" = "cargo-about $version" ]; then
  ln -sf "$(command -v cargo-about)" "$bin"
  echo "$version" > "$bin.version"
  exit 0
fi
echo "installing cargo-about $version from crates.io (compiles it; about 3 minutes the first time)" >&2
root="$SINETS3_CACHE/cargo-about-$version"
cargo install --quiet --locked --features cli --version "$version" --root "$root" cargo-about
ln -sf "$root/bin/cargo-about" "$bin"
echo "$version" > "$bin.version"
