//! What every object carries besides its bytes: its Content-Type, the SINETStream send time as
//! user metadata, tags and a storage class. They go with the single PUT or with the creation
//! of a multipart upload (upload.rs), and with the start-up probe (store.rs), so the probe
//! asks for exactly the permissions uploads need. S3 stores only: plain files keep none of
//! them (the Java side refuses these keys with a file:// store).

use object_store::{Attribute, AttributeValue, Attributes, PutMultipartOptions, PutOptions, TagSet};

/// The user metadata key of the send time: `x-amz-meta-sinetstream-send-time`.
pub const SEND_TIME_METADATA: &str = "sinetstream-send-time";
/// Timestamp objects are lines of text.
pub const TEXT: &str = "text/plain; charset=utf-8";
const MAX_TAGS: usize = 10;
const MAX_TAG_KEY: usize = 128;
const MAX_TAG_VALUE: usize = 256;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    Payload,
    Timestamp,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ObjectAttributes {
    pub payload_content_type: String,
    /// `s3.object.metadata=send-time`.
    pub send_time_metadata: bool,
    pub tags: Vec<(String, String)>,
    pub storage_class: Option<String>,
}

impl ObjectAttributes {
    /// The attributes and tags of one object; `send_time` is its first record's send time as
    /// text, given for payload objects when `send_time_metadata` is set.
    pub fn of(&self, kind: FileKind, send_time: Option<&str>) -> (Attributes, TagSet) {
        let mut attributes = Attributes::new();
        let content_type = match kind {
            FileKind::Payload => self.payload_content_type.clone(),
            FileKind::Timestamp => TEXT.to_string(),
        };
        attributes.insert(Attribute::ContentType, AttributeValue::from(content_type));
        if let (FileKind::Payload, Some(time)) = (kind, send_time) {
            attributes.insert(Attribute::Metadata(SEND_TIME_METADATA.into()), AttributeValue::from(time.to_string()));
        }
        if let Some(class) = &self.storage_class {
            attributes.insert(Attribute::StorageClass, AttributeValue::from(class.clone()));
        }
        let mut tags = TagSet::default();
        for (key, value) in &self.tags {
            tags.push(key, value);
        }
        (attributes, tags)
    }

    pub fn put_options(&self, kind: FileKind, send_time: Option<&str>) -> PutOptions {
        let (attributes, tags) = self.of(kind, send_time);
        PutOptions { attributes, tags, ..PutOptions::default() }
    }

    pub fn multipart_options(&self, kind: FileKind, send_time: Option<&str>) -> PutMultipartOptions {
        let (attributes, tags) = self.of(kind, send_time);
        PutMultipartOptions { attributes, tags, ..PutMultipartOptions::default() }
    }
}

/// The Content-Type of a payload object by its extension (`format.bytearray.extension`).
pub fn content_type_of(extension: &str) -> &'static str {
    let lower = extension.to_ascii_lowercase();
    match lower.rsplit('.').next().filter(|_| lower.contains('.')) {
        Some("json") => "application/json",
        Some("jpeg" | "jpg") => "image/jpeg",
        Some("png") => "image/png",
        Some("txt") => TEXT,
        _ => "application/octet-stream",
    }
}

/// `key=value,key2=value2` as S3 takes object tags: at most 10, keys unique and not empty,
/// letters, digits, spaces and `+ - = . _ : / @` only.
pub fn parse_tags(text: &str) -> Result<Vec<(String, String)>, String> {
    let mut tags: Vec<(String, String)> = Vec::new();
    for pair in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let Some((key, value)) = pair.split_once('=') else {
            return Err(format!("'{pair}' is not key=value"));
        };
        let (key, value) = (key.trim(), value.trim());
        if key.is_empty() {
            return Err(format!("'{pair}' has an empty key"));
        }
        if key.chars().count() > MAX_TAG_KEY || value.chars().count() > MAX_TAG_VALUE {
            return Err(format!("'{pair}': keys take at most {MAX_TAG_KEY} characters, values {MAX_TAG_VALUE}"));
        }
        if let Some(bad) = key.chars().chain(value.chars()).find(|c| !allowed_in_tag(*c)) {
            return Err(format!("'{pair}' has '{bad}': tags take letters, digits, spaces and + - = . _ : / @"));
        }
        if tags.iter().any(|(known, _)| known == key) {
            return Err(format!("the key '{key}' is given twice"));
        }
        tags.push((key.to_string(), value.to_string()));
    }
    if tags.len() > MAX_TAGS {
        return Err(format!("{} tags; S3 takes at most {MAX_TAGS} per object", tags.len()));
    }
    Ok(tags)
}

