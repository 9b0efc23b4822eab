//! One reader for the connector keys as Java sends them, every error naming its key.

use crate::error::SinkError;
use crate::joda::JodaPattern;
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};

pub(crate) struct Keys<'a> {
    map: &'a BTreeMap<String, String>,
    read: RefCell<BTreeSet<&'a str>>,
}

impl<'a> Keys<'a> {
    pub(crate) fn new(map: &'a BTreeMap<String, String>) -> Self {
        Keys { map, read: RefCell::new(BTreeSet::new()) }
    }

    /// A key of the ConfigDef: Java always sends it, with its default when unset.
    pub(crate) fn text(&self, key: &str) -> Result<&'a str, SinkError> {
        self.get(key).ok_or_else(|| {
            SinkError::config(
                key,
                "missing: the plugin's Java side sends every key (are the jar and its native library from one build?)",
            )
        })
    }

    /// A key Java sends only when it is set (a SINETStream config file may supply it).
    pub(crate) fn optional(&self, key: &str) -> Option<&'a str> {
        self.get(key).map(str::trim).filter(|s| !s.is_empty())
    }

    /// A key whose empty value means "none" (store.url, the access keys).
    pub(crate) fn non_empty(&self, key: &str) -> Result<Option<&'a str>, SinkError> {
        Ok(Some(self.text(key)?.trim()).filter(|s| !s.is_empty()))
    }

    pub(crate) fn number<T: std::str::FromStr>(&self, key: &str) -> Result<T, SinkError> {
        parse_number(key, self.text(key)?)
    }

    pub(crate) fn optional_number<T: std::str::FromStr>(&self, key: &str) -> Result<Option<T>, SinkError> {
        self.optional(key).map(|text| parse_number(key, text)).transpose()
    }

    pub(crate) fn flag(&self, key: &str) -> Result<bool, SinkError> {
        parse_flag(key, self.text(key)?)
    }

    pub(crate) fn optional_flag(&self, key: &str) -> Result<Option<bool>, SinkError> {
        self.optional(key).map(|text| parse_flag(key, text)).transpose()
    }

    pub(crate) fn pattern(&self, key: &str) -> Result<JodaPattern, SinkError> {
        JodaPattern::parse(self.text(key)?).map_err(|e| SinkError::config(key, e))
    }

    /// Keys that were sent but that nothing read: Java and Rust disagree on the keys.
    pub(crate) fn unread(&self) -> Vec<&'a str> {
        let read = self.read.borrow();
        self.map.keys().map(String::as_str).filter(|k| !read.contains(k)).collect()
    }

    fn get(&self, key: &str) -> Option<&'a str> {
        let (name, value) = self.map.get_key_value(key)?;
        self.read.borrow_mut().insert(name.as_str());
        Some(value.as_str())
    }
}

fn parse_number<T: std::str::FromStr>(key: &str, text: &str) -> Result<T, SinkError> {
    text.trim().parse().map_err(|_| SinkError::config(key, format!("'{text}' is not a valid number")))
}

fn parse_flag(key: &str, text: &str) -> Result<bool, SinkError> {
    match text.trim().to_ascii_lowercase().as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        other => Err(SinkError::config(key, format!("'{other}' is not true or false"))),
    }
}
