//! The JNI boundary, the only code here that touches the JVM. Each export converts its
//! arguments, calls the engine, and turns an error or a panic into a Java exception.
//! Exports are `extern "C"` (the same as "system" on Linux) so cbindgen writes their header.
//!
//! What crosses: the configuration and validation results as `String[]` of alternating
//! keys and values; record batches, partition lists and offsets in the layouts of `wire.rs`.
//! The engine's log lines go to Java through `logging.rs`.

mod logging;
mod verify;
mod wire;

use jni::objects::{JByteArray, JByteBuffer, JClass, JObject, JObjectArray, JString};
use jni::sys::{jbyteArray, jint, jlong, jlongArray, jobjectArray, jstring};
use jni::JNIEnv;
use s3sink_engine::error::panic_text;
use s3sink_engine::metrics::Metrics;
use s3sink_engine::record::TopicPartition;
use s3sink_engine::{ErrorClass, Probe, Sink, SinkConfig, SinkError};
use std::panic::{catch_unwind, AssertUnwindSafe};
use wire::WireError;

const RETRIABLE: &str = "org/apache/kafka/connect/errors/RetriableException";
const CONNECT_ERROR: &str = "org/apache/kafka/connect/errors/ConnectException";
const CONFIG_ERROR: &str = "org/sinetstream/kafka/connect/s3/NativeConfigException";

/// An error on its way to Java.
pub(crate) enum Failure {
    Sink(SinkError),
    Wire(WireError),
    Jni(jni::errors::Error),
}

impl From<SinkError> for Failure {
    fn from(e: SinkError) -> Self {
        Failure::Sink(e)
    }
}

impl From<WireError> for Failure {
    fn from(e: WireError) -> Self {
        Failure::Wire(e)
    }
}

impl From<jni::errors::Error> for Failure {
    fn from(e: jni::errors::Error) -> Self {
        Failure::Jni(e)
    }
}

/// Runs `body`, turning errors and panics into Java exceptions; `fallback` is returned
/// to Java alongside a pending exception.
pub(crate) fn guarded<T>(env: &mut JNIEnv, fallback: T, body: impl FnOnce(&mut JNIEnv) -> Result<T, Failure>) -> T {
    let outcome = catch_unwind(AssertUnwindSafe(|| body(env)));
    let (class, message) = match outcome {
        Ok(Ok(value)) => return value,
        Ok(Err(Failure::Sink(e))) => (exception_class(&e), e.to_string()),
        Ok(Err(Failure::Wire(e))) => (CONNECT_ERROR, e.to_string()),
        Ok(Err(Failure::Jni(jni::errors::Error::JavaException))) => return fallback,
        Ok(Err(Failure::Jni(e))) => (CONNECT_ERROR, format!("JNI call failed: {e}")),
        Err(panic) => (CONNECT_ERROR, format!("native sink panicked: {}", panic_text(panic.as_ref()))),
    };
    if !env.exception_check().unwrap_or(false) && env.throw_new(class, &message).is_err() {
        // The exception class could not be loaded: Error is always there, so Java never
        // sees a bare null.
        let _ = env.throw_new("java/lang/Error", message);
    }
    fallback
}

fn exception_class(error: &SinkError) -> &'static str {
    match error.class() {
        ErrorClass::Retriable => RETRIABLE,
        ErrorClass::Config => CONFIG_ERROR,
        ErrorClass::Fatal => CONNECT_ERROR,
    }
}

/// The handle is a `Box<Sink>` turned into a number; Java's `NativeSink` owns it and
/// frees it once in `close`.
fn sink<'a>(handle: jlong) -> Result<&'a Sink, Failure> {
    if handle == 0 {
        return Err(SinkError::Closed.into());
    }
    Ok(unsafe { &*(handle as *const Sink) })
}

fn bytes_of(env: &JNIEnv, array: &JByteArray) -> Result<Vec<u8>, Failure> {
    Ok(env.convert_byte_array(array)?)
}

fn byte_array(env: &JNIEnv, bytes: &[u8]) -> Result<jbyteArray, Failure> {
    Ok(env.byte_array_from_slice(bytes)?.into_raw())
}

/// `String[] {key, value, key, value, ...}` into the engine's configuration.
pub(crate) fn config_of(env: &mut JNIEnv, pairs: &JObjectArray) -> Result<SinkConfig, Failure> {
    let strings = strings_of(env, pairs)?;
    let map = strings.chunks_exact(2).map(|kv| (kv[0].clone(), kv[1].clone())).collect();
    Ok(SinkConfig::from_map(&map)?)
}

