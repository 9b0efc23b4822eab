//! Where an object goes: the seed's layout
//! `{topics.dir}/{topic}/{path.format of the bucket start}/{topic}+{partition}+{offset:010}{ext}`,
//! and back: `parse_key` reads a stored key with the same settings (for verify.rs).

use crate::joda::JodaPattern;
use chrono::{DateTime, Offset, TimeZone, Utc};
use chrono_tz::Tz;

#[derive(Debug, Clone)]
pub struct Naming {
    pub topics_dir: String,
    pub path_format: JodaPattern,
    pub partition_duration_ms: i64,
    pub timezone: Tz,
    pub file_delim: String,
    pub offset_pad_width: usize,
    pub payload_extension: String,
    pub timestamp_suffix: String,
}

impl Naming {
    /// Start of the time bucket holding `timestamp_ms`, truncated in local time as
    /// Confluent's TimeBasedPartitioner does (so hour buckets stay aligned in any zone).
    pub fn bucket_start_ms(&self, timestamp_ms: i64) -> i64 {
        let offset_ms = self.offset_seconds_at(timestamp_ms) * 1000;
        let local = timestamp_ms + offset_ms;
        let local_start = local.div_euclid(self.partition_duration_ms) * self.partition_duration_ms;
        let start = local_start - offset_ms;
        // Across a DST change the local offset of the start may differ; re-anchor on it.
        start + (offset_ms - self.offset_seconds_at(start) * 1000)
    }

    fn offset_seconds_at(&self, timestamp_ms: i64) -> i64 {
        i64::from(self.local_time(timestamp_ms).offset().fix().local_minus_utc())
    }

    fn local_time(&self, timestamp_ms: i64) -> DateTime<Tz> {
        let utc = Utc.timestamp_millis_opt(timestamp_ms).single().unwrap_or_default();
        utc.with_timezone(&self.timezone)
    }

    /// The directory of the bucket holding `timestamp_ms`, without a trailing slash.
    pub fn directory(&self, topic: &str, timestamp_ms: i64) -> String {
        let start = self.local_time(self.bucket_start_ms(timestamp_ms));
        format!("{}/{}/{}", self.topics_dir, topic, self.path_format.format(&start))
    }

    /// `{topic}+{partition}+{offset:0width}`.
    pub fn file_stem(&self, topic: &str, partition: i32, first_offset: i64) -> String {
        let d = &self.file_delim;
        let width = self.offset_pad_width;
        format!("{topic}{d}{partition}{d}{first_offset:0width$}")
    }

    /// The longest key any object of `topic` can get: the largest partition and offset, and
    /// the longest directory the path format writes over a year (month and day names vary).
    pub fn longest_key(&self, topic: &str) -> usize {
        const DAY_MS: i64 = 86_400_000;
        const A_LEAP_YEAR_MS: i64 = 1_704_067_200_000; // 2024-01-01T00:00:00Z
        let directory =
            (0..366).map(|day| self.directory(topic, A_LEAP_YEAR_MS + day * DAY_MS).len()).max().unwrap_or(0);
        let stem = self.file_stem(topic, i32::MAX, i64::MAX).len();
        directory + 1 + stem + self.payload_extension.len().max(self.timestamp_suffix.len())
    }

    pub fn payload_key(&self, directory: &str, stem: &str) -> String {
        format!("{directory}/{stem}{}", self.payload_extension)
    }

    pub fn timestamp_key(&self, directory: &str, stem: &str) -> String {
        format!("{directory}/{stem}{}", self.timestamp_suffix)
    }

