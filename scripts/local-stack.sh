#!/usr/bin/env bash
# Local test stack on loopback, no Docker: a Kafka 3.8.0 broker (KRaft, single node), a Kafka
# Connect 3.8.0 distributed worker loading the packaged plugin (build/plugin), and versitygw as
# the S3 server, its objects plain files under .stack/s3/<bucket>/<key>.
#
#   scripts/local-stack.sh up | down | status [PART]
#   scripts/local-stack.sh start | stop | restart | kill | pause | resume PART
#     PART = s3 | broker | connect | connect2
#
# `up` starts s3, broker and connect; connect2 is a second worker of the same Connect group
# (same plugin dir, own REST port and log), started on demand for fault tests; `down` stops
# whatever runs. pause/resume send SIGSTOP/SIGCONT (a frozen process, not a dead one).
# State (configs, data, logs, pid files, stack.env with the endpoints) lives in .stack/
# (SINETS3_STACK_DIR); jars and the versitygw binary are cached in ~/.cache/sinets3 (SINETS3_CACHE).
# Ports: SINETS3_BROKER_PORT (9092), SINETS3_CONTROLLER_PORT (9093), SINETS3_CONNECT_PORT (8083),
# SINETS3_CONNECT2_PORT (8084), SINETS3_S3_PORT (7070). Workers: SINETS3_CONNECT_OPTS and
# SINETS3_CONNECT2_OPTS add JVM options (split at spaces; e.g. for JMX
# -Dcom.sun.management.jmxremote.port=...), SINETS3_CONNECT_EXTRA_PROPS names a file appended
# to both workers' properties (its keys win). SINETS3_JMX_PORT opens JMX (no authentication, loopback
# only) on the first worker and names the port in stack.env. `down`, `stop`, `kill` and `pause` only touch
# processes recorded in .stack/run/.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
stack="${SINETS3_STACK_DIR:-$repo/.stack}"
cache="${SINETS3_CACHE:-$HOME/.cache/sinets3}"
pom="$repo/scripts/stack/pom.xml"
libs="$cache/kafka-3.8.0/libs"
plugin_dir="${SINETS3_PLUGIN_DIR:-$repo/build/plugin}"

broker_port="${SINETS3_BROKER_PORT:-9092}"
controller_port="${SINETS3_CONTROLLER_PORT:-9093}"
connect_port="${SINETS3_CONNECT_PORT:-8083}"
connect2_port="${SINETS3_CONNECT2_PORT:-8084}"
s3_port="${SINETS3_S3_PORT:-7070}"
s3_access="${SINETS3_S3_ACCESS_KEY:-sinets3-test-access}"
s3_secret="${SINETS3_S3_SECRET_KEY:-sinets3-test-secret-0123456789}"
s3_bucket="${SINETS3_S3_BUCKET:-mybucket}"
s3_url="http://127.0.0.1:$s3_port"
connect_url="http://127.0.0.1:$connect_port"
connect2_url="http://127.0.0.1:$connect2_port"
# The directories the plugin's file:// store and sinetstream.config.file may use.
allowed_paths="$stack,$repo/data,/tmp"

JAVA_HOME="$(java_home)"
export JAVA_HOME
java="$JAVA_HOME/bin/java"

run="$stack/run"
logs="$stack/logs"
conf="$stack/conf"
parts=(s3 broker connect connect2)
up_parts=(s3 broker connect)

# ---------------------------------------------------------------- processes and pid files

alive() { [[ -e /proc/$1 ]] && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null; }
paused() { grep -q '^State:[[:space:]]*T' "/proc/$1/status" 2>/dev/null; }

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
  [[ $sig == KILL ]] || kill -CONT "$pid" 2>/dev/null || true # a paused process must run to exit
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

# signal_part PART pause|resume: SIGSTOP / SIGCONT of the recorded process; returns once the
# kernel shows it stopped (or running again), since the signal reaches a JVM's threads a moment
# after kill returns.
signal_part() {
  local part=$1 action=$2 pid deadline=$((SECONDS + 10))
  pid="$(pid_of "$part")" || die "$part is not running"
  if [[ $action == pause ]]; then
    kill -STOP "$pid"
    until paused "$pid"; do
      ((SECONDS < deadline)) || die "$part (pid $pid) not stopped 10 s after SIGSTOP"
      sleep 0.1
    done
    say "$part: paused (pid $pid, SIGSTOP)"
  else
    kill -CONT "$pid"
    while paused "$pid"; do
      ((SECONDS < deadline)) || die "$part (pid $pid) still stopped 10 s after SIGCONT"
      sleep 0.1
    done
    say "$part: resumed (pid $pid, SIGCONT)"
  fi
}

