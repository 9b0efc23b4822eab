#!/usr/bin/env bash
# Local test stack on loopback, no Docker: a Kafka broker (KRaft, single node), a Kafka Connect
# distributed worker loading the packaged plugin (build/plugin), and versitygw as the S3 server,
# its objects plain files under .stack/s3/<bucket>/<key>.
#
#   scripts/local-stack.sh up | down | status [PART]
#   scripts/local-stack.sh start | stop | restart | kill | pause | resume PART
#     PART = s3 | s3tls | broker | connect | connect2
#
# `up` starts s3, broker and connect (and s3tls with SINETS3_S3_TLS=1); connect2 is a second
# worker of the same Connect group (same plugin dir, own REST port and log), started on demand
# for fault tests; s3tls is a second versitygw on the same objects, over HTTPS with a
# certificate of the stack's own CA (S3_TLS_URL and S3_CA_FILE in stack.env). `down` stops
# whatever runs. pause/resume send SIGSTOP/SIGCONT (a frozen process, not a dead one).
# State (configs, data, logs, pid files, stack.env with the endpoints) lives in .stack/
# (SINETS3_STACK_DIR); jars and the versitygw binary are cached in ~/.cache/sinets3 (SINETS3_CACHE).
# Kafka: KAFKA_VERSION (3.8.0, or 4.4.0: the jars of scripts/stack/kafka-4.4.0/pom.xml, log4j2
# instead of reload4j) for the broker and the workers. SINETS3_BROKER_SECURITY=SASL_SSL runs the
# broker's listener with TLS (a certificate of the stack's CA for 127.0.0.1 and localhost) and
# SCRAM-SHA-512 (user SINETS3_SASL_USERNAME, password SINETS3_SASL_PASSWORD, created when the
# log dir is formatted), and every client of the workers with it; stack.env then holds the
# client settings (KAFKA_SECURITY_PROTOCOL, KAFKA_SASL_*, KAFKA_SSL_CA_FILE). Both are fixed
# when the stack's log dir is formatted (later commands on the stack use them unless told
# otherwise); another version or mode needs another stack dir.
# Ports: SINETS3_BROKER_PORT (9092), SINETS3_CONTROLLER_PORT (9093), SINETS3_CONNECT_PORT (8083),
# SINETS3_CONNECT2_PORT (8084), SINETS3_S3_PORT (7070), SINETS3_S3_TLS_PORT (7443). Workers:
# SINETS3_CONNECT_OPTS and
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
plugin_dir="${SINETS3_PLUGIN_DIR:-$repo/build/plugin}"
# A stack keeps the Kafka version and security mode its log dir was formatted with (the stamp
# written by start_broker): they apply when the environment does not name them.
format_stamp="$stack/broker.format"
if [[ -f $format_stamp ]]; then
  read -r stamp_version stamp_security <"$format_stamp"
  KAFKA_VERSION="${KAFKA_VERSION:-${stamp_version#KAFKA_VERSION=}}"
  SINETS3_BROKER_SECURITY="${SINETS3_BROKER_SECURITY:-${stamp_security#SINETS3_BROKER_SECURITY=}}"
fi
kafka_version="${KAFKA_VERSION:-$STACK_KAFKA_VERSION}"
[[ $kafka_version =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "KAFKA_VERSION must be a version such as 3.8.0 or 4.4.0, not '$kafka_version'"
kafka4=false
((${kafka_version%%.*} < 4)) || kafka4=true
security="${SINETS3_BROKER_SECURITY:-PLAINTEXT}"
case $security in
  PLAINTEXT | SASL_SSL) ;;
  *) die "SINETS3_BROKER_SECURITY must be PLAINTEXT or SASL_SSL, not '$security'" ;;
esac
sasl_mechanism=SCRAM-SHA-512
sasl_user="${SINETS3_SASL_USERNAME:-sinets3}"
sasl_password="${SINETS3_SASL_PASSWORD:-sinets3-test-sasl-0123456789}"
# They go into the format command's SCRAM syntax and into JAAS strings: no quoting needed then.
[[ $sasl_user =~ ^[A-Za-z0-9._-]+$ && $sasl_password =~ ^[A-Za-z0-9._-]+$ ]] ||
  die "SINETS3_SASL_USERNAME and SINETS3_SASL_PASSWORD: letters, digits, '.', '_' and '-' only"