fn strings_of(env: &mut JNIEnv, array: &JObjectArray) -> Result<Vec<String>, Failure> {
    let length = env.get_array_length(array)?;
    let mut strings = Vec::with_capacity(length as usize);
    for i in 0..length {
        let element = JString::from(env.get_object_array_element(array, i)?);
        strings.push(env.get_string(&element)?.into());
        env.delete_local_ref(element)?;
    }
    Ok(strings)
}

fn string_array(env: &mut JNIEnv, strings: &[String]) -> Result<jobjectArray, Failure> {
    let array = env.new_object_array(strings.len() as jint, "java/lang/String", JObject::null())?;
    for (i, text) in strings.iter().enumerate() {
        let element = env.new_string(text)?;
        env.set_object_array_element(&array, i as jint, &element)?;
        env.delete_local_ref(element)?;
    }
    Ok(array.into_raw())
}

/// The first `length` bytes of a direct buffer Java filled; read before the call returns.
fn direct_bytes<'a>(env: &JNIEnv, buffer: &JByteBuffer, length: jint) -> Result<&'a [u8], Failure> {
    let address = env.get_direct_buffer_address(buffer)?;
    let capacity = env.get_direct_buffer_capacity(buffer)?;
    let length = usize::try_from(length).ok().filter(|n| *n <= capacity).ok_or_else(|| {
        Failure::Sink(SinkError::config("(batch)", format!("length {length} outside a buffer of {capacity} bytes")))
    })?;
    Ok(unsafe { std::slice::from_raw_parts(address, length) })
}

/// Calls `action` with a packed partition list.
fn on_partitions(env: &mut JNIEnv, handle: jlong, partitions: &JByteArray, action: fn(&Sink, &[TopicPartition])) {
    guarded(env, (), |env| {
        let partitions = wire::decode_partitions(&bytes_of(env, partitions)?)?;
        action(sink(handle)?, &partitions);
        Ok(())
    })
}

#[no_mangle]
pub extern "C" fn Java_org_sinetstream_kafka_connect_s3_NativeSink_nativeOpen(
    mut env: JNIEnv,
    _class: JClass,
    config: JObjectArray,
    context: JString,
) -> jlong {
    guarded(&mut env, 0, |env| {
        let config = config_of(env, &config)?;
        let context: String = env.get_string(&context)?.into();
        let sink = Sink::start(config, &context, Probe::Lenient)?;
        Ok(Box::into_raw(Box::new(sink)) as jlong)
    })
}

#[no_mangle]
pub extern "C" fn Java_org_sinetstream_kafka_connect_s3_NativeSink_nativePut(
    mut env: JNIEnv,
    _class: JClass,
    handle: jlong,
    batch: JByteBuffer,
    length: jint,
) -> jbyteArray {
    guarded(&mut env, std::ptr::null_mut(), |env| {
        let records = wire::decode_batch(direct_bytes(env, &batch, length)?)?;
        let outcome = sink(handle)?.put(records)?;
        byte_array(env, &wire::encode_put_result(&outcome))
    })
}

#[no_mangle]
pub extern "C" fn Java_org_sinetstream_kafka_connect_s3_NativeSink_nativeResolveFailures(
    mut env: JNIEnv,
    _class: JClass,
    handle: jlong,
    offsets: JByteArray,
) {
    guarded(&mut env, (), |env| {
        let reported = wire::decode_offsets(&bytes_of(env, &offsets)?)?;
        sink(handle)?.resolve_failures(&reported);
        Ok(())
    })
}

#[no_mangle]
pub extern "C" fn Java_org_sinetstream_kafka_connect_s3_NativeSink_nativeCommittable(
    mut env: JNIEnv,
    _class: JClass,
    handle: jlong,
) -> jbyteArray {
    guarded(&mut env, std::ptr::null_mut(), |env| {
        let offsets = sink(handle)?.committable()?;
        byte_array(env, &wire::encode_offsets(&offsets))
    })
}

#[no_mangle]
pub extern "C" fn Java_org_sinetstream_kafka_connect_s3_NativeSink_nativeClosePartitions(
    mut env: JNIEnv,
    _class: JClass,
    handle: jlong,
    partitions: JByteArray,
) {
    on_partitions(&mut env, handle, &partitions, Sink::close_partitions);
}

#[no_mangle]
pub extern "C" fn Java_org_sinetstream_kafka_connect_s3_NativeSink_nativeOpenPartitions(
    mut env: JNIEnv,
    _class: JClass,
    handle: jlong,
    partitions: JByteArray,
) {
    on_partitions(&mut env, handle, &partitions, Sink::open_partitions);
}

