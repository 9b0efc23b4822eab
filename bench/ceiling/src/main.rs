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
//! Prints one JSON line: objects, bytes, requests, seconds.

use bytes::Bytes;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use s3sink_engine::config::{StoreConfig, StoreLocation};
use s3sink_engine::store;
use std::collections::BTreeMap;
use std::io::BufRead;
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

#[tokio::main]
async fn main() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().collect();
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
