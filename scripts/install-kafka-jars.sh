#!/usr/bin/env bash
# Fetches the broker and Connect jars of the stack's Kafka (STACK_KAFKA_VERSION in scripts/lib.sh,
# POM in scripts/stack/) into ~/.cache/sinets3/kafka-VERSION/libs, unless they are there. Run before
# the guide checks, which read Connect's own settings from connect-runtime, so that a clean machine
# checks them too.
set -euo pipefail
# shellcheck source=scripts/env.sh
source "$(dirname "$0")/env.sh"
ensure_kafka_jars "$STACK_KAFKA_VERSION"
