#!/usr/bin/env bash
# Local test stack on loopback, no Docker: a Kafka 3.8.0 broker (KRaft, single node), a Kafka
# Connect 3.8.0 distributed worker loading the packaged plugin (build/plugin), and versitygw as
# the S3 server, its objects plain files under .stack/s3/<bucket>/<key>.
#
#   scripts/local-stack.sh up | down | status [PART]
#   scripts/local-stack.sh start | stop | restart | kill PART     (PART = broker | connect | s3)
#
# State (configs, data, logs, pid files, stack.env with the endpoints) lives in .stack/
# (SINETS3_STACK_DIR); jars and the versitygw binary are cached in ~/.cache/sinets3 (SINETS3_CACHE).
# Ports: SINETS3_BROKER_PORT (9092), SINETS3_CONTROLLER_PORT (9093), SINETS3_CONNECT_PORT (8083),
# SINETS3_S3_PORT (7070). `down`, `stop` and `kill` only touch processes recorded in .stack/run/.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
stack="${SINETS3_STACK_DIR:-$repo/.stack}"
cache="${SINETS3_CACHE:-$HOME/.cache/sinets3}"
pom="$repo/scripts/stack/pom.xml"
libs="$cache/kafka-3.8.0/libs"
versitygw_version=v1.8.0
versitygw="$cache/bin/versitygw"
plugin_dir="${SINETS3_PLUGIN_DIR:-$repo/build/plugin}"

broker_port="${SINETS3_BROKER_PORT:-9092}"
controller_port="${SINETS3_CONTROLLER_PORT:-9093}"
connect_port="${SINETS3_CONNECT_PORT:-8083}"
s3_port="${SINETS3_S3_PORT:-7070}"
s3_access="${SINETS3_S3_ACCESS_KEY:-sinets3-test-access}"
s3_secret="${SINETS3_S3_SECRET_KEY:-sinets3-test-secret-0123456789}"
s3_bucket="${SINETS3_S3_BUCKET:-mybucket}"
s3_url="http://127.0.0.1:$s3_port"
connect_url="http://127.0.0.1:$connect_port"

# JDK 17 pinned: another JDK (25) is installed and must not be used.
export JAVA_HOME="${SINETS3_JAVA_HOME:-/usr/lib/jvm/java-17-openjdk-$(dpkg --print-architecture)}"
java="$JAVA_HOME/bin/java"

run="$stack/run"
logs="$stack/logs"
conf="$stack/conf"
parts=(s3 broker connect)

say() { printf '%s\n' "$*"; }
die() { printf 'local-stack: error: %s\n' "$*" >&2; exit 1; }

# ---------------------------------------------------------------- processes and pid files

alive() { [[ -e /proc/$1 ]] && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null; }

# Prints the pid of PART if its pid file names a live process of this stack (its command line
# mentions the stack dir), so a reused pid is never signalled.
pid_of() {
  local pidfile="$run/$1.pid" pid
  [[ -f $pidfile ]] || return 1
  pid="$(<"$pidfile")"
  [[ $pid =~ ^[0-9]+$ ]] && alive "$pid" || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$stack/" || return 1
  echo "$pid"
}

# launch PART LOGFILE CMD...: start CMD in its own session, record its pid.
launch() {
  local part=$1 out=$2
  shift 2
  setsid "$@" >>"$out" 2>&1 </dev/null &
  echo $! >"$run/$part.pid"
}

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

require_free_port() {
  if port_busy "$1"; then
    die "port $1 ($2) is already in use by a process this script did not start; set SINETS3_*_PORT"
  fi
}

# wait_for PART SECONDS WHAT CHECK...: poll CHECK until it succeeds; fail early if PART died.
wait_for() {
  local part=$1 secs=$2 what=$3 deadline
  shift 3
  deadline=$((SECONDS + secs))
  until "$@"; do
    if ! pid_of "$part" >/dev/null; then
      tail -n 30 "$logs/$part".* >&2 2>/dev/null || true
      die "$part exited while waiting for $what (logs in $logs)"
    fi
    if ((SECONDS >= deadline)); then
      tail -n 30 "$logs/$part".* >&2 2>/dev/null || true
      die "$what not ready after ${secs}s (logs in $logs)"
    fi
    sleep 0.5
  done
}

