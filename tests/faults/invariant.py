"""The invariant every fault case checks, on the stored objects as versitygw (or the file://
store) keeps them, plain files under <root>/<bucket>/:

- sampled every second while the case runs: the offset Connect committed for each partition
  (GET /connectors/<name>/offsets) never passes the first offset that is not stored, and never
  moves backwards; every object that is complete under its final name holds exactly the bytes
  the producer sent (no partial object is ever visible);
- at the end: every offset the producer sent is in exactly one payload object and one
  timestamp object, byte for byte, under the directory of its first record.

An object <topic>+<partition>+<F> whose timestamp object has n lines holds the n records from
offset F on: offsets F..F+n-1, less the errant records (skip()) that went to the dead letter
queue instead. A record counts as stored once both its payload and timestamp objects exist.
"""

from __future__ import annotations

import os
import re
import threading
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from helpers import IGNORED_STORE_NAMES, Connect, ConnectError, Sent, format_utc_ms, object_base
from support import Background

STEM = re.compile(r"^(?P<topic>.+)\+(?P<partition>\d+)\+(?P<offset>\d+)$")
MAX_PROBLEMS = 40

TopicPartition = tuple[str, int]


def timestamp_line(record: Sent) -> bytes:
    """The record's line in a timestamp object: the send time, or the Kafka timestamp when
    the message carries none (user_data_only)."""
    return format_utc_ms(record.tstamp_us if record.tstamp_us is not None else record.kafka_ts * 1000)


@dataclass
class StoredPair:
    """The payload and timestamp object of one object name (either may be missing)."""
    base: str  # key without the ending: topics/<topic>/<dirs>/<topic>+<p>+<offset>
    tp: TopicPartition  # by source topic
    first: int
    payload: Path | None = None
    timestamp: Path | None = None


@dataclass
class Outcome:
    records: int
    lost: int
    doubled: int
    problems: list[str] = field(default_factory=list)
    samples: int = 0
    missed_samples: int = 0
    objects: int = 0

    def summary(self) -> str:
        return (f"{self.records} records sent, lost {self.lost}, doubled {self.doubled}, {self.objects} objects, "
                f"{self.samples} samples ({self.missed_samples} without an answer from Connect)")

    def assert_clean(self) -> None:
        assert not self.problems and self.lost == 0 and self.doubled == 0, \
            self.summary() + "".join(f"\n  {p}" for p in self.problems)


