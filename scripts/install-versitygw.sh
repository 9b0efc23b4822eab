#!/usr/bin/env bash
# Installs the S3 server used by tests and benchmarks (versitygw, Apache-2.0) from the Go
# module proxy into ~/.cache/sinets3/bin, unless it is already there (scripts/lib.sh
# ensure_versitygw: the pin and the install rule).
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"
ensure_versitygw
