//! Per-pixel standardization with training-set statistics.

use rayon::prelude::*;

use super::Dataset;

/// A standard deviation below this counts as 0 (a constant pixel) and is
/// replaced by 1.
pub const MIN_STD: f64 = 1e-6;

/// Below this many output values `apply` runs on one thread.
const PARALLEL_MIN_VALUES: usize = 1 << 18;

/// x = (p − mean[d]) · inv_std[d] for pixel value p (0..=255) at position d.
#[derive(Clone, Debug, PartialEq)]
pub struct Standardizer {
    pub mean: Vec<f32>,
    pub inv_std: Vec<f32>,
}

impl Standardizer {
    /// Mean and population standard deviation of each pixel over `train`;
    /// a pixel whose standard deviation is 0 gets std 1.
    ///
    /// mean[d] = Σᵢ pᵢ[d] / N and std[d] = √(Σᵢ pᵢ[d]² / N − mean[d]²) over the
    /// N training images, on the raw values 0..=255. The sums are exact
    /// integers and the variance N·Σp² − (Σp)² is formed exactly in u128, then
    /// divided in f64. A pixel whose std is below [`MIN_STD`] gets std 1; an
    /// empty set gives the identity statistics.
    pub fn fit(train: &Dataset) -> Self {
        let d = train.pixels_per_image();
        if train.count == 0 {
            return Standardizer::identity(d);
        }
        // Σp and Σp² per pixel: at most 255² · 2³² < 2⁶⁴ per sum for any u32 count.
        let mut sum = vec![0u64; d];
        let mut sum_sq = vec![0u64; d];
        for image in train.pixels.chunks_exact(d) {
            for ((s, q), &p) in sum.iter_mut().zip(sum_sq.iter_mut()).zip(image) {
                let p = u64::from(p);
                *s += p;
                *q += p * p;
            }
        }
        let n = train.count as u128;
        let nf = train.count as f64;
        let mut mean = Vec::with_capacity(d);
        let mut inv_std = Vec::with_capacity(d);
        for (&s, &q) in sum.iter().zip(&sum_sq) {
            // N²·var = N·Σp² − (Σp)² ≥ 0 (Cauchy–Schwarz), exact in integers.
            let n2_var = n * u128::from(q) - u128::from(s) * u128::from(s);
            let std = ((n2_var as f64).sqrt()) / nf;
            let std = if std < MIN_STD { 1.0 } else { std };
            mean.push((s as f64 / nf) as f32);
            inv_std.push((1.0 / std) as f32);
        }
        Standardizer { mean, inv_std }
    }

    /// Identity statistics (mean 0, std 1): raw pixel values.
    pub fn identity(pixels: usize) -> Self {
        Standardizer {
            mean: vec![0.0; pixels],
            inv_std: vec![1.0; pixels],
        }
    }

    /// Standardizes images `first..first + count` of `data` into `out`
    /// (count × D, row-major): out[i·D + d] = (p − mean[d]) · inv_std[d] with
    /// p the pixel d of image first + i. Writes `out[..count·D]`; panics when
    /// the images are not in `data`, `out` is shorter than count·D, or the
    /// statistics are for another image size (all caller bugs).
    pub fn apply(&self, data: &Dataset, first: usize, count: usize, out: &mut [f32]) {
        let d = data.pixels_per_image();
        assert_eq!(
            self.mean.len(),
            d,
            "statistics for {} pixels applied to images of {d}",
            self.mean.len()
        );
        assert_eq!(self.inv_std.len(), d, "mean and inv_std lengths differ");
        assert!(
            first
                .checked_add(count)
                .is_some_and(|end| end <= data.count),
            "images {first}..{first}+{count} of a set of {}",
            data.count
        );
        assert!(
            out.len() >= count * d,
            "output of {} values for {count} images of {d} pixels",
            out.len()
        );
        if d == 0 {
            return;
        }
        let src = &data.pixels[first * d..(first + count) * d];
        let dst = &mut out[..count * d];
        if dst.len() < PARALLEL_MIN_VALUES {
            for (row_out, row_in) in dst.chunks_exact_mut(d).zip(src.chunks_exact(d)) {
                self.apply_row(row_in, row_out);
            }
        } else {
            dst.par_chunks_mut(d)
                .zip(src.par_chunks(d))
                .with_min_len(64)
                .for_each(|(row_out, row_in)| self.apply_row(row_in, row_out));
        }
    }

    /// One image: out[d] = (p[d] − mean[d]) · inv_std[d]. All four slices have
    /// length D, so the loop has no bounds checks and vectorizes.
    #[inline]
    fn apply_row(&self, row_in: &[u8], row_out: &mut [f32]) {
        for (((o, &p), &m), &s) in row_out
            .iter_mut()
            .zip(row_in)
            .zip(&self.mean)
            .zip(&self.inv_std)
        {
            *o = (f32::from(p) - m) * s;
        }
    }
}
