//! Is the bucket complete? Compares the stored objects with the offsets Connect committed:
//! every offset below the committed one must be in exactly one object and, where the
//! connector writes both kinds, every payload object needs its timestamp object and the
//! reverse. Keys are read with `Naming::parse_key`, the inverse of the naming that wrote them.
//!
//! An object starting at offset F holds records [F, F+n), n being the line count of its
//! timestamp object (one line per record). Without timestamp objects (sink.objects=payload)
//! every object counts as one record, as with flush.size=1.
//!
//! `check` is the comparison, without I/O; `run` lists the store, reads the timestamp objects
//! and calls it.

use crate::config::SinkConfig;
use crate::error::SinkError;
use crate::naming::{ObjectKind, ObjectName};
use crate::store::Store;
use crate::{runtime, store};
use futures::{StreamExt, TryStreamExt};
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// Timestamp objects read at the same time.
const PARALLEL_READS: usize = 32;
/// Ranges or keys shown per finding before "... and N more".
const SHOWN: usize = 10;

type Partition = (String, i32);

/// What to compare the store with: the connectors that wrote into it and their offsets.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    /// The connector's `topics`; `None` (topics.regex) checks the topics it committed offsets of.
    pub topics: Option<Vec<String>>,
    pub writers: Vec<Writer>,
}

/// One connector: which objects it writes, and its committed offsets (next offset to read).
#[derive(Debug, Clone)]
pub struct Writer {
    pub connector: String,
    pub payload: bool,
    pub timestamp: bool,
    pub committed: BTreeMap<Partition, i64>,
}

/// A stored key, with the line count of its content when it is a timestamp object.
#[derive(Debug, Clone)]
pub struct Listed {
    pub key: String,
    pub lines: Option<u64>,
}

#[derive(Debug, Default)]
pub struct Report {
    pub lines: Vec<String>,
    pub offsets: u64,
    pub objects: usize,
    pub missing: u64,
    pub duplicated: u64,
    pub orphaned: usize,
}

impl Report {
    pub fn is_complete(&self) -> bool {
        self.missing == 0 && self.duplicated == 0 && self.orphaned == 0
    }

    pub fn summary(&self) -> String {
        format!(
            "verified {} offsets in {} objects: {} missing, {} duplicated, {} orphaned",
            self.offsets, self.objects, self.missing, self.duplicated, self.orphaned
        )
    }

    /// The findings, one per line, then the summary as the last line.
    pub fn text(&self) -> String {
        let mut out = self.lines.join("\n");
        if !out.is_empty() {
            out.push('\n');
        }
        out + &self.summary()
    }
}

impl Plan {
    /// `{"topics": [..] | null, "connectors": [{"name", "objects": "payload,timestamp",
    /// "offsets": <the answer of GET /connectors/<name>/offsets>}]}`.
    pub fn from_json(json: &str) -> Result<Plan, SinkError> {
        let bad = |message: String| SinkError::config("offsets", message);
        let value: Value = serde_json::from_str(json).map_err(|e| bad(format!("not JSON: {e}")))?;
        let topics = match &value["topics"] {
            Value::Null => None,
            Value::Array(items) => Some(items.iter().filter_map(|t| t.as_str().map(str::to_string)).collect()),
            other => return Err(bad(format!("topics is not a list: {other}"))),
        };
        let connectors = value["connectors"].as_array().ok_or_else(|| bad("no connectors given".into()))?;
        let writers = connectors.iter().map(read_writer).collect::<Result<Vec<_>, _>>()?;
        for kind in ["payload", "timestamp"] {
            let names: Vec<_> = writers.iter().filter(|w| w.writes(kind)).map(|w| w.connector.as_str()).collect();
            if names.len() > 1 {
                return Err(bad(format!("{} all write {kind} objects into the same place", names.join(", "))));
            }
        }
        if writers.is_empty() {
            return Err(bad("no connectors given".into()));
        }
        Ok(Plan { topics, writers })
    }

    fn writer_of(&self, kind: ObjectKind) -> Option<&Writer> {
        self.writers.iter().find(|w| match kind {
            ObjectKind::Payload => w.payload,
            ObjectKind::Timestamp => w.timestamp,
        })
    }

    fn checks_topic(&self, topic: &str) -> bool {
        match &self.topics {
            Some(topics) => topics.iter().any(|t| t == topic),
            None => self.writers.iter().any(|w| w.committed.keys().any(|(t, _)| t == topic)),
        }
    }
}

