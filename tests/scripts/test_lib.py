"""scripts/lib.sh, the helpers the scripts share: the JSON reader and writer of register.sh, the
.env reader, java_home, and the cached installs (versitygw, Maven dependencies), the latter
with stand-in `go` and `mvn` commands so that nothing is downloaded."""
import json
import os
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
LIB = REPO / "scripts" / "lib.sh"


def bash(script: str, *args: str, env: dict | None = None, stdin: str = "", cwd=None) -> subprocess.CompletedProcess:
    """Runs SCRIPT in bash after sourcing lib.sh, under set -euo pipefail, as the scripts do."""
    full_env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp")}
    full_env.update(env or {})
    return subprocess.run(["bash", "-c", f"set -euo pipefail; source {LIB}; {script}", "test.sh", *args],
                          env=full_env, input=stdin, capture_output=True, text=True, timeout=60, cwd=cwd)


def fake_command(directory: Path, name: str, body: str) -> None:
    path = directory / name
    path.write_text("#!/bin/bash\n" + body)
    path.chmod(0o755)


# ------------------------------------------------------------------ connect_json

STATUS_RUNNING = {"name": "s3-sink", "connector": {"state": "RUNNING", "worker_id": "w1:8083"},
                  "tasks": [{"id": 1, "state": "RUNNING", "worker_id": "w2:8083"},
                            {"id": 0, "state": "RUNNING", "worker_id": "w1:8083"}], "type": "sink"}


def connect_json(query: str, answer) -> subprocess.CompletedProcess:
    text = answer if isinstance(answer, str) else json.dumps(answer)
    return bash('connect_json "$1"', query, stdin=text)


def test_message():
    assert connect_json("message", {"error_code": 500, "message": "Request timed out"}).stdout == "Request timed out\n"
    result = connect_json("message", {"error_code": 404})
    assert result.returncode == 0 and result.stdout == ""
    assert connect_json("message", "<html>Bad Gateway</html>").returncode == 65
    assert connect_json("message", ["a list"]).stdout == ""


def test_validation_answer():
    answer = {"name": "x", "error_count": 3, "groups": [], "configs": [
        {"definition": {"name": "topics"}, "value": {"name": "topics", "value": "t", "errors": []}},
        {"definition": {"name": "timezone"},
         "value": {"name": "timezone", "value": "Asia/Tokio", "errors": ["Invalid time zone", "see \"tz\""]}},
        {"definition": {"name": "s3.bucket.name"},
         "value": {"name": "s3.bucket.name", "value": None, "errors": ["Missing required configuration"]}},
    ]}
    assert connect_json("error-count", answer).stdout == "3\n"
    assert connect_json("config-errors", answer).stdout == (
        '  timezone: Invalid time zone; see "tz"\n  s3.bucket.name: Missing required configuration\n')
    assert connect_json("error-count", {"name": "x"}).stdout == "0\n"
    assert connect_json("error-count", [1]).returncode == 65


def test_classes():
    plugins = [{"class": "org.example.A", "type": "sink", "version": "1"},
               {"class": "org.sinetstream.kafka.connect.s3.SinetStreamS3SinkConnector", "type": "sink"}]
    assert connect_json("classes", plugins).stdout.splitlines() == [p["class"] for p in plugins]
    assert connect_json("classes", {"not": "a list"}).returncode == 65


def test_status_running_sorted_by_task():
    result = connect_json("status", STATUS_RUNNING)
    assert result.returncode == 0
    assert result.stdout.splitlines() == ["s3-sink: connector RUNNING on w1:8083", "  task 0: RUNNING on w1:8083",
                                          "  task 1: RUNNING on w2:8083"]


@pytest.mark.parametrize("change, line", [
    (lambda s: s["tasks"][0].update(state="FAILED", trace="org.x.ConnectException: 403 Forbidden\n\tat a.b"),
     "    org.x.ConnectException: 403 Forbidden"),
    (lambda s: s["tasks"][0].update(state="FAILED", trace="org.x.ConnectException: task failed\n\tat a.b\n"
                                    "Caused by: org.x.DataException: wrapped\n\tat c.d\n"
                                    "Caused by: org.x.ConnectException: bucket 'b' does not exist\n\tat e.f"),
     "    Caused by: org.x.ConnectException: bucket 'b' does not exist"),
    (lambda s: s["connector"].update(state="PAUSED"), "s3-sink: connector PAUSED on w1:8083"),
    (lambda s: s.update(tasks=[]), "  no tasks yet"),
])
def test_status_not_running(change, line):
    status = json.loads(json.dumps(STATUS_RUNNING))
    change(status)
    result = connect_json("status", status)
    assert result.returncode == 1
    assert line in result.stdout.splitlines()


