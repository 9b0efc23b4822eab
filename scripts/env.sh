# shellcheck shell=bash
# Shared settings for the project's scripts; source it.
# Debian's Gradle and Kafka run on JDK 17; a JDK 25 may also be installed and must not be used.
export JAVA_HOME="${SINETS3_JAVA_HOME:-/usr/lib/jvm/java-17-openjdk-amd64}"
export PATH="$JAVA_HOME/bin:$HOME/.cargo/bin:$PATH"
export SINETS3_CACHE="${SINETS3_CACHE:-$HOME/.cache/sinets3}"
SINETS3_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export SINETS3_ROOT
