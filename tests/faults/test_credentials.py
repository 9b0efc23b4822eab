"""Case 8: the store stops taking the connector's requests for reasons no retry can fix. First
versitygw is restarted with another secret (the connector's credentials are now wrong), then
the bucket disappears (its directory moved away: versitygw answers NoSuchBucket, and the
objects stored so far stay for the final check). Each time the task fails fast, naming the
setting or the object key with the store's answer, and commits nothing past stored data;
after the fix and a restart of the task, every record is stored once."""

import os
import re
import subprocess
import time

from helpers import STACK_SCRIPT, create_topic, end_offsets, sink_config, wait_until
from invariant import Invariant
from support import Stream, engine_reason, restart_task

FAST_S = 20


def restart_s3(secret: str | None) -> None:
    """versitygw again, with `secret` (None: the stack's own)."""
    env = dict(os.environ, SINETS3_S3_SECRET_KEY=secret) if secret else None
    subprocess.run([str(STACK_SCRIPT), "restart", "s3"], check=True, timeout=120, env=env)


def fail_fast(connect, name, what: str, start: float) -> tuple[str, float]:
    trace = wait_until(lambda: connect.failures(connect.status(name)), 90, f"the task to fail ({what})")
    return trace, time.monotonic() - start


def wait_more_commits(connect, name, more: int) -> None:
    start = sum(connect.committed(name).values())
    wait_until(lambda: sum(connect.committed(name).values()) >= start + more, 90, f"{more} more commits")


def test_wrong_credentials_then_deleted_bucket(stack, connect, connectors, bucket, names, tmp_path, report):
    topic = names.topic
    create_topic(stack, topic)
    bucket_dir = stack.s3_dir / bucket
    aside = stack.s3_dir / f".{bucket}-moved-away"
    inv = Invariant([stack.connect_url], names.connector, stack.s3_dir, bucket, [topic])
    stream = Stream(stack, tmp_path, [topic], rate=30, on_sent=inv.add_sent)
    with inv, stream:
        connectors.start(names.connector, sink_config(stack, topic, bucket))
        wait_until(lambda: sum(connect.committed(names.connector).values()) >= 100, 120, "100 commits")

        changed = time.monotonic()
        restart_s3("another-secret-0123456789")
        report.fault("versitygw restarted with another secret mid-run")
        try:
            creds_trace, creds_after = fail_fast(connect, names.connector, "wrong secret", changed)
        finally:
            restart_s3(None)
        report.fault("then versitygw with the right secret again and the task restarted")
        restart_task(connect, names.connector)
        wait_more_commits(connect, names.connector, 100)

        with inv.lock:  # the sampler reads the objects where they are
            os.rename(bucket_dir, aside)
            inv.move_store(aside)
        removed = time.monotonic()
        report.fault("the bucket removed mid-run (NoSuchBucket)")
        try:
            bucket_trace, bucket_after = fail_fast(connect, names.connector, "no bucket", removed)
        finally:
            with inv.lock:
                os.rename(aside, bucket_dir)
                inv.move_store(bucket_dir)
        report.fault("then the bucket back and the task restarted")
        restart_task(connect, names.connector)
        stream.stop()
        connect.wait_committed(names.connector, end_offsets(stack, topic), timeout=120)
    outcome = inv.finish()

    report.records, report.lost, report.doubled = outcome.records, outcome.lost, outcome.doubled
    report.note(f"wrong secret: FAILED after {creds_after:.0f} s: {engine_reason(creds_trace)}")
    report.note(f"no bucket: FAILED after {bucket_after:.0f} s: {engine_reason(bucket_trace)}")
    report.note(outcome.summary())
    outcome.assert_clean()
    assert creds_after <= FAST_S, f"the wrong secret failed the task only after {creds_after:.0f} s"
    assert bucket_after <= FAST_S, f"the missing bucket failed the task only after {bucket_after:.0f} s"
    assert "aws.secret.access.key" in creds_trace and "403" in creds_trace, creds_trace
    assert re.search(r"upload of topics/\S+ failed", creds_trace), f"no object key:\n{creds_trace}"
    assert stack.secret_key not in creds_trace, "the secret appears in the failure"
    assert re.search(r"NoSuchBucket|s3\.bucket\.name", bucket_trace), bucket_trace
    assert re.search(r"upload of topics/\S+ failed|s3\.bucket\.name", bucket_trace), bucket_trace
