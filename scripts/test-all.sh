#!/usr/bin/env bash
# Runs every test layer: Rust unit and store tests, Java tests through the packaged jar,
# compose and shell checks, the end-to-end suite on the local stack (real broker,
# Connect worker, versitygw, SINETStream client), then the fault suite on its own stack.
# Installs what it needs; stops what it starts. The last line is the total: "N passed, M failed".
set -uo pipefail
# shellcheck source=scripts/env.sh
source "$(dirname "$0")/env.sh"
cd "$SINETS3_ROOT" || exit 1
results="build/test-results-all"
rm -rf "$results" && mkdir -p "$results"
missing=()

step() { printf '\n=== %s (%s)\n' "$1" "$(date +%H:%M:%S)"; }

step "installing test tools"
bash scripts/install-versitygw.sh || missing+=("versitygw install")
bash scripts/setup-venv.sh || missing+=("python venv")
bash scripts/install-compose-plugin.sh || missing+=("docker compose plugin")

step "Rust tests (codec vectors, engine, versitygw store tests)"
cargo test --workspace --locked 2>&1 | tee "$results/cargo.log"
[ "${PIPESTATUS[0]}" -eq 0 ] || grep -q "test result" "$results/cargo.log" || missing+=("cargo test")

step "Java tests through the packaged jar (builds the plugin)"
if ! bash scripts/build.sh; then
  missing+=("plugin build")
fi
gradle --no-daemon --console=plain -q test || true
[ -d build/test-results/test ] || missing+=("gradle test")

step "compose, register.sh and shell checks"
.venv/bin/python -m pytest -q tests/compose tests/register --junitxml="$results/static.xml" || true

step "end-to-end tests on the local stack"
bash scripts/test-e2e.sh --junitxml="$results/e2e.xml" || true

step "fault suite on its own local stack"
bash scripts/test-faults.sh --junitxml="$results/faults.xml" || true

step "summary"
args=(--cargo "$results/cargo.log" --junit build/test-results/test --junit "$results/static.xml" --junit "$results/e2e.xml" --junit "$results/faults.xml")
for layer in "${missing[@]}"; do args+=(--missing "$layer"); done
python3 scripts/summarize-tests.py "${args[@]}"
