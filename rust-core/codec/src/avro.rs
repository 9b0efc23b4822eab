//! The Avro single-object encoding of SINETStream's record `{tstamp: long, msg: bytes}`.

use crate::DecodeError;
use bytes::Bytes;

const SINGLE_OBJECT_MARKER: [u8; 2] = [0xC3, 0x01];
/// CRC-64-AVRO fingerprint of SINETStream's message schema, little-endian as on the wire.
const SCHEMA_FINGERPRINT: [u8; 8] = [0x1F, 0x9C, 0x0C, 0x91, 0xEB, 0x33, 0x66, 0x4F];
const HEADER_LEN: usize = SINGLE_OBJECT_MARKER.len() + SCHEMA_FINGERPRINT.len();

pub struct AvroRecord {
    pub tstamp_us: i64,
    pub msg: Bytes,
}

pub fn decode_single_object(body: &Bytes) -> Result<AvroRecord, DecodeError> {
    if body.len() < HEADER_LEN || body[..2] != SINGLE_OBJECT_MARKER {
        return Err(DecodeError::malformed("no Avro single-object marker (C3 01)"));
    }
    if body[2..HEADER_LEN] != SCHEMA_FINGERPRINT {
        return Err(DecodeError::malformed("Avro schema fingerprint is not SINETStream's"));
    }
    let mut cursor = HEADER_LEN;
    let tstamp_us = read_long(body, &mut cursor)?;
    let len = read_long(body, &mut cursor)?;
    let len = usize::try_from(len).map_err(|_| DecodeError::malformed(format!("negative msg length {len}")))?;
    let end = cursor.checked_add(len).filter(|end| *end <= body.len()).ok_or_else(|| {
        DecodeError::malformed(format!("msg length {len} exceeds the {} bytes left", body.len() - cursor))
    })?;
    if end != body.len() {
        return Err(DecodeError::malformed(format!("{} trailing bytes after the Avro record", body.len() - end)));
    }
    Ok(AvroRecord { tstamp_us, msg: body.slice(cursor..end) })
}

/// Reads an Avro `long`: a zig-zag encoded variable-length integer of at most 10 bytes.
fn read_long(buf: &[u8], cursor: &mut usize) -> Result<i64, DecodeError> {
    let mut value: u64 = 0;
    for shift in (0..70).step_by(7) {
        let byte = *buf.get(*cursor).ok_or_else(|| DecodeError::malformed("Avro record is truncated"))?;
        *cursor += 1;
        value |= u64::from(byte & 0x7F) << shift;
        if byte & 0x80 == 0 {
            return Ok(((value >> 1) as i64) ^ -((value & 1) as i64));
        }
    }
    Err(DecodeError::malformed("Avro long is longer than 10 bytes"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode_long(v: i64) -> Vec<u8> {
        let mut z = ((v << 1) ^ (v >> 63)) as u64;
        let mut out = Vec::new();
        loop {
            if z < 0x80 {
                out.push(z as u8);
                return out;
            }
            out.push((z as u8 & 0x7F) | 0x80);
            z >>= 7;
        }
    }

    #[test]
    fn zigzag_round_trips_extremes() {
        for v in [0, -1, 1, 63, -64, 64, 1_650_245_025_123_456, i64::MAX, i64::MIN] {
            let bytes = encode_long(v);
            let mut cursor = 0;
            assert_eq!(read_long(&bytes, &mut cursor).unwrap(), v);
            assert_eq!(cursor, bytes.len());
        }
    }

    #[test]
    fn trailing_bytes_are_malformed() {
        let mut body = [&SINGLE_OBJECT_MARKER[..], &SCHEMA_FINGERPRINT[..]].concat();
        body.extend(encode_long(5));
        body.extend(encode_long(1));
        body.extend([7, 8]);
        let err = decode_single_object(&Bytes::from(body)).err().unwrap();
        assert!(err.reason.contains("trailing"), "{err}");
    }
}