impl Writer {
    fn writes(&self, kind: &str) -> bool {
        if kind == "payload" {
            self.payload
        } else {
            self.timestamp
        }
    }

    fn kinds_text(&self) -> &'static str {
        match (self.payload, self.timestamp) {
            (true, true) => "payload and timestamp objects",
            (true, false) => "payload objects",
            _ => "timestamp objects",
        }
    }
}

fn read_writer(value: &Value) -> Result<Writer, SinkError> {
    let connector = value["name"].as_str().unwrap_or("(unnamed)").to_string();
    let bad = |message: String| SinkError::config("offsets", format!("{connector}: {message}"));
    let objects = value["objects"].as_str().unwrap_or("payload,timestamp");
    let kinds: Vec<_> = objects.split(',').map(str::trim).collect();
    let mut committed = BTreeMap::new();
    let entries = value["offsets"]["offsets"]
        .as_array()
        .ok_or_else(|| bad(format!("not an answer of GET /connectors/{connector}/offsets")))?;
    for entry in entries {
        let topic = entry["partition"]["kafka_topic"].as_str();
        let partition = entry["partition"]["kafka_partition"].as_i64();
        let offset = entry["offset"]["kafka_offset"].as_i64();
        match (topic, partition, offset) {
            (Some(t), Some(p), Some(o)) => committed.insert((t.to_string(), p as i32), o),
            _ => return Err(bad(format!("offset entry without topic, partition and offset: {entry}"))),
        };
    }
    Ok(Writer { payload: kinds.contains(&"payload"), timestamp: kinds.contains(&"timestamp"), connector, committed })
}

/// One object pair: records of a partition from `first_offset`, in one directory.
#[derive(Debug, Default)]
struct Unit {
    payload: Option<String>,
    timestamp: Option<(String, Option<u64>)>,
}

impl Unit {
    fn key(&self) -> &str {
        self.payload.as_deref().or(self.timestamp.as_ref().map(|(k, _)| k.as_str())).unwrap_or_default()
    }
}

/// A unit's offsets [start, end).
#[derive(Debug, Clone, Copy)]
struct Span {
    start: i64,
    end: i64,
}

/// Compares `objects` (under the checked topics' directories) with the plan.
pub fn check(config: &SinkConfig, plan: &Plan, objects: &[Listed]) -> Report {
    let mut report = Report::default();
    let mut units: BTreeMap<Partition, BTreeMap<(i64, String), Unit>> = BTreeMap::new();
    let mut unrecognized = Vec::new();
    for object in objects {
        let Some(name) = config.naming.parse_key(&object.key) else {
            unrecognized.push(object.key.as_str());
            continue;
        };
        if !plan.checks_topic(&name.topic) {
            continue;
        }
        report.objects += 1;
        add_to_unit(&mut units, name, object);
    }
    let payload = plan.writer_of(ObjectKind::Payload);
    let timestamp = plan.writer_of(ObjectKind::Timestamp);
    if timestamp.is_none() {
        report.lines.push(match config.flush_size {
            1 => "no timestamp objects written (sink.objects=payload): each object counts as one record".into(),
            n => format!(
                "no timestamp objects written (sink.objects=payload): each object counts as one record, as with \
                 flush.size=1, although flush.size is {n}: offsets reported missing may be inside other objects"
            ),
        });
    }
    let mut partitions: BTreeSet<Partition> = units.keys().cloned().collect();
    for writer in &plan.writers {
        partitions.extend(writer.committed.keys().filter(|(t, _)| plan.checks_topic(t)).cloned());
    }
    let empty = BTreeMap::new();
    for partition in &partitions {
        let committed_of = |w: Option<&Writer>| w.map(|w| w.committed.get(partition).copied().unwrap_or(0));
        let checker = PartitionCheck {
            label: format!("{}-{}", partition.0, partition.1),
            payload_committed: committed_of(payload),
            timestamp_committed: committed_of(timestamp),
            flush_size: config.flush_size as i64,
        };
        checker.run(units.get(partition).unwrap_or(&empty), &mut report);
    }
    if !unrecognized.is_empty() {
        report.lines.push(format!(
            "{} objects are not named as this connector names its objects (not checked): {}",
            unrecognized.len(),
            shown(unrecognized.iter())
        ));
    }
    report
}

