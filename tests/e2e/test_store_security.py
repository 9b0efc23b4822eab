"""HTTPS stores with a private CA, and what every object carries: versitygw serving TLS on a
certificate from a CA this test makes (s3.ssl.ca.file works, its absence is a readable
certificate error at validate); Content-Type, metadata, tags and checksums as versitygw keeps
and returns them; server-side encryption, storage class and UNSIGNED-PAYLOAD as a
request-recording proxy sees them on their way to the store."""

import base64
import hashlib

import boto3
import pytest
from botocore.config import Config

from helpers import (assert_objects, config_errors, create_topic, empty_bucket, end_offsets, expected_objects,
                     format_utc_ms, object_base, produce, sink_config, stored_objects)
from tls_store import RecordingProxy, TlsVersitygw, make_certificates

SSE_C_KEY = base64.b64encode(bytes(range(32))).decode()


@pytest.fixture
def certificates(tmp_path):
    return make_certificates(tmp_path)


@pytest.fixture
def tls_store(stack, certificates, tmp_path):
    server = TlsVersitygw(certificates, tmp_path / "tls-s3", stack.access_key, stack.secret_key)
    yield server
    server.stop()


def client(url: str, stack, ca) -> "boto3.client":
    return boto3.client("s3", endpoint_url=url, region_name="us-east-1", verify=str(ca),
                        aws_access_key_id=stack.access_key, aws_secret_access_key=stack.secret_key,
                        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 3}))


def test_https_store_with_a_private_ca(stack, connect, connectors, names, tmp_path, certificates, tls_store):
    s3 = client(tls_store.url, stack, certificates.ca)
    s3.create_bucket(Bucket=names.bucket)
    create_topic(stack, names.topic)
    base = {**sink_config(stack, names.topic, names.bucket), "name": names.connector, "store.url": tls_store.url}

    # Without the CA: refused at validate, on s3.ssl.ca.file, saying why the certificate is refused.
    errors = config_errors(connect.validate(base))
    assert list(errors) == ["s3.ssl.ca.file"], errors
    message = errors["s3.ssl.ca.file"][0]
    assert "certificate" in message and "UnknownIssuer" in message and tls_store.url in message, message

    # A CA file that is not PEM names the file and says so.
    junk = tmp_path / "junk.pem"
    junk.write_text("-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n")
    junk.chmod(0o644)
    errors = config_errors(connect.validate({**base, "s3.ssl.ca.file": str(junk)}))
    assert "certificate 1" in errors["s3.ssl.ca.file"][0] and str(junk) in errors["s3.ssl.ca.file"][0], errors

    # With the CA: accepted, and the objects are stored byte for byte with their attributes.
    config = {**base, "s3.ssl.ca.file": str(certificates.ca), "format.bytearray.extension": ".json",
              "s3.object.metadata": "send-time", "s3.object.tagging": "project=sinetstream e2e,lab=a/b",
              "s3.checksum.algorithm": "sha256", "s3.unsigned.payload": "true"}
    assert config_errors(connect.validate(config)) == {}
    connectors.start(names.connector, config)
    payloads = [b'{"temperature": 22.5}', b'{"temperature": 23.0}']
    sent = produce(stack, tmp_path, names.topic, payloads)
    connect.wait_committed(names.connector, end_offsets(stack, names.topic), timeout=60)
    assert_objects(stored_objects(tls_store.root, names.bucket), expected_objects(names.topic, sent, ext=".json"))

    for record in sent:
        stem = object_base(names.topic, record.partition, record.offset, record.kafka_ts)
        payload = s3.head_object(Bucket=names.bucket, Key=stem + ".json", ChecksumMode="ENABLED")
        assert payload["ContentType"] == "application/json"
        assert payload["Metadata"] == {"sinetstream-send-time": format_utc_ms(record.tstamp_us).decode().strip()}
        assert payload["ChecksumSHA256"] == base64.b64encode(hashlib.sha256(record.payload).digest()).decode()
        timestamp = s3.head_object(Bucket=names.bucket, Key=stem + "-timestamp.txt")
        assert timestamp["ContentType"] == "text/plain; charset=utf-8"
        assert "sinetstream-send-time" not in timestamp["Metadata"]
        for key in (stem + ".json", stem + "-timestamp.txt"):
            tags = s3.get_object_tagging(Bucket=names.bucket, Key=key)["TagSet"]
            assert sorted((t["Key"], t["Value"]) for t in tags) == [("lab", "a/b"), ("project", "sinetstream e2e")]


