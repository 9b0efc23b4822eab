"""The invariant checker itself, on a hand-made store (no stack): it must see what the fault
cases are there to catch, or their passing means nothing."""

from helpers import Sent, format_utc_ms, object_base
from invariant import Invariant
from support import records_to_close

TOPIC = "t"
KAFKA_TS = 1650245025123  # 2022-04-18, one directory for all


def records(n: int) -> list[Sent]:
    return [Sent(0, o, KAFKA_TS, KAFKA_TS * 1000 + o, b"payload %d;" % o) for o in range(n)]


def write(root, sent: list[Sent], first: int, n: int, payload: bytes | None = None, timestamps: bool = True):
    base = root / "bucket" / object_base(TOPIC, 0, first, KAFKA_TS)
    base.parent.mkdir(parents=True, exist_ok=True)
    chosen = [s for s in sent if first <= s.offset < first + n]
    base.with_name(base.name + ".bin").write_bytes(payload if payload is not None else
                                                   b"".join(s.payload for s in chosen))
    if timestamps:
        base.with_name(base.name + "-timestamp.txt").write_bytes(b"".join(format_utc_ms(s.tstamp_us) for s in chosen))


def checker(root, sent, committed=None) -> Invariant:
    inv = Invariant([], "c", root, "bucket", [TOPIC])
    inv.add_sent(TOPIC, sent)
    if committed is not None:
        inv.committed = lambda: {(TOPIC, 0): committed}
    return inv


def test_a_clean_store_passes(tmp_path):
    sent = records(6)
    write(tmp_path, sent, 0, 3)
    write(tmp_path, sent, 3, 3)
    outcome = checker(tmp_path, sent, committed=6).finish()
    outcome.assert_clean()
    assert (outcome.records, outcome.objects, outcome.samples) == (6, 2, 1)


def test_lost_doubled_and_cut_objects_are_seen(tmp_path):
    sent = records(10)
    write(tmp_path, sent, 0, 4)
    write(tmp_path, sent, 2, 3)  # overlaps 2..3: doubled
    write(tmp_path, sent, 8, 2, payload=b"payload 8;payl")  # cut short under its final name
    outcome = checker(tmp_path, sent).finish()
    assert outcome.lost == 3  # 5, 6, 7
    assert outcome.doubled == 2
    assert any("payload 8" in p or "bytes, expected" in p for p in outcome.problems), outcome.problems


def test_a_commit_past_stored_data_and_one_going_back_are_seen(tmp_path):
    sent = records(6)
    write(tmp_path, sent, 0, 3)
    inv = checker(tmp_path, sent, committed=5)
    inv.sample()
    assert any("passes offset 3" in p for p in inv.problems), inv.problems
    inv.committed = lambda: {(TOPIC, 0): 2}
    inv.sample()
    assert any("moved backwards from 5 to 2" in p for p in inv.problems), inv.problems


def test_errant_records_are_skipped_and_a_lone_cut_object_is_seen(tmp_path):
    sent = [s for s in records(6) if s.offset != 2]  # offset 2 went to the dead letter queue
    base = tmp_path / "bucket" / object_base(TOPIC, 0, 0, KAFKA_TS)
    base.parent.mkdir(parents=True)
    base.with_name(base.name + ".bin").write_bytes(b"payload 0;payload 1;payload 3;")
    base.with_name(base.name + "-timestamp.txt").write_bytes(
        b"".join(format_utc_ms(s.tstamp_us) for s in sent if s.offset in (0, 1, 3)))
    write(tmp_path, records(6), 4, 2, timestamps=False)  # payload alone, whole
    inv = checker(tmp_path, sent, committed=4)
    inv.skip(TOPIC, 0, 2)
    inv.sample()
    assert inv.problems == []
    write(tmp_path, records(6), 4, 2, payload=b"payload 4;pay", timestamps=False)
    inv.sample()
    assert any("not whole records" in p for p in inv.problems), inv.problems


def test_a_stream_is_topped_up_to_whole_objects_counted_from_the_hour_it_ends_in():
    top_of_hour = 1650247200000  # 2022-04-18 02:00 UTC, 11:00 in Tokyo
    within_an_hour = [Sent(0, o, top_of_hour - 60_000 + o, None, b"") for o in range(120)]
    assert records_to_close(within_an_hour, 50) == 30
    # 731 records before the top of the hour and 19 after: the object at 700 closes with 31,
    # and the one at 731 needs 31 more to reach flush.size, not 0 as 750 % 50 would say.
    across = [Sent(0, o, top_of_hour + (o - 731) * 20, None, b"") for o in range(750)]
    assert records_to_close(across, 50) == 31
    assert records_to_close([], 50) == 0
