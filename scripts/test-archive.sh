#!/usr/bin/env bash
# The installable archive, installed: unpacks build/distributions/sinetstream-s3-sink-<version>.zip
# (scripts/build.sh writes it) into a fresh plugin directory, and runs tests/e2e/test_archive_install.py
# through scripts/test-e2e.sh with the Connect worker's plugin.path on that directory
# (SINETS3_PLUGIN_DIR): the worker loads the connector from the archive and stores the seed
# example byte-exact. Extra arguments go to pytest (e.g. --junitxml=FILE). About 40 s.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
version="$(sed -n 's/^version *= *"\([^"]*\)".*/\1/p' "$repo/Cargo.toml" | head -n 1)"
zip="$repo/build/distributions/sinetstream-s3-sink-$version.zip"
[[ -f $zip ]] || { echo "test-archive: $zip missing: run scripts/build.sh first" >&2; exit 1; }
plugins="$repo/build/archive-install/plugins"
rm -rf "$repo/build/archive-install"
mkdir -p "$plugins"
python3 -m zipfile -e "$zip" "$plugins"
echo "test-archive: unpacked $(basename "$zip") into $plugins" >&2
SINETS3_PLUGIN_DIR="$plugins" "$repo/scripts/test-e2e.sh" -k test_archive_install "$@"
