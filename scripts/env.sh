# shellcheck shell=bash
# Settings of the project's build and test scripts, with the helpers of scripts/lib.sh; source it.
# JAVA_HOME: the JDK 17 (scripts/lib.sh java_home; SINETS3_JAVA_HOME overrides it).
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
JAVA_HOME="$(java_home)" || exit 1
export JAVA_HOME
export PATH="$JAVA_HOME/bin:$HOME/.cargo/bin:$PATH"
export SINETS3_CACHE="${SINETS3_CACHE:-$HOME/.cache/sinets3}"
SINETS3_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export SINETS3_ROOT
