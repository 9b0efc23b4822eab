//! The v3 envelope: `DF 03 00 00`, a big-endian key version, then the body.
//! A v2 value is the body alone; a v3 reader accepts v2 values too (as SINETStream does).

use crate::DecodeError;
use bytes::Bytes;

const V3_MAGIC: [u8; 4] = [0xDF, 0x03, 0x00, 0x00];
const V3_HEADER_LEN: usize = 6;

/// Splits a record value into (key version, body). The key version is `None` for a v2 value,
/// which has no header; `Some(0)` means "not encrypted".
pub fn split(value: &Bytes, message_format: u8) -> Result<(Option<u16>, Bytes), DecodeError> {
    if message_format >= 3 && value.len() >= V3_HEADER_LEN && value[..4] == V3_MAGIC {
        let key_version = u16::from_be_bytes([value[4], value[5]]);
        return Ok((Some(key_version), value.slice(V3_HEADER_LEN..)));
    }
    Ok((None, value.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v3_header_is_stripped_and_key_version_read() {
        let value = Bytes::from_static(&[0xDF, 0x03, 0, 0, 0x01, 0x02, 0xAA]);
        assert_eq!(split(&value, 3).unwrap(), (Some(0x0102), Bytes::from_static(&[0xAA])));
    }

    #[test]
    fn v2_reader_keeps_whole_value() {
        let value = Bytes::from_static(&[0xDF, 0x03, 0, 0, 0, 0, 0xAA]);
        assert_eq!(split(&value, 2).unwrap(), (None, value.clone()));
    }

    #[test]
    fn v3_reader_falls_back_to_v2_without_header() {
        let value = Bytes::from_static(&[0xC3, 0x01]);
        assert_eq!(split(&value, 3).unwrap(), (None, value.clone()));
    }
}
