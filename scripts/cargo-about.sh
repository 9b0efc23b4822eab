#!/usr/bin/env bash
# Lists the Rust crates linked into the engine (rust-core/jni, for the two linux targets of
# packaging/about.toml) with their licences and licence texts, as cargo-about's JSON, into OUT.
# scripts/check-licenses.py then checks them against the allow-list and writes the notices.
#   scripts/cargo-about.sh OUT.json
set -euo pipefail
# shellcheck source=scripts/env.sh
source "$(dirname "$0")/env.sh"
out="${1:?usage: cargo-about.sh OUT.json}"
cd "$SINETS3_ROOT"
bash scripts/install-cargo-about.sh
mkdir -p "$(dirname "$out")" "$SINETS3_CACHE/cargo-about-output"
# The output is a function of these files and of the tool (crate sources are immutable per
# version), and a run takes about a minute: a fresh clone (CI) reuses a cached result.
key="$( (cat "$SINETS3_CACHE/bin/cargo-about.version" Cargo.lock packaging/about.toml &&
  find Cargo.toml rust-core bench -name Cargo.toml | sort | xargs cat) | sha256sum | cut -c1-32)"
cached="$SINETS3_CACHE/cargo-about-output/$key.json"
if [ ! -s "$cached" ]; then
  # --frozen: Cargo.lock as committed and no network; the licence texts come from the crate
  # sources in ~/.cargo (fetched by the native build), not from a web service.
  "$SINETS3_CACHE/bin/cargo-about" about generate --frozen --format json \
    --config packaging/about.toml --manifest-path rust-core/jni/Cargo.toml --output-file "$cached.tmp"
  mv "$cached.tmp" "$cached"
fi
cp "$cached" "$out"
