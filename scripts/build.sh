#!/usr/bin/env bash
# Builds the plugin into build/plugin/ (and build/distributions/*.zip) without running tests.
#
#   scripts/build.sh              gradle assemble, or a copy from the plugin cache
#   scripts/build.sh ARGS...      gradle assemble ARGS... (the cache is not used)
#
# The cache: after a successful build, build/plugin and build/distributions are kept under
# ~/.cache/sinets3/plugins/<hash>/, where <hash> covers every build input (the files listed
# by plugin_inputs below, and the versions of rustc, cargo-zigbuild, the JDK and Gradle). A
# later build with the same inputs (a fresh clone, CI) copies them from there instead of
# compiling the Rust engine twice (~8 minutes on 2 cores). SINETS3_PLUGIN_CACHE=off skips it.
# Installs Debian's Gradle when no gradle is on PATH (as root, or through sudo).
set -euo pipefail
# shellcheck source=scripts/env.sh
source "$(dirname "$0")/env.sh"
cd "$SINETS3_ROOT"
plugin_cache="$SINETS3_CACHE/plugins"
keep_entries=8

# Every file the build reads, one per line, sorted: these roots walked recursively, plus any
# path of the repository that build.gradle names in quotes (a licence file added to the zip,
# a new source directory), so a new input changes the hash without editing this list.
plugin_inputs() {
  local roots=(rust-core java-shim Cargo.toml Cargo.lock bench/ceiling/Cargo.toml build.gradle
    settings.gradle gradle.properties scripts/build-native.sh scripts/check-jni.py scripts/env.sh
    scripts/lib.sh)
  local named path existing=()
  named="$(grep -oE "['\"][A-Za-z0-9_][A-Za-z0-9_./-]*['\"]" build.gradle | tr -d "'\"" || true)"
  for path in "${roots[@]}" $named; do
    case /$path/ in */../* | /build/* | /target/* | /.gradle/* | /.stack/* | /.venv/*) continue ;; esac
    [[ -e $path ]] && existing+=("$path")
  done
  find "${existing[@]}" -type f -not -path '*/target/*' -not -path '*/__pycache__/*' -not -name '*.pyc' |
    LC_ALL=C sort -u
}

tool_versions() {
  local gradle_version=absent
  command -v gradle >/dev/null 2>&1 && gradle_version="$(gradle --version 2>&1 | grep -E '^(Gradle|Groovy|JVM) ' || true)"
  printf 'rustc: %s\n' "$(rustc -vV 2>&1 || echo absent)"
  printf 'cargo-zigbuild: %s\n' "$(cargo-zigbuild --version 2>&1 || echo absent)"
  printf 'java: %s\n' "$("$JAVA_HOME/bin/java" -version 2>&1 || echo absent)"
  printf 'gradle: %s\n' "$gradle_version"
}

inputs_hash() {
  local files
  files="$(plugin_inputs)"
  [[ -n $files ]] || die "no build inputs found under $SINETS3_ROOT"
  { xargs -d '\n' sha256sum <<<"$files"; tool_versions; } | sha256sum | cut -d' ' -f1
}

from_cache() { # from_cache ENTRY: replace build/plugin and build/distributions by the entry's
  local entry=$1
  [[ -f $entry/complete ]] || return 1
  rm -rf build/plugin build/distributions
  mkdir -p build
  cp -a "$entry/plugin" build/plugin
  cp -a "$entry/distributions" build/distributions
  touch "$entry" # most recently used: kept by prune_cache
}

to_cache() { # to_cache ENTRY: keep this build's outputs (atomically: a partial entry is never used)
  local entry=$1 tmp
  [[ -f $entry/complete ]] && return 0
  mkdir -p "$plugin_cache"
  tmp="$(mktemp -d "$plugin_cache/.tmp.XXXXXX")"
  chmod 755 "$tmp"
  cp -a build/plugin "$tmp/plugin"
  cp -a build/distributions "$tmp/distributions"
  plugin_inputs >"$tmp/inputs.txt"
  date -u +%FT%TZ >"$tmp/complete"
  rm -rf "$entry"
  mv -T "$tmp" "$entry" 2>/dev/null || rm -rf "$tmp" # another build stored it meanwhile
  prune_cache
}

prune_cache() { # keep the most recently used entries
  local old
  old="$(find "$plugin_cache" -mindepth 1 -maxdepth 1 -type d -not -name '.tmp.*' -printf '%T@ %p\n' |
    sort -rn | tail -n "+$((keep_entries + 1))" | cut -d' ' -f2-)"
  [[ -z $old ]] || xargs -d '\n' rm -rf <<<"$old"
}

command -v gradle >/dev/null 2>&1 || apt_install gradle

use_cache=true
[[ $# -eq 0 && ${SINETS3_PLUGIN_CACHE:-on} != off ]] || use_cache=false
if $use_cache; then
  hash="$(inputs_hash)"
  entry="$plugin_cache/$hash"
  if from_cache "$entry"; then
    echo "plugin ready: $SINETS3_ROOT/build/plugin/ ($(ls build/plugin)), copied from the build cache $entry (same inputs as the build of $(cat "$entry/complete"))"
    exit 0
  fi
fi

gradle --no-daemon --console=plain -q assemble "$@"
[[ -n "$(ls build/plugin 2>/dev/null)" ]] || die "gradle assemble left build/plugin empty"
if $use_cache; then
  # Kept only if nothing changed while gradle ran (an edit, or the build installing
  # cargo-zigbuild): the entry must hold what its inputs build.
  if [[ "$(inputs_hash)" == "$hash" ]]; then
    to_cache "$entry"
  else
    say "build inputs changed during the build: not kept in the plugin cache"
  fi
fi
echo "plugin ready: $SINETS3_ROOT/build/plugin/ ($(ls build/plugin))"