fn add_to_unit(units: &mut BTreeMap<Partition, BTreeMap<(i64, String), Unit>>, name: ObjectName, object: &Listed) {
    let unit =
        units.entry((name.topic, name.partition)).or_default().entry((name.first_offset, name.directory)).or_default();
    match name.kind {
        ObjectKind::Payload => unit.payload = Some(object.key.clone()),
        ObjectKind::Timestamp => unit.timestamp = Some((object.key.clone(), object.lines)),
    }
}

struct PartitionCheck {
    label: String,
    /// Committed offset of the connector writing each kind; `None`: that kind is not written.
    payload_committed: Option<i64>,
    timestamp_committed: Option<i64>,
    flush_size: i64,
}

impl PartitionCheck {
    fn committed(&self) -> i64 {
        self.payload_committed.into_iter().chain(self.timestamp_committed).max().unwrap_or(0)
    }

    fn run(&self, units: &BTreeMap<(i64, String), Unit>, report: &mut Report) {
        let committed = self.committed();
        report.offsets += committed.max(0) as u64;
        let spans = self.spans(units, committed);
        let (missing, doubled) = coverage(&spans.iter().map(|(s, _)| *s).collect::<Vec<_>>(), committed);
        let count = |ranges: &[Span]| ranges.iter().map(|r| (r.end - r.start) as u64).sum::<u64>();
        report.missing += count(&missing);
        report.duplicated += count(&doubled);
        let label = &self.label;
        let stored =
            units.values().map(|u| u.payload.is_some() as usize + u.timestamp.is_some() as usize).sum::<usize>();
        report.lines.push(format!("{label}: committed offset {committed}, {stored} objects"));
        if !missing.is_empty() {
            report.lines.push(format!("{label}: missing offsets (in no object): {}", ranges_text(&missing)));
        }
        for range in doubled.iter().take(SHOWN) {
            let keys = spans.iter().filter(|(s, _)| s.start < range.end && range.start < s.end).map(|(_, u)| u.key());
            report.lines.push(format!(
                "{label}: {} stored in more than one object: {}",
                offsets_text(range),
                shown(keys)
            ));
        }
        if doubled.len() > SHOWN {
            report.lines.push(format!("{label}: ... and {} more ranges stored twice", doubled.len() - SHOWN));
        }
        self.pairs(&spans, report);
        self.beyond(&spans, committed, report);
    }

    /// Each unit's offsets. An orphaned payload object has no line count: it is taken to
    /// reach the next object (at most flush.size records), which is exact for flush.size=1.
    fn spans<'a>(&self, units: &'a BTreeMap<(i64, String), Unit>, committed: i64) -> Vec<(Span, &'a Unit)> {
        let starts: BTreeSet<i64> = units.keys().map(|(first, _)| *first).collect();
        units
            .iter()
            .map(|((first, _), unit)| {
                let records = match (&unit.timestamp, self.timestamp_committed) {
                    (Some((_, Some(lines))), _) => *lines as i64,
                    (_, None) => 1,
                    _ => {
                        let next = starts.range(first + 1..).next().copied().unwrap_or(committed.max(first + 1));
                        (next - first).clamp(1, self.flush_size)
                    }
                };
                (Span { start: *first, end: first.saturating_add(records) }, unit)
            })
            .collect()
    }

    /// Payload objects without their timestamp object and the reverse, where both are
    /// written and the offset is committed (beyond it the other upload may still run).
    fn pairs(&self, spans: &[(Span, &Unit)], report: &mut Report) {
        let (Some(payload_committed), Some(timestamp_committed)) = (self.payload_committed, self.timestamp_committed)
        else {
            return;
        };
        let mut orphans = Vec::new();
        for (span, unit) in spans {
            let offsets = offsets_text(span);
            match (&unit.payload, &unit.timestamp) {
                (Some(key), None) if span.start < timestamp_committed => {
                    orphans.push(format!("{offsets}: no timestamp object beside {key}"))
                }
                (None, Some((key, _))) if span.start < payload_committed => {
                    orphans.push(format!("{offsets}: no payload object beside {key}"))
                }
                _ => {}
            }
        }
        report.orphaned += orphans.len();
        for orphan in orphans.iter().take(SHOWN) {
            report.lines.push(format!("{}: {orphan}", self.label));
        }
        if orphans.len() > SHOWN {
            report.lines.push(format!(
                "{}: ... and {} more objects without their pair",
                self.label,
                orphans.len() - SHOWN
            ));
        }
    }

    fn beyond(&self, spans: &[(Span, &Unit)], committed: i64, report: &mut Report) {
        let later: Vec<_> = spans.iter().filter(|(s, _)| s.start >= committed).collect();
        let (Some(first), Some(last)) = (later.first(), later.last()) else {
            return;
        };
        let objects: usize =
            later.iter().map(|(_, u)| u.payload.is_some() as usize + u.timestamp.is_some() as usize).sum();
        let range = Span { start: first.0.start, end: later.iter().map(|(s, _)| s.end).max().unwrap_or(last.0.end) };
        report.lines.push(format!(
            "{}: {objects} objects beyond the committed offset {committed}, offsets {} (not committed yet: harmless)",
            self.label,
            range_text(&range)
        ));
    }
}

