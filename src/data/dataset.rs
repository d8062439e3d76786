//! The labelled image sets and where to find them on disk.

use std::path::{Path, PathBuf};

use anyhow::Result;

/// Fashion-MNIST's class names, by label.
pub const CLASS_NAMES: [&str; 10] = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
];

/// `count` images of `rows`×`cols` u8 pixels, row-major, one after another, and
/// one label in 0..`classes` for each.
#[derive(Clone, Debug, PartialEq)]
pub struct Dataset {
    pub count: usize,
    pub rows: usize,
    pub cols: usize,
    pub classes: usize,
    pub pixels: Vec<u8>,
    pub labels: Vec<u8>,
}

impl Dataset {
    /// Pixels per image, D = rows × cols.
    pub fn pixels_per_image(&self) -> usize {
        self.rows * self.cols
    }

    /// The first `n` images (all of them when `n` ≥ count).
    pub fn take(&self, n: usize) -> Dataset {
        todo!("{n}")
    }
}

/// The training and test sets of one directory.
#[derive(Clone, Debug)]
pub struct FashionMnist {
    pub dir: PathBuf,
    pub train: Dataset,
    pub test: Dataset,
}

/// Where to look for the data: the flag, then `$FASHION_MNIST_DIR`, then
/// `./data`, then `/usr/share/datasets/fashion-mnist`.
pub fn find_data_dir(flag: Option<&Path>) -> PathBuf {
    todo!("{flag:?}")
}

/// Reads the four Fashion-MNIST files of `dir` (each `.gz` or raw).
pub fn load_fashion_mnist(dir: &Path) -> Result<FashionMnist> {
    todo!("{dir:?}")
}
