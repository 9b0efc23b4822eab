//! The JNI boundary, the only code here that touches the JVM. Each export converts its
//! arguments, calls the engine, and turns an error or a panic into a Java exception.
//! Exports are `extern "C"` (the same as "system" on Linux) so cbindgen writes their header.

use bytes::Bytes;
use jni::objects::{JByteArray, JClass, JString};
use jni::sys::{jbyteArray, jlong, jstring};
use jni::JNIEnv;
use s3sink_engine::record::{decode_partitions, encode_failures, encode_partitions, TopicPartition};
use s3sink_engine::{ErrorClass, Sink, SinkConfig, SinkError};
use std::panic::{catch_unwind, AssertUnwindSafe};

mod verify;

const RETRIABLE: &str = "org/apache/kafka/connect/errors/RetriableException";
const CONNECT_ERROR: &str = "org/apache/kafka/connect/errors/ConnectException";
const CONFIG_ERROR: &str = "org/sinetstream/kafka/connect/s3/NativeConfigException";

/// An error on its way to Java.
enum Failure {
    Sink(SinkError),
    Jni(jni::errors::Error),
}

impl From<SinkError> for Failure {
    fn from(e: SinkError) -> Self {
        Failure::Sink(e)
    }
}

impl From<jni::errors::Error> for Failure {
    fn from(e: jni::errors::Error) -> Self {
        Failure::Jni(e)
    }
}

/// Runs `body`, turning errors and panics into Java exceptions; `fallback` is returned
/// to Java alongside a pending exception.
fn guarded<T>(env: &mut JNIEnv, fallback: T, body: impl FnOnce(&mut JNIEnv) -> Result<T, Failure>) -> T {
    let outcome = catch_unwind(AssertUnwindSafe(|| body(env)));
    let (class, message) = match outcome {
        Ok(Ok(value)) => return value,
        Ok(Err(Failure::Sink(e))) => (exception_class(&e), e.to_string()),
        Ok(Err(Failure::Jni(jni::errors::Error::JavaException))) => return fallback,
        Ok(Err(Failure::Jni(e))) => (CONNECT_ERROR, format!("JNI call failed: {e}")),
        Err(panic) => (CONNECT_ERROR, format!("native sink panicked: {}", panic_text(&panic))),
    };
    if !env.exception_check().unwrap_or(false) {
        let _ = env.throw_new(class, message);
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

fn panic_text(panic: &Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}

/// The handle is a `Box<Sink>` turned into a number; Java's `NativeSink` owns it and
/// frees it once in `close`.
fn sink<'a>(handle: jlong) -> Result<&'a Sink, Failure> {
    if handle == 0 {
        return Err(SinkError::Closed.into());
    }
    Ok(unsafe { &*(handle as *const Sink) })
}

fn bytes_of(env: &JNIEnv, array: &JByteArray) -> Result<Bytes, Failure> {
    Ok(Bytes::from(env.convert_byte_array(array)?))
}

/// Calls `action` with a packed list of partitions (the partition-offset layout, offsets ignored).
fn on_partitions(env: &mut JNIEnv, handle: jlong, partitions: &JByteArray, action: fn(&Sink, &[TopicPartition])) {
    guarded(env, (), |env| {
        let partitions: Vec<_> =
            decode_partitions(bytes_of(env, partitions)?)?.into_iter().map(|(tp, _)| tp).collect();
        action(sink(handle)?, &partitions);
        Ok(())
    })
}

fn byte_array(env: &JNIEnv, bytes: &[u8]) -> Result<jbyteArray, Failure> {
    Ok(env.byte_array_from_slice(bytes)?.into_raw())
}

#[no_mangle]
pub extern "C" fn Java_org_sinetstream_kafka_connect_s3_NativeSink_nativeOpen(
    mut env: JNIEnv,
    _class: JClass,
    config_json: JString,
) -> jlong {
    guarded(&mut env, 0, |env| {
        let json: String = env.get_string(&config_json)?.into();
        let sink = Sink::start(SinkConfig::from_json(&json)?)?;
        Ok(Box::into_raw(Box::new(sink)) as jlong)
    })
}

#[no_mangle]
pub extern "C" fn Java_org_sinetstream_kafka_connect_s3_NativeSink_nativePut(
    mut env: JNIEnv,
    _class: JClass,
    handle: jlong,
    batch: JByteArray,
) -> jbyteArray {
    guarded(&mut env, std::ptr::null_mut(), |env| {
        let outcome = sink(handle)?.put(bytes_of(env, &batch)?)?;
        let failures = outcome.failures.iter().map(|(i, f)| (*i, f.kind, f.reason.as_str()));
        byte_array(env, &encode_failures(failures))
    })
}

#[no_mangle]
pub extern "C" fn Java_org_sinetstream_kafka_connect_s3_NativeSink_nativeResolveFailures(
    mut env: JNIEnv,
    _class: JClass,
    handle: jlong,
    partitions: JByteArray,
) {
    guarded(&mut env, (), |env| {
        let reported = decode_partitions(bytes_of(env, &partitions)?)?;
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
        byte_array(env, &encode_partitions(&offsets))
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

/// Returns the problems of a configuration as a JSON array of `[key, message]` pairs.
#[no_mangle]
pub extern "C" fn Java_org_sinetstream_kafka_connect_s3_NativeSink_nativeValidate(
    mut env: JNIEnv,
    _class: JClass,
    config_json: JString,
) -> jstring {
    guarded(&mut env, std::ptr::null_mut(), |env| {
        let json: String = env.get_string(&config_json)?.into();
        let problems = serde_json::to_string(&s3sink_engine::validate(&json)).unwrap_or_default();
        Ok(env.new_string(problems)?.into_raw())
    })
}

#[no_mangle]
pub extern "C" fn Java_org_sinetstream_kafka_connect_s3_NativeSink_nativeVersion(
    mut env: JNIEnv,
    _class: JClass,
) -> jstring {
    guarded(&mut env, std::ptr::null_mut(), |env| Ok(env.new_string(env!("CARGO_PKG_VERSION"))?.into_raw()))
}
