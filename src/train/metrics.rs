//! Figures derived from a run: medians and the flop model of DESIGN.md.

/// The median of `values` (the mean of the middle two for an even count);
/// 0 for none.
pub fn median(values: &[f64]) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// Floating-point operations of one epoch over `n` images in batches of
/// `batch_size`, with D inputs, H hidden units and C classes, a multiply-add
/// counted as 2. Matrix products: X·W1ᵀ and G1ᵀ·X 2NDH each, A1·W2ᵀ, G2·W2 and
/// G2ᵀ·A1 2NHC each. Element-wise: sigmoid and its derivative 4NH, softmax
/// and its gradient 6NC, and per batch the regularized update, 5 flops per
/// weight, of H·D + C·H weights.
pub fn epoch_flops(n: usize, batch_size: usize, d: usize, h: usize, c: usize) -> f64 {
    let batches = n.div_ceil(batch_size.max(1)) as f64;
    let (n, d, h, c) = (n as f64, d as f64, h as f64, c as f64);
    4.0 * n * d * h + 6.0 * n * h * c + 4.0 * n * h + 6.0 * n * c + 5.0 * batches * (h * d + c * h)
}

/// counts[y][p]: how many images of true class y were predicted as p.
pub fn confusion_matrix(labels: &[u8], predictions: &[u8], classes: usize) -> Vec<Vec<usize>> {
    let mut m = vec![vec![0; classes]; classes];
    for (&y, &p) in labels.iter().zip(predictions) {
        if (y as usize) < classes && (p as usize) < classes {
            m[y as usize][p as usize] += 1;
        }
    }
    m
}

/// Precision, recall and F1 of one class.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct ClassMetrics {
    /// Of the images predicted as this class, the fraction that are.
    pub precision: f64,
    /// Of the images of this class, the fraction predicted as it.
    pub recall: f64,
    /// Harmonic mean of precision and recall (0 when both are 0).
    pub f1: f64,
    /// Images of this class.
    pub support: usize,
}

/// Per-class metrics from a confusion matrix (a class never predicted has
/// precision 0).
pub fn class_metrics(confusion: &[Vec<usize>]) -> Vec<ClassMetrics> {
    let classes = confusion.len();
    (0..classes)
        .map(|c| {
            let tp = confusion[c][c] as f64;
            let support: usize = confusion[c].iter().sum();
            let predicted: usize = confusion.iter().map(|row| row[c]).sum();
            let ratio = |a: f64, b: usize| if b == 0 { 0.0 } else { a / b as f64 };
            let (precision, recall) = (ratio(tp, predicted), ratio(tp, support));
            let f1 = if precision + recall == 0.0 {
                0.0
            } else {
                2.0 * precision * recall / (precision + recall)
            };
            ClassMetrics {
                precision,
                recall,
                f1,
                support,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        assert_eq!(median(&[]), 0.0);
    }

    #[test]
    fn article_epoch_is_4ndh_plus_about_2_percent() {
        // DESIGN.md: 4·N·D·H = 9.4 GFLOP for N 60 000, D 784, H 50.
        let main_term = 4.0 * 60_000.0 * 784.0 * 50.0;
        let f = epoch_flops(60_000, 2400, 784, 50, 10);
        assert!(f > main_term && f < 1.03 * main_term, "{f} vs {main_term}");
    }

    #[test]
    fn confusion_and_class_metrics_by_hand() {
        // labels 0 0 1 1 2, predictions 0 1 1 1 0
        let m = confusion_matrix(&[0, 0, 1, 1, 2], &[0, 1, 1, 1, 0], 3);
        assert_eq!(m, vec![vec![1, 1, 0], vec![0, 2, 0], vec![1, 0, 0]]);
        let c = class_metrics(&m);
        assert_eq!(c[0].precision, 0.5);
        assert_eq!(c[0].recall, 0.5);
        assert!((c[1].precision - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!(c[1].recall, 1.0);
        assert!((c[1].f1 - 0.8).abs() < 1e-12);
        assert_eq!(
            (c[2].precision, c[2].recall, c[2].f1, c[2].support),
            (0.0, 0.0, 0.0, 1)
        );
    }
}
