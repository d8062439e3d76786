//! Any bytes through the IDX label reader, as they are and gzip-compressed:
//! no panic, no allocation beyond what the bytes hold, and the same answer
//! both ways (the reader sniffs gzip by its magic bytes).
#![no_main]

use std::io::Write;
use std::path::Path;

use fashion_nn::data::idx_labels_from_bytes;
use flate2::{write::GzEncoder, Compression};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let raw = idx_labels_from_bytes(data, Path::new("fuzz-input"));
    // Bytes that already start with the gzip magic are read as gzip; their
    // compressed form would be read as raw, so the two need not agree.
    if data.starts_with(&[0x1f, 0x8b]) {
        return;
    }
    if let Ok(labels) = &raw {
        // Header (8 bytes) + one byte a label, nothing after.
        assert_eq!(labels.len() + 8, data.len());
    }
    let mut gz = GzEncoder::new(Vec::new(), Compression::fast());
    gz.write_all(data).unwrap(); // invariant: writing to a Vec cannot fail
    let gz = gz.finish().unwrap(); // invariant: as above
    let unzipped = idx_labels_from_bytes(&gz, Path::new("fuzz-input.gz"));
    match (&raw, &unzipped) {
        (Ok(a), Ok(b)) => assert_eq!(a, b),
        (Err(_), Err(_)) => {}
        _ => panic!("raw and gzip disagree: {raw:?} vs {unzipped:?}"),
    }
});
