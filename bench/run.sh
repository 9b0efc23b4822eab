#!/usr/bin/env bash
# Benchmark: our plugin against Apache Camel's S3 sink, the seed's request pattern (modelled)
# and the store's own ceiling, on a local stack of its own (broker, Connect worker, versitygw).
#
#   bench/run.sh [--quick]      (--quick: smaller run of the same scenarios, ~15 minutes)
#   bench/run.sh [--quick] --only S,memory   (development: some scenarios)
#   bench/run.sh --profile M seed [--tasks 3]  (perf profile of one row, worker and store: bench/profile.py)
#
# Writes the table to stdout, bench/results/latest.{md,json} and the charts throughput.svg and
# vs-limit.svg (--quick and --only: into bench/work/results/). A full run first waits until the
# 1-minute load average stays under 1.5 for 2 minutes (at most 45 min; --no-wait-quiet skips it).
# State lives in bench/work/ (git-ignored); ports 19092, 19093 (broker), 18083 (Connect),
# 17070 (versitygw), 17073 (versitygw over HTTPS), 17071/17072 (delay proxy and its control API),
# overridable with BENCH_BROKER_PORT, BENCH_CONTROLLER_PORT, BENCH_CONNECT_PORT, BENCH_S3_PORT,
# BENCH_S3_TLS_PORT, BENCH_PROXY_PORT, BENCH_PROXY_CTL_PORT. Camel's jars are cached in
# ~/.cache/sinets3 (SINETS3_CACHE).
# Every process it starts is stopped at the end, also on failure or Ctrl-C.
set -euo pipefail
# shellcheck source=scripts/env.sh
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/env.sh"

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bench="$repo/bench"
work="${BENCH_WORK:-$bench/work}"
cache="${SINETS3_CACHE:-$HOME/.cache/sinets3}"
camel="$cache/camel-0.11.0"

case "${1:-}" in
  -h | --help) sed -n '2,17p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac

PATH="$PATH:/usr/local/go/bin:$HOME/go/bin:$HOME/.cargo/bin"
command -v go >/dev/null || die "go is needed to build bench/proxy"
command -v cargo >/dev/null || die "cargo is needed to build bench/ceiling"
command -v mvn >/dev/null || apt_install maven

"$repo/scripts/setup-venv.sh"
"$repo/.venv/bin/python" -c 'import crc32c, matplotlib' 2>/dev/null ||
  "$repo/.venv/bin/python" -m pip install -q -r "$bench/requirements.txt"
compgen -G "$repo/build/plugin/*.jar" >/dev/null || "$repo/scripts/build.sh"

mkdir -p "$work/bin" "$work/plugins"
(cd "$bench/proxy" && go build -o "$work/bin/proxy" .)
say "building bench/ceiling (about 2 minutes the first time)"
CARGO_TARGET_DIR="$work/target" cargo build -q --release --locked --manifest-path "$repo/Cargo.toml" -p bench-ceiling
cp "$work/target/release/bench-ceiling" "$work/bin/ceiling"

# Camel's plugin directory, fetched once.
ensure_maven_deps "$bench/camel/pom.xml" "$camel"
# "Connect alone": bench/noop's counting sink, compiled against the stack's Kafka jars into a
# plugin directory of its own (never part of our plugin).
ensure_kafka_jars "$STACK_KAFKA_VERSION"
rm -rf "$work/noop" && mkdir -p "$work/noop/classes/META-INF/services" "$work/plugins/bench-noop"
javac --release 11 -d "$work/noop/classes" -cp "$KAFKA_LIBS/*" "$bench/noop/NoopSinkConnector.java"
echo bench.NoopSinkConnector >"$work/noop/classes/META-INF/services/org.apache.kafka.connect.sink.SinkConnector"
jar cf "$work/plugins/bench-noop/bench-noop.jar" -C "$work/noop/classes" .
rm -f "$work/plugins/connect-file"
ln -sfn "$repo/build/plugin" "$work/plugins/sinets3"
ln -sfn "$camel" "$work/plugins/camel"

# bench.py stops every process it started when it ends, fails, or gets SIGINT / SIGTERM.
if [[ "${1:-}" == --profile ]]; then
  shift
  BENCH_WORK="$work" exec "$repo/.venv/bin/python" "$bench/profile.py" "$@"
fi
BENCH_WORK="$work" exec "$repo/.venv/bin/python" "$bench/bench.py" "$@"
