#!/bin/sh
# Entrypoint of the builder image (docker/builder.Dockerfile): builds the plugin in
# the checkout mounted at /src, then hands the outputs to the checkout's owner.
# Arguments are passed to scripts/build.sh.
set -eu

cd /src
if [ ! -f scripts/build.sh ]; then
  echo "error: mount the repository at /src:  docker run --rm -v \"\$PWD\":/src sinets3-builder" >&2
  exit 1
fi

owner=$(stat -c '%u:%g' .)
status=0
bash scripts/build.sh "$@" || status=$?

for dir in build target .gradle java-shim/build java-shim/.gradle; do
  if [ -e "$dir" ]; then
    chown -R "$owner" "$dir"
  fi
done
if [ "$status" -eq 0 ]; then
  echo "plugin built: build/plugin/"
fi
exit "$status"
