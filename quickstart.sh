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
root="${store#file://}/$bucket"
stored_files() { find "$root/topics/$topic" -type f 2>/dev/null | wc -l; }
before=$(stored_files)
.venv/bin/python scripts/demo_producer.py "$BROKER_HOSTNAME" "$topic" 5

if [[ "$store" == file://* ]]; then
  say "Waiting for the files (up to 60 s)"
  for _ in $(seq 120); do
    [ "$(stored_files)" -ge $((before + 10)) ] && break
    sleep 0.5
  done
  if [ "$(stored_files)" -lt $((before + 10)) ]; then
    echo "quickstart: the 5 messages were not stored within 60 s; see ./register.sh --status and .stack/logs/connect.log" >&2
    exit 1
  fi
  say "Stored files:"
  (cd "$root" && find topics -type f | sort)
  # The newest message: payload and timestamp objects of the highest offset.
  last=$(find "$root/topics/$topic" -type f | sort -t+ -k3 | tail -n 2)
  for f in $last; do printf '\n%s:\n%s\n' "${f#"$root"/}" "$(cat "$f")"; done
  printf '\nFiles are in %s\n' "$root"
else
  say "Objects go to $store, bucket $bucket"
fi
cat <<DONE

Status:   ./register.sh --status
Stop:     scripts/local-stack.sh down
More:     README.md (Docker use with the stock Confluent image, S3, MinIO, plain files)
DONE
