//! Decompression of `msg`, bounded so that a small message cannot expand without limit.

use crate::{CompressionConfig, DecodeError};
use bytes::Bytes;
use std::cell::RefCell;
use std::io::Read;
use zstd::zstd_safe::DCtx;

thread_local! {
    /// Creating a zstd context costs more than decompressing a small message, so each
    /// thread keeps one.
    static ZSTD_CONTEXT: RefCell<DCtx<'static>> = RefCell::new(DCtx::create());
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Compression {
    /// A zlib stream (RFC 1950), as SINETStream's "gzip" writes it.
    Gzip,
    Zstd,
    /// An LZ4 frame.
    Lz4,
}

impl Compression {
    /// `None` settings mean SINETStream's default, gzip.
    pub(crate) fn from_config(config: Option<&CompressionConfig>) -> Result<Self, DecodeError> {
        let algorithm = config.map_or("gzip", |c| c.algorithm.as_str());
        match algorithm.to_ascii_lowercase().as_str() {
            "gzip" => Ok(Compression::Gzip),
            "zstd" => Ok(Compression::Zstd),
            "lz4" => Ok(Compression::Lz4),
            _ => Err(DecodeError::unknown_setting("compression.algorithm", "algorithm", algorithm, "gzip, zstd, lz4")),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Compression::Gzip => "gzip",
            Compression::Zstd => "zstd",
            Compression::Lz4 => "lz4",
        }
    }

    /// Decompresses `input`, refusing output longer than `limit` bytes.
    pub(crate) fn decompress(self, input: &[u8], limit: usize) -> Result<Bytes, DecodeError> {
        match self {
            Compression::Gzip => self.read_bounded(flate2::read::ZlibDecoder::new(input), limit, 0),
            Compression::Zstd => ZSTD_CONTEXT.with_borrow_mut(|context| {
                context
                    .reset(zstd::zstd_safe::ResetDirective::SessionOnly)
                    .map_err(|code| self.failure(zstd_error(code)))?;
                let decoder = zstd::stream::read::Decoder::with_context(input, context);
                self.read_bounded(decoder, limit, zstd_content_size(input))
            }),
            Compression::Lz4 => self.read_bounded(lz4_flex::frame::FrameDecoder::new(input), limit, 0),
        }
    }

    /// Reads at most `limit + 1` bytes, so that exceeding the limit is seen without
    /// ever holding more than that.
    fn read_bounded(self, reader: impl Read, limit: usize, size_hint: usize) -> Result<Bytes, DecodeError> {
        let mut out = Vec::with_capacity(size_hint.min(limit));
        let cap = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
        reader.take(cap).read_to_end(&mut out).map_err(|e| self.failure(e))?;
        if out.len() > limit {
            return Err(DecodeError::decompress(format!(
                "{} payload exceeds max_decompressed_bytes ({limit} bytes)",
                self.name()
            )));
        }
        // read_to_end doubles its buffer as it goes: give back the unused half, so the memory
        // the sink counts for a payload is the memory it holds.
        if out.capacity() - out.len() > out.len() / 8 + 4096 {
            out.shrink_to_fit();
        }
        Ok(Bytes::from(out))
    }

    fn failure(self, error: std::io::Error) -> DecodeError {
        DecodeError::decompress(format!("{} data is corrupt: {error}", self.name()))
    }
}

fn zstd_error(code: zstd::zstd_safe::ErrorCode) -> std::io::Error {
    std::io::Error::other(zstd::zstd_safe::get_error_name(code))
}

/// The size a zstd frame header declares, to allocate once; 0 when absent. Capped, since
/// a tiny forged frame may declare any size.
fn zstd_content_size(input: &[u8]) -> usize {
    const MAX_PREALLOCATION: u64 = 16 << 20;
    match zstd::zstd_safe::get_frame_content_size(input) {
        Ok(Some(size)) => size.min(MAX_PREALLOCATION) as usize,
        _ => 0,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::DecodeErrorKind;
    use std::io::Write;

    const ALL: [Compression; 3] = [Compression::Gzip, Compression::Zstd, Compression::Lz4];

    pub(crate) fn compress(algorithm: Compression, data: &[u8]) -> Vec<u8> {
        match algorithm {
            Compression::Gzip => {
                let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
                encoder.write_all(data).unwrap();
                encoder.finish().unwrap()
            }
            Compression::Zstd => zstd::encode_all(data, 3).unwrap(),
            Compression::Lz4 => {
                let mut encoder = lz4_flex::frame::FrameEncoder::new(Vec::new());
                encoder.write_all(data).unwrap();
                encoder.finish().unwrap()
            }
        }
    }

    /// A zstd frame without the content size in its header, as a streaming writer makes it.
    fn zstd_streamed(data: &[u8]) -> Vec<u8> {
        let mut encoder = zstd::stream::write::Encoder::new(Vec::new(), 3).unwrap();
        encoder.include_contentsize(false).unwrap();
        encoder.write_all(data).unwrap();
        encoder.finish().unwrap()
    }

    fn sample(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 7 % 251) as u8).collect()
    }

    #[test]
    fn round_trips_every_algorithm() {
        for algorithm in ALL {
            for len in [0, 1, 1000, 300_000] {
                let data = sample(len);
                let packed = compress(algorithm, &data);
                let unpacked = algorithm.decompress(&packed, 1 << 20).unwrap();
                assert_eq!(unpacked.as_ref(), data.as_slice(), "{algorithm:?} {len}");
            }
        }
    }

    #[test]
    fn zstd_without_content_size_is_stream_decoded() {
        let data = sample(100_000);
        let packed = zstd_streamed(&data);
        assert_eq!(zstd_content_size(&packed), 0);
        assert_eq!(Compression::Zstd.decompress(&packed, 100_000).unwrap().as_ref(), &data[..]);
    }

    #[test]
    fn output_exactly_at_the_limit_is_accepted() {
        for algorithm in ALL {
            let packed = compress(algorithm, &sample(4096));
            assert_eq!(algorithm.decompress(&packed, 4096).unwrap().len(), 4096);
        }
    }

    #[test]
    fn bomb_over_the_limit_is_refused_naming_the_limit() {
        let zeros = vec![0u8; 16 << 20];
        for algorithm in ALL {
            let packed = compress(algorithm, &zeros);
            assert!(packed.len() < 100_000, "{algorithm:?} bomb is {} bytes", packed.len());
            let err = algorithm.decompress(&packed, 1 << 20).unwrap_err();
            assert_eq!(err.kind, DecodeErrorKind::Decompress);
            assert!(err.reason.contains("1048576"), "{err}");
        }
        let err = Compression::Zstd.decompress(&zstd_streamed(&zeros), 1 << 20).unwrap_err();
        assert!(err.reason.contains("max_decompressed_bytes"), "{err}");
    }

    #[test]
    fn corrupt_or_truncated_input_is_a_decompress_error() {
        for algorithm in ALL {
            let packed = compress(algorithm, &sample(10_000));
            let truncated = &packed[..packed.len() / 2];
            let err = algorithm.decompress(truncated, 1 << 20).unwrap_err();
            assert_eq!(err.kind, DecodeErrorKind::Decompress, "{algorithm:?}");
            let garbage = b"this is not compressed data at all";
            let err = algorithm.decompress(garbage, 1 << 20).unwrap_err();
            assert_eq!(err.kind, DecodeErrorKind::Decompress, "{algorithm:?}");
        }
    }

    #[test]
    fn zstd_context_is_reusable_after_a_failure() {
        let data = sample(5000);
        let packed = compress(Compression::Zstd, &data);
        assert!(Compression::Zstd.decompress(&packed[..packed.len() / 2], 1 << 20).is_err());
        assert!(Compression::Zstd.decompress(&packed, 100).is_err());
        assert_eq!(Compression::Zstd.decompress(&packed, 1 << 20).unwrap().as_ref(), &data[..]);
    }

    #[test]
    fn algorithm_names_follow_sinetstream() {
        assert_eq!(Compression::from_config(None).unwrap(), Compression::Gzip);
        let zstd = CompressionConfig { algorithm: "zstd".into(), level: Some(3) };
        assert_eq!(Compression::from_config(Some(&zstd)).unwrap(), Compression::Zstd);
        let snappy = CompressionConfig { algorithm: "snappy".into(), level: None };
        let err = Compression::from_config(Some(&snappy)).unwrap_err();
        assert_eq!(err.kind, DecodeErrorKind::Config);
        assert_eq!(err.reason, "compression.algorithm: unknown algorithm snappy, expected one of gzip, zstd, lz4");
    }
}
