//! Where an object goes: the seed's layout
//! `{topics.dir}/{topic}/{path.format of the bucket start}/{topic}+{partition}+{offset:010}{ext}`.

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
}