def test_pretty_and_unknown_query():
    assert json.loads(connect_json("pretty", {"a": ["b"]}).stdout) == {"a": ["b"]}
    result = connect_json("nonsense", {})
    assert result.returncode != 0 and "unknown query nonsense" in result.stderr


# ------------------------------------------------------------------ json_obj

def test_json_obj_round_trip():
    values = ["plain", 'quote " and \\ backslash', "tab\tnew\nline\rreturn", "${env:AWS_SECRET_KEY}", "日本語", ""]
    args = []
    for i, v in enumerate(values):
        args += [f"key.{i}", v]
    result = bash('json_obj "$@"', *args)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {f"key.{i}": v for i, v in enumerate(values)}
    assert bash("json_obj").stdout == "{}"


# ------------------------------------------------------------------ load_env_file

def test_load_env_file(tmp_path):
    env_file = tmp_path / "dot_env"
    env_file.write_text("\n".join([
        "# comment", "export A=1", "B = two words   # comment", "C='single # not a comment'",
        'D="double"', "E=from-file", "not a setting", "F=crlf\r", "G=", ""]))
    result = bash('load_env_file "$1"; printf "%s|" "$A" "$B" "$C" "$D" "$E" "$F" "$G"', str(env_file),
                  env={"E": "from-environment"})
    assert result.returncode == 0, result.stderr
    assert result.stdout == "1|two words|single # not a comment|double|from-environment|crlf||"
    assert f"{env_file}:7: ignoring a line that is not NAME=value" in result.stderr
    assert "not a setting" not in result.stderr


# ------------------------------------------------------------------ java_home

def test_java_home_override_and_missing(tmp_path):
    jdk = tmp_path / "jdk"
    (jdk / "bin").mkdir(parents=True)
    fake_command(jdk / "bin", "java", "exit 0\n")
    assert bash("java_home", env={"SINETS3_JAVA_HOME": str(jdk)}).stdout == f"{jdk}\n"
    result = bash("java_home", env={"SINETS3_JAVA_HOME": str(tmp_path / "none")})
    assert result.returncode == 1
    assert f"no JDK 17 at {tmp_path}/none" in result.stderr and "SINETS3_JAVA_HOME" in result.stderr


def test_java_home_follows_the_architecture(tmp_path):
    fake_command(tmp_path, "dpkg", '[ "$1" = --print-architecture ] && echo arm64\n')
    result = bash("java_home", env={"PATH": f"{tmp_path}:{os.environ['PATH']}"})
    # this machine has no arm64 JDK: the message names the path it looked for
    assert "/usr/lib/jvm/java-17-openjdk-arm64" in result.stdout + result.stderr
    native = subprocess.run(["dpkg", "--print-architecture"], capture_output=True, text=True).stdout.strip()
    assert bash("java_home").stdout == f"/usr/lib/jvm/java-17-openjdk-{native}\n"


# ------------------------------------------------------------------ ensure_versitygw, ensure_maven_deps

def test_ensure_versitygw_builds_once_per_version(tmp_path):
    bin_dir = tmp_path / "fakebin"
    bin_dir.mkdir()
    calls = tmp_path / "go-calls"
    fake_command(bin_dir, "go", f'echo "$*" >>{calls}\nprintf "#!/bin/sh\\n" >"$GOBIN/versitygw"\n'
                                'chmod +x "$GOBIN/versitygw"\n')
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "SINETS3_CACHE": str(tmp_path / "cache")}
    for _ in range(2):
        result = bash('ensure_versitygw; echo "$VERSITYGW"', env=env)
        assert result.returncode == 0, result.stderr
        assert result.stdout.splitlines()[-1] == f"{tmp_path}/cache/bin/versitygw"
    version = bash("echo $VERSITYGW_VERSION").stdout.strip()
    assert calls.read_text() == f"install github.com/versity/versitygw/cmd/versitygw@{version}\n"
    (tmp_path / "cache/bin/versitygw.version").write_text("v0.0.1\n")  # an older pin: rebuilt
    assert bash("ensure_versitygw", env=env).returncode == 0
    assert len(calls.read_text().splitlines()) == 2


