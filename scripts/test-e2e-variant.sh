#!/usr/bin/env bash
# The end-to-end core on another kind of local stack, made afresh in build/stack-VARIANT on ports
# of its own, with the plugin as built (build/plugin; nothing is rebuilt):
#
#   scripts/test-e2e-variant.sh kafka4 [PYTEST ARGS...]
#       broker and Connect worker of Kafka 4 (KAFKA_VERSION, default 4.4.0): the seed example, the
#       worker SIGKILLed mid-stream, the dead letter queue and the failing task, the 12 MiB
#       multipart message; then the worker's warnings about deprecated things are listed.
#   scripts/test-e2e-variant.sh sasl-ssl [PYTEST ARGS...]
#       a broker that takes only SASL_SSL (SCRAM-SHA-512, a certificate of the stack's own CA):
#       tests/e2e/test_secured_broker.py, and the dead letter queue (its producer and the admin
#       client that creates its topic, over SASL_SSL).
#
# Extra arguments go to pytest (e.g. --junitxml=FILE). Ports: E2E_VARIANT_PORTS="broker,
# controller,connect,connect2,s3" (defaults below, one set per variant, apart from the other
# stacks of scripts/test-all.sh). Each takes 2-4 minutes on 2 cores.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

variant="${1:-}"
(($#)) && shift
case $variant in
  kafka4)
    export KAFKA_VERSION="${KAFKA_VERSION:-4.4.0}"
    ports=29292,29293,28283,28284,27270
    tests=(-k "test_seed_example or test_worker_sigkill_mid_stream or test_bad_record or test_12mib_message_multipart")
    ;;
  sasl-ssl)
    export SINETS3_BROKER_SECURITY=SASL_SSL
    ports=29392,29393,28383,28384,27370
    tests=(-k "test_secured_broker or test_bad_record_goes_to_dead_letter_queue")
    ;;
  *) die "usage: ${0##*/} kafka4|sasl-ssl [PYTEST ARGS...]" ;;
esac
IFS=, read -r SINETS3_BROKER_PORT SINETS3_CONTROLLER_PORT SINETS3_CONNECT_PORT SINETS3_CONNECT2_PORT SINETS3_S3_PORT \
  <<<"${E2E_VARIANT_PORTS:-$ports}"
export SINETS3_BROKER_PORT SINETS3_CONTROLLER_PORT SINETS3_CONNECT_PORT SINETS3_CONNECT2_PORT SINETS3_S3_PORT
export SINETS3_STACK_DIR="$repo/build/stack-$variant" SINETS3_S3_TLS=0
compgen -G "${SINETS3_PLUGIN_DIR:-$repo/build/plugin}/*.jar" >/dev/null ||
  die "no plugin in ${SINETS3_PLUGIN_DIR:-$repo/build/plugin}: run scripts/build.sh first"
rm -rf "$SINETS3_STACK_DIR"

rc=0
"$repo/scripts/test-e2e.sh" "${tests[@]}" "$@" || rc=$?

if [[ $variant == kafka4 ]]; then
  # What the 4.x worker says is deprecated, the plugin's own lines first (none expected).
  log="$SINETS3_STACK_DIR/logs/connect.log"
  say "deprecation warnings in $log:"
  grep -iE '^\[[^]]*\] WARN .*deprecat' "$log" 2>/dev/null | sed 's/^\[[^]]*\] //' | sort | uniq -c | sort -rn || say "  none"
fi
exit "$rc"
