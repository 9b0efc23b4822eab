#!/usr/bin/env bash
# End-to-end tests: the packaged plugin (build/plugin) in a real Kafka Connect worker, a real
# broker, versitygw and the SINETStream Python client. Sets up .venv, brings the local stack up
# where it is not (with the HTTPS versitygw, s3tls, unless SINETS3_S3_TLS=0), runs pytest on
# tests/e2e (extra arguments go to pytest, e.g. -m "not slow"), then stops the parts of the stack
# that were not running before, also on failure or interrupt.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=scripts/lib.sh
source "$repo/scripts/lib.sh"
stack="$repo/scripts/local-stack.sh"
export SINETS3_S3_TLS="${SINETS3_S3_TLS:-1}"

"$repo/scripts/setup-venv.sh"
# The worker's task metrics are read over JMX (tests/e2e/test_monitoring.py).
export SINETS3_JMX_PORT="${SINETS3_JMX_PORT:-$((${SINETS3_CONNECT_PORT:-8083} + 1000))}"

started=()
for part in s3 s3tls broker connect; do
  "$stack" status "$part" >/dev/null || started+=("$part")
done
trap stop_started EXIT

"$stack" up
cd "$repo"
"$repo/.venv/bin/python" -m pytest tests/e2e "$@"
