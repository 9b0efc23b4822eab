"""A broker that takes only SASL_SSL (SCRAM-SHA-512, a certificate of the stack's own CA): the
SINETStream producer connects with its tls and SASL settings, the worker's clients with the
worker's settings (its own, the connector's consumer; the dead letter queue's producer and admin
client are test_errors.py on the same stack), and the messages are stored byte for byte. The
password is in no connector config, REST answer or log. A wrong password fails within seconds and
says so: at the producer, in the task's status, and a worker given one stops with the reason.

Needs a stack started with SINETS3_BROKER_SECURITY=SASL_SSL (scripts/test-e2e-variant.sh sasl-ssl);
skipped on a plaintext one."""

import json
import os
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import sinetstream

from helpers import (STACK_DIR, STACK_SCRIPT, assert_objects, create_topic, end_offsets, expected_objects, produce, sink_config,
                     stored_objects)

WRONG_PASSWORD = "wrong-password-for-the-test"


@pytest.fixture(autouse=True)
def sasl_ssl_stack(stack):
    if stack.security != "SASL_SSL":
        pytest.skip("needs a SASL_SSL broker: scripts/test-e2e-variant.sh sasl-ssl (SINETS3_BROKER_SECURITY=SASL_SSL)")


def stack_logs() -> str:
    return "".join(p.read_text(errors="replace") for p in sorted((STACK_DIR / "logs").iterdir()) if p.is_file())


def test_sasl_ssl_end_to_end(stack, connect, connectors, bucket, names, tmp_path):
    password = stack.env["KAFKA_SASL_PASSWORD"]
    create_topic(stack, names.topic)
    connectors.start(names.connector, sink_config(stack, names.topic, bucket))

    payloads = [b"\xff\xd8\xff\xe0 jpeg-like \x00\r\n" * 100, b"", b"\n", "温度 21.5℃".encode(), bytes(range(256))]
    sent = produce(stack, tmp_path, names.topic, payloads)
    connect.wait_committed(names.connector, end_offsets(stack, names.topic), timeout=60)

    # The producer used the SINETStream client's own TLS and SASL settings.
    service = json.loads((tmp_path / f"sinetstream-{names.topic}.yml").read_text())["config"]["e2e"]
    assert service["tls"] == {"ca_certs": stack.env["KAFKA_SSL_CA_FILE"]}
    assert service["type_spec"]["security_protocol"] == "SASL_SSL"
    assert service["type_spec"]["sasl_mechanism"] == "SCRAM-SHA-512"
    assert_objects(stored_objects(stack.s3_dir, bucket), expected_objects(names.topic, sent))

    answers = [connect.call("GET", path) for path in (
        f"/connectors/{names.connector}", f"/connectors/{names.connector}/status",
        f"/connectors/{names.connector}/tasks", "/connectors?expand=info&expand=status")]
    assert password not in json.dumps(answers)
    assert password not in stack_logs()
    assert password not in (STACK_DIR / "conf" / "connect.properties").read_text()


def test_wrong_password_fails_at_the_producer(stack, names, tmp_path):
    create_topic(stack, names.topic)
    service = {"type": "kafka", "brokers": stack.bootstrap, "consistency": "AT_LEAST_ONCE",
               **stack.sinetstream_options(password=WRONG_PASSWORD)}
    config_file = tmp_path / "wrong-password.yml"
    config_file.write_text(json.dumps({"header": {"version": 3}, "config": {"e2e": service}}))

    def publish():
        with sinetstream.MessageWriter(service="e2e", topic=names.topic, config_file=str(config_file)) as writer:
            writer.publish(b"never stored")

    start = time.monotonic()
    with ThreadPoolExecutor(1) as pool:
        with pytest.raises(sinetstream.ConnectionError):
            pool.submit(publish).result(timeout=60)
    assert time.monotonic() - start < 60
    assert end_offsets(stack, names.topic) == {0: 0}


def test_wrong_password_fails_the_task(stack, connect, connectors, bucket, names, tmp_path):
    """A connector whose consumer logs in with a wrong password (through the override policy)
    fails its task with the broker's reason, instead of retrying for ever."""
    secret = tmp_path / "broker.properties"
    secret.write_text(f"password={WRONG_PASSWORD}\n")
    create_topic(stack, names.topic)
    jaas = ("org.apache.kafka.common.security.scram.ScramLoginModule required "
            f'username="{stack.env["KAFKA_SASL_USERNAME"]}" password="${{file:{secret}:password}}";')
    connectors.create(names.connector, sink_config(stack, names.topic, bucket, {
        "consumer.override.sasl.jaas.config": jaas}))

    trace = connect.wait_failed(names.connector, timeout=90)
    assert "SaslAuthenticationException" in trace and "invalid credentials" in trace, trace
    assert WRONG_PASSWORD not in trace
    assert WRONG_PASSWORD not in json.dumps(connect.call("GET", f"/connectors/{names.connector}/config"))


def test_wrong_password_stops_the_worker(stack):
    """A second worker started with a wrong password exits with the broker's reason in its log,
    and local-stack.sh says so, within its bounded wait."""
    env = dict(os.environ, SINETS3_SASL_PASSWORD=WRONG_PASSWORD)
    log = STACK_DIR / "logs" / "connect2.log"
    before = log.stat().st_size if log.exists() else 0
    result = subprocess.run([str(STACK_SCRIPT), "start", "connect2"], env=env, capture_output=True, text=True,
                            timeout=180)
    try:
        assert result.returncode == 1, result.stdout + result.stderr
        assert "connect2 exited while waiting" in result.stderr
        with log.open("rb") as f:
            f.seek(before)
            text = f.read().decode(errors="replace")
        assert "Stopping due to error" in text and "invalid credentials with SASL mechanism SCRAM-SHA-512" in text
        assert WRONG_PASSWORD not in text
    finally:
        subprocess.run([str(STACK_SCRIPT), "stop", "connect2"], capture_output=True, timeout=120)