broker_port="${SINETS3_BROKER_PORT:-9092}"
controller_port="${SINETS3_CONTROLLER_PORT:-9093}"
connect_port="${SINETS3_CONNECT_PORT:-8083}"
connect2_port="${SINETS3_CONNECT2_PORT:-8084}"
s3_port="${SINETS3_S3_PORT:-7070}"
s3_tls_port="${SINETS3_S3_TLS_PORT:-7443}"
s3_access="${SINETS3_S3_ACCESS_KEY:-sinets3-test-access}"
s3_secret="${SINETS3_S3_SECRET_KEY:-sinets3-test-secret-0123456789}"
s3_bucket="${SINETS3_S3_BUCKET:-mybucket}"
s3_url="http://127.0.0.1:$s3_port"
s3_tls_url="https://127.0.0.1:$s3_tls_port"
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
tls="$stack/tls"
parts=(s3 s3tls broker connect connect2)
up_parts=(s3 broker connect)
[[ ${SINETS3_S3_TLS:-0} != 1 ]] || up_parts=(s3 s3tls broker connect)

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
  local part=$1 out=$2 pid i
  shift 2
  setsid "$@" >>"$out" 2>&1 </dev/null &
  pid=$!
  echo "$pid" >"$run/$part.pid"
  # Until the forked shell has exec'd the command, its command line is this script's, and
  # pid_of would take the part for dead: wait (5 s at most) for the command's own.
  for ((i = 0; i < 50; i++)); do
    [[ -e /proc/$pid ]] || break
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$stack/" && break
    sleep 0.1
  done
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

# ---------------------------------------------------------------- certificates

