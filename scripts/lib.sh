# shellcheck shell=bash
# Helpers shared by the project's scripts (register.sh, quickstart.sh, scripts/*.sh, bench/run.sh):
# messages, the JDK, tools fetched into ~/.cache/sinets3, the .env reader and the JSON of the
# Kafka Connect REST API. Source it; it defines functions and constants only. Each helper either
# succeeds or stops the script with a message naming what failed.

VERSITYGW_VERSION=v1.8.0 # the S3 server of tests and benchmarks
# apt-get that waits for another apt run (a parallel install) instead of failing on its lock; an
# array, not a function, so that it runs under sudo too.
APT_GET=(apt-get -o DPkg::Lock::Timeout=300)

# ---------------------------------------------------------------- messages

# say MESSAGE: progress, on stdout.
say() { printf '%s\n' "$*"; }

# err MESSAGE: an error line on stderr, named after the script; the caller decides the exit.
err() { printf '%s: error: %s\n' "${0##*/}" "$*" >&2; }

# die MESSAGE: err, then exit 1.
die() {
  err "$*"
  exit 1
}

# ---------------------------------------------------------------- the JDK and system packages

# java_home: prints the JDK 17 to use: SINETS3_JAVA_HOME, else Debian's for this machine's
# architecture. Never `java` from PATH: a Temurin 25 is installed on some machines, and
# Debian's Gradle 4.4.1 test runner crashes on it.
java_home() {
  local home=${SINETS3_JAVA_HOME:-} arch
  if [[ -z $home ]]; then
    arch="$(dpkg --print-architecture 2>/dev/null)" || arch=""
    if [[ -z $arch ]]; then
      case "$(uname -m)" in
        x86_64) arch=amd64 ;;
        aarch64) arch=arm64 ;;
        *) arch="$(uname -m)" ;;
      esac
    fi
    home=/usr/lib/jvm/java-17-openjdk-$arch
  fi
  [[ -x $home/bin/java ]] ||
    die "no JDK 17 at $home (Debian: apt-get install -y openjdk-17-jdk-headless; elsewhere set SINETS3_JAVA_HOME)"
  printf '%s\n' "$home"
}

