#!/usr/bin/env bash
# Fault suite (tests/faults): the packaged plugin (build/plugin, from scripts/build.sh) in real
# Connect workers, a real broker, versitygw behind fault proxies (bench/proxy) and the
# SINETStream client; workers restarted, killed and frozen, the store throttling, resetting,
# unreachable, full or refusing credentials. Every case checks that nothing is lost or doubled.
#
#   scripts/test-faults.sh [PYTEST ARGS...]      e.g. --junitxml=out.xml, -k outage
#
# The suite restarts and kills parts of its stack, so it runs its own: state in .stack-faults/
# (SINETS3_STACK_DIR), the usual SINETS3_*_PORT variables, the proxies on SINETS3_PROXY_PORT
# (default: the S3 port + 1) and the three ports after it. The parts this script started are
# stopped when it ends, also on failure or interrupt. About 15 minutes on 2 cores.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
stack="$repo/scripts/local-stack.sh"
export SINETS3_STACK_DIR="${SINETS3_STACK_DIR:-$repo/.stack-faults}"
s3_port="${SINETS3_S3_PORT:-7070}"
export SINETS3_PROXY_PORT="${SINETS3_PROXY_PORT:-$((s3_port + 1))}"
export SINETS3_FAULTS_RESULTS="${SINETS3_FAULTS_RESULTS:-$repo/build/test-results-faults}"

compgen -G "$repo/build/plugin/*.jar" >/dev/null || die "no plugin in build/plugin: run scripts/build.sh first"
"$repo/scripts/setup-venv.sh"
rm -f "$SINETS3_FAULTS_RESULTS/cases.txt"

started=()
trap stop_started EXIT

# local-stack.sh may take its own just-forked child for a process that exited (it reads the
# child's command line before setsid has run on a loaded machine): one more try then.
start_part() {
  "$stack" start "$1" || { "$stack" stop "$1" && "$stack" start "$1"; }
}

for part in s3 broker connect; do
  if "$stack" status "$part" >/dev/null; then
    continue
  fi
  started+=("$part")
  # The worker stores through proxy a when a connector says store.url=${env:SINETS3_STORE_URL}.
  SINETS3_STORE_URL="http://127.0.0.1:$SINETS3_PROXY_PORT" start_part "$part"
done

cd "$repo"
"$repo/.venv/bin/python" -m pytest tests/faults "$@"
