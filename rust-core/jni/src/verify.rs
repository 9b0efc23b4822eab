//! The export behind `Verify` (verify.sh): is the bucket complete? The check is the
//! engine's (s3sink_engine::verify); this converts the configuration, the plan (JSON, as
//! documented in verify.rs) and the report.

use jni::objects::{JClass, JObjectArray, JString};
use jni::sys::jstring;
use jni::JNIEnv;

/// Returns the report text; its last line is the summary.
#[no_mangle]
pub extern "C" fn Java_org_sinetstream_kafka_connect_s3_NativeSink_nativeVerify(
    mut env: JNIEnv,
    _class: JClass,
    config: JObjectArray,
    plan_json: JString,
) -> jstring {
    crate::guarded(&mut env, std::ptr::null_mut(), |env| {
        let config = crate::config_of(env, &config)?;
        let plan: String = env.get_string(&plan_json)?.into();
        Ok(env.new_string(s3sink_engine::verify::run(config, &plan)?.text())?.into_raw())
    })
}
