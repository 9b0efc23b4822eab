"""register.sh against a mock Kafka Connect REST API (tests/register/mock_connect.py).

Covers the contract others build on: ENV_FILE / CONNECT_URL, exit codes (0 ok,
1 configuration error, 2 REST unreachable), idempotent create/update, the one- and
two-connector layouts, readable validation errors, and secrets never sent or printed.
"""
import json
import os
import subprocess
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mock_connect import CONNECTOR_CLASS, MockConnect  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
REGISTER = os.path.join(REPO, "register.sh")

ACCESS = "AKIAMOCKACCESSKEY123"
SECRET = "mock/Secret+Key-0123456789abcdef"
CRYPTO_PASSWORD = "crypto-pass-never-shown"

BASE_ENV = {
    "BROKER_HOSTNAME": "kafka.example.org",
    "KAFKA_TOPIC": "sinetstream.sensor",
    "AWS_ACCESS_KEY_ID": ACCESS,
    "AWS_SECRET_KEY": SECRET,
    "S3_BUCKET_NAME": "mybucket",
}


@pytest.fixture
def connect():
    mock = MockConnect().start()
    yield mock
    mock.stop()


@pytest.fixture(params=["jq", "no-jq"])
def jq_mode(request):
    return request.param


def write_env(tmp_path, values, extra_lines=()):
    path = tmp_path / "dot_env"
    lines = ["# test settings"] + ["%s=%s" % kv for kv in values.items()] + list(extra_lines)
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def run(env_file, *args, url=None, wait="5", jq="jq", extra_env=None):
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/tmp"),
           "ENV_FILE": env_file, "CONNECT_WAIT": wait}
    if url:
        env["CONNECT_URL"] = url
    if jq == "no-jq":
        env["USE_JQ"] = "no"
    env.update(extra_env or {})
    return subprocess.run(["bash", REGISTER, *args], env=env, capture_output=True, text=True, timeout=120,
                          stdin=subprocess.DEVNULL)


def assert_no_secret(result, connect=None):
    text = result.stdout + result.stderr
    if connect is not None:
        text += "".join(body for _, _, body in connect.requests)
    for secret in (ACCESS, SECRET, CRYPTO_PASSWORD):
        assert secret not in text


# ------------------------------------------------------------------ settings checks

@pytest.mark.parametrize("missing", ["BROKER_HOSTNAME", "KAFKA_TOPIC", "S3_BUCKET_NAME", "AWS_ACCESS_KEY_ID", "AWS_SECRET_KEY"])
def test_missing_required_variable_is_named(tmp_path, connect, missing):
    values = {k: v for k, v in BASE_ENV.items() if k != missing}
    result = run(write_env(tmp_path, values), url=connect.url)
    assert result.returncode == 1
    assert missing in result.stderr
    assert connect.requests == []
    assert_no_secret(result)


def test_missing_env_file(tmp_path, connect):
    result = run(str(tmp_path / "nope"), url=connect.url)
    assert result.returncode == 1
    assert "example_dot_env" in result.stderr


def test_bad_endpoint_scheme(tmp_path, connect):
    result = run(write_env(tmp_path, dict(BASE_ENV, S3_ENDPOINT_URL="minio:9000")), url=connect.url)
    assert result.returncode == 1
    assert "S3_ENDPOINT_URL" in result.stderr


def test_file_store_needs_no_credentials(tmp_path, connect):
    values = {k: v for k, v in BASE_ENV.items() if not k.startswith("AWS_")}
    values["S3_ENDPOINT_URL"] = "file:///data"
    result = run(write_env(tmp_path, values), url=connect.url)
    assert result.returncode == 0, result.stderr
    config = connect.connectors["s3-sink"]
    assert config["store.url"] == "file:///data"
    assert not any(k.startswith("aws.") for k in config)