/// Offsets of [0, committed) in no span, and offsets (anywhere) in more than one.
fn coverage(spans: &[Span], committed: i64) -> (Vec<Span>, Vec<Span>) {
    let mut events: Vec<(i64, i32)> = spans.iter().flat_map(|s| [(s.start, 1), (s.end, -1)]).collect();
    events.push((0, 0));
    events.push((committed.max(0), 0));
    events.sort_unstable();
    let (mut missing, mut doubled) = (Vec::new(), Vec::new());
    let mut depth = 0;
    for pair in events.windows(2) {
        depth += pair[0].1;
        let segment = Span { start: pair[0].0, end: pair[1].0 };
        if segment.start == segment.end {
            continue;
        }
        if depth == 0 && segment.start >= 0 && segment.end <= committed {
            push_range(&mut missing, segment);
        } else if depth >= 2 {
            push_range(&mut doubled, segment);
        }
    }
    (missing, doubled)
}

fn push_range(ranges: &mut Vec<Span>, span: Span) {
    match ranges.last_mut() {
        Some(last) if last.end == span.start => last.end = span.end,
        _ => ranges.push(span),
    }
}

fn offsets_text(range: &Span) -> String {
    let word = if range.end - range.start == 1 { "offset" } else { "offsets" };
    format!("{word} {}", range_text(range))
}

fn range_text(range: &Span) -> String {
    if range.end - range.start == 1 {
        range.start.to_string()
    } else {
        format!("{}-{}", range.start, range.end - 1)
    }
}

fn ranges_text(ranges: &[Span]) -> String {
    shown(ranges.iter().map(range_text))
}

fn shown<T: std::fmt::Display>(items: impl Iterator<Item = T>) -> String {
    let items: Vec<String> = items.map(|i| i.to_string()).collect();
    let mut text = items.iter().take(SHOWN).cloned().collect::<Vec<_>>().join(", ");
    if items.len() > SHOWN {
        text.push_str(&format!(" ... and {} more", items.len() - SHOWN));
    }
    text
}

/// Checks the store of `config` (the connector's settings as the task gets them) against
/// `plan_json` (see `Plan::from_json`). Returns the report; the last line is the
/// summary. Fails when the store cannot be listed or read.
pub fn run(config: SinkConfig, plan_json: &str) -> Result<Report, SinkError> {
    let plan = Plan::from_json(plan_json)?;
    let runtime =
        runtime::acquire().map_err(|e| SinkError::StoreUnavailable(format!("cannot start I/O threads: {e}")))?;
    let listed =
        store::open_store(&config.store).and_then(|store| runtime.block_on(list_objects(&store, &config, &plan)));
    runtime::release(runtime);
    let mut report = check(&config, &plan, &listed?);
    report.lines.insert(0, header(&config, &plan));
    Ok(report)
}

fn header(config: &SinkConfig, plan: &Plan) -> String {
    let writers: Vec<_> = plan.writers.iter().map(|w| format!("{} ({})", w.connector, w.kinds_text())).collect();
    format!(
        "checking {} against bucket '{}' at {}, under {}/",
        writers.join(" and "),
        config.store.bucket,
        config.store.location_text(),
        config.naming.topics_dir
    )
}

