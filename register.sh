#!/usr/bin/env bash
# Register the SINETStream S3 sink connector(s) with Kafka Connect, from .env.
#
#   ./register.sh                   create or update the connector "s3-sink"
#                                   (payload and timestamp objects)
#   ./register.sh --two-connectors  "s3-sink-data" (payload) and "s3-sink-timestamp"
#                                   (timestamp), as the original setup did
#   ./register.sh --status          show connector and task states
#   ./register.sh --delete          remove the connectors this script registers
#   ./register.sh --dry-run         print the connector configs, contact nothing
#   ./register.sh --env-file FILE   read FILE instead of .env (with any of the above)
#
# Registering removes the connectors of the other layout, so exactly one layout is
# active. Re-run it after editing .env: the configuration is updated in place.
#
# Any other connector key (flush.size, timestamp.extractor, errors.tolerance,
# transforms.*, ...): put it in connector.properties beside .env, one key=value
# per line (# comments). Those keys win over what this script derives from .env,
# except connector.class and name (and sink.objects with --two-connectors), and
# Kafka Connect validates them with the rest. Give secrets as references that the
# worker resolves: ${env:NAME} or ${file:/conf/FILE:KEY}. See example_dot_env.
#
# Environment:
#   ENV_FILE      settings file (default: .env beside this script); variables
#                 already set in the environment win, as with docker compose
#   CONNECT_URL   Kafka Connect REST API (default: http://localhost:${REST_PORT:-8083})
#   CONNECT_WAIT  seconds to wait for the REST API to come up (default: 180)
#   CONNECTOR_PROPERTIES  the connector.properties to read (default: the one beside
#                 the settings file, if there is one); relative to the settings file
#
# Needs bash, curl and python3 (any 3.x, to read the REST API's JSON answers), and
# scripts/lib.sh beside it.
#
# Exit codes: 0 ok; 1 configuration error (missing variable, rejected config,
# plugin not installed) or, with --status, a connector not RUNNING;
# 2 REST API unreachable; 3 other REST API error.
set -uo pipefail

CONNECTOR_CLASS=org.sinetstream.kafka.connect.s3.SinetStreamS3SinkConnector
BYTE_ARRAY_CONVERTER=org.apache.kafka.connect.converters.ByteArrayConverter
ALL_CONNECTORS="s3-sink s3-sink-data s3-sink-timestamp"

SCRIPT_DIR=$(cd "$(dirname "$0")" && pwd)
if ! [ -f "$SCRIPT_DIR/scripts/lib.sh" ]; then
  printf 'error: %s not found: register.sh needs the scripts/ directory of the repository beside it\n' \
    "$SCRIPT_DIR/scripts/lib.sh" >&2
  exit 1
fi
# shellcheck source=scripts/lib.sh
source "$SCRIPT_DIR/scripts/lib.sh"

usage() { sed -n '2,/^set -uo/{/^set -uo/d;s/^# \{0,1\}//;p;}' "$0"; }

# ---------------------------------------------------------------- REST helpers

HTTP_STATUS=""
HTTP_BODY=""

# http METHOD PATH [BODY]: sets HTTP_STATUS and HTTP_BODY; exits 2 if unreachable
http() {
  local method=$1 path=$2 body=${3-} out rc
  local args=(-s -X "$method" -H 'Accept: application/json' --max-time 120 -w '\n%{http_code}')
  [ -n "$body" ] && args+=(-H 'Content-Type: application/json' --data-binary @-)
  out=$(printf '%s' "$body" | curl "${args[@]}" "$CONNECT_URL$path")
  rc=$?
  if [ $rc -ne 0 ]; then
    err "cannot reach Kafka Connect at $CONNECT_URL (curl exit code $rc)"
    exit 2
  fi
  HTTP_STATUS=${out##*$'\n'}
  HTTP_BODY=${out%$'\n'*}
}

# like http, but retries while Connect is rebalancing (409) or starting up (503)
http_retry() {
  local i
  for i in 1 2 3 4 5 6 7 8 9 10; do
    http "$@"
    case $HTTP_STATUS in 409 | 503) ;; *) return 0 ;; esac
    [ "$i" -lt 10 ] && sleep 3
  done
  return 0
}