def test_no_keys_means_the_default_credential_chain(tmp_path, connect):
    values = {k: v for k, v in BASE_ENV.items() if not k.startswith("AWS_")}
    result = run(write_env(tmp_path, values), url=connect.url)
    assert result.returncode == 0, result.stderr
    config = connect.connectors["s3-sink"]
    assert config["store.url"] == ""  # Amazon S3
    assert not any(k.startswith("aws.") for k in config), config
    assert "default AWS credential chain" in result.stdout


def test_session_token_leaves_the_keys_to_the_worker(tmp_path, connect):
    token = "FwoGZXIvYXdzEXAMPLE-session-token"
    result = run(write_env(tmp_path, dict(BASE_ENV, AWS_SESSION_TOKEN=token)), url=connect.url)
    assert result.returncode == 0, result.stderr
    # the engine reads key, secret and token together from the worker's environment
    assert not any(k.startswith("aws.") for k in connect.connectors["s3-sink"])
    assert "AWS_SESSION_TOKEN" in result.stdout
    assert_no_secret(result, connect)
    assert token not in result.stdout + result.stderr + "".join(body for _, _, body in connect.requests)


BROKER_PASSWORD = "broker-pass-never-shown"
SASL_SSL = {"KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
            "KAFKA_SASL_USERNAME": "sinetstream", "KAFKA_SASL_PASSWORD": BROKER_PASSWORD,
            "KAFKA_SSL_CA_FILE": "/conf/kafka-ca.pem"}


def test_secured_broker_stays_out_of_the_connector_config(tmp_path, connect):
    """The broker's settings are the worker's (docker-compose.yml); the connector config names
    none of them, and the password is sent and printed nowhere."""
    result = run(write_env(tmp_path, dict(BASE_ENV, **SASL_SSL)), url=connect.url)
    assert result.returncode == 0, result.stderr
    config = connect.connectors["s3-sink"]
    assert not [k for k in config if "sasl" in k or "security" in k or "ssl" in k], config
    assert BROKER_PASSWORD not in result.stdout + result.stderr + "".join(body for _, _, body in connect.requests)


@pytest.mark.parametrize("settings,message", [
    ({"KAFKA_SECURITY_PROTOCOL": "TLS"}, "KAFKA_SECURITY_PROTOCOL must be PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL, not 'TLS'"),
    (dict(SASL_SSL, KAFKA_SASL_PASSWORD=""), "KAFKA_SECURITY_PROTOCOL=SASL_SSL needs KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD"),
    (dict(SASL_SSL, KAFKA_SASL_MECHANISM="GSSAPI"), "KAFKA_SASL_MECHANISM must be PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512"),
])
def test_bad_broker_security_is_named(tmp_path, connect, settings, message):
    result = run(write_env(tmp_path, dict(BASE_ENV, **settings)), url=connect.url)
    assert result.returncode == 1
    assert message in result.stderr
    assert connect.requests == []
    assert BROKER_PASSWORD not in result.stdout + result.stderr


def test_missing_broker_ca_file_is_noted(tmp_path, connect):
    # ./conf beside register.sh and docker-compose.yml is the container's /conf
    result = run(write_env(tmp_path, dict(BASE_ENV, **SASL_SSL)), url=connect.url)
    assert result.returncode == 0, result.stderr
    assert "conf/kafka-ca.pem not found (KAFKA_SSL_CA_FILE is /conf/... in the container)" in result.stdout


# ------------------------------------------------------------------ registration