# stop_part PART [SIGNAL]: signal the recorded process, wait until it is gone.
stop_part() {
  local part=$1 sig=${2:-TERM} pid deadline
  if ! pid="$(pid_of "$part")"; then
    rm -f "$run/$part.pid"
    say "$part: not running"
    return 0
  fi
  kill "-$sig" "$pid"
  deadline=$((SECONDS + 60))
  while alive "$pid"; do
    if ((SECONDS >= deadline - 15)) && [[ $sig != KILL ]]; then
      say "$part: still alive after SIG$sig, sending SIGKILL"
      sig=KILL
      kill -KILL "$pid" 2>/dev/null || true
    fi
    ((SECONDS < deadline)) || die "$part (pid $pid) does not exit"
    sleep 0.2
  done
  rm -f "$run/$part.pid"
  say "$part: stopped (pid $pid, SIG$sig)"
}

# ---------------------------------------------------------------- downloads (cached)

ensure_kafka_libs() {
  local want tmp
  want="$(sha256sum "$pom" | cut -d' ' -f1)"
  [[ -f $libs/.pom.sha256 && "$(<"$libs/.pom.sha256")" == "$want" ]] && return 0
  if ! command -v mvn >/dev/null; then
    say "installing maven (apt-get)"
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq maven; } >/dev/null ||
      die "maven is needed: apt-get install -y maven"
  fi
  say "fetching Kafka 3.8.0 jars from Maven Central into $libs"
  mkdir -p "$(dirname "$libs")"
  tmp="$(mktemp -d "$(dirname "$libs")/libs.XXXXXX")"
  if ! mvn -q -B -Dstyle.color=never -f "$pom" dependency:copy-dependencies \
    -DoutputDirectory="$tmp" >"$tmp.log" 2>&1; then
    cat "$tmp.log" >&2
    rm -rf "$tmp" "$tmp.log"
    die "mvn dependency:copy-dependencies failed"
  fi
  rm -f "$tmp.log"
  rm -rf "$libs" "$(dirname "$pom")/target"
  mv "$tmp" "$libs"
  echo "$want" >"$libs/.pom.sha256"
}

# Same rule as scripts/install-versitygw.sh: the binary plus a stamp naming its version.
ensure_versitygw() {
  [[ -x $versitygw && "$(cat "$versitygw.version" 2>/dev/null)" == "$versitygw_version" ]] && return 0
  PATH="$PATH:/usr/local/go/bin:$HOME/go/bin"
  command -v go >/dev/null || die "go is needed to build versitygw (not found)"
  say "building versitygw $versitygw_version into $cache/bin (about 2 minutes the first time)"
  mkdir -p "$cache/bin"
  GOBIN="$cache/bin" go install "github.com/versity/versitygw/cmd/versitygw@$versitygw_version"
  echo "$versitygw_version" >"$versitygw.version"
}

# ---------------------------------------------------------------- configuration files

write_env() {
  cat >"$stack/stack.env" <<EOF
BOOTSTRAP_SERVERS=127.0.0.1:$broker_port
CONNECT_URL=$connect_url
S3_URL=$s3_url
S3_ACCESS_KEY=$s3_access
S3_SECRET_KEY=$s3_secret
S3_BUCKET=$s3_bucket
S3_DIR=$stack/s3
CONNECT_LOG=$logs/connect.log
PLUGIN_DIR=$plugin_dir
EOF
}

log4j_conf() { # log4j_conf FILE LOGFILE
  cat >"$1" <<EOF
log4j.rootLogger=INFO, file
log4j.appender.file=org.apache.log4j.FileAppender
log4j.appender.file.File=$2
log4j.appender.file.layout=org.apache.log4j.PatternLayout
log4j.appender.file.layout.ConversionPattern=[%d] %p %X{connector.context}%m (%c)%n
log4j.logger.kafka.request.logger=WARN
log4j.logger.state.change.logger=WARN
log4j.logger.org.reflections=ERROR
EOF
}