fn allowed_in_tag(c: char) -> bool {
    c.is_alphanumeric() || c == ' ' || "+-=._:/@".contains(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types_by_extension() {
        assert_eq!(content_type_of(".json"), "application/json");
        assert_eq!(content_type_of(".JPG"), "image/jpeg");
        assert_eq!(content_type_of(".jpeg"), "image/jpeg");
        assert_eq!(content_type_of(".png"), "image/png");
        assert_eq!(content_type_of(".txt"), "text/plain; charset=utf-8");
        assert_eq!(content_type_of(".bin"), "application/octet-stream");
        assert_eq!(content_type_of(".tar.json"), "application/json", "the last extension counts");
        assert_eq!(content_type_of(""), "application/octet-stream");
        assert_eq!(content_type_of("json"), "application/octet-stream", "no dot, no extension");
    }

    #[test]
    fn tags_are_parsed_and_checked() {
        assert_eq!(parse_tags("").unwrap(), vec![]);
        assert_eq!(
            parse_tags(" project=sensor lab , retention=1y,empty=, path=a/b:c@d ").unwrap(),
            vec![
                ("project".to_string(), "sensor lab".to_string()),
                ("retention".to_string(), "1y".to_string()),
                ("empty".to_string(), String::new()),
                ("path".to_string(), "a/b:c@d".to_string()),
            ]
        );
        assert_eq!(parse_tags("formula=a=b").unwrap(), vec![("formula".to_string(), "a=b".to_string())]);
        assert!(parse_tags("novalue").unwrap_err().contains("key=value"));
        assert!(parse_tags("=x").unwrap_err().contains("empty key"));
        assert!(parse_tags("a=1,a=2").unwrap_err().contains("twice"));
        assert!(parse_tags("a=x&y").unwrap_err().contains("'&'"));
        assert!(parse_tags(&format!("{}=v", "k".repeat(129))).unwrap_err().contains("at most 128"));
        let eleven: Vec<String> = (0..11).map(|i| format!("k{i}=v")).collect();
        assert!(parse_tags(&eleven.join(",")).unwrap_err().contains("at most 10"));
    }

    #[test]
    fn payloads_get_their_type_and_send_time_timestamps_text() {
        let attributes = ObjectAttributes {
            payload_content_type: "image/jpeg".into(),
            send_time_metadata: true,
            tags: vec![("a".into(), "b c".into())],
            storage_class: Some("STANDARD_IA".into()),
        };
        let (payload, tags) = attributes.of(FileKind::Payload, Some("2022-04-18T01:23:45.123"));
        assert_eq!(payload.get(&Attribute::ContentType).map(|v| v.as_ref()), Some("image/jpeg"));
        assert_eq!(
            payload.get(&Attribute::Metadata(SEND_TIME_METADATA.into())).map(|v| v.as_ref()),
            Some("2022-04-18T01:23:45.123")
        );
        assert_eq!(payload.get(&Attribute::StorageClass).map(|v| v.as_ref()), Some("STANDARD_IA"));
        assert_eq!(tags.encoded(), "a=b+c");
        let (timestamp, _) = attributes.of(FileKind::Timestamp, Some("ignored"));
        assert_eq!(timestamp.get(&Attribute::ContentType).map(|v| v.as_ref()), Some(TEXT));
        assert!(timestamp.get(&Attribute::Metadata(SEND_TIME_METADATA.into())).is_none());
    }
}