def test_default_registration(tmp_path, connect, jq_mode):
    result = run(write_env(tmp_path, BASE_ENV), url=connect.url, jq=jq_mode)
    assert result.returncode == 0, result.stderr
    assert "s3-sink: created" in result.stdout
    assert list(connect.connectors) == ["s3-sink"]
    config = connect.connectors["s3-sink"]
    assert config["connector.class"] == CONNECTOR_CLASS
    assert config["topics"] == "sinetstream.sensor"
    assert config["s3.bucket.name"] == "mybucket"
    assert config["s3.region"] == "us-east-1"
    assert config["store.url"] == ""
    assert config["sink.objects"] == "payload,timestamp"
    assert config["timezone"] == "Asia/Tokyo"
    assert config["format.bytearray.extension"] == ".bin"
    assert config["key.converter"] == config["value.converter"] == "org.apache.kafka.connect.converters.ByteArrayConverter"
    assert config["aws.access.key.id"] == "${env:AWS_ACCESS_KEY_ID}"
    assert config["aws.secret.access.key"] == "${env:AWS_SECRET_KEY}"
    assert not any(k.startswith("sinetstream.") for k in config)
    # validated before it was created
    paths = [(m, p) for m, p, _ in connect.requests]
    validate = ("PUT", "/connector-plugins/%s/config/validate" % CONNECTOR_CLASS)
    assert paths.index(validate) < paths.index(("PUT", "/connectors/s3-sink/config"))
    assert_no_secret(result, connect)


def test_settings_from_env_file(tmp_path, connect):
    values = dict(BASE_ENV, KAFKA_TOPIC="a.topic, b.topic", S3_REGION="ap-northeast-1",
                  S3_ENDPOINT_URL="http://minio:9000", S3_OBJECT_EXTENSION=".jpeg", TIMEZONE="UTC", TASKS_MAX="3")
    result = run(write_env(tmp_path, values), url=connect.url)
    assert result.returncode == 0, result.stderr
    config = connect.connectors["s3-sink"]
    assert config["topics"] == "a.topic,b.topic"
    assert config["s3.region"] == "ap-northeast-1"
    assert config["store.url"] == "http://minio:9000"
    assert config["format.bytearray.extension"] == ".jpeg"
    assert config["timezone"] == "UTC"
    assert config["tasks.max"] == "3"


def test_secret_access_key_alternative_name(tmp_path, connect):
    values = {k: v for k, v in BASE_ENV.items() if k != "AWS_SECRET_KEY"}
    values["AWS_SECRET_ACCESS_KEY"] = SECRET
    result = run(write_env(tmp_path, values), url=connect.url)
    assert result.returncode == 0, result.stderr
    assert connect.connectors["s3-sink"]["aws.secret.access.key"] == "${env:AWS_SECRET_ACCESS_KEY}"
    assert_no_secret(result, connect)


def test_sinetstream_options(tmp_path, connect):
    (tmp_path / "conf").mkdir()
    values = dict(BASE_ENV, SINETSTREAM_CONFIG_FILE="/conf/.sinetstream_config.yml", SINETSTREAM_SERVICE="service-1",
                  SINETSTREAM_MESSAGE_FORMAT="2", SINETSTREAM_USER_DATA_ONLY="false", SINETSTREAM_COMPRESSION="zstd",
                  SINETSTREAM_CRYPTO_MODE="GCM", SINETSTREAM_CRYPTO_KEY_LENGTH="256",
                  SINETSTREAM_CRYPTO_PASSWORD=CRYPTO_PASSWORD)
    result = run(write_env(tmp_path, values), url=connect.url)
    assert result.returncode == 0, result.stderr
    config = connect.connectors["s3-sink"]
    assert config["sinetstream.config.file"] == "/conf/.sinetstream_config.yml"
    assert config["sinetstream.service"] == "service-1"
    assert config["sinetstream.message.format"] == "2"
    assert config["sinetstream.user.data.only"] == "false"
    assert config["sinetstream.compression.algorithm"] == "zstd"
    assert config["sinetstream.crypto.mode"] == "GCM"
    assert config["sinetstream.crypto.key.length"] == "256"
    assert config["sinetstream.crypto.password"] == "${env:SINETSTREAM_CRYPTO_PASSWORD}"
    assert_no_secret(result, connect)


