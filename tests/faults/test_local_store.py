"""Case 5: the local-directory store (store.url=file://...) on a file system that fills up: a
20 MiB tmpfs and 50 MiB of records. No partial file ever appears under a final name, the task
fails after upload.retry.timeout.ms naming the object key and "No space left", and once there
is room again and the task restarted, every record is stored once.

This machine runs the tests as root; where mount is refused the case fails, saying why."""

import random
import re
import subprocess
import time
from pathlib import Path

import pytest

from helpers import STACK_DIR, create_topic, end_offsets, produce, sink_config
from invariant import Invariant
from support import assert_all, engine_reason, restart_task, retried_for

MiB = 1 << 20


def mount_tmpfs(where: Path, size_mib: int) -> None:
    where.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_mib}m", "tmpfs", str(where)],
                          capture_output=True, text=True, timeout=30)
    if done.returncode != 0:
        pytest.fail(f"cannot mount a {size_mib} MiB tmpfs at {where} ({done.stderr.strip() or done.returncode}): "
                    f"the full-disk case needs mount (root) and cannot run here", pytrace=False)


def staging_files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*#*"))


def test_file_store_on_a_full_file_system(stack, connect, connectors, names, tmp_path, report):
    store = STACK_DIR / "files" / f"full-{names.bucket}"  # local-stack.sh allows the stack dir
    retry_s, size_mib = 10, 20
    mount_tmpfs(store, size_mib)
    try:
        topic = names.topic
        create_topic(stack, topic)
        rnd = random.Random(5)
        # 100 records of 512 KiB (random: tmpfs does not compress), 2.5 times what fits
        sent = produce(stack, tmp_path, topic, [rnd.randbytes(512 * 1024) for _ in range(100)])
        inv = Invariant([stack.connect_url], names.connector, store, names.bucket, [topic])
        inv.add_sent(topic, sent)
        report.fault(f"file:// store on a {size_mib} MiB tmpfs, 50 MiB of records, "
                     f"upload.retry.timeout.ms = {retry_s * 1000}")
        with inv:
            # created, not started: the task may fail before a RUNNING state is seen
            connectors.create(names.connector, sink_config(stack, topic, names.bucket, {
                "store.url": f"file://{store}", "upload.retry.timeout.ms": str(retry_s * 1000)}))
            started = time.monotonic()
            trace = connect.wait_failed(names.connector, timeout=120)
            failed_after = time.monotonic() - started
            staged_at_failure = staging_files(store)
            stored_at_failure = len(list((store / names.bucket).rglob("*.bin")))
            subprocess.run(["mount", "-o", "remount,size=100m", str(store)], check=True, timeout=30)
            report.fault("then the tmpfs grown to 100 MiB and the task restarted")
            restart_task(connect, names.connector)
            connect.wait_committed(names.connector, end_offsets(stack, topic), timeout=120)
        outcome = inv.finish()
        staged_at_end = staging_files(store)
    finally:
        connect.delete(names.connector)  # before the unmount: the worker may hold files open there
        subprocess.run(["umount", str(store)], check=False, timeout=60)

    report.records, report.lost, report.doubled = outcome.records, outcome.lost, outcome.doubled
    retried = retried_for(trace)
    report.note(f"FAILED {failed_after:.0f} s after the connector was created, with {stored_at_failure} payload objects stored: "
                f"{engine_reason(trace)}")
    report.note(f"staging files when it failed: {staged_at_failure[:5]}; at the end: {staged_at_end[:5]}")
    report.note(outcome.summary())
    outcome.assert_clean()
    assert_all([
        (re.search(r"upload of topics/\S+ failed", trace), "no object key in the failure"),
        ("No space left" in trace, "the failure does not say the disk is full"),
        (retried is not None and retried >= retry_s - 2,
         f"the upload was retried for {retried} s only, not upload.retry.timeout.ms ({retry_s} s)"),
        (staged_at_end == [], f"staging files left in the store: {staged_at_end}"),
    ], f"the failure: {engine_reason(trace)}")