fail_rest() {
  local msg
  msg=$(connect_json message <<<"$HTTP_BODY")
  err "$1 (HTTP $HTTP_STATUS)${msg:+: $msg}"
  exit 3
}

wait_for_connect() {
  local deadline=$((SECONDS + ${CONNECT_WAIT:-180})) announced=false
  while :; do
    if curl -s -f -o /dev/null --max-time 5 "$CONNECT_URL/"; then
      return 0
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      err "Kafka Connect REST API at $CONNECT_URL did not answer within ${CONNECT_WAIT:-180} s"
      err "is it running?  docker compose ps / docker compose logs kafka-connect"
      exit 2
    fi
    if ! $announced; then
      say "waiting for Kafka Connect at $CONNECT_URL ..."
      announced=true
    fi
    sleep 3
  done
}

connector_exists() {
  http GET "/connectors/$1"
  [ "$HTTP_STATUS" = 200 ]
}

delete_connector() {
  http_retry DELETE "/connectors/$1"
  case $HTTP_STATUS in
    204 | 200) say "$1: deleted" ;;
    404) ;;
    *) fail_rest "deleting $1 failed" ;;
  esac
}

# ---------------------------------------------------------------- settings

check_settings() {
  local missing="" v
  for v in BROKER_HOSTNAME KAFKA_TOPIC S3_BUCKET_NAME; do
    [ -n "${!v:-}" ] || missing+=" $v"
  done
  case ${S3_ENDPOINT_URL:-} in
    '' | http://* | https://*)
      # Both keys, or neither: then the worker's default AWS credential chain (IAM role).
      if [ -n "${AWS_ACCESS_KEY_ID:-}" ] && [ -z "${AWS_SECRET_KEY:-}${AWS_SECRET_ACCESS_KEY:-}" ]; then
        missing+=" AWS_SECRET_KEY"
      elif [ -z "${AWS_ACCESS_KEY_ID:-}" ] && [ -n "${AWS_SECRET_KEY:-}${AWS_SECRET_ACCESS_KEY:-}" ]; then
        missing+=" AWS_ACCESS_KEY_ID"
      fi
      ;;
    file://*) ;;
    *)
      err "S3_ENDPOINT_URL must be empty (Amazon S3), http(s)://host:port or file:///dir, not '$S3_ENDPOINT_URL'"
      exit 1
      ;;
  esac
  if [ -n "$missing" ]; then
    for v in $missing; do
      err "$v is not set in $ENV_FILE (see example_dot_env)"
    done
    exit 1
  fi
  check_broker_security
  if [ -n "${SINETSTREAM_CRYPTO_PASSWORD:-}" ] && [ -z "${SINETSTREAM_CRYPTO_MODE:-}${SINETSTREAM_CONFIG_FILE:-}" ]; then
    say "note: SINETSTREAM_CRYPTO_PASSWORD is set but neither SINETSTREAM_CRYPTO_MODE nor SINETSTREAM_CONFIG_FILE"
  fi
  case ${S3_ENDPOINT_URL:-} in
    file:///data | file:///data/)
      [ -d "$SCRIPT_DIR/data/$S3_BUCKET_NAME" ] || [ -n "$CONNECT_URL_GIVEN" ] ||
        say "note: $SCRIPT_DIR/data/$S3_BUCKET_NAME does not exist yet: start with docker compose --profile files up -d"
      ;;
  esac
  case ${SINETSTREAM_CONFIG_FILE:-} in
    /conf/*)
      [ -f "$SCRIPT_DIR/conf/${SINETSTREAM_CONFIG_FILE#/conf/}" ] ||
        say "note: $SCRIPT_DIR/conf/${SINETSTREAM_CONFIG_FILE#/conf/} not found (it is /conf/... in the container)"
      ;;
  esac
}

# The broker's security settings are the worker's (docker-compose.yml turns them into its client
# settings), not the connector's: checked here so that a mistake is named before Connect is
# waited for, as the worker does not start with it.
check_broker_security() {
  case ${KAFKA_SECURITY_PROTOCOL:-PLAINTEXT} in
    PLAINTEXT | SSL) ;;
    SASL_PLAINTEXT | SASL_SSL)
      case ${KAFKA_SASL_MECHANISM:-PLAIN} in
        PLAIN | SCRAM-SHA-256 | SCRAM-SHA-512) ;;
        *)
          err "KAFKA_SASL_MECHANISM must be PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512, not '$KAFKA_SASL_MECHANISM'"
          exit 1
          ;;
      esac
      if [ -z "${KAFKA_SASL_USERNAME:-}" ] || [ -z "${KAFKA_SASL_PASSWORD:-}" ]; then
        err "KAFKA_SECURITY_PROTOCOL=$KAFKA_SECURITY_PROTOCOL needs KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD in $ENV_FILE"
        exit 1
      fi
      ;;
    *)
      err "KAFKA_SECURITY_PROTOCOL must be PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL, not '$KAFKA_SECURITY_PROTOCOL'"
      exit 1
      ;;
  esac
  case ${KAFKA_SSL_CA_FILE:-} in
    /conf/*)
      [ -f "$SCRIPT_DIR/conf/${KAFKA_SSL_CA_FILE#/conf/}" ] ||
        say "note: $SCRIPT_DIR/conf/${KAFKA_SSL_CA_FILE#/conf/} not found (KAFKA_SSL_CA_FILE is /conf/... in the container)"
      ;;
  esac
}

# CONFIG: key/value pairs common to all connectors
build_config() {
  local topics=${KAFKA_TOPIC//[[:space:]]/}
  CONFIG=(
    connector.class "$CONNECTOR_CLASS"
    tasks.max "${TASKS_MAX:-1}"
    topics "$topics"
    key.converter "$BYTE_ARRAY_CONVERTER"
    value.converter "$BYTE_ARRAY_CONVERTER"
    store.url "${S3_ENDPOINT_URL:-}"
    s3.bucket.name "$S3_BUCKET_NAME"
    s3.region "${S3_REGION:-us-east-1}"
    timezone "${TIMEZONE:-Asia/Tokyo}"
    format.bytearray.extension "${S3_OBJECT_EXTENSION:-.bin}"
    flush.size 1
  )
  # Secrets as references, resolved by the worker's config providers. No keys: the connector
  # config names none, and the engine takes the worker's default AWS credential chain; with a
  # session token, all three come from the worker's environment, which the engine reads together.
  # shellcheck disable=SC2016
  case ${S3_ENDPOINT_URL:-} in
    file://*) ;;
    *)
      if [ -z "${AWS_ACCESS_KEY_ID:-}" ]; then
        say "no AWS keys in $ENV_FILE: the connector uses the worker's default AWS credential chain"
      elif [ -n "${AWS_SESSION_TOKEN:-}" ]; then
        say "AWS_SESSION_TOKEN set: the connector takes the keys and the token from the worker's environment"
      else
        CONFIG+=(aws.access.key.id '${env:AWS_ACCESS_KEY_ID}')
        if [ -n "${AWS_SECRET_KEY:-}" ]; then
          CONFIG+=(aws.secret.access.key '${env:AWS_SECRET_KEY}')
        else
          CONFIG+=(aws.secret.access.key '${env:AWS_SECRET_ACCESS_KEY}')
        fi
      fi
      ;;
  esac
  add_optional sinetstream.config.file SINETSTREAM_CONFIG_FILE
  add_optional sinetstream.service SINETSTREAM_SERVICE
  add_optional sinetstream.message.format SINETSTREAM_MESSAGE_FORMAT
  add_optional sinetstream.user.data.only SINETSTREAM_USER_DATA_ONLY
  add_optional sinetstream.compression.algorithm SINETSTREAM_COMPRESSION
  add_optional sinetstream.crypto.mode SINETSTREAM_CRYPTO_MODE
  add_optional sinetstream.crypto.key.length SINETSTREAM_CRYPTO_KEY_LENGTH
  if [ -n "${SINETSTREAM_CRYPTO_PASSWORD:-}" ]; then
    # shellcheck disable=SC2016
    CONFIG+=(sinetstream.crypto.password '${env:SINETSTREAM_CRYPTO_PASSWORD}')
  fi
}

add_optional() {
  local value=${!2:-}
  [ -n "$value" ] && CONFIG+=("$1" "$value")
  return 0
}

# PROPERTIES: the connector.properties in use, or "" for none
find_properties() {
  local dir given=${CONNECTOR_PROPERTIES:-}
  dir=$(dirname "$ENV_FILE")
  PROPERTIES=""
  if [ -n "$given" ]; then
    case $given in /*) ;; *) given="$dir/$given" ;; esac
    if [ ! -f "$given" ]; then
      err "CONNECTOR_PROPERTIES names $given, which does not exist"
      exit 1
    fi
    PROPERTIES=$given
  elif [ -f "$dir/connector.properties" ]; then
    PROPERTIES="$dir/connector.properties"
  fi
}

# PROPERTY_KEYS, PROPERTY_VALUES, PROPERTY_LINES: the keys of connector.properties
load_properties() {
  local i key where
  PROPERTY_KEYS=()
  PROPERTY_VALUES=()
  PROPERTY_LINES=()
  find_properties
  [ -n "$PROPERTIES" ] || return 0
  read_properties "$PROPERTIES" || exit 1
  for i in "${!PROPERTY_KEYS[@]}"; do
    key=${PROPERTY_KEYS[$i]}
    where="$PROPERTIES:${PROPERTY_LINES[$i]}"
    case $key in
      connector.class | name)
        err "$where: $key cannot be set there (register.sh registers $CONNECTOR_CLASS under its own connector names)"
        exit 1
        ;;
      sink.objects)
        if $TWO_CONNECTORS; then
          err "$where: sink.objects is set by --two-connectors (payload for one, timestamp for the other); remove it, or register without --two-connectors"
          exit 1
        fi
        ;;
    esac
  done
  ((${#PROPERTY_KEYS[@]} == 0)) || say "connector keys from $PROPERTIES: ${PROPERTY_KEYS[*]}"
}

# connector_json NAME SINK_OBJECTS: the config of one connector, connector.properties merged in
connector_json() {
  local pairs=(name "$1" "${CONFIG[@]}" sink.objects "$2") i j
  for i in "${!PROPERTY_KEYS[@]}"; do
    for ((j = 0; j < ${#pairs[@]}; j += 2)); do
      if [ "${pairs[$j]}" = "${PROPERTY_KEYS[$i]}" ]; then
        pairs[j + 1]=${PROPERTY_VALUES[$i]}
        continue 2
      fi
    done
    pairs+=("${PROPERTY_KEYS[$i]}" "${PROPERTY_VALUES[$i]}")
  done
  json_obj "${pairs[@]}"
}

# A password given as plain text in connector.properties is kept and shown by Kafka Connect as
# written: say so, naming the key, never the value. Which keys are passwords comes from the
# connector's own ConfigDef, through the validate answer.
note_plain_passwords() {
  local passwords i
  passwords=$(connect_json password-keys <<<"$1") || return 0
  for i in "${!PROPERTY_KEYS[@]}"; do
    grep -qxF -- "${PROPERTY_KEYS[$i]}" <<<"$passwords" || continue
    # shellcheck disable=SC2016 # a literal ${...}: a reference, resolved by the worker
    case ${PROPERTY_VALUES[$i]} in '' | '${'*'}') continue ;; esac
    say "note: $PROPERTIES:${PROPERTY_LINES[$i]}: ${PROPERTY_KEYS[$i]} is a password given as plain text; Kafka Connect stores and shows it as written: give it as \${env:NAME} or \${file:/conf/FILE:KEY}"
  done
}

# ---------------------------------------------------------------- actions

validate() {
  local name=$1 json=$2 count
  http_retry PUT "/connector-plugins/$CONNECTOR_CLASS/config/validate" "$json"
  [ "$HTTP_STATUS" = 200 ] || fail_rest "validating $name failed"
  count=$(connect_json error-count <<<"$HTTP_BODY") || fail_rest "validating $name: unexpected answer"
  if [ "$count" != 0 ]; then
    err "Kafka Connect rejected the configuration of $name ($count error(s)):"
    connect_json config-errors <<<"$HTTP_BODY" >&2
    exit 1
  fi
  $NOTED_PASSWORDS || note_plain_passwords "$HTTP_BODY"
  NOTED_PASSWORDS=true
}

put_config() {
  local name=$1 json=$2
  http_retry PUT "/connectors/$name/config" "$json"
  case $HTTP_STATUS in
    201) say "$name: created" ;;
    200) say "$name: updated" ;;
    *) fail_rest "registering $name failed" ;;
  esac
}

check_plugin() {
  local classes
  http GET /connector-plugins
  [ "$HTTP_STATUS" = 200 ] || fail_rest "listing connector plugins failed"
  classes=$(connect_json classes <<<"$HTTP_BODY") || fail_rest "listing connector plugins: unexpected answer"
  if ! grep -qxF -- "$CONNECTOR_CLASS" <<<"$classes"; then
    err "the SINETStream S3 sink plugin is not installed in the Kafka Connect at $CONNECT_URL"
    err "build it (scripts/build.sh, see docker/) so that build/plugin/ holds the jar, then: docker compose up -d --force-recreate kafka-connect"
    exit 1
  fi
}

do_register() {
  local names objects others i name json
  if $TWO_CONNECTORS; then
    names=(s3-sink-data s3-sink-timestamp)
    objects=(payload timestamp)
    others=(s3-sink)
  else
    names=(s3-sink)
    objects=("payload,timestamp")
    others=(s3-sink-data s3-sink-timestamp)
  fi
  # A dry run prints the connector configs alone on stdout (for a pipe); its notes go to stderr.
  if $DRY_RUN; then exec 3>&1 1>&2; fi
  check_settings
  build_config
  load_properties

  if $DRY_RUN; then
    exec 1>&3 3>&-
    for i in "${!names[@]}"; do
      json=$(connector_json "${names[$i]}" "${objects[$i]}")
      connect_json pretty <<<"$json" || say "$json"
    done
    return 0
  fi

  wait_for_connect
  check_plugin
  for i in "${!names[@]}"; do
    validate "${names[$i]}" "$(connector_json "${names[$i]}" "${objects[$i]}")"
  done
  for name in "${others[@]}"; do
    connector_exists "$name" && delete_connector "$name"
  done
  for i in "${!names[@]}"; do
    put_config "${names[$i]}" "$(connector_json "${names[$i]}" "${objects[$i]}")"
  done
  say "check with: $0 --status"
}

do_status() {
  local name found=false ok=true
  wait_for_connect
  for name in $ALL_CONNECTORS; do
    http GET "/connectors/$name/status"
    case $HTTP_STATUS in
      200) ;;
      404) continue ;;
      *) fail_rest "status of $name failed" ;;
    esac
    found=true
    # RUNNING only: the connector and every task, and at least one task
    connect_json status <<<"$HTTP_BODY" || ok=false
  done
  if ! $found; then
    say "no connector registered (run $0)"
    exit 1
  fi
  $ok || exit 1
}

do_delete() {
  local name found=false
  wait_for_connect
  for name in $ALL_CONNECTORS; do
    if connector_exists "$name"; then
      found=true
      delete_connector "$name"
    fi
  done
  $found || say "no connector registered"
}

# ---------------------------------------------------------------- main

ACTION=register
TWO_CONNECTORS=false
DRY_RUN=false
NOTED_PASSWORDS=false
while [ $# -gt 0 ]; do
  case $1 in
    --two-connectors) TWO_CONNECTORS=true ;;
    --status) ACTION=status ;;
    --delete) ACTION=delete ;;
    --dry-run) DRY_RUN=true ;;
    --env-file)
      [ $# -ge 2 ] || { err "--env-file needs a file name"; usage >&2; exit 1; }
      ENV_FILE=$2
      shift
      ;;
    --env-file=*) ENV_FILE=${1#--env-file=} ;;
    -h | --help) usage; exit 0 ;;
    *) err "unknown option: $1"; usage >&2; exit 1 ;;
  esac
  shift
done

ENV_FILE=${ENV_FILE:-$SCRIPT_DIR/.env}
if [ -f "$ENV_FILE" ]; then
  load_env_file "$ENV_FILE"
elif [ "$ACTION" = register ]; then
  err "$ENV_FILE not found: cp example_dot_env .env and edit it"
  exit 1
fi

if ! command -v python3 >/dev/null 2>&1; then
  err "python3 is required (it reads the JSON answers of the Kafka Connect REST API)"
  exit 1
fi
if ! command -v curl >/dev/null 2>&1 && ! $DRY_RUN; then
  err "curl is required"
  exit 1
fi
CONNECT_URL_GIVEN=${CONNECT_URL:-}
CONNECT_URL=${CONNECT_URL:-http://localhost:${REST_PORT:-8083}}
CONNECT_URL=${CONNECT_URL%/}

case $ACTION in
  register) do_register ;;
  status) do_status ;;
  delete) do_delete ;;
esac