def test_rerun_updates_in_place(tmp_path, connect):
    env_file = write_env(tmp_path, BASE_ENV)
    assert run(env_file, url=connect.url).returncode == 0
    result = run(write_env(tmp_path, dict(BASE_ENV, S3_OBJECT_EXTENSION=".json")), url=connect.url)
    assert result.returncode == 0, result.stderr
    assert "s3-sink: updated" in result.stdout
    assert list(connect.connectors) == ["s3-sink"]
    assert connect.connectors["s3-sink"]["format.bytearray.extension"] == ".json"


def test_two_connectors_and_back(tmp_path, connect):
    env_file = write_env(tmp_path, BASE_ENV)
    assert run(env_file, url=connect.url).returncode == 0
    result = run(env_file, "--two-connectors", url=connect.url)
    assert result.returncode == 0, result.stderr
    assert sorted(connect.connectors) == ["s3-sink-data", "s3-sink-timestamp"]
    assert connect.connectors["s3-sink-data"]["sink.objects"] == "payload"
    assert connect.connectors["s3-sink-timestamp"]["sink.objects"] == "timestamp"
    assert "s3-sink: deleted" in result.stdout
    result = run(env_file, url=connect.url)
    assert result.returncode == 0, result.stderr
    assert list(connect.connectors) == ["s3-sink"]


def test_validation_errors_are_readable(tmp_path, connect, jq_mode):
    connect.validation_errors = {
        "s3.bucket.name": ["Bucket name must be 3 to 63 characters"],
        "timezone": ["Invalid time zone 'Asia/Tokio'", "see tz database"],
    }
    result = run(write_env(tmp_path, dict(BASE_ENV, TIMEZONE="Asia/Tokio")), url=connect.url, jq=jq_mode)
    assert result.returncode == 1
    assert "s3.bucket.name: Bucket name must be 3 to 63 characters" in result.stderr
    assert "timezone: Invalid time zone 'Asia/Tokio'; see tz database" in result.stderr
    assert connect.connectors == {}
    assert_no_secret(result, connect)


def test_plugin_not_installed(tmp_path, connect):
    connect.plugin_installed = False
    result = run(write_env(tmp_path, BASE_ENV), url=connect.url)
    assert result.returncode == 1
    assert "not installed" in result.stderr
    assert connect.connectors == {}


def test_retries_while_rebalancing(tmp_path, connect):
    connect.conflicts = 2
    result = run(write_env(tmp_path, BASE_ENV), url=connect.url)
    assert result.returncode == 0, result.stderr
    assert "s3-sink" in connect.connectors


def test_other_rest_error_exit_code(tmp_path, connect, jq_mode):
    connect.put_error = (500, "Request timed out")
    result = run(write_env(tmp_path, BASE_ENV), url=connect.url, jq=jq_mode)
    assert result.returncode == 3
    assert "registering s3-sink failed (HTTP 500): Request timed out" in result.stderr


def test_unreachable_exit_code(tmp_path):
    result = run(write_env(tmp_path, BASE_ENV), url="http://127.0.0.1:9", wait="0")
    assert result.returncode == 2
    assert "http://127.0.0.1:9" in result.stderr
    for action in ("--status", "--delete"):
        assert run(write_env(tmp_path, BASE_ENV), action, url="http://127.0.0.1:9", wait="0").returncode == 2


def test_rest_port_from_env_file(tmp_path, connect):
    port = connect.url.rsplit(":", 1)[1]
    result = run(write_env(tmp_path, dict(BASE_ENV, REST_PORT=port)))
    assert result.returncode == 0, result.stderr
    assert "s3-sink" in connect.connectors


def test_dry_run_contacts_nothing(tmp_path, jq_mode):
    result = run(write_env(tmp_path, BASE_ENV), "--dry-run", url="http://127.0.0.1:9", wait="0", jq=jq_mode)
    assert result.returncode == 0, result.stderr
    config = json.loads(result.stdout)
    assert config["name"] == "s3-sink"
    assert config["aws.secret.access.key"] == "${env:AWS_SECRET_KEY}"
    assert_no_secret(result)


