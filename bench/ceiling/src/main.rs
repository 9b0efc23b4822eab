//! The store's ceiling: stores a list of objects into an S3 store as fast as the store allows,
//! with no Kafka involved, through the connector engine's own S3 client (`object_store`,
//! built by the engine's `store::open_store`), so only the store and the request pattern differ.
//!
//!   ceiling -endpoint http://127.0.0.1:17070 -bucket B -mode put -concurrency 32 < manifest
//!   ceiling -endpoint ... -bucket B -mode seed < manifest
//!
//! The manifest has one object per line: `<stream> <size> <key>`. Mode `put` sends one PUT per
//! object, `concurrency` at a time. Mode `seed` replays the seed's request pattern (Confluent's
//! S3 sink, flush.size=1): every object is a multipart upload of three requests (create, one
//! part, complete), one object at a time per stream, the streams side by side.
//! Mode `engine` drives the connector engine itself (`s3sink_engine::Sink`) with no Kafka and no
//! JVM, for profiling it against the ceiling on the same store:
//!
//!   ceiling -endpoint ... -bucket B -mode engine -messages 1000 -size 102400 [-set key=value]...
//!
//! builds that many SINETStream v3 messages (plain Avro, JSON-like payloads), partitions 0-2 in
//! turn, hands them to `Sink::put` in batches of 500 from one thread as Connect does, and waits
//! until every offset is committable. `-tasks 3` runs three sinks side by side, one partition
//! and one thread each, as a worker runs three tasks of one connector. `-set` changes a
//! connector key (e.g. flush.size=1000, sink.objects=payload).
//! Prints one JSON line: objects, bytes, requests, seconds.

use bytes::Bytes;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use s3sink_engine::config::{StoreConfig, StoreLocation};
use s3sink_engine::metrics::Metrics;
use s3sink_engine::record::{Record, TopicPartition};
use s3sink_engine::{store, Probe, Sink};
use std::collections::BTreeMap;
use std::io::BufRead;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::Semaphore;

struct Object {
    stream: String,
    size: usize,
    key: String,
}

type Error = Box<dyn std::error::Error + Send + Sync>;

fn arg(args: &[String], name: &str, default: Option<&str>) -> Result<String, Error> {
    let flag = format!("-{name}");
    match args.iter().position(|a| *a == flag) {
        Some(i) => args.get(i + 1).cloned().ok_or_else(|| format!("{flag} needs a value").into()),
        None => default.map(str::to_string).ok_or_else(|| format!("{flag} is required").into()),
    }
}

fn read_manifest() -> Result<Vec<Object>, Error> {
    let mut objects = Vec::new();
    for line in std::io::stdin().lock().lines() {
        let line = line?;
        let mut fields = line.split_whitespace();
        let (Some(stream), Some(size), Some(key)) = (fields.next(), fields.next(), fields.next()) else {
            continue;
        };
        objects.push(Object { stream: stream.into(), size: size.parse()?, key: key.into() });
    }
    Ok(objects)
}

/// The engine's own S3 client (`store::open_store`), path-style, against `endpoint`.
fn open_store(endpoint: &str, bucket: &str, access: &str, secret: &str) -> Result<Arc<dyn ObjectStore>, Error> {
    let config = StoreConfig {
        location: StoreLocation::S3 { endpoint: Some(endpoint.to_string()) },
        bucket: bucket.to_string(),
        region: "us-east-1".to_string(),
        path_style: true,
        access_key_id: Some(access.to_string()),
        secret_access_key: Some(secret.to_string()),
        role: None,
        trust: Default::default(),
        proxy_url: None,
        unsigned_payload: false,
        encryption: s3sink_engine::config::Encryption::BucketDefault,
        checksum: None,
    };
    Ok(store::open_store(&config)?.objects())
}

async fn put(store: &dyn ObjectStore, key: &str, data: Bytes) -> Result<(), Error> {
    store.put(&Path::from(key), PutPayload::from(data)).await?;
    Ok(())
}

/// A multipart upload with a single part: three requests.
async fn multipart(store: &dyn ObjectStore, key: &str, data: Bytes) -> Result<(), Error> {
    let mut upload = store.put_multipart(&Path::from(key)).await?;
    upload.put_part(PutPayload::from(data)).await?;
    upload.complete().await?;
    Ok(())
}

