#!/usr/bin/env bash
# Is the bucket complete? Compares the objects in the store with the offsets the connector
# committed (Kafka Connect REST API, GET /connectors/<name>/offsets, Kafka 3.5 or newer). The
# check runs in the plugin itself, so object names are read by the code that wrote them.
#
#   ./verify.sh                         check s3-sink (or the pair s3-sink-data, s3-sink-timestamp)
#   ./verify.sh --connector NAME[,NAME] check another connector, or a pair of them
#   ./verify.sh --store-url URL         read the objects at URL instead of the connector's
#                                       store.url (from the host: http://localhost:9000 for the
#                                       minio profile, file://$PWD/data for the files profile)
#   ./verify.sh --compose               run in the kafka-connect container (docker compose exec)
#   ./verify.sh --local                 run here (java, the built plugin and Kafka's jars)
#
# Without --compose or --local it runs here when java, the plugin and Kafka's jars are found,
# else in the kafka-connect container of docker compose.
#
# Environment:
#   ENV_FILE     settings file (default: .env beside this script); variables already set win.
#                Its variables reach the check as environment, so that the connector's
#                ${env:AWS_SECRET_KEY} references resolve as in the worker.
#   CONNECT_URL  Kafka Connect REST API (default: http://localhost:${REST_PORT:-8083})
#   PLUGIN_DIR   the packaged plugin (default: build/plugin beside this script)
#   KAFKA_LIBS   Kafka's jars (kafka-clients, connect-api, slf4j); default: the first of
#                $KAFKA_HOME/libs, /usr/share/java/kafka, ~/.cache/sinets3/kafka-3.8.0/libs
#   JAVA_HOME    a Java 11 or newer (default: java on PATH)
#
# Output: one line per finding, the last one "verified N offsets in M objects: X missing,
# Y duplicated, Z orphaned". Exit codes: 0 complete; 1 offsets missing or stored twice, or
# objects without their pair; 2 Kafka Connect or the store unreachable, or bad usage.
set -uo pipefail

MAIN_CLASS=org.sinetstream.kafka.connect.s3.Verify
CONTAINER_PLUGIN=/usr/share/confluent-hub-components/sinetstream-s3-sink
CONTAINER_LIBS=/usr/share/java/kafka
SCRIPT_DIR=$(cd "$(dirname "$0")" && pwd)

# shellcheck source=scripts/lib.sh
source "$SCRIPT_DIR/scripts/lib.sh"
usage() { sed -n '2,/^set -uo/{/^set -uo/d;s/^# \{0,1\}//;p;}' "$0"; }

find_java() {
  if [ -n "${JAVA_HOME:-}" ] && [ -x "$JAVA_HOME/bin/java" ]; then
    JAVA=$JAVA_HOME/bin/java
  else
    JAVA=$(command -v java) || return 1
  fi
}

find_kafka_libs() {
  local dir
  for dir in ${KAFKA_LIBS:+"$KAFKA_LIBS"} ${KAFKA_HOME:+"$KAFKA_HOME/libs"} "$CONTAINER_LIBS" \
    "${SINETS3_CACHE:-$HOME/.cache/sinets3}/kafka-$STACK_KAFKA_VERSION/libs"; do
    if compgen -G "$dir/kafka-clients-*.jar" >/dev/null && compgen -G "$dir/connect-api-*.jar" >/dev/null; then
      KAFKA_LIBS=$dir
      return 0
    fi
  done
  return 1
}

# Sets WHY_NOT_LOCAL to what the local run lacks.
local_ready() {
  WHY_NOT_LOCAL=""
  PLUGIN_DIR=${PLUGIN_DIR:-build/plugin}
  case $PLUGIN_DIR in /*) ;; *) PLUGIN_DIR=$SCRIPT_DIR/${PLUGIN_DIR#./} ;; esac
  find_java || lacks "no java (set JAVA_HOME)"
  compgen -G "$PLUGIN_DIR/sinetstream-s3-sink-*.jar" >/dev/null ||
    lacks "no plugin jar in $PLUGIN_DIR (build it: scripts/build.sh)"
  find_kafka_libs || lacks "no Kafka jars (set KAFKA_LIBS to a directory with kafka-clients and connect-api)"
  [ -z "$WHY_NOT_LOCAL" ]
}

lacks() { WHY_NOT_LOCAL+="${WHY_NOT_LOCAL:+; }$1"; }

compose_running() {
  command -v docker >/dev/null 2>&1 &&
    (cd "$SCRIPT_DIR" && docker compose ps --status running --services 2>/dev/null) | grep -qx kafka-connect
}

run_local() {
  local url=${CONNECT_URL:-http://localhost:${REST_PORT:-8083}}
  exec "$JAVA" -cp "$PLUGIN_DIR/*:$KAFKA_LIBS/*" "$MAIN_CLASS" --connect-url "${url%/}" "$@"
}

# In the container: the worker's own environment holds the secrets (docker-compose.yml).
run_compose() {
  cd "$SCRIPT_DIR" || exit 2
  exec docker compose exec -T kafka-connect java -cp "$CONTAINER_PLUGIN/*:$CONTAINER_LIBS/*" "$MAIN_CLASS" \
    --connect-url http://localhost:8083 "$@"
}

MODE=auto
ARGS=()
while [ $# -gt 0 ]; do
  case $1 in
    --compose) MODE=compose ;;
    --local) MODE=local ;;
    --connector | --store-url)
      [ $# -ge 2 ] || { err "$1 needs a value"; exit 2; }
      ARGS+=("$1" "$2")
      shift
      ;;
    -h | --help) usage; exit 0 ;;
    *) err "unknown option: $1"; usage >&2; exit 2 ;;
  esac
  shift
done

if [ -n "${ENV_FILE:-}" ] && [ ! -f "$ENV_FILE" ]; then
  err "$ENV_FILE not found"
  exit 2
fi
ENV_FILE=${ENV_FILE:-$SCRIPT_DIR/.env}
if [ -f "$ENV_FILE" ]; then
  load_env_file "$ENV_FILE"
  # The check resolves the connector's ${env:...} references from its own environment.
  [ "${#ENV_FILE_KEYS[@]}" -eq 0 ] || export "${ENV_FILE_KEYS[@]}"
fi

case $MODE in
  local)
    local_ready || { err "$WHY_NOT_LOCAL"; exit 2; }
    run_local "${ARGS[@]}"
    ;;
  compose) run_compose "${ARGS[@]}" ;;
  auto)
    if local_ready; then
      run_local "${ARGS[@]}"
    elif compose_running; then
      run_compose "${ARGS[@]}"
    fi
    err "cannot run the check here ($WHY_NOT_LOCAL) and no kafka-connect container of docker compose is running"
    exit 2
    ;;
esac
