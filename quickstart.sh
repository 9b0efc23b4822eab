#!/usr/bin/env bash
# One command to see the plugin work on this machine, no Docker and no cloud account:
# builds the plugin, starts a local Kafka broker and Connect worker, registers the
# connector with ./register.sh exactly as users do, sends demo messages with the real
# SINETStream client, and shows the stored files under ./data/<bucket>/topics/.
set -euo pipefail
# shellcheck source=scripts/env.sh
source "$(dirname "$0")/scripts/env.sh"
cd "$SINETS3_ROOT"
started=$SECONDS
say() { printf '\n[%3ds] %s\n' "$((SECONDS - started))" "$*"; }

if [ ! -d build/plugin ] || [ -z "$(ls build/plugin 2>/dev/null)" ]; then
  say "Building the plugin (first time: about 10 minutes; Rust for x86_64 and aarch64)"
  bash scripts/build.sh
fi

say "Preparing the Python environment with the SINETStream client (first time: about 1 minute)"
bash scripts/setup-venv.sh

say "Starting the local broker and Connect worker (first time: a few minutes of downloads)"
bash scripts/local-stack.sh up

if [ ! -f .env ]; then
  say "Writing .env for the local run (store: the directory ./data, no S3 server needed)"
  cat > .env <<ENV
# Written by quickstart.sh for the local stack; see example_dot_env for every setting.
BROKER_HOSTNAME=127.0.0.1:9092
KAFKA_TOPIC=sinetstream.sensor
S3_BUCKET_NAME=mybucket
S3_ENDPOINT_URL=file://$SINETS3_ROOT/data
S3_OBJECT_EXTENSION=.json
TIMEZONE=Asia/Tokyo
ENV
fi

say "Registering the connector with ./register.sh"
./register.sh

say "Sending 5 messages with the SINETStream client"
set -a
# shellcheck source=/dev/null
. ./.env
set +a
topic="$KAFKA_TOPIC"
bucket="$S3_BUCKET_NAME"
store="${S3_ENDPOINT_URL:-}"
.venv/bin/python scripts/demo_producer.py "$BROKER_HOSTNAME" "$topic" 5

if [[ "$store" == file://* ]]; then
  root="${store#file://}/$bucket"
  say "Waiting for the files (up to 60 s)"
  for _ in $(seq 120); do
    count=$(find "$root/topics/$topic" -type f 2>/dev/null | wc -l)
    [ "$count" -ge 10 ] && break
    sleep 0.5
  done
  say "Stored files:"
  (cd "$root" && find topics -type f | sort)
  first=$(find "$root/topics/$topic" -name '*+0000000000*' | sort | head -n 2)
  for f in $first; do printf '\n%s:\n%s\n' "${f#"$root"/}" "$(cat "$f")"; done
  printf '\nFiles are in %s\n' "$root"
else
  say "Objects go to $store, bucket $bucket"
fi
cat <<DONE

Status:   ./register.sh --status
Stop:     scripts/local-stack.sh down
More:     README.md (Docker use with the stock Confluent image, S3, MinIO, plain files)
DONE
