#!/usr/bin/env bash
# Installs the S3 server used by tests and benchmarks (versitygw, Apache-2.0) from the Go
# module proxy into ~/.cache/sinets3/bin, unless it is already there.
set -euo pipefail
# shellcheck source=scripts/env.sh
source "$(dirname "$0")/env.sh"
version="v1.8.0"
bin="$SINETS3_CACHE/bin/versitygw"
if [ -x "$bin" ] && [ "$(cat "$bin.version" 2>/dev/null)" = "$version" ]; then
  exit 0
fi
echo "building versitygw $version with go (about 2 minutes the first time)" >&2
mkdir -p "$SINETS3_CACHE/bin"
GOBIN="$SINETS3_CACHE/bin" go install "github.com/versity/versitygw/cmd/versitygw@$version"
echo "$version" > "$bin.version"