# ensure_tls: the stack's own CA and a server certificate it signed for 127.0.0.1 and
# localhost, made once with openssl into $tls: ca.pem (what clients trust), server.pem and
# server.key (versitygw), server.p12 (the broker's keystore, password in server.p12.password).
ensure_tls() {
  [[ -f $tls/server.p12 ]] && return 0
  command -v openssl >/dev/null 2>&1 || apt_install openssl
  local tmp out
  mkdir -p "$stack"
  tmp="$(mktemp -d "$stack/tls.XXXXXX")"
  if ! out="$(
    exec 2>&1
    set -e
    cd "$tmp"
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=sinets3 local stack CA" \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
      -keyout ca.key -out ca.pem
    openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" -keyout server.key -out server.csr
    printf '%s\n' "subjectAltName=DNS:localhost,IP:127.0.0.1" "basicConstraints=critical,CA:FALSE" \
      "keyUsage=critical,digitalSignature,keyEncipherment" "extendedKeyUsage=serverAuth" >server.ext
    openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 825 \
      -extfile server.ext -out server.pem
    head -c 18 /dev/urandom | base64 | tr '+/' '-_' >server.p12.password
    openssl pkcs12 -export -in server.pem -inkey server.key -name broker \
      -passout "file:server.p12.password" -out server.p12
    chmod 600 ./*.key server.p12.password
    rm -f server.csr server.ext ca.srl
  )"; then
    rm -rf "$tmp"
    die "making the stack's certificates with openssl failed: $out"
  fi
  rm -rf "$tls"
  mv "$tmp" "$tls"
  chmod 755 "$tls"
  say "tls: CA $tls/ca.pem, server certificate for 127.0.0.1 and localhost"
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
CONNECT2_URL=$connect2_url
CONNECT2_LOG=$logs/connect2.log
PLUGIN_DIR=$plugin_dir
JMX_PORT=${SINETS3_JMX_PORT:-}
S3_TLS_URL=$s3_tls_url
S3_CA_FILE=$tls/ca.pem
KAFKA_VERSION=$kafka_version
KAFKA_SECURITY_PROTOCOL=$security
EOF
  if [[ $security != PLAINTEXT ]]; then
    cat >>"$stack/stack.env" <<EOF
KAFKA_SASL_MECHANISM=$sasl_mechanism
KAFKA_SASL_USERNAME=$sasl_user
KAFKA_SASL_PASSWORD=$sasl_password
KAFKA_SSL_CA_FILE=$tls/ca.pem
EOF
  fi
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

# log_conf PART: the logging configuration of PART, writing $logs/PART.log: reload4j for Kafka 3,
# log4j2 for Kafka 4, with the same line pattern, so what reads the logs works on both.
log_conf() {
  local file log="$logs/$1.log"
  file="$(log_conf_file "$1")"
  if $kafka4; then
    cat >"$file" <<EOF
status = warn
appender.file.type = File
appender.file.name = file
appender.file.fileName = $log
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %X{connector.context}%m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = file
logger.request.name = kafka.request.logger
logger.request.level = WARN
logger.state.name = state.change.logger
logger.state.level = WARN
logger.reflections.name = org.reflections
logger.reflections.level = ERROR
EOF
  else
    cat >"$file" <<EOF
log4j.rootLogger=INFO, file
log4j.appender.file=org.apache.log4j.FileAppender
log4j.appender.file.File=$log
log4j.appender.file.layout=org.apache.log4j.PatternLayout
log4j.appender.file.layout.ConversionPattern=[%d] %p %X{connector.context}%m (%c)%n
log4j.logger.kafka.request.logger=WARN
log4j.logger.state.change.logger=WARN
log4j.logger.org.reflections=ERROR
EOF
  fi
}
log_conf_file() { if $kafka4; then echo "$conf/$1-log4j2.properties"; else echo "$conf/$1-log4j.properties"; fi; }
# log_opt PART: the JVM option naming PART's logging configuration.
log_opt() {
  if $kafka4; then
    echo "-Dlog4j2.configurationFile=$(log_conf_file "$1")"
  else
    echo "-Dlog4j.configuration=file:$(log_conf_file "$1")"
  fi
}

# jaas_config USER PASSWORD: the sasl.jaas.config of SCRAM (PASSWORD may be a ${env:...} reference).
jaas_config() {
  printf 'org.apache.kafka.common.security.scram.ScramLoginModule required username="%s" password="%s";' "$1" "$2"
}

# client_security PREFIX: the security settings of a client of the workers (PREFIX "" for the
# worker's own clients; consumer., producer. and admin. for those of the connectors, the dead
# letter queue and topic creation). The password is a ${env:...} reference that the worker's
# env config provider resolves: it is in no file and no log.
client_security() {
  local p=$1
  printf '%s\n' "${p}security.protocol=$security"
  [[ $security != PLAINTEXT ]] || return 0
  # shellcheck disable=SC2016 # a literal ${env:...}, for the worker
  printf '%s\n' "${p}sasl.mechanism=$sasl_mechanism" \
    "${p}sasl.jaas.config=$(jaas_config "$sasl_user" '${env:KAFKA_SASL_PASSWORD}')" \
    "${p}ssl.truststore.type=PEM" "${p}ssl.truststore.location=$tls/ca.pem"
}

# The Kafka version and security mode the stack's log dir was formatted with.
wanted_format="KAFKA_VERSION=$kafka_version SINETS3_BROKER_SECURITY=$security"
check_format() {
  [[ -f $stack/kafka-data/meta.properties ]] || return 0
  local have="KAFKA_VERSION=3.8.0 SINETS3_BROKER_SECURITY=PLAINTEXT" # stacks made before the stamp
  [[ -f $format_stamp ]] && have="$(<"$format_stamp")"
  [[ $have == "$wanted_format" ]] ||
    die "the stack in $stack was made with $have, this run asks for $wanted_format: use another SINETS3_STACK_DIR, or run down and remove $stack/kafka-data"
}

write_broker_conf() {
  local quorum="controller.quorum.voters=1@127.0.0.1:$controller_port" listener=$security
  # Kafka 4 formats a dynamic quorum (format --standalone), which names its bootstrap servers.
  ! $kafka4 || quorum="controller.quorum.bootstrap.servers=127.0.0.1:$controller_port"
  cat >"$conf/broker.properties" <<EOF
process.roles=broker,controller
node.id=1
$quorum
listeners=$listener://127.0.0.1:$broker_port,CONTROLLER://127.0.0.1:$controller_port
advertised.listeners=$listener://127.0.0.1:$broker_port
controller.listener.names=CONTROLLER
inter.broker.listener.name=$listener
listener.security.protocol.map=CONTROLLER:PLAINTEXT,$listener:$listener
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
  if [[ $security == SASL_SSL ]]; then
    chmod 600 "$conf/broker.properties" # the broker's own SCRAM password (the same user)
    cat >>"$conf/broker.properties" <<EOF
sasl.enabled.mechanisms=$sasl_mechanism
sasl.mechanism.inter.broker.protocol=$sasl_mechanism
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=$(jaas_config "$sasl_user" "$sasl_password")
ssl.keystore.type=PKCS12
ssl.keystore.location=$tls/server.p12
ssl.keystore.password=$(<"$tls/server.p12.password")
ssl.truststore.type=PEM
ssl.truststore.location=$tls/ca.pem
EOF
  fi
  log_conf broker
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
  for prefix in "" consumer. producer. admin.; do client_security "$prefix"; done >>"$conf/$part.properties"
  if [[ -n ${SINETS3_CONNECT_EXTRA_PROPS:-} ]]; then
    [[ -f $SINETS3_CONNECT_EXTRA_PROPS ]] || die "SINETS3_CONNECT_EXTRA_PROPS names $SINETS3_CONNECT_EXTRA_PROPS, which does not exist"
    { printf '# appended from SINETS3_CONNECT_EXTRA_PROPS=%s\n' "$SINETS3_CONNECT_EXTRA_PROPS"; cat "$SINETS3_CONNECT_EXTRA_PROPS"; } \
      >>"$conf/$part.properties"
  fi
  log_conf "$part"
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
s3tls_ready() { [[ "$(s3_curl --cacert "$tls/ca.pem" -o /dev/null -w '%{http_code}' "$s3_tls_url/")" == 200 ]]; }
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
  create_bucket s3 "$s3_url"
  say "s3: versitygw $s3_url (bucket $s3_bucket, objects under $stack/s3/$s3_bucket)"
}

# create_bucket PART URL [CURL OPTION...]: the stack's bucket (kept when it exists).
create_bucket() {
  local part=$1 url=$2 code
  shift 2
  code="$(s3_curl "$@" -o /dev/null -w '%{http_code}' -X PUT "$url/$s3_bucket")" ||
    die "creating bucket $s3_bucket: no answer from $url (curl status $?, log $logs/$part.log)"
  [[ $code == 200 || $code == 409 ]] || die "creating bucket $s3_bucket failed: HTTP $code (log $logs/$part.log)"
}

# A second versitygw on the same objects, over HTTPS: a store with a private CA.
start_s3tls() {
  if pid_of s3tls >/dev/null; then say "s3tls: already running"; return 0; fi
  ensure_versitygw
  ensure_tls
  require_free_port "$s3_tls_port" s3tls
  mkdir -p "$stack/s3"
  launch s3tls "$logs/s3tls.log" "$VERSITYGW" --port "127.0.0.1:$s3_tls_port" --access "$s3_access" \
    --secret "$s3_secret" --cert "$tls/server.pem" --key "$tls/server.key" --quiet --keep-alive posix "$stack/s3"
  wait_for s3tls 30 "versitygw on $s3_tls_url" s3tls_ready
  create_bucket s3tls "$s3_tls_url" --cacert "$tls/ca.pem"
  say "s3tls: versitygw $s3_tls_url (certificate of the CA $tls/ca.pem, objects under $stack/s3)"
}

start_broker() {
  if pid_of broker >/dev/null; then say "broker: already running"; return 0; fi
  ensure_kafka_jars "$kafka_version"
  require_free_port "$broker_port" broker
  require_free_port "$controller_port" "broker controller"
  [[ $security == PLAINTEXT ]] || ensure_tls
  write_broker_conf
  if [[ ! -f $stack/kafka-data/meta.properties ]]; then
    local id format=()
    id="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')"
    ! $kafka4 || format+=(--standalone)
    [[ $security == PLAINTEXT ]] || format+=(--add-scram "$sasl_mechanism=[name=$sasl_user,password=$sasl_password]")
    "$java" -cp "$KAFKA_LIBS/*" "$(log_opt broker)" kafka.tools.StorageTool format --cluster-id="$id" \
      --config="$conf/broker.properties" "${format[@]}" >>"$logs/broker.out" 2>&1 ||
      die "formatting the KRaft log dir failed (see $logs/broker.out)"
    echo "$wanted_format" >"$format_stamp"
  fi
  broker_log_offset="$(stat -c %s "$logs/broker.log" 2>/dev/null || echo 0)"
  launch broker "$logs/broker.out" "$java" -Xms256m -Xmx1g -Djava.awt.headless=true \
    "$(log_opt broker)" -cp "$KAFKA_LIBS/*" kafka.Kafka "$conf/broker.properties"
  wait_for broker 90 "Kafka broker on 127.0.0.1:$broker_port" broker_ready
  say "broker: Kafka $kafka_version on 127.0.0.1:$broker_port ($security)"
}

# start_connect PART PORT URL OPTS: a distributed worker of the stack's Connect group.
start_connect() {
  local part=$1 port=$2 url=$3 opts=()
  if pid_of "$part" >/dev/null; then say "$part: already running"; return 0; fi
  read -ra opts <<<"$4"
  ensure_kafka_jars "$kafka_version"
  require_free_port "$port" "$part"
  mkdir -p "$plugin_dir"
  write_connect_conf "$part" "$port"
  plugin_stamp >"$run/$part.plugin"
  # The worker sees the store's credentials, so configs can say ${env:AWS_SECRET_KEY}, and the
  # broker's password, which its client settings name as ${env:KAFKA_SASL_PASSWORD}.
  local sasl=()
  [[ $security == PLAINTEXT ]] || sasl=(KAFKA_SASL_PASSWORD="$sasl_password")
  launch "$part" "$logs/$part.out" env -u AWS_SECRET_ACCESS_KEY -u AWS_SESSION_TOKEN -u AWS_PROFILE -u KAFKA_SASL_PASSWORD \
    AWS_ACCESS_KEY_ID="$s3_access" AWS_SECRET_KEY="$s3_secret" SINETS3_ALLOWED_PATHS="$allowed_paths" "${sasl[@]}" \
    "$java" -Xms256m -Xmx1g -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true "${opts[@]}" \
    "$(log_opt "$part")" -cp "$KAFKA_LIBS/*" org.apache.kafka.connect.cli.ConnectDistributed "$conf/$part.properties"
  wait_for "$part" 120 "Kafka Connect REST on $url" "${part}_ready"
  say "$part: Kafka Connect $kafka_version REST $url (plugin.path $plugin_dir, broker $security)"
}

start_part() {
  mkdir -p "$run" "$logs" "$conf"
  write_env
  case $1 in
    s3) start_s3 ;;
    s3tls) start_s3tls ;;
    broker) check_format; start_broker ;;
    connect | connect2)
      check_format
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
    s3tls) where="$s3_tls_url, CA $tls/ca.pem"; check=s3tls_ready ;;
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
    [[ " ${up_parts[*]} " != *" s3tls "* ]] || start_part s3tls
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
    for p in connect2 connect broker s3tls s3; do stop_part "$p"; done
    ;;
  status)
    if [[ -n $part ]]; then
      check_part "$part"
      status_part "$part"
    else
      # the exit status covers what `up` starts; connect2 and s3tls are shown when they run
      rc=0
      for p in "${up_parts[@]}"; do status_part "$p" || rc=3; done
      for p in s3tls connect2; do
        [[ " ${up_parts[*]} " == *" $p "* ]] || ! pid_of "$p" >/dev/null || status_part "$p"
      done
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
