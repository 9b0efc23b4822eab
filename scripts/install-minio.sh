#!/usr/bin/env bash
# Installs MinIO (AGPL-3.0; a test tool only, never shipped) from the Go module proxy into
# ~/.cache/sinets3/bin, unless that version is already there. It is the one STS-compatible
# server that runs here: rust-core/engine/tests/sts_minio.rs tests aws.sts.role.arn against its
# AssumeRole. The first build takes several minutes on 2 cores; later runs only check the stamp.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"
# The module's newest version when this was written (MinIO publishes no tagged module versions).
MINIO_VERSION=v0.0.0-20260212201848-7aac2a2c5b7c
bin_dir="${SINETS3_CACHE:-$HOME/.cache/sinets3}/bin"
minio="$bin_dir/minio"
if [[ -x $minio && -f $minio.version && "$(<"$minio.version")" == "$MINIO_VERSION" ]]; then
  exit 0
fi
PATH="$PATH:/usr/local/go/bin:$HOME/go/bin"
command -v go >/dev/null 2>&1 || die "go is needed to build minio $MINIO_VERSION (not found on PATH)"
say "building minio $MINIO_VERSION into $bin_dir with go (several minutes the first time)"
mkdir -p "$bin_dir"
GOBIN="$bin_dir" GOTOOLCHAIN=local go install "github.com/minio/minio@$MINIO_VERSION" ||
  die "go install github.com/minio/minio@$MINIO_VERSION failed (output above)"
echo "$MINIO_VERSION" >"$minio.version"