class Invariant(Background):
    """Samples the invariant in a thread while a case runs (`with Invariant(...) as inv:`);
    finish() stops sampling and checks the whole store. The case registers what the producer
    sent (add_sent) and the errant records (skip) as it goes."""

    def __init__(self, connect_urls: list[str], connector: str, root: Path, bucket: str, topics: list[str], *,
                 renamed: dict[str, str] | None = None, ext: str = ".bin", suffix: str = "-timestamp.txt",
                 topics_dir: str = "topics", tz: str = "Asia/Tokyo", interval: float = 1.0):
        super().__init__("invariant")
        self.connects = [Connect(u) for u in connect_urls]
        self.connector = connector
        self.bucket_dir = root / bucket
        self.topics = list(topics)
        self.stored_name = {t: (renamed or {}).get(t, t) for t in topics}
        self.source_of = {v: k for k, v in self.stored_name.items()}
        self.ext, self.suffix, self.topics_dir, self.tz, self.interval = ext, suffix, topics_dir, tz, interval
        self.lock = threading.RLock()
        self.sent: dict[TopicPartition, dict[int, Sent]] = defaultdict(dict)
        self.skipped: dict[TopicPartition, set[int]] = defaultdict(set)
        self.committed_max: dict[TopicPartition, int] = {}
        self.problems: list[str] = []
        self.samples = self.missed_samples = 0
        self.commits_seen = 0
        self._lines: dict[Path, tuple[int, int, int]] = {}  # timestamp object -> (mtime_ns, size, lines)
        self._verified: dict[str, tuple] = {}  # base -> stat of the pair when its content was checked

    # ------------------------------------------------------------------ registration

    def add_sent(self, topic: str, sent: list[Sent]) -> None:
        with self.lock:
            for s in sent:
                self.sent[(topic, s.partition)][s.offset] = s

    def skip(self, topic: str, partition: int, offset: int) -> None:
        """An errant record: never stored, and the committed offset may pass it."""
        with self.lock:
            self.skipped[(topic, partition)].add(offset)

    def move_store(self, bucket_dir: Path) -> None:
        """The bucket's files now live in `bucket_dir` (a case moved them aside)."""
        with self.lock:
            self.bucket_dir = bucket_dir

    # ------------------------------------------------------------------ sampling

    def run_loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.sample()
            except Exception as exc:  # a bug of the checker must show, not stop the sampling silently
                self._problem(f"sampler error: {exc!r}")

    def _problem(self, text: str) -> None:
        if text not in self.problems and len(self.problems) < MAX_PROBLEMS:
            self.problems.append(text)

    def committed(self) -> dict[TopicPartition, int] | None:
        """Committed offsets {(topic, partition): next offset} from the first worker that answers."""
        for connect in self.connects:
            try:
                data = connect.call("GET", f"/connectors/{self.connector}/offsets")
                return {(o["partition"]["kafka_topic"], o["partition"]["kafka_partition"]): o["offset"]["kafka_offset"]
                        for o in data["offsets"]}
            except (OSError, ConnectError, KeyError, TypeError):
                continue
        return None

    def sample(self) -> None:
        with self.lock:
            committed = self.committed()  # before the listing: stored objects only ever appear
            if committed is None:
                self.missed_samples += 1
                return
            pairs = self._scan()
            stored = self._coverage(pairs)
            for tp, offset in committed.items():
                if tp[0] not in self.stored_name:
                    self._problem(f"offset {offset} committed for {tp}, a topic the connector does not consume")
                    continue
                before = self.committed_max.get(tp, 0)
                if offset < before:
                    self._problem(f"{tp[0]}-{tp[1]}: committed offset moved backwards from {before} to {offset}")
                elif offset > before:
                    self.commits_seen += 1
                self.committed_max[tp] = max(before, offset)
                missing = self._first_missing(tp, stored.get(tp, Counter()))
                if offset > missing:
                    self._problem(f"{tp[0]}-{tp[1]}: committed offset {offset} passes offset {missing}, "
                                  f"which is not stored (sample {self.samples + 1})")
            self._check_contents(pairs, only_new=True)
            self.samples += 1

    # ------------------------------------------------------------------ the store

    def _scan(self) -> list[StoredPair]:
        pairs: dict[str, StoredPair] = {}
        for stored_topic, source in self.source_of.items():
            top = self.bucket_dir / self.topics_dir / stored_topic
            for dirpath, dirnames, filenames in os.walk(top):
                dirnames[:] = [d for d in dirnames if d not in IGNORED_STORE_NAMES]
                for name in filenames:
                    if name.endswith(self.suffix):
                        stem, kind = name[:-len(self.suffix)], "timestamp"
                    elif name.endswith(self.ext):
                        stem, kind = name[:-len(self.ext)], "payload"
                    else:  # staging files and the like: never an object
                        if "#" not in name and name not in IGNORED_STORE_NAMES:
                            self._problem(f"unexpected file {Path(dirpath, name)}")
                        continue
                    m = STEM.match(stem)
                    if not m or m["topic"] != stored_topic:
                        self._problem(f"object name not understood: {Path(dirpath, name)}")
                        continue
                    base = os.path.relpath(os.path.join(dirpath, stem), self.bucket_dir)
                    pair = pairs.setdefault(base, StoredPair(base, (source, int(m["partition"])), int(m["offset"])))
                    setattr(pair, kind, Path(dirpath, name))
        return list(pairs.values())

    def _line_count(self, path: Path) -> int | None:
        try:
            st = path.stat()
            cached = self._lines.get(path)
            if cached and cached[:2] == (st.st_mtime_ns, st.st_size):
                return cached[2]
            lines = path.read_bytes().count(b"\n")
        except FileNotFoundError:  # replaced or removed since the listing
            return None
        self._lines[path] = (st.st_mtime_ns, st.st_size, lines)
        return lines

    def _offsets(self, pair: StoredPair) -> list[int] | None:
        """The offsets a complete pair holds; None when one of its two objects is missing."""
        if pair.payload is None or pair.timestamp is None:
            return None
        n = self._line_count(pair.timestamp)
        if n is None:
            return None
        skipped = self.skipped.get(pair.tp, set())
        offsets, offset = [], pair.first
        while len(offsets) < n:
            if offset not in skipped:
                offsets.append(offset)
            offset += 1
        return offsets

    def _coverage(self, pairs: list[StoredPair]) -> dict[TopicPartition, Counter]:
        stored: dict[TopicPartition, Counter] = defaultdict(Counter)
        for pair in pairs:
            offsets = self._offsets(pair)
            if offsets:
                stored[pair.tp].update(offsets)
        return stored

    def _first_missing(self, tp: TopicPartition, stored: Counter) -> int:
        skipped = self.skipped.get(tp, set())
        offset = 0
        while stored[offset] or offset in skipped:
            offset += 1
        return offset

    def _check_contents(self, pairs: list[StoredPair], only_new: bool) -> None:
        """Every complete pair whose records are all known holds exactly their bytes; the one
        object of an incomplete pair holds whole records from its first offset on."""
        for pair in pairs:
            offsets = self._offsets(pair)
            if not offsets:
                self._check_alone(pair)
                continue
            sent = self.sent.get(pair.tp, {})
            if not all(o in sent for o in offsets):
                continue  # the producer's acknowledgement is not registered yet
            try:
                stamp = tuple((p.stat().st_mtime_ns, p.stat().st_size) for p in (pair.payload, pair.timestamp))
                if only_new and self._verified.get(pair.base) == stamp:
                    continue
                payload, timestamps = pair.payload.read_bytes(), pair.timestamp.read_bytes()
            except FileNotFoundError:
                continue
            self._verified[pair.base] = stamp
            records = [sent[o] for o in offsets]
            want_payload = b"".join(r.payload for r in records)
            want_timestamps = b"".join(timestamp_line(r) for r in records)
            first = records[0]
            want_base = object_base(self.stored_name[pair.tp[0]], pair.tp[1], first.offset, first.kafka_ts, self.tz)
            if pair.base != want_base:
                self._problem(f"{pair.base}: expected under {want_base}")
            if payload != want_payload:
                self._problem(f"{pair.base}{self.ext}: {len(payload)} bytes, expected {len(want_payload)} "
                              f"(offsets {offsets[0]}..{offsets[-1]}); starts {payload[:40]!r}")
            if timestamps != want_timestamps:
                self._problem(f"{pair.base}{self.suffix}: {timestamps[:60]!r}..., expected "
                              f"{want_timestamps[:60]!r}...")

    def _check_alone(self, pair: StoredPair) -> None:
        """A payload or timestamp object whose other half is not there (yet): it must still be
        whole records, never a cut one."""
        path = pair.payload or pair.timestamp
        sent, skipped = self.sent.get(pair.tp, {}), self.skipped.get(pair.tp, set())
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return

        def piece(record: Sent) -> bytes:
            return record.payload if path is pair.payload else timestamp_line(record)

        want, offset = b"", pair.first
        while len(want) < len(data) or offset == pair.first:  # an empty object is checked against one record
            if offset in skipped:
                offset += 1
                continue
            if offset not in sent:
                return  # not known yet: nothing to compare with
            want += piece(sent[offset])
            offset += 1
        if data != want:
            self._problem(f"{path}: {len(data)} bytes that are not whole records from offset {pair.first} on "
                          f"(a partial object under its final name?); starts {data[:40]!r}")

    # ------------------------------------------------------------------ the end

    def finish(self) -> Outcome:
        """Stops sampling, takes a last sample and checks every sent record and every object."""
        self.__exit__()
        self.sample()
        with self.lock:
            pairs = self._scan()
            stored = self._coverage(pairs)
            for pair in pairs:
                if (pair.payload is None) != (pair.timestamp is None):
                    self._problem(f"{pair.base}: {'payload' if pair.timestamp else 'timestamp'} object missing")
            self._check_contents(pairs, only_new=False)
            lost = doubled = 0
            for tp, records in self.sent.items():
                for offset in records:
                    copies = stored.get(tp, Counter())[offset]
                    lost += copies == 0
                    doubled += copies > 1
            for tp, counter in stored.items():
                for offset in counter:
                    if offset not in self.sent.get(tp, {}):
                        self._problem(f"{tp[0]}-{tp[1]} offset {offset} is stored but was not sent "
                                      f"(or is an errant record)")
            if lost:
                self._problem(f"lost offsets: {self._sample_offsets(stored, lambda c: c == 0)}")
            if doubled:
                self._problem(f"doubled offsets: {self._sample_offsets(stored, lambda c: c > 1)}")
            if self.samples and not self.commits_seen:
                self._problem("no sample saw a commit: the invariant was never checked against one")
            return Outcome(records=sum(len(r) for r in self.sent.values()), lost=lost, doubled=doubled,
                           problems=list(self.problems), samples=self.samples,
                           missed_samples=self.missed_samples, objects=len(pairs))

    def _sample_offsets(self, stored, which) -> str:
        found = [f"{tp[0]}-{tp[1]}@{o}" for tp, records in self.sent.items() for o in sorted(records)
                 if which(stored.get(tp, Counter())[o])]
        return ", ".join(found[:12]) + (f" ... ({len(found)} in all)" if len(found) > 12 else "")
