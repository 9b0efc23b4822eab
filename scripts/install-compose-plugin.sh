#!/usr/bin/env bash
# Install the Docker Compose CLI plugin (docker compose ...) without a package
# manager: build it from the Go module proxy and cache the binary.
#
#   scripts/install-compose-plugin.sh          # install (uses the cache if present)
#   COMPOSE_VERSION=v2.40.3 scripts/install-compose-plugin.sh
#
# Needs Go. `go install ...@version` refuses this module (its go.mod has exclude
# directives), so we build its source as the main module instead (~75 s on 2 cores).
set -euo pipefail

VERSION="${COMPOSE_VERSION:-v2.40.3}"
CACHE_DIR="${SINETS3_CACHE:-$HOME/.cache/sinets3}/bin"
CACHED="$CACHE_DIR/docker-compose-$VERSION"
PLUGIN_DIR="${DOCKER_CONFIG:-$HOME/.docker}/cli-plugins"
TARGET="$PLUGIN_DIR/docker-compose"

mkdir -p "$CACHE_DIR" "$PLUGIN_DIR"

if [ ! -x "$CACHED" ]; then
  command -v go >/dev/null || { echo "error: go is required to build docker compose" >&2; exit 1; }
  echo "building docker compose $VERSION from the Go module proxy ..."
  # go reports a failed download inside its JSON answer (field "Error"), so keep the answer.
  if ! answer="$(go mod download -json "github.com/docker/compose/v2@$VERSION" 2>&1)"; then
    echo "error: go mod download github.com/docker/compose/v2@$VERSION failed: $answer" >&2
    exit 1
  fi
  src_dir="$(sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p' <<<"$answer")"
  [ -d "$src_dir" ] || { echo "error: go mod download named no source directory: $answer" >&2; exit 1; }

  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
  cp -r "$src_dir" "$work/compose"
  chmod -R u+w "$work/compose"
  (
    cd "$work/compose"
    GOFLAGS=-buildvcs=false go build -trimpath \
      -ldflags "-s -w -X github.com/docker/compose/v2/internal.Version=$VERSION" \
      -o "$CACHED.tmp" ./cmd
  ) || { echo "error: building docker compose $VERSION failed (see above)" >&2; exit 1; }
  mv "$CACHED.tmp" "$CACHED"
fi

install -m 0755 "$CACHED" "$TARGET"
echo "installed $TARGET ($("$TARGET" version --short 2>/dev/null || echo "$VERSION"))"