# ---------------------------------------------------------------- downloads (cached)

ensure_kafka_libs() { ensure_maven_deps "$pom" "$libs"; }

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
CONNECT2_URL=$connect2_url
CONNECT2_LOG=$logs/connect2.log
PLUGIN_DIR=$plugin_dir
JMX_PORT=${SINETS3_JMX_PORT:-}
EOF
}

# JVM options of the first worker: SINETS3_CONNECT_OPTS, and JMX where SINETS3_JMX_PORT asks for it.
connect_opts() {
  local opts=${SINETS3_CONNECT_OPTS:-} port=${SINETS3_JMX_PORT:-}
  if [[ -n $port ]]; then
    opts+=" -Dcom.sun.management.jmxremote.port=$port -Dcom.sun.management.jmxremote.rmi.port=$port"
    opts+=" -Dcom.sun.management.jmxremote.authenticate=false -Dcom.sun.management.jmxremote.ssl=false"
    opts+=" -Dcom.sun.management.jmxremote.host=127.0.0.1 -Djava.rmi.server.hostname=127.0.0.1"
  fi
  printf '%s' "$opts"
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

# write_connect_conf PART PORT: the worker's properties and log4j configuration.
write_connect_conf() {
  local part=$1 port=$2
  cat >"$conf/$part.properties" <<EOF
bootstrap.servers=127.0.0.1:$broker_port
group.id=sinets3-connect
listeners=http://127.0.0.1:$port
rest.advertised.host.name=127.0.0.1
rest.advertised.port=$port
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
  if [[ -n ${SINETS3_CONNECT_EXTRA_PROPS:-} ]]; then
    [[ -f $SINETS3_CONNECT_EXTRA_PROPS ]] || die "SINETS3_CONNECT_EXTRA_PROPS names $SINETS3_CONNECT_EXTRA_PROPS, which does not exist"
    { printf '# appended from SINETS3_CONNECT_EXTRA_PROPS=%s\n' "$SINETS3_CONNECT_EXTRA_PROPS"; cat "$SINETS3_CONNECT_EXTRA_PROPS"; } \
      >>"$conf/$part.properties"
  fi
  log4j_conf "$conf/$part-log4j.properties" "$logs/$part.log"
}

# Names, sizes and times of the plugin's files ("none" before the first build).
plugin_stamp() {
  local files=none
  [[ -d $plugin_dir ]] && files="$(find "$plugin_dir" -type f -printf '%P %s %T@\n' | LC_ALL=C sort)"
  sha256sum <<<"$files" | cut -d' ' -f1
}

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
rest_ready() { # rest_ready URL
  curl -sf --max-time 5 -o /dev/null "$1/connectors" &&
    curl -sf --max-time 5 -o /dev/null "$1/connector-plugins"
}
connect_ready() { rest_ready "$connect_url"; }
connect2_ready() { rest_ready "$connect2_url"; }

# ---------------------------------------------------------------- parts

start_s3() {
  if pid_of s3 >/dev/null; then say "s3: already running"; return 0; fi
  ensure_versitygw
  require_free_port "$s3_port" s3
  mkdir -p "$stack/s3"
  launch s3 "$logs/s3.log" "$VERSITYGW" --port "127.0.0.1:$s3_port" --access "$s3_access" \
    --secret "$s3_secret" --quiet --keep-alive posix "$stack/s3"
  wait_for s3 30 "versitygw on $s3_url" s3_ready
  local code
  code="$(s3_curl -o /dev/null -w '%{http_code}' -X PUT "$s3_url/$s3_bucket")" ||
    die "creating bucket $s3_bucket: no answer from $s3_url (curl status $?, log $logs/s3.log)"
  [[ $code == 200 || $code == 409 ]] || die "creating bucket $s3_bucket failed: HTTP $code (log $logs/s3.log)"
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

# start_connect PART PORT URL OPTS: a distributed worker of the stack's Connect group.
start_connect() {
  local part=$1 port=$2 url=$3 opts=()
  if pid_of "$part" >/dev/null; then say "$part: already running"; return 0; fi
  read -ra opts <<<"$4"
  ensure_kafka_libs
  require_free_port "$port" "$part"
  mkdir -p "$plugin_dir"
  write_connect_conf "$part" "$port"
  plugin_stamp >"$run/$part.plugin"
  # The worker sees the store's credentials, so configs can say ${env:AWS_SECRET_KEY}.
  launch "$part" "$logs/$part.out" env -u AWS_SECRET_ACCESS_KEY -u AWS_SESSION_TOKEN -u AWS_PROFILE \
    AWS_ACCESS_KEY_ID="$s3_access" AWS_SECRET_KEY="$s3_secret" SINETS3_ALLOWED_PATHS="$allowed_paths" \
    "$java" -Xms256m -Xmx1g -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true "${opts[@]}" \
    -Dlog4j.configuration="file:$conf/$part-log4j.properties" -cp "$libs/*" \
    org.apache.kafka.connect.cli.ConnectDistributed "$conf/$part.properties"
  wait_for "$part" 120 "Kafka Connect REST on $url" "${part}_ready"
  say "$part: Kafka Connect 3.8.0 REST $url (plugin.path $plugin_dir)"
}

start_part() {
  mkdir -p "$run" "$logs" "$conf"
  write_env
  case $1 in
    s3) start_s3 ;;
    broker) start_broker ;;
    connect | connect2)
      pid_of broker >/dev/null || die "$1 needs the broker: start broker first"
      if [[ $1 == connect ]]; then
        start_connect connect "$connect_port" "$connect_url" "$(connect_opts)"
      else
        start_connect connect2 "$connect2_port" "$connect2_url" "${SINETS3_CONNECT2_OPTS:-}"
      fi
      ;;
  esac
}