    /// Which setting gives a key the store would change (see `config::check_keys_are_stored_as_named`):
    /// each part is tried where it stands in a key.
    pub fn setting_changed_by_the_store(&self, kind: ObjectKind) -> &'static str {
        let changed = |text: &str| object_store::path::Path::from(text).as_ref() != text;
        let ending = match kind {
            ObjectKind::Payload => ("format.bytearray.extension", &self.payload_extension),
            ObjectKind::Timestamp => ("timestamp.object.suffix", &self.timestamp_suffix),
        };
        if changed(&self.topics_dir) {
            "topics.dir"
        } else if changed(&format!("a{}b", self.file_delim)) {
            "file.delim"
        } else if changed(&format!("a{}", ending.1)) {
            ending.0
        } else {
            "path.format"
        }
    }

    pub fn key(&self, kind: ObjectKind, directory: &str, stem: &str) -> String {
        match kind {
            ObjectKind::Payload => self.payload_key(directory, stem),
            ObjectKind::Timestamp => self.timestamp_key(directory, stem),
        }
    }

    /// The inverse of the naming above: which object `key` is, or `None` when these settings
    /// cannot have written it. Every candidate reading is written again with the functions
    /// above and kept only if that gives `key` back, so both directions cannot drift apart.
    pub fn parse_key(&self, key: &str) -> Option<ObjectName> {
        [ObjectKind::Timestamp, ObjectKind::Payload].into_iter().find_map(|kind| self.parse_as(kind, key))
    }

    fn parse_as(&self, kind: ObjectKind, key: &str) -> Option<ObjectName> {
        let ending = match kind {
            ObjectKind::Payload => &self.payload_extension,
            ObjectKind::Timestamp => &self.timestamp_suffix,
        };
        // With an empty topics.dir the engine's keys start with '/', which object_store drops.
        let key = key.trim_start_matches('/');
        let body = key.strip_suffix(ending.as_str())?;
        let rest =
            if self.topics_dir.is_empty() { body } else { body.strip_prefix(&self.topics_dir)?.strip_prefix('/')? };
        let (topic, after_topic) = rest.split_once('/')?;
        let file_start = format!("/{topic}{}", self.file_delim);
        // Right to left: the file name is last, though path.format or file.delim may repeat its text.
        after_topic.rmatch_indices(&file_start).find_map(|(at, _)| {
            let name = self.read_numbers(kind, topic, &after_topic[..at], &after_topic[at + file_start.len()..])?;
            let stem = self.file_stem(topic, name.partition, name.first_offset);
            (self.key(kind, &name.directory, &stem).trim_start_matches('/') == key).then_some(name)
        })
    }

    /// `{partition}{delim}{offset}` of a candidate reading, both plain non-negative numbers.
    fn read_numbers(&self, kind: ObjectKind, topic: &str, path: &str, numbers: &str) -> Option<ObjectName> {
        if topic.is_empty() || self.file_delim.is_empty() || path.split('/').count() != self.directory_depth() {
            return None;
        }
        let (partition, offset) = numbers.split_once(self.file_delim.as_str())?;
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if !digits(partition) || !digits(offset) {
            return None;
        }
        Some(ObjectName {
            topic: topic.to_string(),
            partition: partition.parse().ok()?,
            first_offset: offset.parse().ok()?,
            kind,
            directory: format!("{}/{topic}/{path}", self.topics_dir),
        })
    }

    /// Segments path.format writes: the same for every time, as only the zone ID (`ZZZ`) can
    /// print a '/', and it is the same for every time.
    fn directory_depth(&self) -> usize {
        self.path_format.format(&self.local_time(0)).split('/').count()
    }
}

/// Which of the two objects of a record (or group of records) a key names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ObjectKind {
    Payload,
    Timestamp,
}