def test_ensure_maven_deps_fetches_when_the_pom_changes(tmp_path):
    bin_dir = tmp_path / "fakebin"
    bin_dir.mkdir()
    calls = tmp_path / "mvn-calls"
    # stand-in for `mvn -f POM dependency:copy-dependencies -DoutputDirectory=DIR`
    fake_command(bin_dir, "mvn", f'echo "$*" >>{calls}\nfor a; do case $a in -DoutputDirectory=*) '
                                 'touch "${a#-DoutputDirectory=}/dep-$(wc -l <' + str(calls) + ').jar" ;; esac; done\n')
    pom = tmp_path / "pom.xml"
    pom.write_text("<project>1</project>\n")
    dest = tmp_path / "cache" / "libs"
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin"}
    for _ in range(2):
        result = bash('ensure_maven_deps "$1" "$2"', str(pom), str(dest), env=env)
        assert result.returncode == 0, result.stderr
    assert len(calls.read_text().splitlines()) == 1
    assert sorted(p.name for p in dest.iterdir()) == [".pom.sha256", "dep-1.jar"]
    pom.write_text("<project>2</project>\n")
    assert bash('ensure_maven_deps "$1" "$2"', str(pom), str(dest), env=env).returncode == 0
    assert sorted(p.name for p in dest.iterdir()) == [".pom.sha256", "dep-2.jar"]  # replaced as a whole


def test_ensure_maven_deps_failure_shows_maven_output(tmp_path):
    bin_dir = tmp_path / "fakebin"
    bin_dir.mkdir()
    fake_command(bin_dir, "mvn", 'echo "[ERROR] Could not resolve org.example:missing:1.0"; exit 1\n')
    pom = tmp_path / "pom.xml"
    pom.write_text("<project/>\n")
    result = bash('ensure_maven_deps "$1" "$2"', str(pom), str(tmp_path / "libs"),
                  env={"PATH": f"{bin_dir}:/usr/bin:/bin"})
    assert result.returncode == 1
    assert "Could not resolve org.example:missing:1.0" in result.stderr
    assert f"mvn dependency:copy-dependencies -f {pom} failed" in result.stderr
    assert not (tmp_path / "libs").exists() and list(tmp_path.glob("libs.*")) == []


# ------------------------------------------------------------------ ensure_kafka_jars

def kafka_jars(version: str, tmp_path: Path) -> subprocess.CompletedProcess:
    """ensure_kafka_jars VERSION with ensure_maven_deps replaced by an echo of its arguments."""
    return bash('ensure_maven_deps() { echo "deps $1 $2"; }; ensure_kafka_jars "$1"; echo "libs $KAFKA_LIBS"',
                version, env={"SINETS3_CACHE": str(tmp_path)})


def test_ensure_kafka_jars_takes_each_versions_own_pom_into_its_own_cache(tmp_path):
    stack = REPO / "scripts" / "stack"
    default = kafka_jars("3.8.0", tmp_path)
    assert default.returncode == 0, default.stderr
    assert default.stdout.splitlines() == [f"deps {stack / 'pom.xml'} {tmp_path}/kafka-3.8.0/libs",
                                           f"libs {tmp_path}/kafka-3.8.0/libs"]
    kafka4 = kafka_jars("4.4.0", tmp_path)
    assert kafka4.returncode == 0, kafka4.stderr
    assert kafka4.stdout.splitlines()[0] == f"deps {stack / 'kafka-4.4.0' / 'pom.xml'} {tmp_path}/kafka-4.4.0/libs"


def test_ensure_kafka_jars_names_the_missing_pom_of_an_unknown_version(tmp_path):
    result = kafka_jars("9.9.9", tmp_path)
    assert result.returncode == 1
    assert "no POM for Kafka 9.9.9" in result.stderr and "kafka-9.9.9/pom.xml" in result.stderr
    assert "deps" not in result.stdout