status_part() {
  local pid where check
  case $1 in
    s3) where="$s3_url, objects in $stack/s3"; check=s3_ready ;;
    broker) where="127.0.0.1:$broker_port"; check=broker_answers ;;
    connect) where="$connect_url"; check=connect_ready ;;
    connect2) where="$connect2_url"; check=connect2_ready ;;
  esac
  if ! pid="$(pid_of "$1")"; then
    say "$1: stopped"
    return 3
  fi
  if paused "$pid"; then
    say "$1: paused (pid $pid, SIGSTOP; scripts/local-stack.sh resume $1) $where"
  elif "$check"; then
    say "$1: running (pid $pid) $where"
  else
    say "$1: running (pid $pid) but not answering on $where"
  fi
}

check_part() {
  [[ " ${parts[*]} " == *" $1 "* ]] || die "unknown part '$1' (${parts[*]})"
}

usage() {
  sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p;}' "${BASH_SOURCE[0]}"
  exit 2
}

# plugin_changed PART: the worker runs, but build/plugin changed since it started.
plugin_changed() {
  pid_of "$1" >/dev/null && [[ "$(plugin_stamp)" != "$(cat "$run/$1.plugin" 2>/dev/null)" ]]
}

cmd="${1:-}"
part="${2:-}"
case $cmd in
  up)
    start_part s3
    start_part broker
    restart2=false
    if plugin_changed connect2; then
      say "connect2: $plugin_dir changed since the worker started; restarting it"
      stop_part connect2
      restart2=true
    fi
    if plugin_changed connect; then
      say "connect: $plugin_dir changed since the worker started; restarting it"
      stop_part connect
    fi
    start_part connect
    ! $restart2 || start_part connect2
    say "stack up: broker 127.0.0.1:$broker_port, Connect $connect_url, S3 $s3_url (state in $stack)"
    ;;
  down)
    for p in connect2 connect broker s3; do stop_part "$p"; done
    ;;
  status)
    if [[ -n $part ]]; then
      check_part "$part"
      status_part "$part"
    else
      # the exit status covers what `up` starts; connect2 is shown when it runs
      rc=0
      for p in "${up_parts[@]}"; do status_part "$p" || rc=3; done
      if pid_of connect2 >/dev/null; then status_part connect2; fi
      exit "$rc"
    fi
    ;;
  start) check_part "$part"; start_part "$part" ;;
  stop) check_part "$part"; stop_part "$part" ;;
  kill) check_part "$part"; stop_part "$part" KILL ;;
  restart) check_part "$part"; stop_part "$part"; start_part "$part" ;;
  pause | resume) check_part "$part"; signal_part "$part" "$cmd" ;;
  *) usage ;;
esac
