#!/usr/bin/env bash
# Builds the plugin into build/plugin/ (and build/distributions/*.zip) without running tests.
# Installs Debian's Gradle when no gradle is on PATH.
set -euo pipefail
# shellcheck source=scripts/env.sh
source "$(dirname "$0")/env.sh"
cd "$SINETS3_ROOT"
if ! command -v gradle >/dev/null 2>&1; then
  echo "installing Gradle from Debian's packages" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gradle >/dev/null
fi
gradle --no-daemon --console=plain -q assemble "$@"
echo "plugin ready: $SINETS3_ROOT/build/plugin/ ($(ls build/plugin))"