/// Every key under the checked topics' directories, timestamp objects with their line count.
async fn list_objects(store: &Store, config: &SinkConfig, plan: &Plan) -> Result<Vec<Listed>, SinkError> {
    store::probe_listing(store, &config.store, &config.naming.topics_dir).await.map_err(|failure| failure.error)?;
    let store = &*store.objects();
    let topics_dir = &config.naming.topics_dir;
    let prefixes: Vec<Option<Path>> = match &plan.topics {
        Some(topics) => topics.iter().map(|t| Some(Path::from(format!("{topics_dir}/{t}")))).collect(),
        None if topics_dir.is_empty() => vec![None],
        None => vec![Some(Path::from(topics_dir.as_str()))],
    };
    let mut keys = Vec::new();
    for prefix in &prefixes {
        let listed: Vec<_> = store.list(prefix.as_ref()).try_collect().await.map_err(|e| {
            let at = prefix.as_ref().map(|p| p.to_string()).unwrap_or_default();
            SinkError::StoreUnavailable(format!("listing {at}/ in bucket '{}' failed: {e}", config.store.bucket))
        })?;
        keys.extend(listed.into_iter().map(|meta| meta.location.to_string()));
    }
    let reads = keys.into_iter().map(|key| async move {
        let is_timestamp = config.naming.parse_key(&key).is_some_and(|n| n.kind == ObjectKind::Timestamp);
        let lines = if is_timestamp { Some(line_count(store, &key).await?) } else { None };
        Ok::<Listed, SinkError>(Listed { key, lines })
    });
    futures::stream::iter(reads).buffered(PARALLEL_READS).try_collect().await
}