def test_payload_objects_alone_keep_the_send_time_in_one_request_each(stack, connect, connectors, names,
                                                                      tmp_path, s3, bucket):
    create_topic(stack, names.topic)
    proxy = RecordingProxy(("127.0.0.1", int(stack.s3_url.rsplit(":", 1)[1]))).start()
    try:
        connectors.start(names.connector, sink_config(stack, names.topic, bucket, {
            "store.url": proxy.url, "sink.objects": "payload", "s3.object.metadata": "send-time",
            "format.bytearray.extension": ".jpeg"}))
        payloads = [b"\xff\xd8\xff\xe0 one", b"\xff\xd8\xff\xe0 two", b"\xff\xd8\xff\xe0 three"]
        sent = produce(stack, tmp_path, names.topic, payloads)
        connect.wait_committed(names.connector, end_offsets(stack, names.topic), timeout=60)
    finally:
        proxy.stop()
    expected = {k: v for k, v in expected_objects(names.topic, sent, ext=".jpeg").items() if k.endswith(".jpeg")}
    assert_objects(stored_objects(stack.s3_dir, bucket), expected)
    puts = [r for r in proxy.uploads(bucket) if "/topics/" in r.path and "probe" not in r.path]
    assert len(puts) == len(sent), [r.path for r in puts]
    for record in sent:
        head = s3.head_object(Bucket=bucket, Key=object_base(names.topic, record.partition, record.offset,
                                                             record.kafka_ts) + ".jpeg")
        assert head["ContentType"] == "image/jpeg"
        assert head["Metadata"]["sinetstream-send-time"] == format_utc_ms(record.tstamp_us).decode().strip()


CASES = {
    "sse-s3": ({"s3.sse.type": "AES256", "s3.storage.class": "STANDARD_IA"},
               {"x-amz-server-side-encryption": "AES256", "x-amz-storage-class": "STANDARD_IA"}),
    "sse-kms": ({"s3.sse.type": "aws:kms", "s3.sse.kms.key.id": "alias/sinets3-e2e"},
                {"x-amz-server-side-encryption": "aws:kms",
                 "x-amz-server-side-encryption-aws-kms-key-id": "alias/sinets3-e2e"}),
    "dsse-kms": ({"s3.sse.type": "aws:kms:dsse"}, {"x-amz-server-side-encryption": "aws:kms:dsse"}),
    "sse-c": ({"s3.sse.customer.key": SSE_C_KEY, "s3.unsigned.payload": "true"},
              {"x-amz-server-side-encryption-customer-algorithm": "AES256",
               "x-amz-server-side-encryption-customer-key": SSE_C_KEY,
               "x-amz-server-side-encryption-customer-key-md5":
                   base64.b64encode(hashlib.md5(bytes(range(32))).digest()).decode(),
               "x-amz-content-sha256": "UNSIGNED-PAYLOAD"}),
}


@pytest.mark.parametrize("case", CASES)
def test_encryption_headers_reach_the_store(case, stack, connect, connectors, names, tmp_path, s3, bucket,
                                            certificates):
    settings, headers = CASES[case]
    create_topic(stack, names.topic)
    # TLS in front of the stack's versitygw, which ignores these headers: the proxy sees them.
    proxy = RecordingProxy(("127.0.0.1", int(stack.s3_url.rsplit(":", 1)[1])), certificates).start()
    log_mark = stack.worker_log_mark()
    if "s3.sse.customer.key" in settings:  # a secret: through the file config provider, as users give it
        secrets = tmp_path / "sse.properties"
        secrets.write_text(f"key={settings['s3.sse.customer.key']}\n")
        secrets.chmod(0o644)
        settings = {**settings, "s3.sse.customer.key": f"${{file:{secrets}:key}}"}
    try:
        connectors.start(names.connector, sink_config(stack, names.topic, bucket, {
            "store.url": proxy.url, "s3.ssl.ca.file": str(certificates.ca), **settings}))
        sent = produce(stack, tmp_path, names.topic, [b"encrypted at rest", b"x" * 10_000])
        connect.wait_committed(names.connector, end_offsets(stack, names.topic), timeout=60)
    finally:
        proxy.stop()
    assert_objects(stored_objects(stack.s3_dir, bucket), expected_objects(names.topic, sent))
    uploads = proxy.uploads(bucket)
    assert any("sinetstream-s3-sink-probe" in r.path for r in uploads), "the probe sends the upload headers too"
    objects = [r for r in uploads if "/topics/" in r.path and "probe" not in r.path]
    assert len(objects) == 2 * len(sent), [r.path for r in objects]
    for request in uploads:
        for name, value in headers.items():
            assert request.headers.get(name) == value, f"{request.method} {request.path}: {name} = " \
                                                       f"{request.headers.get(name)!r}, not {value!r}"
    answers = [connect.call("GET", f"/connectors/{names.connector}/{path}") for path in ("config", "status")]
    assert SSE_C_KEY not in str(answers), "the SSE-C key shows in a REST answer"
    assert SSE_C_KEY not in stack.worker_log_since(log_mark), "the SSE-C key shows in the worker log"


def test_sse_c_is_refused_over_plain_http(stack, connect, names):
    errors = config_errors(connect.validate({**sink_config(stack, names.topic, "any"), "name": names.connector,
                                             "s3.sse.customer.key": SSE_C_KEY}))
    assert "https" in errors["s3.sse.customer.key"][0], errors
    assert SSE_C_KEY not in str(errors)
