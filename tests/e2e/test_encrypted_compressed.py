"""Encrypted and compressed messages, written by the real SINETStream client with the settings
its users turn on, are stored as the original payload bytes."""

import json
import random

import pytest

from helpers import assert_objects, create_topic, end_offsets, expected_objects, produce, sink_config, stored_objects

PBKDF2 = {"algorithm": "pbkdf2", "salt_bytes": 8, "iteration": 10000, "prf": "HMAC-SHA256"}

# SINETStream writer settings -> the connector settings that read them back.
CASES = {
    "gcm-256": (
        {"data_encryption": True,
         "crypto": {"algorithm": "AES", "key_length": 256, "mode": "GCM", "password": "e2e-gcm-pass",
                    "key_derivation": PBKDF2}},
        {"sinetstream.crypto.mode": "GCM", "sinetstream.crypto.key.length": "256",
         "sinetstream.crypto.password": "e2e-gcm-pass"},
    ),
    "cbc-128": (
        {"data_encryption": True,
         "crypto": {"algorithm": "AES", "key_length": 128, "mode": "CBC", "padding": "pkcs7",
                    "password": "e2e-cbc-pass", "key_derivation": PBKDF2}},
        {"sinetstream.crypto.mode": "CBC", "sinetstream.crypto.key.length": "128",
         "sinetstream.crypto.password": "e2e-cbc-pass"},
    ),
    "zstd": (
        {"data_compression": True, "compression": {"algorithm": "zstd"}},
        {"sinetstream.compression.algorithm": "zstd"},
    ),
    "lz4": (
        {"data_compression": True, "compression": {"algorithm": "lz4"}},
        {"sinetstream.compression.algorithm": "lz4"},
    ),
}


def payloads() -> list[bytes]:
    rnd = random.Random(6)
    reading = json.dumps({"id": "sensor-1", "temperature": 22.5, "trace": [rnd.random() for _ in range(200)]})
    return [reading.encode(), rnd.randbytes(50_000), b"", b"x" * 100_000, bytes(range(256))]


@pytest.mark.parametrize("case", CASES)
def test_stored_payloads_are_the_original_bytes(case, stack, connect, connectors, bucket, names, tmp_path):
    writer_settings, connector_settings = CASES[case]
    create_topic(stack, names.topic)
    connectors.start(names.connector, sink_config(stack, names.topic, bucket, connector_settings))

    sent = produce(stack, tmp_path, names.topic, payloads(), settings=writer_settings)
    connect.wait_committed(names.connector, end_offsets(stack, names.topic), timeout=60)

    assert_objects(stored_objects(stack.s3_dir, bucket), expected_objects(names.topic, sent))


def test_settings_from_the_producers_config_file(stack, connect, connectors, bucket, names, tmp_path):
    """The connector reads the same SINETStream config file the producers use."""
    service = {"type": "kafka", "brokers": stack.bootstrap, "data_encryption": True,
               "crypto": {"algorithm": "AES", "key_length": 128, "mode": "EAX", "password": "e2e-file-pass",
                          "key_derivation": PBKDF2},
               "data_compression": True, "compression": {"algorithm": "gzip"}}
    config_file = tmp_path / ".sinetstream_config.yml"
    config_file.write_text(json.dumps({"header": {"version": 3}, "config": {"sensors": service}}))
    create_topic(stack, names.topic)
    connectors.start(names.connector, sink_config(stack, names.topic, bucket, {
        "sinetstream.config.file": str(config_file), "sinetstream.service": "sensors"}))

    sent = produce(stack, tmp_path, names.topic, payloads(), settings={
        k: service[k] for k in ("data_encryption", "crypto", "data_compression", "compression")})
    connect.wait_committed(names.connector, end_offsets(stack, names.topic), timeout=60)

    assert_objects(stored_objects(stack.s3_dir, bucket), expected_objects(names.topic, sent))


def test_wrong_password_goes_to_the_dead_letter_queue_not_into_the_bucket(
        stack, connect, connectors, bucket, names, tmp_path):
    writer_settings, connector_settings = CASES["gcm-256"]
    create_topic(stack, names.topic)
    dlq = f"{names.topic}.dlq"
    connectors.start(names.connector, sink_config(stack, names.topic, bucket, {
        **connector_settings, "sinetstream.crypto.password": "not-the-writers-pass",
        "errors.tolerance": "all", "errors.deadletterqueue.topic.name": dlq,
        "errors.deadletterqueue.topic.replication.factor": "1"}))

    produce(stack, tmp_path, names.topic, [b"secret reading"], settings=writer_settings)
    connect.wait_committed(names.connector, end_offsets(stack, names.topic), timeout=60)

    assert stored_objects(stack.s3_dir, bucket) == {}
    assert end_offsets(stack, dlq) == {0: 1}
