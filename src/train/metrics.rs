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
}
