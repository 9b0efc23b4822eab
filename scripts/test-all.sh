#!/usr/bin/env bash
# Runs every test layer: Rust unit and store tests, Java tests through the packaged jar,
# compose and shell checks, the end-to-end suite on the local stack (real broker,
# Connect worker, versitygw, SINETStream client), its core on Kafka 4.4.0 and with a SASL_SSL
# broker (scripts/test-e2e-variant.sh), local-stack.sh's own features (tests/stack),
# ./quickstart.sh from a fresh clone (tests/quickstart), each on ports of its own, and the
# fault suite (tests/faults) on its own stack.
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
bash scripts/install-minio.sh || missing+=("minio install")
bash scripts/install-kafka-jars.sh || missing+=("Kafka jars")
bash scripts/setup-venv.sh || missing+=("python venv")
bash scripts/install-compose-plugin.sh || missing+=("docker compose plugin")

step "Rust tests (codec vectors, engine, versitygw store tests, STS against MinIO)"
# --no-fail-fast: a failing test binary must not keep the later ones from running and counting.
cargo test --workspace --locked --no-fail-fast 2>&1 | tee "$results/cargo.log"
[ "${PIPESTATUS[0]}" -eq 0 ] || grep -q "test result" "$results/cargo.log" || missing+=("cargo test")

step "Java tests through the packaged jar (builds the plugin)"
if ! bash scripts/build.sh; then
  missing+=("plugin build")
fi
gradle --no-daemon --console=plain -q test || true
[ -d build/test-results/test ] || missing+=("gradle test")

step "aarch64: the JNI round trip in an arm64 JVM under qemu-user"
bash scripts/test-aarch64.sh || true

step "compose, register.sh, packaging, script library, shell and guide checks"
.venv/bin/python -m pytest -q tests/compose tests/register tests/packaging tests/scripts tests/docs \
  --junitxml="$results/static.xml" || true

step "end-to-end tests on the local stack"
bash scripts/test-e2e.sh --junitxml="$results/e2e.xml" || true

step "end-to-end core on Kafka 4.4.0 (broker and worker), on a stack of its own"
bash scripts/test-e2e-variant.sh kafka4 --junitxml="$results/e2e-kafka4.xml" || true

step "end-to-end with a SASL_SSL broker (SCRAM-SHA-512 on the stack's own CA), on a stack of its own"
bash scripts/test-e2e-variant.sh sasl-ssl --junitxml="$results/e2e-sasl-ssl.xml" || true

step "the installable archive, unpacked into a fresh worker's plugin path"
bash scripts/test-archive.sh --junitxml="$results/archive.xml" || true

step "local-stack.sh (second worker, pause/resume) and the quick start from a fresh clone, on ports of their own"
.venv/bin/python -m pytest -q tests/stack tests/quickstart --junitxml="$results/quickstart.xml" || true

step "fault suite on its own local stack"
bash scripts/test-faults.sh --junitxml="$results/faults.xml" || true

step "summary"
args=(--cargo "$results/cargo.log" --junit build/test-results/test --junit "$results/static.xml" --junit "$results/e2e.xml")
args+=(--junit "$results/e2e-kafka4.xml" --junit "$results/e2e-sasl-ssl.xml")
args+=(--junit build/test-results/testAarch64 --junit "$results/archive.xml" --junit "$results/quickstart.xml")
args+=(--junit "$results/faults.xml")
for layer in "${missing[@]}"; do args+=(--missing "$layer"); done
python3 scripts/summarize-tests.py "${args[@]}"