async fn line_count(store: &dyn ObjectStore, key: &str) -> Result<u64, SinkError> {
    let read = async { store.get(&Path::from(key)).await?.bytes().await };
    let content = read.await.map_err(|e| SinkError::StoreUnavailable(format!("reading {key} failed: {e}")))?;
    let newlines = content.iter().filter(|&&b| b == b'\n').count() as u64;
    Ok(newlines + u64::from(content.last().is_some_and(|&b| b != b'\n')))
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR_10: i64 = 1_650_245_025_123; // 2022-04-18T01:23:45.123Z, hour=10 in Tokyo

    fn config(extra: &[(&str, &str)]) -> SinkConfig {
        let changes: Vec<_> =
            [("s3.bucket.name", "b"), ("timezone", "Asia/Tokyo")].into_iter().chain(extra.iter().copied()).collect();
        crate::config::test_support::config(&changes).unwrap()
    }

    fn writer(connector: &str, payload: bool, timestamp: bool, committed: &[(i32, i64)]) -> Writer {
        Writer {
            connector: connector.into(),
            payload,
            timestamp,
            committed: committed.iter().map(|(p, o)| (("t".to_string(), *p), *o)).collect(),
        }
    }

    fn plan(writers: Vec<Writer>) -> Plan {
        Plan { topics: Some(vec!["t".into()]), writers }
    }

    /// The keys the engine writes for an object of `records` records at `first` in partition 0.
    fn object(config: &SinkConfig, first: i64, records: u64, kinds: &[ObjectKind]) -> Vec<Listed> {
        object_at(config, 0, first, records, kinds, HOUR_10)
    }

    fn object_at(
        config: &SinkConfig,
        partition: i32,
        first: i64,
        records: u64,
        kinds: &[ObjectKind],
        time: i64,
    ) -> Vec<Listed> {
        let naming = &config.naming;
        let (directory, stem) = (naming.directory("t", time), naming.file_stem("t", partition, first));
        kinds
            .iter()
            .map(|&kind| Listed {
                key: naming.key(kind, &directory, &stem),
                lines: (kind == ObjectKind::Timestamp).then_some(records),
            })
            .collect()
    }

    const BOTH: &[ObjectKind] = &[ObjectKind::Payload, ObjectKind::Timestamp];

    fn pairs(config: &SinkConfig, offsets: impl IntoIterator<Item = i64>) -> Vec<Listed> {
        offsets.into_iter().flat_map(|o| object(config, o, 1, BOTH)).collect()
    }

    fn has_line(report: &Report, text: &str) -> bool {
        report.lines.iter().any(|l| l.contains(text))
    }

    #[test]
    fn a_complete_bucket_passes() {
        let c = config(&[]);
        let report = check(&c, &plan(vec![writer("s3-sink", true, true, &[(0, 5)])]), &pairs(&c, 0..5));
        assert!(report.is_complete(), "{}", report.text());
        assert_eq!(report.summary(), "verified 5 offsets in 10 objects: 0 missing, 0 duplicated, 0 orphaned");
        assert!(report.text().ends_with(&report.summary()));
    }

    #[test]
    fn a_deleted_pair_is_named_as_missing_offsets() {
        let c = config(&[]);
        let objects = pairs(&c, [0, 1, 3, 6, 7]);
        let report = check(&c, &plan(vec![writer("s3-sink", true, true, &[(0, 9)])]), &objects);
        assert_eq!(report.summary(), "verified 9 offsets in 10 objects: 4 missing, 0 duplicated, 0 orphaned");
        assert!(has_line(&report, "t-0: missing offsets (in no object): 2, 4-5, 8"), "{}", report.text());
    }

    #[test]
    fn one_missing_half_of_a_pair_is_an_orphan() {
        let c = config(&[]);
        let mut objects = pairs(&c, 0..4);
        let gone = objects.iter().position(|o| o.key.ends_with("+0000000002-timestamp.txt")).unwrap();
        let payload_only = objects.remove(gone);
        assert!(payload_only.lines.is_some());
        objects.retain(|o| !o.key.ends_with("+0000000003.bin"));
        let report = check(&c, &plan(vec![writer("s3-sink", true, true, &[(0, 4)])]), &objects);
        assert_eq!(report.summary(), "verified 4 offsets in 6 objects: 0 missing, 0 duplicated, 2 orphaned");
        assert!(has_line(&report, "t-0: offset 2: no timestamp object beside topics/t/year=2022/month=04/day=18/hour=10/t+0+0000000002.bin"), "{}", report.text());
        assert!(has_line(&report, "offset 3: no payload object beside topics/t/year=2022/month=04/day=18/hour=10/t+0+0000000003-timestamp.txt"), "{}", report.text());
        assert!(!report.is_complete());
    }

    #[test]
    fn objects_of_several_records_cover_their_line_count() {
        let c = config(&[("flush.size", "3")]);
        let mut objects = object(&c, 0, 3, BOTH);
        objects.extend(object(&c, 3, 3, BOTH));
        objects.extend(object(&c, 6, 2, BOTH)); // cut short by a new hour, say
        let report = check(&c, &plan(vec![writer("s3-sink", true, true, &[(0, 8)])]), &objects);
        assert!(report.is_complete(), "{}", report.text());
        assert_eq!(report.offsets, 8);
        // Without the object at 3, offsets 3-5 are gone.
        objects.drain(2..4);
        let report = check(&c, &plan(vec![writer("s3-sink", true, true, &[(0, 8)])]), &objects);
        assert_eq!(report.missing, 3, "{}", report.text());
        assert!(has_line(&report, "missing offsets (in no object): 3-5"), "{}", report.text());
        // Seven lines at 0 reach into the object at 6.
        objects[1].lines = Some(7);
        let report = check(&c, &plan(vec![writer("s3-sink", true, true, &[(0, 8)])]), &objects);
        assert_eq!((report.missing, report.duplicated), (0, 1), "{}", report.text());
    }

    #[test]
    fn overlapping_ranges_are_duplicates() {
        let c = config(&[("flush.size", "3")]);
        let mut objects = object(&c, 0, 3, BOTH);
        objects.extend(object(&c, 2, 3, BOTH)); // 2..5 overlaps 0..3 at 2
        objects.extend(object_at(&c, 0, 5, 1, BOTH, HOUR_10 + 3_600_000));
        objects.extend(object_at(&c, 0, 5, 1, BOTH, HOUR_10 + 7_200_000)); // same offset, another hour
        let report = check(&c, &plan(vec![writer("s3-sink", true, true, &[(0, 6)])]), &objects);
        assert_eq!(report.summary(), "verified 6 offsets in 8 objects: 0 missing, 2 duplicated, 0 orphaned");
        assert!(has_line(&report, "t-0: offset 2 stored in more than one object"), "{}", report.text());
        assert!(has_line(&report, "t-0: offset 5 stored in more than one object"), "{}", report.text());
        assert!(has_line(&report, "hour=11/t+0+0000000005.bin"), "{}", report.text());
    }

    #[test]
    fn objects_beyond_the_committed_offset_are_shown_not_counted() {
        let c = config(&[]);
        let mut objects = pairs(&c, 0..6);
        objects.pop(); // offset 5's timestamp object is still being uploaded
        let report = check(&c, &plan(vec![writer("s3-sink", true, true, &[(0, 3)])]), &objects);
        assert!(report.is_complete(), "{}", report.text());
        assert_eq!(report.summary(), "verified 3 offsets in 11 objects: 0 missing, 0 duplicated, 0 orphaned");
        assert!(has_line(&report, "t-0: 5 objects beyond the committed offset 3, offsets 3-5"), "{}", report.text());
    }

    #[test]
    fn payload_only_counts_one_record_per_object_and_says_so() {
        let c = config(&[("sink.objects", "payload")]);
        let objects: Vec<_> = [0, 1, 2, 4].iter().flat_map(|&o| object(&c, o, 1, &[ObjectKind::Payload])).collect();
        let report = check(&c, &plan(vec![writer("s3-sink", true, false, &[(0, 5)])]), &objects);
        assert_eq!(report.summary(), "verified 5 offsets in 4 objects: 1 missing, 0 duplicated, 0 orphaned");
        assert!(has_line(&report, "each object counts as one record"), "{}", report.text());
        assert!(has_line(&report, "missing offsets (in no object): 3"), "{}", report.text());
    }

    #[test]
    fn two_connectors_are_paired_below_each_ones_committed_offset() {
        let c = config(&[]);
        let mut objects = pairs(&c, 0..3);
        objects.extend(object(&c, 3, 1, &[ObjectKind::Payload])); // the timestamp connector is behind
        objects.extend(object(&c, 4, 1, &[ObjectKind::Payload]));
        let writers =
            vec![writer("s3-sink-data", true, false, &[(0, 5)]), writer("s3-sink-timestamp", false, true, &[(0, 4)])];
        let report = check(&c, &plan(writers), &objects);
        // 3 has no timestamp object although s3-sink-timestamp committed it; 4 is not committed there yet.
        assert_eq!(report.summary(), "verified 5 offsets in 8 objects: 0 missing, 0 duplicated, 1 orphaned");
        assert!(has_line(&report, "offset 3: no timestamp object beside"), "{}", report.text());
        assert!(!has_line(&report, "offset 4: no"), "{}", report.text());
    }

    #[test]
    fn partitions_without_objects_or_offsets_are_reported() {
        let c = config(&[]);
        let mut objects = pairs(&c, 0..2);
        objects.extend(object_at(&c, 2, 0, 1, BOTH, HOUR_10));
        objects.push(Listed { key: "topics/t/README.txt".into(), lines: None });
        objects.push(Listed { key: "topics/other/x".into(), lines: None });
        let report = check(&c, &plan(vec![writer("s3-sink", true, true, &[(0, 2), (1, 3)])]), &objects);
        assert_eq!(report.summary(), "verified 5 offsets in 6 objects: 3 missing, 0 duplicated, 0 orphaned");
        assert!(has_line(&report, "t-1: missing offsets (in no object): 0-2"), "{}", report.text());
        assert!(has_line(&report, "t-2: 2 objects beyond the committed offset 0"), "{}", report.text());
        assert!(has_line(&report, "2 objects are not named as this connector names its objects"), "{}", report.text());
    }

    #[test]
    fn the_plan_reads_connects_offsets_answer() {
        let json = r#"{"topics":["t"],"connectors":[{"name":"s3-sink","objects":"payload,timestamp","offsets":
            {"offsets":[{"partition":{"kafka_topic":"t","kafka_partition":2},"offset":{"kafka_offset":17}}]}}]}"#;
        let plan = Plan::from_json(json).unwrap();
        assert_eq!(plan.writers[0].committed.get(&("t".to_string(), 2)), Some(&17));
        assert!(plan.writers[0].payload && plan.writers[0].timestamp);
        let doubled = r#"{"topics":null,"connectors":[{"name":"a","objects":"payload","offsets":{"offsets":[]}},
            {"name":"b","objects":"payload","offsets":{"offsets":[]}}]}"#;
        assert!(Plan::from_json(doubled).unwrap_err().to_string().contains("a, b all write payload objects"));
        let broken = r#"{"connectors":[{"name":"a","offsets":{"error_code":404}}]}"#;
        assert!(Plan::from_json(broken).unwrap_err().to_string().contains("GET /connectors/a/offsets"));
    }

    #[test]
    fn long_findings_are_cut_short() {
        let c = config(&[]);
        let objects = pairs(&c, (0..100).step_by(2));
        let report = check(&c, &plan(vec![writer("s3-sink", true, true, &[(0, 100)])]), &objects);
        assert_eq!(report.missing, 50);
        assert!(has_line(&report, "1, 3, 5, 7, 9, 11, 13, 15, 17, 19 ... and 40 more"), "{}", report.text());
    }
}
