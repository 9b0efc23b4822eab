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
# GOTOOLCHAIN=local: build with the Go installed here, never download another toolchain.
GOTOOLCHAIN=local go_install_cached minio github.com/minio/minio "$MINIO_VERSION" "several minutes the first time"