/// A SINETStream v3 message with a plain Avro body, as the Python client writes it.
fn message(send_us: i64, payload: &[u8]) -> Bytes {
    let mut out = vec![0xDF, 0x03, 0, 0, 0, 0, 0xC3, 0x01, 0x1F, 0x9C, 0x0C, 0x91, 0xEB, 0x33, 0x66, 0x4F];
    for value in [send_us, payload.len() as i64] {
        let mut z = ((value << 1) ^ (value >> 63)) as u64;
        while z >= 0x80 {
            out.push((z as u8 & 0x7F) | 0x80);
            z >>= 7;
        }
        out.push(z as u8);
    }
    out.extend_from_slice(payload);
    Bytes::from(out)
}

/// `-mode engine`: the engine stores `-messages` messages of `-size` bytes.
fn engine(args: &[String]) -> Result<(), Error> {
    const PARTITIONS: i32 = 3;
    const BATCH: usize = 500;
    let messages: usize = arg(args, "messages", None)?.parse()?;
    let size: usize = arg(args, "size", None)?.parse()?;
    let mut changes = vec![
        ("store.url".to_string(), arg(args, "endpoint", None)?),
        ("s3.bucket.name".to_string(), arg(args, "bucket", None)?),
        ("aws.access.key.id".to_string(), arg(args, "access", None)?),
        ("aws.secret.access.key".to_string(), arg(args, "secret", None)?),
        ("s3.path.style.access.enabled".to_string(), "true".to_string()),
        ("timezone".to_string(), "Asia/Tokyo".to_string()),
    ];
    for (i, a) in args.iter().enumerate() {
        if a == "-set" {
            let (key, value) = args.get(i + 1).and_then(|kv| kv.split_once('=')).ok_or("-set needs key=value")?;
            changes.push((key.to_string(), value.to_string()));
        }
    }
    let changes: Vec<(&str, &str)> = changes.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let config = s3sink_engine::config::test_support::config(&changes)?;
    let payload: Vec<u8> = (0..size).map(|i| b"0123456789abcdef"[i % 16]).collect();
    let now_ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_millis() as i64;
    let topic = TopicPartition::new("bench", 0).topic;
    // Built before the clock starts, as Connect hands the task records it has read.
    let records: Vec<Record> = (0..messages)
        .map(|i| {
            let tp = TopicPartition { topic: topic.clone(), partition: i as i32 % PARTITIONS };
            let offset = (i as i32 / PARTITIONS) as i64;
            Record::untransformed(tp, offset, Some(now_ms), Some(message(now_ms * 1000 + i as i64, &payload)))
        })
        .collect();
    // One sink per task, each driven by its own thread with the partitions Connect would give
    // it (partition p to task p % tasks), as a worker runs `tasks.max` tasks of one connector.
    let tasks: usize = arg(args, "tasks", Some("1"))?.parse::<usize>()?.clamp(1, PARTITIONS as usize);
    let sinks: Vec<Sink> = (0..tasks)
        .map(|t| Sink::start(config.clone(), &format!("bench|engine|{t}"), Probe::Strict))
        .collect::<Result<_, _>>()?;
    let ends: BTreeMap<i32, i64> =
        (0..PARTITIONS).map(|p| (p, ((messages as i32 - p + PARTITIONS - 1) / PARTITIONS) as i64)).collect();
    let started = Instant::now();
    std::thread::scope(|scope| -> Result<(), Error> {
        let drivers: Vec<_> = sinks
            .iter()
            .enumerate()
            .map(|(t, sink)| {
                let own: Vec<Record> =
                    records.iter().filter(|r| r.source.tp.partition as usize % tasks == t).cloned().collect();
                scope.spawn(move || put_all(sink, &own, BATCH))
            })
            .collect();
        for driver in drivers {
            driver.join().map_err(|_| "a driver thread panicked")??;
        }
        Ok(())
    })?;
    let put_done = started.elapsed().as_secs_f64();
    loop {
        let mut committable = BTreeMap::new();
        for sink in &sinks {
            committable.extend(sink.committable()?.into_iter().map(|(tp, o)| (tp.partition, o)));
        }
        if ends.iter().all(|(p, end)| *end == 0 || committable.get(p).is_some_and(|o| *o >= *end)) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    let seconds = started.elapsed().as_secs_f64();
    let total = |count: fn(&Metrics) -> u64| sinks.iter().map(|s| count(s.metrics())).sum::<u64>();
    println!(
        "{{\"mode\":\"engine\",\"tasks\":{tasks},\"messages\":{messages},\"objects\":{},\"bytes\":{},\"requests\":{},\
         \"put_s\":{put_done},\"seconds\":{seconds}}}",
        total(|m| m.objects_stored.load(Relaxed)),
        total(|m| m.payload_bytes_stored.load(Relaxed)),
        total(|m| m.put_requests.load(Relaxed) + m.multipart_requests.load(Relaxed))
    );
    for sink in sinks {
        sink.close();
    }
    Ok(())
}

/// Hands `records` to `sink` in batches of `batch` from one thread, as a Connect task does,
/// offering again after a pause what did not fit in memory.
fn put_all(sink: &Sink, records: &[Record], batch: usize) -> Result<(), Error> {
    for chunk in records.chunks(batch) {
        let mut batch = chunk.to_vec();
        loop {
            let offered = batch.len();
            let outcome = sink.put(batch.clone())?;
            if outcome.taken == offered {
                break;
            }
            batch.drain(..outcome.taken);
            std::thread::sleep(std::time::Duration::from_millis(250)); // Connect's pause
        }
    }
    Ok(())
}

fn main() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().collect();
    if arg(&args, "mode", Some("put"))? == "engine" {
        return engine(&args);
    }
    tokio::runtime::Runtime::new()?.block_on(store_only(&args))
}