/// The counters and gauges in the order of `NativeSink.METRIC_NAMES`.
#[no_mangle]
pub extern "C" fn Java_org_sinetstream_kafka_connect_s3_NativeSink_nativeMetrics(
    mut env: JNIEnv,
    _class: JClass,
    handle: jlong,
) -> jlongArray {
    guarded(&mut env, std::ptr::null_mut(), |env| {
        let values = metric_values(sink(handle)?);
        let array = env.new_long_array(values.len() as jint)?;
        env.set_long_array_region(&array, 0, &values)?;
        Ok(array.into_raw())
    })
}

fn metric_values(sink: &Sink) -> Vec<i64> {
    let m = sink.metrics();
    let g = sink.gauges();
    let latency = m.latency();
    let counters = [
        &m.records_received,
        &m.records_stored,
        &m.records_errant,
        &m.payload_bytes_stored,
        &m.objects_stored,
        &m.put_requests,
        &m.multipart_requests,
        &m.retries,
        &m.failures_throttled,
        &m.failures_server,
        &m.failures_network,
        &m.failures_permanent,
    ];
    let gauges = [
        g.inflight_bytes,
        g.inflight_limit,
        g.upload_concurrency,
        g.upload_concurrency_max,
        g.open_objects,
        g.oldest_waiting_ms,
        latency.average.as_micros() as u64,
        latency.max.as_micros() as u64,
        latency.p99.as_micros() as u64,
    ];
    counters.iter().map(|c| Metrics::get(c)).chain(gauges).map(|v| v as i64).collect()
}

#[no_mangle]
pub extern "C" fn Java_org_sinetstream_kafka_connect_s3_NativeSink_nativeClose(
    mut env: JNIEnv,
    _class: JClass,
    handle: jlong,
) {
    guarded(&mut env, (), |_| {
        if handle != 0 {
            let sink = unsafe { Box::from_raw(handle as *mut Sink) };
            sink.close();
        }
        Ok(())
    })
}

/// The problems of a configuration as `String[] {key, message, key, message, ...}`.
#[no_mangle]
pub extern "C" fn Java_org_sinetstream_kafka_connect_s3_NativeSink_nativeValidate(
    mut env: JNIEnv,
    _class: JClass,
    config: JObjectArray,
) -> jobjectArray {
    guarded(&mut env, std::ptr::null_mut(), |env| {
        let problems = match config_of(env, &config) {
            Ok(config) => s3sink_engine::validate(config),
            Err(Failure::Sink(SinkError::Config { key, message })) => vec![(key, message)],
            Err(other) => return Err(other),
        };
        let flat: Vec<String> = problems.into_iter().flat_map(|(key, message)| [key, message]).collect();
        string_array(env, &flat)
    })
}

#[no_mangle]
pub extern "C" fn Java_org_sinetstream_kafka_connect_s3_NativeSink_nativeVersion(
    mut env: JNIEnv,
    _class: JClass,
) -> jstring {
    guarded(&mut env, std::ptr::null_mut(), |env| Ok(env.new_string(env!("CARGO_PKG_VERSION"))?.into_raw()))
}

/// Waits up to `timeout_ms` for the engine's log lines: `String[] {level, module, context, message, ...}`.
#[no_mangle]
pub extern "C" fn Java_org_sinetstream_kafka_connect_s3_NativeLogBridge_nativeDrainLogs(
    mut env: JNIEnv,
    _class: JClass,
    timeout_ms: jlong,
) -> jobjectArray {
    guarded(&mut env, std::ptr::null_mut(), |env| string_array(env, &logging::drain(timeout_ms)))
}

/// The levels Java's loggers enable, `String[] {module, level, ...}`; installs the logger.
#[no_mangle]
pub extern "C" fn Java_org_sinetstream_kafka_connect_s3_NativeLogBridge_nativeSetLogLevels(
    mut env: JNIEnv,
    _class: JClass,
    levels: JObjectArray,
) {
    guarded(&mut env, (), |env| {
        logging::set_levels(&strings_of(env, &levels)?);
        Ok(())
    })
}

/// The engine modules that log.
#[no_mangle]
pub extern "C" fn Java_org_sinetstream_kafka_connect_s3_NativeLogBridge_nativeLogModules(
    mut env: JNIEnv,
    _class: JClass,
) -> jobjectArray {
    guarded(&mut env, std::ptr::null_mut(), |env| string_array(env, &logging::modules()))
}
