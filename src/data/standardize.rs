//! Per-pixel standardization with training-set statistics.

use super::Dataset;

/// x = (p − mean[d]) · inv_std[d] for pixel value p (0..=255) at position d.
#[derive(Clone, Debug, PartialEq)]
pub struct Standardizer {
    pub mean: Vec<f32>,
    pub inv_std: Vec<f32>,
}

impl Standardizer {
    /// Mean and population standard deviation of each pixel over `train`;
    /// a pixel whose standard deviation is 0 gets std 1.
    pub fn fit(train: &Dataset) -> Self {
        todo!("{}", train.count)
    }

    /// Identity statistics (mean 0, std 1): raw pixel values.
    pub fn identity(pixels: usize) -> Self {
        Standardizer {
            mean: vec![0.0; pixels],
            inv_std: vec![1.0; pixels],
        }
    }

    /// Standardizes images `first..first + count` of `data` into `out`
    /// (count × D, row-major).
    pub fn apply(&self, data: &Dataset, first: usize, count: usize, out: &mut [f32]) {
        todo!("{} {first} {count} {}", data.count, out.len())
    }
}