/// A stored key read back: what `directory`, `file_stem` and `payload_key`/`timestamp_key`
/// were called with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectName {
    pub topic: String,
    pub partition: i32,
    pub first_offset: i64,
    pub kind: ObjectKind,
    /// `{topics.dir}/{topic}/{path.format}`, as `Naming::directory` returns it.
    pub directory: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seed_naming(zone: Tz) -> Naming {
        Naming {
            topics_dir: "topics".into(),
            path_format: JodaPattern::parse("'year'=YYYY/'month'=MM/'day'=dd/'hour'=HH").unwrap(),
            partition_duration_ms: 3_600_000,
            timezone: zone,
            file_delim: "+".into(),
            offset_pad_width: 10,
            payload_extension: ".json".into(),
            timestamp_suffix: "-timestamp.txt".into(),
        }
    }

    fn ms(rfc3339: &str) -> i64 {
        DateTime::parse_from_rfc3339(rfc3339).unwrap().timestamp_millis()
    }

    #[test]
    fn seed_listing_names() {
        let n = seed_naming(chrono_tz::Asia::Tokyo);
        let dir = n.directory("sinetstream.sensor", ms("2022-04-18T01:23:45.123Z"));
        assert_eq!(dir, "topics/sinetstream.sensor/year=2022/month=04/day=18/hour=10");
        let stem = n.file_stem("sinetstream.sensor", 0, 4);
        assert_eq!(
            n.payload_key(&dir, &stem),
            "topics/sinetstream.sensor/year=2022/month=04/day=18/hour=10/sinetstream.sensor+0+0000000004.json"
        );
        assert_eq!(
            n.timestamp_key(&dir, &stem),
            "topics/sinetstream.sensor/year=2022/month=04/day=18/hour=10/sinetstream.sensor+0+0000000004-timestamp.txt"
        );
    }

    #[test]
    fn tokyo_day_and_year_boundaries() {
        let n = seed_naming(chrono_tz::Asia::Tokyo);
        // 14:59:59.999 UTC on Dec 31 is 23:59 in Tokyo; one millisecond later it is next year.
        assert_eq!(n.directory("t", ms("2022-12-31T14:59:59.999Z")), "topics/t/year=2022/month=12/day=31/hour=23");
        assert_eq!(n.directory("t", ms("2022-12-31T15:00:00.000Z")), "topics/t/year=2023/month=01/day=01/hour=00");
    }

    #[test]
    fn utc_hour_boundary() {
        let n = seed_naming(chrono_tz::UTC);
        assert_eq!(n.directory("t", ms("2024-02-29T23:59:59.999Z")), "topics/t/year=2024/month=02/day=29/hour=23");
        assert_eq!(n.directory("t", ms("2024-03-01T00:00:00Z")), "topics/t/year=2024/month=03/day=01/hour=00");
    }

    #[test]
    fn day_buckets_truncate_in_local_time() {
        let mut n = seed_naming(chrono_tz::Asia::Tokyo);
        n.partition_duration_ms = 86_400_000;
        let start = n.bucket_start_ms(ms("2022-04-18T20:00:00Z")); // 05:00 on the 19th in Tokyo
        assert_eq!(start, ms("2022-04-18T15:00:00Z")); // midnight of the 19th in Tokyo
    }

    #[test]
    fn half_hour_zone_keeps_hour_buckets_local() {
        let n = seed_naming(chrono_tz::Asia::Kolkata); // UTC+05:30
        assert_eq!(n.bucket_start_ms(ms("2022-04-18T01:10:00Z")), ms("2022-04-18T00:30:00Z"));
    }

    #[test]
    fn the_longest_key_takes_the_longest_names_and_numbers() {
        let mut n = seed_naming(chrono_tz::UTC);
        n.path_format = JodaPattern::parse("MMMM/EEEE").unwrap();
        let longest = n.longest_key("t");
        // topics/t/ + "September" + "/" + "Wednesday" + "/" + t+2147483647+9223372036854775807 + -timestamp.txt
        assert_eq!(longest, "topics/t/September/Wednesday".len() + 1 + "t+2147483647+9223372036854775807".len() + 14);
    }

    #[test]
    fn offsets_are_padded_to_the_configured_width() {
        let mut n = seed_naming(chrono_tz::UTC);
        assert_eq!(n.file_stem("a.b", 12, 1234567890123), "a.b+12+1234567890123");
        n.offset_pad_width = 3;
        assert_eq!(n.file_stem("a.b", 1, 7), "a.b+1+007");
    }

    /// Every key `naming` writes for these records, with what it was written from.
    fn written_keys(naming: &Naming, topics: &[&str], times_ms: &[i64]) -> Vec<(String, ObjectName)> {
        let mut out = Vec::new();
        for topic in topics {
            for &time in times_ms {
                for (partition, offset) in [(0, 0), (0, 4), (7, 999), (123, 9_999_999_999), (3, 12_345_678_901_234)] {
                    let directory = naming.directory(topic, time);
                    let stem = naming.file_stem(topic, partition, offset);
                    for kind in [ObjectKind::Payload, ObjectKind::Timestamp] {
                        let name = ObjectName {
                            topic: topic.to_string(),
                            partition,
                            first_offset: offset,
                            kind,
                            directory: directory.clone(),
                        };
                        // object_store keys never start with '/' (an empty topics.dir leaves one).
                        out.push((naming.key(kind, &directory, &stem).trim_start_matches('/').to_string(), name));
                    }
                }
            }
        }
        out
    }

    fn assert_round_trip(naming: &Naming) {
        let topics = ["sinetstream.sensor", "t", "a_b-c.d", "x0.1"];
        let times = [
            ms("2022-04-18T01:23:45.123Z"),
            ms("2022-12-31T15:00:00Z"),
            ms("2024-03-10T10:30:00Z"),
            0,
            ms("2099-01-01T00:00:00Z"),
        ];
        for (key, written) in written_keys(naming, &topics, &times) {
            assert_eq!(naming.parse_key(&key).as_ref(), Some(&written), "{key} with {naming:?}");
        }
    }

    #[test]
    fn parse_key_reads_the_seed_layout() {
        let n = seed_naming(chrono_tz::Asia::Tokyo);
        let key = "topics/sinetstream.sensor/year=2022/month=04/day=18/hour=10/sinetstream.sensor+0+0000000004.json";
        let name = n.parse_key(key).unwrap();
        assert_eq!((name.topic.as_str(), name.partition, name.first_offset), ("sinetstream.sensor", 0, 4));
        assert_eq!(name.kind, ObjectKind::Payload);
        assert_eq!(name.directory, "topics/sinetstream.sensor/year=2022/month=04/day=18/hour=10");
        let timestamp = n.parse_key(&key.replace(".json", "-timestamp.txt")).unwrap();
        assert_eq!((timestamp.kind, timestamp.first_offset), (ObjectKind::Timestamp, 4));
        assert_round_trip(&n);
    }

    #[test]
    fn parse_key_round_trips_custom_layouts() {
        let variants: &[fn(&mut Naming)] = &[
            |n| n.path_format = JodaPattern::parse("'dt'=YYYY-MM-dd/'hr'=HH").unwrap(),
            |n| n.path_format = JodaPattern::parse("YYYY").unwrap(),
            |n| n.path_format = JodaPattern::parse("EEE dd MMMM yyyy/'t+0+'HH'/x'").unwrap(),
            |n| n.partition_duration_ms = 86_400_000,
            |n| n.file_delim = "_".into(),
            |n| n.file_delim = ".".into(),
            |n| n.file_delim = "-".into(),
            |n| n.file_delim = "--".into(),
            |n| n.offset_pad_width = 0,
            |n| n.offset_pad_width = 3,
            |n| n.offset_pad_width = 19,
            |n| n.payload_extension = "".into(),
            |n| n.payload_extension = ".bin".into(),
            |n| n.payload_extension = ".txt".into(),
            |n| n.payload_extension = "+x+1.bin".into(),
            |n| {
                n.file_delim = ".".into();
                n.payload_extension = ".0.json".into();
                n.timestamp_suffix = ".ts".into();
            },
            |n| {
                n.file_delim = "-".into();
                n.payload_extension = "timestamp.txt".into();
            },
            |n| n.topics_dir = "".into(),
            |n| n.topics_dir = "archive/topics".into(),
            |n| n.timezone = chrono_tz::America::New_York,
            |n| {
                n.timezone = chrono_tz::America::New_York;
                n.path_format = JodaPattern::parse("'zone'=ZZZ/YYYY-MM-dd").unwrap();
            },
        ];
        for variant in variants {
            let mut n = seed_naming(chrono_tz::Asia::Tokyo);
            variant(&mut n);
            assert_round_trip(&n);
        }
    }

    #[test]
    fn parse_key_round_trips_random_layouts() {
        let mut rng = fastrand::Rng::with_seed(17);
        let delims = ["+", "_", ".", "-", "~", "+-", "=="];
        let endings = ["", ".bin", ".json", ".jpeg", "+a", ".-_", "_0", "-timestamp.txt.gz"];
        let formats = ["'year'=YYYY/'month'=MM/'day'=dd/'hour'=HH", "YYYY-MM-dd", "'+'HH'+'/mm", "YYYYMMdd/HH/'-'"];
        for _ in 0..300 {
            let mut n = seed_naming(chrono_tz::Asia::Tokyo);
            n.file_delim = delims[rng.usize(..delims.len())].into();
            n.payload_extension = endings[rng.usize(..endings.len())].into();
            n.path_format = JodaPattern::parse(formats[rng.usize(..formats.len())]).unwrap();
            n.offset_pad_width = rng.usize(0..=19);
            let topic: String =
                (0..rng.usize(1..12)).map(|_| rng.choice(b"ab.0_-9".iter()).map(|&b| b as char).unwrap()).collect();
            let time = rng.i64(0..4_102_444_800_000);
            for (key, written) in written_keys(&n, &[&topic], &[time]) {
                assert_eq!(n.parse_key(&key).as_ref(), Some(&written), "{key} with {n:?}");
            }
        }
    }

    #[test]
    fn parse_key_refuses_keys_these_settings_cannot_write() {
        let n = seed_naming(chrono_tz::Asia::Tokyo);
        let dir = "topics/t/year=2022/month=04/day=18/hour=10";
        for key in [
            format!("{dir}/t+0+4.json"),           // not padded to 10 digits
            format!("{dir}/t+00+0000000004.json"), // partition with a leading zero
            format!("{dir}/u+0+0000000004.json"),  // another topic's file in t's directory
            format!("{dir}/t+0+0000000004.bin"),   // another extension
            format!("{dir}/t+0+000000000x.json"),
            format!("{dir}/t+-1+0000000004.json"),
            "topics/t/year=2022/month=04/t+0+0000000004.json".to_string(), // too shallow
            "other/t/year=2022/month=04/day=18/hour=10/t+0+0000000004.json".to_string(),
            format!("{dir}/notes.txt"),
            format!("{dir}/t+0+0000000004-timestamp.txt.tmp"),
        ] {
            assert_eq!(n.parse_key(&key), None, "{key}");
        }
    }
}
