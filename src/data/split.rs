//! Holding part of the training set out as a validation set.

use anyhow::{bail, Result};

use super::Dataset;
use crate::train::epoch_order;

/// Splits `data` into (training, validation): a seeded random `fraction` of
/// the images (at least one) goes to validation, the rest keep their order.
pub fn split_validation(data: &Dataset, fraction: f64, seed: u64) -> Result<(Dataset, Dataset)> {
    if !(fraction > 0.0 && fraction < 1.0) {
        bail!("--val-split {fraction}: give a fraction between 0 and 1, such as 0.1");
    }
    let n = data.count;
    let held = ((n as f64 * fraction).round() as usize).max(1);
    if held >= n {
        bail!(
            "--val-split {fraction} of {n} training images leaves none to train on; use a smaller fraction"
        );
    }
    // A stream of the seed no epoch order uses.
    let order = epoch_order(n, seed, usize::MAX);
    let mut is_held = vec![false; n];
    for &i in &order[..held] {
        is_held[i as usize] = true;
    }
    let pick = |held: bool| -> Dataset {
        let d = data.pixels_per_image();
        let images: Vec<usize> = (0..n).filter(|&i| is_held[i] == held).collect();
        let mut pixels = Vec::with_capacity(images.len() * d);
        let mut labels = Vec::with_capacity(images.len());
        for &i in &images {
            pixels.extend_from_slice(data.image(i));
            labels.push(data.labels[i]);
        }
        Dataset {
            count: images.len(),
            rows: data.rows,
            cols: data.cols,
            classes: data.classes,
            pixels,
            labels,
        }
    };
    Ok((pick(false), pick(true)))
}