write_broker_conf() {
  cat >"$conf/broker.properties" <<EOF
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$controller_port
listeners=PLAINTEXT://127.0.0.1:$broker_port,CONTROLLER://127.0.0.1:$controller_port
advertised.listeners=PLAINTEXT://127.0.0.1:$broker_port
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$stack/kafka-data
auto.create.topics.enable=true
num.partitions=1
default.replication.factor=1
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
group.initial.rebalance.delay.ms=0
# 12 MiB test messages
message.max.bytes=20971520
replica.fetch.max.bytes=20971520
EOF
  log4j_conf "$conf/broker-log4j.properties" "$logs/broker.log"
}

write_connect_conf() {
  cat >"$conf/connect.properties" <<EOF
bootstrap.servers=127.0.0.1:$broker_port
group.id=sinets3-connect
listeners=http://127.0.0.1:$connect_port
rest.advertised.host.name=127.0.0.1
rest.advertised.port=$connect_port
plugin.path=$plugin_dir
key.converter=org.apache.kafka.connect.converters.ByteArrayConverter
value.converter=org.apache.kafka.connect.converters.ByteArrayConverter
config.storage.topic=sinets3-connect-configs
offset.storage.topic=sinets3-connect-offsets
status.storage.topic=sinets3-connect-status
config.storage.replication.factor=1
offset.storage.replication.factor=1
status.storage.replication.factor=1
offset.flush.interval.ms=${SINETS3_OFFSET_FLUSH_MS:-1000}
config.providers=env,file
config.providers.env.class=org.apache.kafka.common.config.provider.EnvVarConfigProvider
config.providers.file.class=org.apache.kafka.common.config.provider.FileConfigProvider
connector.client.config.override.policy=All
# a restarted (or SIGKILLed) worker resumes within seconds
session.timeout.ms=6000
heartbeat.interval.ms=2000
scheduled.rebalance.max.delay.ms=10000
consumer.session.timeout.ms=6000
consumer.heartbeat.interval.ms=2000
EOF
  log4j_conf "$conf/connect-log4j.properties" "$logs/connect.log"
}

plugin_stamp() { find "$plugin_dir" -type f -printf '%P %s %T@\n' 2>/dev/null | sort | sha256sum | cut -d' ' -f1; }

# ---------------------------------------------------------------- readiness checks

s3_curl() {
  curl -s --max-time 5 --aws-sigv4 "aws:amz:us-east-1:s3" --user "$s3_access:$s3_secret" \
    -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" "$@"
}
s3_ready() { [[ "$(s3_curl -o /dev/null -w '%{http_code}' "$s3_url/")" == 200 ]]; }
broker_answers() { port_busy "$broker_port"; }
broker_log_offset=0 # size of broker.log before this start: only newer lines count
broker_ready() {
  port_busy "$broker_port" &&
    # grep reads to the end (no -q): an early exit would fail tail with SIGPIPE under pipefail.
    tail -c "+$((broker_log_offset + 1))" "$logs/broker.log" 2>/dev/null | grep 'Kafka Server started' >/dev/null
}
connect_ready() {
  curl -sf --max-time 5 -o /dev/null "$connect_url/connectors" &&
    curl -sf --max-time 5 -o /dev/null "$connect_url/connector-plugins"
}

# ---------------------------------------------------------------- parts

start_s3() {
  if pid_of s3 >/dev/null; then say "s3: already running"; return 0; fi
  ensure_versitygw
  require_free_port "$s3_port" s3
  mkdir -p "$stack/s3"
  launch s3 "$logs/s3.log" "$versitygw" --port "127.0.0.1:$s3_port" --access "$s3_access" \
    --secret "$s3_secret" --quiet --keep-alive posix "$stack/s3"
  wait_for s3 30 "versitygw on $s3_url" s3_ready
  local code
  code="$(s3_curl -o /dev/null -w '%{http_code}' -X PUT "$s3_url/$s3_bucket")"
  [[ $code == 200 || $code == 409 ]] || die "creating bucket $s3_bucket failed: HTTP $code"
  say "s3: versitygw $s3_url (bucket $s3_bucket, objects under $stack/s3/$s3_bucket)"
}