# ------------------------------------------------------------------ .env parsing

def test_env_file_syntax(tmp_path, connect):
    env_file = write_env(tmp_path, {}, [
        "export BROKER_HOSTNAME=kafka.example.org",
        "KAFKA_TOPIC = sinetstream.sensor   # inline comment",
        "AWS_ACCESS_KEY_ID='%s'" % ACCESS,
        'AWS_SECRET_KEY="%s"' % SECRET,
        "  # indented comment",
        "S3_BUCKET_NAME=mybucket\r",
        "S3_OBJECT_EXTENSION=.json",
        SECRET,  # a stray line: reported by line number, never echoed
    ])
    result = run(env_file, url=connect.url)
    assert result.returncode == 0, result.stderr
    assert ":9: ignoring" in result.stderr
    assert_no_secret(result, connect)
    config = connect.connectors["s3-sink"]
    assert config["topics"] == "sinetstream.sensor"
    assert config["s3.bucket.name"] == "mybucket"
    assert config["format.bytearray.extension"] == ".json"


def test_environment_overrides_env_file(tmp_path, connect):
    result = run(write_env(tmp_path, BASE_ENV), url=connect.url, extra_env={"S3_BUCKET_NAME": "otherbucket"})
    assert result.returncode == 0, result.stderr
    assert connect.connectors["s3-sink"]["s3.bucket.name"] == "otherbucket"


# ------------------------------------------------------------------ status and delete

def test_status(tmp_path, connect, jq_mode):
    env_file = write_env(tmp_path, BASE_ENV)
    result = run(env_file, "--status", url=connect.url, jq=jq_mode)
    assert result.returncode == 1
    assert "no connector registered" in result.stdout
    assert run(env_file, "--two-connectors", url=connect.url).returncode == 0
    result = run(env_file, "--status", url=connect.url, jq=jq_mode)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "s3-sink-data" in result.stdout and "s3-sink-timestamp" in result.stdout
    assert "RUNNING" in result.stdout
    connect.task_state = "FAILED"
    result = run(env_file, "--status", url=connect.url, jq=jq_mode)
    assert result.returncode == 1
    assert "FAILED" in result.stdout
    assert "403 Forbidden" in result.stdout


def test_status_and_delete_need_no_settings(tmp_path, connect):
    env_file = write_env(tmp_path, {"REST_PORT": "1"})
    connect.connectors["s3-sink"] = {"name": "s3-sink"}
    result = run(env_file, "--status", url=connect.url)
    assert result.returncode == 0, result.stderr
    result = run(env_file, "--delete", url=connect.url)
    assert result.returncode == 0, result.stderr
    assert connect.connectors == {}


def test_delete_removes_both_layouts_only(tmp_path, connect):
    env_file = write_env(tmp_path, BASE_ENV)
    for name in ("s3-sink", "s3-sink-data", "s3-sink-timestamp", "someone-elses"):
        connect.connectors[name] = {"name": name}
    result = run(env_file, "--delete", url=connect.url)
    assert result.returncode == 0, result.stderr
    assert list(connect.connectors) == ["someone-elses"]
    result = run(env_file, "--delete", url=connect.url)
    assert result.returncode == 0
    assert "no connector registered" in result.stdout


def test_waits_for_connect_to_come_up(tmp_path):
    import threading
    import time
    mock = MockConnect()
    url = mock.url
    mock.server.server_close()  # closed until the worker "starts"
    holder = {}

    def start_later():
        time.sleep(4)
        port = int(url.rsplit(":", 1)[1])
        from http.server import ThreadingHTTPServer
        late = MockConnect()
        late.server.server_close()
        late.server = ThreadingHTTPServer(("127.0.0.1", port), late._handler())
        late.thread = threading.Thread(target=late.server.serve_forever, daemon=True)
        holder["mock"] = late.start()

    threading.Thread(target=start_later, daemon=True).start()
    result = run(write_env(tmp_path, BASE_ENV), url=url, wait="30")
    try:
        assert result.returncode == 0, result.stderr
        assert "waiting for Kafka Connect" in result.stdout
        assert "s3-sink" in holder["mock"].connectors
    finally:
        holder["mock"].stop()


