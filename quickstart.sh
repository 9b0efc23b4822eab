#!/usr/bin/env bash
# One command to see the plugin work on this machine, no Docker and no cloud account:
# builds the plugin (or copies it from the build cache), starts a local Kafka broker and
# Connect worker (scripts/local-stack.sh), registers the connector with ./register.sh as
# users do, sends 5 demo messages with the real SINETStream client, waits until those 5
# are stored and shows them under ./data/<bucket>/topics/.
#
# Its settings are its own, .stack/quickstart.env, written on every run: a .env of yours
# (for docker compose, e.g. copied from example_dot_env) is not read. Ports as for
# scripts/local-stack.sh (SINETS3_BROKER_PORT, SINETS3_CONNECT_PORT, ...);
# QUICKSTART_WAIT: seconds to wait for the messages to be stored (default 60).
set -Eeuo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=scripts/lib.sh
source "$root/scripts/lib.sh"
cd "$root"
case ${1:-} in
  "") ;;
  -h | --help) sed -n '2,/^set -E/{/^set -E/d;s/^# \{0,1\}//;p;}' "$0"; exit 0 ;;
  *) err "unknown argument: $1 (it takes none; settings are environment variables, see --help)"; exit 2 ;;
esac
started=$SECONDS
stack_dir="${SINETS3_STACK_DIR:-$root/.stack}"
logs="$stack_dir/logs"
settings="$stack_dir/quickstart.env"
topic=sinetstream.sensor
bucket=mybucket
count=5
wait_secs="${QUICKSTART_WAIT:-60}"

# What is being done, and where to look when it fails; a failure names both.
doing="starting"
look=""
step() {
  doing=$1
  look=$2
  printf '\n[%3ds] %s\n' "$((SECONDS - started))" "$doing"
}
fail() {
  printf '\nquickstart: FAILED while %s: %s\n' "$doing" "$1" >&2
  [[ -z $look ]] || printf 'quickstart: look at %s\n' "$look" >&2
  exit 1
}
trap 'fail "line $LINENO: \"$BASH_COMMAND\" exited with status $?"' ERR

step "building the plugin (without the build cache: about 10 minutes, Rust for x86_64 and aarch64)" \
  "the output of scripts/build.sh above"
bash scripts/build.sh || fail "scripts/build.sh exited with status $?"

step "preparing the Python environment with the SINETStream client (first time: about 1 minute)" \
  "the output of scripts/setup-venv.sh above"
bash scripts/setup-venv.sh || fail "scripts/setup-venv.sh exited with status $?"

step "starting the local broker and Connect worker (first time: a few minutes of downloads)" \
  "the output above and the logs in $logs/ (broker.log, connect.log, s3.log)"
bash scripts/local-stack.sh up || fail "scripts/local-stack.sh up exited with status $?"

bootstrap="" connect_url=""
while IFS='=' read -r key value; do
  case $key in
    BOOTSTRAP_SERVERS) bootstrap=$value ;;
    CONNECT_URL) connect_url=$value ;;
  esac
done <"$stack_dir/stack.env"
[[ -n $bootstrap && -n $connect_url ]] || fail "$stack_dir/stack.env names no BOOTSTRAP_SERVERS or CONNECT_URL"

step "registering the connector with ./register.sh (settings: $settings)" \
  "the message of register.sh above and the worker log $logs/connect.log"
mkdir -p "$root/data"
cat >"$settings" <<ENV
# Written by quickstart.sh on every run, for the local stack; see example_dot_env for every setting.
BROKER_HOSTNAME=$bootstrap
KAFKA_TOPIC=$topic
S3_BUCKET_NAME=$bucket
S3_ENDPOINT_URL=file://$root/data
S3_OBJECT_EXTENSION=.json
TIMEZONE=Asia/Tokyo
ENV
# A clean environment: variables of the caller's shell would override the settings file.
env -i PATH="$PATH" HOME="$HOME" ENV_FILE="$settings" CONNECT_URL="$connect_url" CONNECT_WAIT=120 \
  ./register.sh || fail "./register.sh exited with status $?"

# This run's messages carry a tag of their own, so only they can satisfy the wait below
# (files of earlier runs stay in ./data).
run_tag="quickstart-$(date -u +%Y%m%dT%H%M%S)-$$"
step "sending $count messages with the SINETStream client (tagged \"run\": \"$run_tag\")" \
  "the output above and the broker log $logs/broker.log"
.venv/bin/python scripts/demo_producer.py "$bootstrap" "$topic" "$count" "$run_tag" ||
  fail "scripts/demo_producer.py exited with status $?"

topic_dir="$root/data/$bucket/topics/$topic"
# Payload files holding this run's tag, one per line (none while the directory is missing).
own_payloads() {
  [[ -d $topic_dir ]] || return 0
  grep -rlF --include='*.json' -- "\"run\": \"$run_tag\"" "$topic_dir" | LC_ALL=C sort || true
}
# own_complete: this run's payload files and their timestamp files, once all are there.
own_complete() {
  local payloads path n=0
  payloads="$(own_payloads)"
  [[ -n $payloads ]] || return 1
  while IFS= read -r path; do
    [[ -f ${path%.json}-timestamp.txt ]] || return 1
    n=$((n + 1))
  done <<<"$payloads"
  ((n >= count))
}

step "waiting for the $count messages to be stored under $topic_dir (up to $wait_secs s)" \
  "CONNECT_URL=$connect_url ./register.sh --status and the worker log $logs/connect.log"
deadline=$((SECONDS + wait_secs))
until own_complete; do
  if ((SECONDS >= deadline)); then
    stored="$(own_payloads)"
    printf '\nconnector status:\n' >&2
    env -i PATH="$PATH" HOME="$HOME" ENV_FILE="$settings" CONNECT_URL="$connect_url" ./register.sh --status >&2 || true
    printf '\nlast errors in %s:\n' "$logs/connect.log" >&2
    { grep -E ' (ERROR|WARN) ' "$logs/connect.log" 2>/dev/null || true; } | tail -n 10 >&2
    fail "$(grep -c . <<<"$stored" || true) of the $count messages of this run were stored within $wait_secs s"
  fi
  sleep 0.5
done

step "done: the $count messages of this run, as stored" ""
while IFS= read -r path; do
  rel="${path#"$root"/}"
  printf '  %s\n  %s\n' "$rel" "${rel%.json}-timestamp.txt"
done <<<"$(own_payloads)"
last="$(own_payloads | tail -n 1)"
rel="${last#"$root"/}"
printf '\nThe last one:\n%s:\n%s\n%s:\n%s\n' "$rel" "$(cat "$last")" \
  "${rel%.json}-timestamp.txt" "$(cat "${last%.json}-timestamp.txt")"
cat <<DONE

Files are in $root/data/$bucket/topics/ ($(find "$root/data/$bucket/topics" -type f | wc -l) in all, earlier runs included)
Status:   CONNECT_URL=$connect_url ./register.sh --status
Stop:     scripts/local-stack.sh down
More:     README.md (Docker use with the stock Confluent image, S3, MinIO, plain files)
DONE
