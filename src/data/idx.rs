//! The IDX file format (big-endian header, then u8 data), raw or gzip.

use std::path::Path;

use anyhow::Result;

/// Images as read from an idx3 file.
#[derive(Clone, Debug, PartialEq)]
pub struct IdxImages {
    pub count: usize,
    pub rows: usize,
    pub cols: usize,
    pub pixels: Vec<u8>,
}

/// Reads an idx3-ubyte image file (magic 0x00000803).
pub fn read_idx_images(path: &Path) -> Result<IdxImages> {
    todo!("{path:?}")
}

/// Reads an idx1-ubyte label file (magic 0x00000801).
pub fn read_idx_labels(path: &Path) -> Result<Vec<u8>> {
    todo!("{path:?}")
}
