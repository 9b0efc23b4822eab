#!/usr/bin/env bash
# Fetches the Kafka 3.8.0 broker and Connect jars the local stack runs (scripts/stack/pom.xml)
# into ~/.cache/sinets3/kafka-3.8.0/libs, unless they are there. Run before the guide checks,
# which read Connect's own settings from connect-runtime, so that a clean machine checks them too.
set -euo pipefail
# shellcheck source=scripts/env.sh
source "$(dirname "$0")/env.sh"
ensure_kafka_jars "$STACK_KAFKA_VERSION"