# ------------------------------------------------------------------ --env-file

def test_env_file_option(tmp_path, connect):
    env_file = write_env(tmp_path, dict(BASE_ENV, S3_BUCKET_NAME="frombucket"))
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/tmp"),
           "CONNECT_URL": connect.url, "CONNECT_WAIT": "5"}
    for args in (["--env-file", env_file], ["--env-file=" + env_file]):
        result = subprocess.run(["bash", REGISTER, *args], env=env, capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr
        assert connect.connectors["s3-sink"]["s3.bucket.name"] == "frombucket"
    result = subprocess.run(["bash", REGISTER, "--env-file"], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1 and "--env-file needs a file name" in result.stderr


# ------------------------------------------------------------------ connector.properties

def write_properties(tmp_path, *lines, name="connector.properties"):
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n")
    return path


def test_connector_properties_are_merged(tmp_path, connect):
    write_properties(tmp_path,
                     "# keys .env has no variable for",
                     "flush.size = 1000",
                     "timestamp.extractor=RecordField",
                     "timestamp.field=ts",
                     "errors.tolerance=all",
                     "errors.deadletterqueue.topic.name=dlq.sensor",
                     "transforms=route",
                     "transforms.route.type=org.apache.kafka.connect.transforms.RegexRouter",
                     "transforms.route.regex=sinetstream\\.(.*)",
                     "transforms.route.replacement=$1",
                     "! a Java-properties comment",
                     "s3.region=eu-west-1",  # wins over S3_REGION / the default
                     "flush.size=500\r")  # a later line replaces an earlier one
    result = run(write_env(tmp_path, dict(BASE_ENV, S3_REGION="ap-northeast-1")), url=connect.url)
    assert result.returncode == 0, result.stderr
    assert "connector keys from %s/connector.properties" % tmp_path in result.stdout
    config = connect.connectors["s3-sink"]
    assert config["flush.size"] == "500"
    assert config["s3.region"] == "eu-west-1"
    assert config["timestamp.extractor"] == "RecordField" and config["timestamp.field"] == "ts"
    assert config["errors.tolerance"] == "all"
    assert config["errors.deadletterqueue.topic.name"] == "dlq.sensor"
    assert config["transforms.route.regex"] == "sinetstream\\.(.*)"
    assert config["transforms.route.replacement"] == "$1"
    # the rest is what .env gives, as before
    assert config["connector.class"] == CONNECTOR_CLASS
    assert config["topics"] == "sinetstream.sensor" and config["sink.objects"] == "payload,timestamp"
    # validated like the rest: the merged config went to the validate call
    validated = [json.loads(body) for method, path, body in connect.requests if path.endswith("/config/validate")]
    assert validated and validated[0]["flush.size"] == "500" and validated[0]["transforms"] == "route"


def test_connector_properties_validation_errors(tmp_path, connect):
    write_properties(tmp_path, "errors.tolerance=sometimes")
    connect.validation_errors = {"errors.tolerance": ['Invalid value sometimes for configuration errors.tolerance: '
                                                      'String must be one of: none, all']}
    result = run(write_env(tmp_path, BASE_ENV), url=connect.url)
    assert result.returncode == 1
    assert "errors.tolerance: Invalid value sometimes" in result.stderr
    assert connect.connectors == {}


def test_connector_properties_secret_references(tmp_path, connect):
    write_properties(tmp_path,
                     "aws.secret.access.key=${file:/conf/secrets.properties:s3.secret}",
                     "sinetstream.crypto.password=${env:SINETSTREAM_CRYPTO_PASSWORD}",
                     "sinetstream.crypto.mode=GCM")
    result = run(write_env(tmp_path, BASE_ENV), url=connect.url)
    assert result.returncode == 0, result.stderr
    config = connect.connectors["s3-sink"]
    assert config["aws.secret.access.key"] == "${file:/conf/secrets.properties:s3.secret}"
    assert config["sinetstream.crypto.password"] == "${env:SINETSTREAM_CRYPTO_PASSWORD}"
    assert "plain text" not in result.stdout
    assert_no_secret(result, connect)


def test_connector_properties_plain_password_is_noted_not_shown(tmp_path, connect):
    write_properties(tmp_path, "# plain text: allowed, but noted", "sinetstream.crypto.password=%s" % CRYPTO_PASSWORD)
    result = run(write_env(tmp_path, BASE_ENV), url=connect.url)
    assert result.returncode == 0, result.stderr
    assert "connector.properties:2: sinetstream.crypto.password is a password given as plain text" in result.stdout
    assert CRYPTO_PASSWORD not in result.stdout + result.stderr
    assert connect.connectors["s3-sink"]["sinetstream.crypto.password"] == CRYPTO_PASSWORD


@pytest.mark.parametrize("lines, args, message", [
    (["flush.size=10", "connector.class=org.example.Other"], (), "connector.properties:2: connector.class cannot be set"),
    (["name=other"], (), "connector.properties:1: name cannot be set"),
    (["sink.objects=payload"], ("--two-connectors",), "connector.properties:1: sink.objects is set by --two-connectors"),
    (["flush.size=10", SECRET], (), "connector.properties:2: not a key=value line"),
    (["transforms=a,\\", "  b"], (), "connector.properties:1: a line ending in a backslash"),
])
def test_connector_properties_refused(tmp_path, connect, lines, args, message):
    write_properties(tmp_path, *lines)
    result = run(write_env(tmp_path, BASE_ENV), *args, url=connect.url)
    assert result.returncode == 1
    assert message in result.stderr
    assert connect.requests == []
    assert_no_secret(result)


def test_sink_objects_from_properties_with_one_connector(tmp_path, connect):
    write_properties(tmp_path, "sink.objects=payload")
    result = run(write_env(tmp_path, BASE_ENV), url=connect.url)
    assert result.returncode == 0, result.stderr
    assert connect.connectors["s3-sink"]["sink.objects"] == "payload"


def test_connector_properties_named_by_variable(tmp_path, connect):
    (tmp_path / "site").mkdir()
    write_properties(tmp_path, "flush.size=7", name="site/prod.properties")
    write_properties(tmp_path, "flush.size=99")  # the default file, not used when one is named
    env_file = write_env(tmp_path, dict(BASE_ENV, CONNECTOR_PROPERTIES="site/prod.properties"))
    result = run(env_file, url=connect.url)
    assert result.returncode == 0, result.stderr
    assert connect.connectors["s3-sink"]["flush.size"] == "7"
    result = run(write_env(tmp_path, dict(BASE_ENV, CONNECTOR_PROPERTIES="missing.properties")), url=connect.url)
    assert result.returncode == 1
    assert "CONNECTOR_PROPERTIES names %s/missing.properties, which does not exist" % tmp_path in result.stderr


def test_no_connector_properties_no_change(tmp_path, connect):
    result = run(write_env(tmp_path, BASE_ENV), url=connect.url)
    assert result.returncode == 0, result.stderr
    assert "connector keys from" not in result.stdout
    assert connect.connectors["s3-sink"]["flush.size"] == "1"


def test_dry_run_shows_merged_properties(tmp_path):
    write_properties(tmp_path, "flush.size=250")
    result = run(write_env(tmp_path, BASE_ENV), "--dry-run", url="http://127.0.0.1:9", wait="0")
    assert result.returncode == 0, result.stderr
    config = json.loads(result.stdout)  # the notes go to stderr: stdout is the config alone
    assert config["flush.size"] == "250"
    assert "connector keys from" in result.stderr