# apt_install PACKAGE...: installs Debian packages, saying so; as root, or through sudo
# without a password; otherwise stops with the command to run.
apt_install() {
  local sudo=() log
  if [[ $(id -u) != 0 ]]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
      sudo=(sudo -n)
    else
      die "$* not installed; install it as root: apt-get install -y $*"
    fi
  fi
  command -v apt-get >/dev/null 2>&1 || die "$* not installed, and this system has no apt-get: install $* first"
  say "installing $* (apt-get install)"
  log="$(mktemp)"
  if ! { "${sudo[@]}" "${APT_GET[@]}" update -qq \
    && "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive "${APT_GET[@]}" install -y -qq "$@"; } >"$log" 2>&1; then
    cat "$log" >&2
    rm -f "$log"
    die "apt-get install $* failed (output above)"
  fi
  rm -f "$log"
}

# ---------------------------------------------------------------- tools cached in ~/.cache/sinets3

# go_install_cached NAME PACKAGE VERSION HOW_LONG: the Go program NAME, built from
# PACKAGE@VERSION into the cache's bin/ once (a stamp file names the version).
go_install_cached() {
  local name=$1 package=$2 version=$3 how_long=$4
  local bin_dir="${SINETS3_CACHE:-$HOME/.cache/sinets3}/bin"
  local binary="$bin_dir/$name"
  if [[ -x $binary && -f $binary.version && "$(<"$binary.version")" == "$version" ]]; then
    return 0
  fi
  PATH="$PATH:/usr/local/go/bin:$HOME/go/bin"
  command -v go >/dev/null 2>&1 || die "go is needed to build $name $version (not found on PATH)"
  say "building $name $version into $bin_dir with go ($how_long)"
  mkdir -p "$bin_dir"
  GOBIN="$bin_dir" go install "$package@$version" || die "go install $package@$version failed (output above)"
  echo "$version" >"$binary.version"
}

# ensure_versitygw: versitygw $VERSITYGW_VERSION in the cache; sets VERSITYGW to the binary.
ensure_versitygw() {
  # shellcheck disable=SC2034 # for the caller
  VERSITYGW="${SINETS3_CACHE:-$HOME/.cache/sinets3}/bin/versitygw"
  go_install_cached versitygw github.com/versity/versitygw/cmd/versitygw "$VERSITYGW_VERSION" \
    "about 2 minutes the first time"
}

# The Kafka version the local stack runs unless KAFKA_VERSION names another, and the bench's.
STACK_KAFKA_VERSION=3.8.0

# ensure_kafka_jars VERSION: the broker and Connect jars of Kafka VERSION in the cache, from
# their own POM: scripts/stack/pom.xml for STACK_KAFKA_VERSION, else
# scripts/stack/kafka-VERSION/pom.xml. Sets KAFKA_LIBS to their directory.
ensure_kafka_jars() {
  local version=$1 stack_poms pom
  stack_poms="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/stack"
  pom="$stack_poms/kafka-$version/pom.xml"
  [[ $version == "$STACK_KAFKA_VERSION" ]] && pom="$stack_poms/pom.xml"
  [[ -f $pom ]] || die "no POM for Kafka $version ($pom): KAFKA_VERSION is $STACK_KAFKA_VERSION or a version of scripts/stack/kafka-<version>/"
  KAFKA_LIBS="${SINETS3_CACHE:-$HOME/.cache/sinets3}/kafka-$version/libs"
  ensure_maven_deps "$pom" "$KAFKA_LIBS"
}

# stop_started: stops the local-stack.sh parts named in the array `started`, last first; for a
# script's EXIT trap, so that it stops only what it started itself.
stop_started() {
  local i
  # shellcheck disable=SC2154 # the caller's array
  for ((i = ${#started[@]} - 1; i >= 0; i--)); do
    "$(dirname "${BASH_SOURCE[0]}")/local-stack.sh" stop "${started[i]}" || true
  done
}

# ensure_maven_deps POM DEST: the dependencies of POM copied into DEST by Maven, once: DEST is
# replaced as a whole when POM changes (DEST/.pom.sha256 holds the hash of the POM it came from).
ensure_maven_deps() {
  local pom=$1 dest=$2 want tmp
  want="$(sha256sum "$pom" | cut -d' ' -f1)"
  if [[ -f $dest/.pom.sha256 && "$(<"$dest/.pom.sha256")" == "$want" ]]; then
    return 0
  fi
  command -v mvn >/dev/null 2>&1 || apt_install maven
  say "fetching the dependencies of ${pom#"${SINETS3_ROOT:-}"/} from Maven Central into $dest"
  mkdir -p "$(dirname "$dest")"
  tmp="$(mktemp -d "$dest.XXXXXX")"
  chmod 755 "$tmp" # mktemp makes it private
  if ! mvn -q -B -Dstyle.color=never -f "$pom" dependency:copy-dependencies -DoutputDirectory="$tmp" \
    >"$tmp.log" 2>&1; then
    cat "$tmp.log" >&2
    rm -rf "$tmp" "$tmp.log"
    die "mvn dependency:copy-dependencies -f $pom failed (output above)"
  fi
  rm -f "$tmp.log"
  rm -rf "$dest" "$(dirname "$pom")/target"
  mv "$tmp" "$dest"
  echo "$want" >"$dest/.pom.sha256"
}

# make_venv DIR [PYTHON]: a virtualenv with pip in DIR (kept when it already has one).
# Needs no root and works where pip refuses to install into the system Python (PEP 668):
# packages go into the venv only. Where the venv module has no ensurepip (Debian without
# python3-venv), the venv is made without pip, and pip is put into it by the system's pip
# (`pip --python`, pip >= 22.3) or from Debian's pip wheel.
make_venv() {
  local dir=$1 python=${2:-${PYTHON:-python3}} out wheels
  if [[ -x $dir/bin/python ]] && "$dir/bin/python" -m pip --version >/dev/null 2>&1; then
    return 0
  fi
  command -v "$python" >/dev/null 2>&1 || die "$python not found: Python 3 is needed (or set PYTHON=/path/to/python3)"
  rm -rf "$dir"
  say "creating the virtualenv $dir with $("$python" --version 2>&1)"
  if out="$("$python" -m venv "$dir" 2>&1)"; then
    return 0
  fi
  rm -rf "$dir"
  "$python" -m venv --without-pip "$dir" >/dev/null 2>&1 ||
    die "$python cannot create a virtualenv in $dir: $out"
  say "the venv module has no ensurepip; installing pip into $dir from the system's pip"
  if "$python" -m pip --python "$dir/bin/python" install -q pip >/dev/null 2>&1; then
    return 0
  fi
  shopt -s nullglob
  wheels=(/usr/share/python-wheels/pip-*.whl)
  shopt -u nullglob
  if ((${#wheels[@]})) && "$dir/bin/python" "${wheels[-1]}/pip" install -q --no-index "${wheels[-1]}" >/dev/null 2>&1; then
    return 0
  fi
  rm -rf "$dir"
  die "cannot put pip into a virtualenv with $python ($out); install python3-venv (root: apt-get install -y python3-venv) or set PYTHON to a Python that has the venv module"
}

# ---------------------------------------------------------------- .env files

trim() {
  local s=$1
  s=${s#"${s%%[![:space:]]*}"}
  s=${s%"${s##*[![:space:]]}"}
  printf '%s' "$s"
}

# load_env_file FILE: NAME=value lines as docker compose reads them (optional "export ",
# quotes, " # comments", CRLF line ends). Sets each NAME not already set in the environment,
# so the environment wins, as with docker compose. A line that is not NAME=value is reported
# by its number, never echoed (it may hold a secret). ENV_FILE_KEYS lists the names it set.
load_env_file() {
  local file=$1 line key value n=0
  ENV_FILE_KEYS=()
  while IFS= read -r line || [[ -n $line ]]; do
    n=$((n + 1))
    line=$(trim "${line%$'\r'}")
    case $line in '' | '#'*) continue ;; esac
    line=${line#export }
    key=$(trim "${line%%=*}")
    value=$(trim "${line#*=}")
    if [[ $key == "$line" ]] || ! [[ $key =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]]; then
      err "$file:$n: ignoring a line that is not NAME=value"
      continue
    fi
    case $value in
      \"*\"*) value=${value#\"}; value=${value%%\"*} ;;
      \'*\'*) value=${value#\'}; value=${value%%\'*} ;;
      *) value=$(trim "${value%%[[:space:]]#*}") ;;
    esac
    if [[ -z ${!key+set} ]]; then
      printf -v "$key" '%s' "$value"
      ENV_FILE_KEYS+=("$key")
    fi
  done <"$file"
}

# read_properties FILE: key=value lines (connector.properties) into PROPERTY_KEYS,
# PROPERTY_VALUES and PROPERTY_LINES (line numbers), in file order; a later line with the same
# key replaces the earlier one, as in Java properties. Blank lines and lines starting with # or
# ! are comments; spaces around the key and the value are dropped, the value is kept as
# written otherwise (quotes, "#", "$" included: ${env:NAME} and ${file:PATH:KEY} references
# reach Kafka Connect unchanged). Returns 1, after naming the line (never its text, which may
# hold a secret), when a line is not key=value or ends in a backslash (continuations are not
# supported).
read_properties() {
  local file=$1 line key value n=0 i
  PROPERTY_KEYS=() PROPERTY_VALUES=() PROPERTY_LINES=()
  while IFS= read -r line || [[ -n $line ]]; do
    n=$((n + 1))
    line=$(trim "${line%$'\r'}")
    case $line in '' | '#'* | '!'*) continue ;; esac
    if [[ $line == *\\ ]]; then
      err "$file:$n: a line ending in a backslash (continued line) is not supported; write the value on one line"
      return 1
    fi
    key=$(trim "${line%%=*}")
    value=$(trim "${line#*=}")
    if [[ $key == "$line" ]] || ! [[ $key =~ ^[A-Za-z0-9_][A-Za-z0-9_.-]*$ ]]; then
      err "$file:$n: not a key=value line (keys are letters, digits, '.', '_' and '-')"
      return 1
    fi
    for i in "${!PROPERTY_KEYS[@]}"; do
      if [[ ${PROPERTY_KEYS[i]} == "$key" ]]; then
        unset 'PROPERTY_KEYS[i]' 'PROPERTY_VALUES[i]' 'PROPERTY_LINES[i]'
      fi
    done
    PROPERTY_KEYS+=("$key") PROPERTY_VALUES+=("$value") PROPERTY_LINES+=("$n")
  done <"$file"
  PROPERTY_KEYS=("${PROPERTY_KEYS[@]}") PROPERTY_VALUES=("${PROPERTY_VALUES[@]}") PROPERTY_LINES=("${PROPERTY_LINES[@]}")
}

# ---------------------------------------------------------------- JSON

# json_str STRING: STRING as a JSON string.
json_str() {
  local s=$1
  s=${s//\\/\\\\}
  s=${s//\"/\\\"}
  s=${s//$'\t'/\\t}
  s=${s//$'\n'/\\n}
  s=${s//$'\r'/\\r}
  printf '"%s"' "$s"
}

# json_obj KEY VALUE [KEY VALUE ...]: prints {"KEY":"VALUE",...}, every value a string. Written
# in bash rather than handed to python3 so that values never appear on a command line.
json_obj() {
  local out="{" sep=""
  while (($# >= 2)); do
    out+="$sep$(json_str "$1"):$(json_str "$2")"
    sep=","
    shift 2
  done
  printf '%s}' "$out"
}

# connect_json QUERY < ANSWER: what the scripts read from the JSON answers of the Kafka Connect
# REST API, with python3 (any 3.x); the one place that parses them:
#   message        the "message" of an error answer (nothing if it has none)
#   error-count    "error_count" of a config/validate answer
#   config-errors  "  key: error; error" for each key a config/validate answer rejects
#   password-keys  the keys a config/validate answer defines as type PASSWORD, one per line
#   classes        the class of each plugin of GET /connector-plugins, one per line
#   status         a connector's GET .../status, one line for the connector and one per task
#                  (with the first line of a task's trace and its last "Caused by:", the root
#                  cause); exit status 1 unless the connector
#                  and all its tasks are RUNNING and there is at least one task
#   pretty         the document, indented
# Exit status 65 when ANSWER is not JSON of the expected shape.
connect_json() {
  PYTHONIOENCODING=utf-8 python3 -c '
import json, sys

query = sys.argv[1]
try:
    doc = json.load(sys.stdin)
except ValueError:
    sys.exit(65)
lines, ok = [], True
try:
    if query == "message":
        if isinstance(doc, dict) and doc.get("message"):
            lines.append(str(doc["message"]))
    elif query == "error-count":
        lines.append(str(int(doc.get("error_count", 0))))
    elif query == "config-errors":
        for config in doc.get("configs", []):
            value = config.get("value") or {}
            if value.get("errors"):
                lines.append("  %s: %s" % (value.get("name"), "; ".join(value["errors"])))
    elif query == "password-keys":
        lines.extend(c["definition"]["name"] for c in doc.get("configs", [])
                     if (c.get("definition") or {}).get("type") == "PASSWORD")
    elif query == "classes":
        lines.extend(plugin["class"] for plugin in doc)
    elif query == "status":
        connector = doc["connector"]
        lines.append("%s: connector %s on %s" % (doc["name"], connector["state"], connector.get("worker_id")))
        ok = connector["state"] == "RUNNING"
        tasks = sorted(doc.get("tasks", []), key=lambda t: t.get("id", 0))
        for task in tasks:
            lines.append("  task %s: %s on %s" % (task.get("id"), task["state"], task.get("worker_id")))
            if task.get("trace"):
                trace = task["trace"].split("\n")
                causes = [line for line in trace if line.startswith("Caused by: ")]
                lines.append("    " + trace[0])
                if causes:
                    lines.append("    " + causes[-1])
            ok = ok and task["state"] == "RUNNING"
        if not tasks:
            lines.append("  no tasks yet")
            ok = False
    elif query == "pretty":
        lines.append(json.dumps(doc, indent=2))
    else:
        sys.exit("connect_json: unknown query " + query)
except (AttributeError, KeyError, TypeError, ValueError):
    sys.exit(65)
if lines:
    print("\n".join(lines))
sys.exit(0 if ok else 1)
' "$1"
}
