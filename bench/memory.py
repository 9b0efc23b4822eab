#!/usr/bin/env python3
"""Memory of a Connect worker running the connector, against the bound the README promises:
RSS at most the JVM heap plus twice upload.max.inflight.bytes. A program that prints figures,
not a test (issue 16: "measured by a program, not asserted by a timed test").

Scenarios, each with a new connector on a new topic:
  partitions    2,000 partitions, 100 KB records spread over them, flush.size=10000 (objects
                never fill: every partition keeps an open object), rotate.schedule.interval.ms
                lets the task close the oldest early once memory is full
  partitions-no-rotation  the same without rotate.schedule.interval.ms: memory full of open
                objects alone fails the task with advice (the figure: RSS until then)
  bombs         500 zstd messages of 8 KB that expand to 256 MiB each (above the default 64 MiB
                decompression limit) in one topic, one poll's worth: all go to the dead letter
                queue

It needs a running local stack (scripts/local-stack.sh up, or the fault suite's: set
SINETS3_STACK_DIR and the SINETS3_*_PORT variables as for it) with the plugin loaded. The
worker's RSS is read from /proc/<pid>/status five times a second while a scenario runs.

  .venv/bin/python bench/memory.py [--only partitions,bombs] [--records N] [--inflight BYTES]
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "tests" / "e2e"), str(REPO / "tests" / "faults")]

from kafka import KafkaProducer  # noqa: E402

from helpers import STACK_DIR, Connect, Stack, create_topic, delete_topic, end_offsets, produce, sink_config  # noqa: E402
from support import v3_message, zstd_bomb  # noqa: E402

MiB = 1 << 20


def worker_pid() -> int:
    return int((STACK_DIR / "run" / "connect.pid").read_text().strip())


def status_of(pid: int) -> dict[str, int]:
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out[key] = int(value.split()[0]) * 1024
    return out


def max_heap(pid: int) -> int:
    """-Xmx of the worker, bytes (the JVM's default, a quarter of RAM, when absent)."""
    args = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    units = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30}
    for a in args:
        m = re.fullmatch(rb"-Xmx(\d+)([kmgKMG]?)", a)
        if m:
            return int(m[1]) * units.get(m[2].decode().lower(), 1)
    mem_total_kib = int(Path("/proc/meminfo").read_text().split()[1])  # first line: MemTotal
    return mem_total_kib * 1024 // 4


class Watch:
    """Peak VmRSS of the worker while a scenario runs."""

    def __init__(self, pid: int):
        self.pid, self.peak, self.start = pid, 0, status_of(pid)["VmRSS"]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self):
        while not self._stop.wait(0.2):
            try:
                self.peak = max(self.peak, status_of(self.pid)["VmRSS"])
            except OSError:
                return

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(5)


def wait_done(connect: Connect, name: str, ends: dict[int, int], timeout: float) -> str:
    """'committed' once every partition is committed; 'FAILED: ...' or 'timed out' otherwise."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        failed = connect.failures(connect.status(name))
        if failed:
            return "FAILED: " + next((x for x in failed.splitlines() if "Exception" in x), failed)[:160]
        got = connect.committed(name)
        if all(got.get(p, 0) >= e for p, e in ends.items() if e):
            return "committed"
        time.sleep(1)
    return f"timed out after {timeout:.0f} s"


def scenario_partitions(stack, connect, work, args, rotate: bool):
    topic = f"bench.memory.partitions.{uuid.uuid4().hex[:6]}"
    create_topic(stack, topic, partitions=2000)
    extra = {"flush.size": "10000", "upload.max.inflight.bytes": str(args.inflight)}
    if rotate:
        extra["rotate.schedule.interval.ms"] = "10000"
    record = bytes(100_000)
    produce(stack, work, topic, (record for _ in range(args.records)))
    return topic, extra, f"{args.records} records of 100 KB over 2000 partitions, flush.size 10000" + \
        (", rotate.schedule.interval.ms 10000" if rotate else "")


def scenario_bombs(stack, connect, work, args):
    topic = f"bench.memory.bombs.{uuid.uuid4().hex[:6]}"
    create_topic(stack, topic)
    bomb = zstd_bomb(256 * MiB, declare_size=False)
    producer = KafkaProducer(bootstrap_servers=stack.bootstrap, acks="all", linger_ms=50)
    for _ in range(500):
        producer.send(topic, v3_message(bomb, time.time_ns() // 1000))
    producer.flush(60)
    producer.close()
    extra = {"sinetstream.compression.algorithm": "zstd", "upload.max.inflight.bytes": str(args.inflight),
             "errors.tolerance": "all", "errors.deadletterqueue.topic.name": topic + ".dlq",
             "errors.deadletterqueue.topic.replication.factor": "1"}
    return topic, extra, f"500 zstd bombs of {len(bomb) // 1024} KB expanding to 256 MiB each, in one topic"


SCENARIOS = {
    "partitions": lambda *a: scenario_partitions(*a, rotate=True),
    "partitions-no-rotation": lambda *a: scenario_partitions(*a, rotate=False),
    "bombs": scenario_bombs,
}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", default=",".join(SCENARIOS), help="scenarios, comma-separated")
    ap.add_argument("--records", type=int, default=4000, help="records of the partitions scenarios")
    ap.add_argument("--inflight", type=int, default=128 * MiB, help="upload.max.inflight.bytes")
    ap.add_argument("--timeout", type=float, default=240, help="seconds each scenario may take")
    args = ap.parse_args()
    stack = Stack.load()
    connect = Connect(stack.connect_url)
    pid = worker_pid()
    heap = max_heap(pid)
    bound = heap + 2 * args.inflight
    print(f"worker pid {pid}: -Xmx {heap / MiB:.0f} MiB, upload.max.inflight.bytes {args.inflight / MiB:.0f} MiB, "
          f"bound (heap + 2 x inflight) {bound / MiB:.0f} MiB; RSS now {status_of(pid)['VmRSS'] / MiB:.0f} MiB")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.only.split(","):
            topic, extra, what = SCENARIOS[name](stack, connect, Path(tmp), args)
            connector = f"bench-memory-{uuid.uuid4().hex[:6]}"
            bucket = stack.bucket
            started = time.monotonic()
            with Watch(pid) as watch:
                connect.put_config(connector, sink_config(stack, topic, bucket, extra))
                outcome = wait_done(connect, connector, end_offsets(stack, topic), args.timeout)
            secs = time.monotonic() - started
            alive = Path(f"/proc/{pid}").exists()
            connect.delete(connector)
            delete_topic(stack, topic)
            rows.append((name, what, watch.start, watch.peak, outcome, secs, alive))
            print(f"{name}: {what}\n  RSS {watch.start / MiB:.0f} -> peak {watch.peak / MiB:.0f} MiB "
                  f"({'within' if watch.peak <= bound else 'ABOVE'} the bound of {bound / MiB:.0f} MiB); "
                  f"{outcome} after {secs:.0f} s; worker {'alive' if alive else 'DEAD'}", flush=True)
    print(f"\nVmHWM of the worker over its life: {status_of(pid)['VmHWM'] / MiB:.0f} MiB")
    print("| scenario | RSS before (MiB) | RSS peak (MiB) | bound (MiB) | outcome | worker |")
    print("|---|---|---|---|---|---|")
    for name, _, start, peak, outcome, secs, alive in rows:
        print(f"| {name} | {start / MiB:.0f} | {peak / MiB:.0f} | {bound / MiB:.0f} | {outcome} ({secs:.0f} s) | "
              f"{'alive' if alive else 'dead'} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
