//! Class probabilities of single images on the host (the article's
//! `predict_proba`), from a saved model.

use super::SavedModel;
use crate::backend::cpu::ops;

/// P = softmax(σ(x·W1ᵀ + b1)·W2ᵀ + b2) for one image of raw u8 pixels,
/// standardized with the model's statistics.
pub fn predict_proba(model: &SavedModel, pixels: &[u8]) -> Vec<f32> {
    let s = model.params.shape;
    let p = &model.params;
    let mut x = vec![0.0; s.inputs];
    ops::standardize(pixels, &model.stats, 1, &mut x);
    let mut a1 = vec![0.0; s.hidden];
    ops::linear(&x, &p.w1, &p.b1, 1, s.inputs, s.hidden, &mut a1);
    ops::sigmoid(&mut a1);
    let mut z2 = vec![0.0; s.classes];
    ops::linear(&a1, &p.w2, &p.b2, 1, s.hidden, s.classes, &mut z2);
    // softmax with the row max subtracted
    let max = z2.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let e: Vec<f32> = z2.iter().map(|z| (z - max).exp()).collect();
    let sum: f32 = e.iter().sum();
    e.iter().map(|v| v / sum).collect()
}

/// Classes ordered by falling probability, the first `k`.
pub fn top_classes(probabilities: &[f32], k: usize) -> Vec<(usize, f32)> {
    let mut order: Vec<(usize, f32)> = probabilities.iter().copied().enumerate().collect();
    order.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    order.truncate(k);
    order
}

/// The image as text, darkest to brightest ` .:-=+*#%@`, one line per row.
pub fn ascii_art(pixels: &[u8], cols: usize) -> String {
    const RAMP: &[u8] = b" .:-=+*#%@";
    pixels
        .chunks(cols.max(1))
        .map(|row| {
            row.iter()
                .map(|&p| RAMP[p as usize * (RAMP.len() - 1) / 255] as char)
                .flat_map(|c| [c, c])
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join("\n")
}
