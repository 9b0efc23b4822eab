"""Bad connector configurations are refused by validate (naming the key) or fail the task with a
message naming the key; a secret never shows in REST answers or in the worker log."""

import json

import pytest

from helpers import config_errors, create_topic, produce, sink_config

UNREACHABLE_STORE = "http://127.0.0.1:9"  # nothing listens on the discard port


def case_config(case: str, base: dict, secret: str, secret_file) -> tuple[dict, dict, str]:
    """(config to validate, config to create, key that must be named)."""
    if case == "missing-bucket":
        config = {k: v for k, v in base.items() if k != "s3.bucket.name"}
        return config, config, "s3.bucket.name"
    if case == "unreachable-store":
        config = {**base, "store.url": UNREACHABLE_STORE, "upload.retry.timeout.ms": "5000"}
        return config, config, "store.url"
    if case == "malformed-path-format":
        config = {**base, "path.format": "year=YYYY/month=MM/day=dd"}  # letters not quoted
        return config, config, "path.format"
    if case == "key-the-store-renames":
        config = {**base, "topics.dir": "raw~data"}  # object_store would store it as raw%7Edata
        return config, config, "topics.dir"
    if case == "wrong-secret":
        # validate gets the secret itself; the connector gets it through the file config provider,
        # as the REST API returns connector configs as given
        return ({**base, "aws.secret.access.key": secret},
                {**base, "aws.secret.access.key": f"${{file:{secret_file}:secret}}"},
                "aws.secret.access.key")
    raise ValueError(case)


@pytest.mark.parametrize("case", ["missing-bucket", "unreachable-store", "malformed-path-format",
                                  "key-the-store-renames", "wrong-secret"])
def test_bad_config_refused_or_fails(case, stack, connect, connectors, bucket, names, tmp_path, uid):
    secret = f"wrong-secret-{uid}-do-not-log"
    secret_file = tmp_path / "secret.properties"
    secret_file.write_text(f"secret={secret}\n")
    create_topic(stack, names.topic)
    log_mark = stack.worker_log_mark()
    base = {**sink_config(stack, names.topic, bucket), "name": names.connector}
    to_validate, to_create, key = case_config(case, base, secret, secret_file)

    result = connect.validate(to_validate)
    answers = [json.dumps(result)]
    if result["error_count"] > 0:
        errors = config_errors(result)
        assert key in errors, f"validate refused the config, but not for {key}: {errors}"
        assert "<Error>" not in str(errors), f"the store's whole XML answer, not its code and message: {errors}"
    else:  # accepted: then the task must fail and say which key
        connectors.create(names.connector, to_create)
        produce(stack, tmp_path, names.topic, [b"one record"])
        trace = connect.wait_failed(names.connector, timeout=120)
        assert key in trace, f"the failure does not name {key}:\n{trace}"
        for path in ("config", "status", "tasks"):
            answers.append(json.dumps(connect.call("GET", f"/connectors/{names.connector}/{path}")))

    log = stack.worker_log_since(log_mark)
    for text, where in [("\n".join(answers), "REST answers"), (log, "worker log")]:
        assert secret not in text, f"the secret shows in the {where}"
        assert stack.secret_key not in text, f"the store's secret shows in the {where}"