async fn store_only(args: &[String]) -> Result<(), Error> {
    let args = args.to_vec();
    let mode = arg(&args, "mode", Some("put"))?;
    let concurrency: usize = arg(&args, "concurrency", Some("32"))?.parse()?;
    let store = open_store(
        &arg(&args, "endpoint", None)?,
        &arg(&args, "bucket", None)?,
        &arg(&args, "access", None)?,
        &arg(&args, "secret", None)?,
    )?;
    let objects = read_manifest()?;
    let largest = objects.iter().map(|o| o.size).max().unwrap_or(0);
    let data = Bytes::from((0..largest).map(|_| fastrand::u8(..)).collect::<Vec<u8>>());
    let bytes: usize = objects.iter().map(|o| o.size).sum();

    let started = Instant::now();
    let (streams, requests) = match mode.as_str() {
        "put" => {
            // One task per object, `concurrency` at a time: how the engine uploads.
            let slots = Arc::new(Semaphore::new(concurrency));
            let tasks: Vec<_> = objects
                .iter()
                .map(|o| {
                    let (store, slots, key, data) = (store.clone(), slots.clone(), o.key.clone(), data.slice(..o.size));
                    tokio::spawn(async move {
                        let _slot = slots.acquire_owned().await?;
                        put(&*store, &key, data).await
                    })
                })
                .collect();
            for task in tasks {
                task.await??;
            }
            (1, objects.len())
        }
        "seed" => {
            let mut streams: BTreeMap<&str, Vec<&Object>> = BTreeMap::new();
            for o in &objects {
                streams.entry(&o.stream).or_default().push(o);
            }
            let count = streams.len();
            let sequences: Vec<_> = streams
                .into_values()
                .map(|list| {
                    let list: Vec<(String, usize)> = list.iter().map(|o| (o.key.clone(), o.size)).collect();
                    let (store, data) = (store.clone(), data.clone());
                    tokio::spawn(async move {
                        for (key, size) in list {
                            multipart(&*store, &key, data.slice(..size)).await?;
                        }
                        Ok::<(), Error>(())
                    })
                })
                .collect();
            for sequence in sequences {
                sequence.await??;
            }
            (count, 3 * objects.len())
        }
        other => return Err(format!("-mode {other}: put or seed").into()),
    };
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "{{\"mode\":\"{mode}\",\"concurrency\":{concurrency},\"streams\":{streams},\"objects\":{},\"bytes\":{bytes},\
         \"requests\":{requests},\"seconds\":{seconds}}}",
        objects.len()
    );
    Ok(())
}