start_broker() {
  if pid_of broker >/dev/null; then say "broker: already running"; return 0; fi
  ensure_kafka_libs
  require_free_port "$broker_port" broker
  require_free_port "$controller_port" "broker controller"
  write_broker_conf
  if [[ ! -f $stack/kafka-data/meta.properties ]]; then
    local id
    id="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')"
    "$java" -cp "$libs/*" -Dlog4j.configuration="file:$conf/broker-log4j.properties" \
      kafka.tools.StorageTool format --cluster-id="$id" --config="$conf/broker.properties" >>"$logs/broker.out" 2>&1 ||
      die "formatting the KRaft log dir failed (see $logs/broker.out)"
  fi
  broker_log_offset="$(stat -c %s "$logs/broker.log" 2>/dev/null || echo 0)"
  launch broker "$logs/broker.out" "$java" -Xms256m -Xmx1g -Djava.awt.headless=true \
    -Dlog4j.configuration="file:$conf/broker-log4j.properties" -cp "$libs/*" \
    kafka.Kafka "$conf/broker.properties"
  wait_for broker 90 "Kafka broker on 127.0.0.1:$broker_port" broker_ready
  say "broker: Kafka 3.8.0 on 127.0.0.1:$broker_port"
}

start_connect() {
  if pid_of connect >/dev/null; then say "connect: already running"; return 0; fi
  ensure_kafka_libs
  require_free_port "$connect_port" connect
  mkdir -p "$plugin_dir"
  write_connect_conf
  plugin_stamp >"$run/connect.plugin"
  # The worker sees the store's credentials, so configs can say ${env:AWS_SECRET_KEY}.
  launch connect "$logs/connect.out" env -u AWS_SECRET_ACCESS_KEY -u AWS_SESSION_TOKEN -u AWS_PROFILE \
    AWS_ACCESS_KEY_ID="$s3_access" AWS_SECRET_KEY="$s3_secret" \
    "$java" -Xms256m -Xmx1g -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true \
    -Dlog4j.configuration="file:$conf/connect-log4j.properties" -cp "$libs/*" \
    org.apache.kafka.connect.cli.ConnectDistributed "$conf/connect.properties"
  wait_for connect 120 "Kafka Connect REST on $connect_url" connect_ready
  say "connect: Kafka Connect 3.8.0 REST $connect_url (plugin.path $plugin_dir)"
}

start_part() {
  mkdir -p "$run" "$logs" "$conf"
  write_env
  case $1 in
    s3) start_s3 ;;
    broker) start_broker ;;
    connect)
      pid_of broker >/dev/null || die "connect needs the broker: start broker first"
      start_connect ;;
  esac
}

status_part() {
  local pid where check
  case $1 in
    s3) where="$s3_url, objects in $stack/s3"; check=s3_ready ;;
    broker) where="127.0.0.1:$broker_port"; check=broker_answers ;;
    connect) where="$connect_url"; check=connect_ready ;;
  esac
  if ! pid="$(pid_of "$1")"; then
    say "$1: stopped"
    return 3
  fi
  if "$check"; then
    say "$1: running (pid $pid) $where"
  else
    say "$1: running (pid $pid) but not answering on $where"
  fi
}

check_part() {
  [[ " ${parts[*]} " == *" $1 "* ]] || die "unknown part '$1' (broker, connect, s3)"
}

usage() {
  sed -n '2,13p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
  exit 2
}

cmd="${1:-}"
part="${2:-}"
case $cmd in
  up)
    start_part s3
    start_part broker
    if pid_of connect >/dev/null && [[ "$(plugin_stamp)" != "$(cat "$run/connect.plugin" 2>/dev/null)" ]]; then
      say "connect: $plugin_dir changed since the worker started; restarting it"
      stop_part connect
    fi
    start_part connect
    say "stack up: broker 127.0.0.1:$broker_port, Connect $connect_url, S3 $s3_url (state in $stack)"
    ;;
  down)
    for p in connect broker s3; do stop_part "$p"; done
    ;;
  status)
    if [[ -n $part ]]; then
      check_part "$part"
      status_part "$part"
    else
      rc=0
      for p in "${parts[@]}"; do status_part "$p" || rc=3; done
      exit "$rc"
    fi
    ;;
  start) check_part "$part"; start_part "$part" ;;
  stop) check_part "$part"; stop_part "$part" ;;
  kill) check_part "$part"; stop_part "$part" KILL ;;
  restart) check_part "$part"; stop_part "$part"; start_part "$part" ;;
  *) usage ;;
esac
