//! Every WGSL kernel against the CPU reference function of the same name, on
//! random inputs whose sizes are not multiples of the tile sizes.

mod common;

use common::{assert_close, uniform, vulkan};
use fashion_nn::backend::cpu::ops;
use fashion_nn::backend::gpu::harness;
use fashion_nn::backend::gpu::pipelines::{Epilogue, MatmulKind};
use fashion_nn::backend::gpu::uniforms::{MatmulDims, Step};
use fashion_nn::data::Standardizer;
use fashion_nn::model::{Hyper, Optimizer};

const STEP: Step = Step {
    lr: 0.3,
    l1: 1e-3,
    l2: 1e-2,
    _pad: 0.0,
};

/// Z = A·Bᵀ (+ bias, σ) on the GPU with `kind` against ops::linear / ops::sigmoid.
fn check_a_bt(kind: MatmulKind, epilogue: Epilogue, m: usize, n: usize, k: usize) {
    let gpu = vulkan();
    let (a, b, bias) = (
        uniform(m * k, 1.0, 1),
        uniform(n * k, 1.0, 2),
        uniform(n, 1.0, 3),
    );
    let gpu_out = harness::matmul(
        gpu.context(),
        gpu.kernels(),
        kind,
        epilogue,
        MatmulDims::a_bt(m, n, k),
        &a,
        &b,
        &bias,
        &vec![0.0; m * n],
        STEP,
        1,
    )
    .unwrap();
    let zero = vec![0.0; n];
    let used_bias = if epilogue == Epilogue::Store {
        &zero
    } else {
        &bias
    };
    let mut z = vec![0.0; m * n];
    ops::linear(&a, &b, used_bias, m, k, n, &mut z);
    if epilogue == Epilogue::BiasSigmoid {
        ops::sigmoid(&mut z);
    }
    assert_close(
        &format!("{kind:?} {epilogue:?} A·Bᵀ {m}×{n}×{k}"),
        &gpu_out,
        &z,
        2e-5 * (k as f32).sqrt(),
    );
}

/// W − lr·(Aᵀ·B + l1·sign W + l2·W) on the GPU against ops::weight_grad + ops::sgd_update.
fn check_at_b_sgd(kind: MatmulKind, m: usize, n: usize, k: usize) {
    let gpu = vulkan();
    let (a, b, w) = (
        uniform(k * m, 1.0, 4),
        uniform(k * n, 1.0, 5),
        uniform(m * n, 1.0, 6),
    );
    let gpu_out = harness::matmul(
        gpu.context(),
        gpu.kernels(),
        kind,
        Epilogue::Sgd,
        MatmulDims::at_b(m, n, k),
        &a,
        &b,
        &[0.0],
        &w,
        STEP,
        1,
    )
    .unwrap();
    let mut dw = vec![0.0; m * n];
    ops::weight_grad(&a, &b, k, m, n, &mut dw);
    let mut cpu = w.clone();
    ops::sgd_update(&mut cpu, &dw, STEP.lr, STEP.l1, STEP.l2);
    assert_close(
        &format!("{kind:?} Aᵀ·B SGD {m}×{n}×{k}"),
        &gpu_out,
        &cpu,
        2e-5 * (k as f32).sqrt(),
    );
}

#[test]
fn matmul_abt_bias_sigmoid_matches_cpu_linear_and_sigmoid() {
    for (m, n, k) in [
        (1, 1, 4),
        (7, 33, 784),
        (33, 7, 4),
        (993, 50, 784),
        (100, 129, 12),
    ] {
        check_a_bt(MatmulKind::ABt, Epilogue::BiasSigmoid, m, n, k);
    }
}

#[test]
fn matmul_abt_store_and_bias_match_cpu_linear() {
    check_a_bt(MatmulKind::ABt, Epilogue::Store, 7, 33, 784);
    check_a_bt(MatmulKind::ABt, Epilogue::Bias, 33, 10, 52);
}

#[test]
fn matmul_strided_matches_cpu_on_awkward_sizes() {
    for (m, n, k) in [
        (1, 1, 1),
        (7, 10, 33),
        (33, 7, 7),
        (2401, 10, 50),
        (5, 993, 7),
    ] {
        check_a_bt(MatmulKind::Strided, Epilogue::Bias, m, n, k);
        check_a_bt(MatmulKind::Strided, Epilogue::BiasSigmoid, m, n, k);
    }
    for (m, n, k) in [(1, 1, 1), (10, 50, 2401), (7, 33, 7), (33, 7, 993)] {
        check_at_b_sgd(MatmulKind::Strided, m, n, k);
    }
}

#[test]
fn matmul_atb_sgd_matches_cpu_weight_grad_and_update() {
    for (m, n, k) in [
        (1, 4, 1),
        (7, 784, 33),
        (33, 12, 7),
        (50, 784, 2401),
        (129, 20, 100),
    ] {
        check_at_b_sgd(MatmulKind::AtB, m, n, k);
    }
}

#[test]
fn matmul_tex_abt_matches_cpu_for_every_epilogue_and_any_k() {
    // K not a multiple of 4 (zero-padded texels), M and N not multiples of the 8×16 block.
    for (m, n, k) in [
        (1, 1, 1),
        (7, 33, 784),
        (33, 7, 5),
        (993, 50, 784),
        (100, 129, 13),
        (17, 1030, 30),
    ] {
        check_a_bt(MatmulKind::TexABt, Epilogue::BiasSigmoid, m, n, k);
    }
    check_a_bt(MatmulKind::TexABt, Epilogue::Store, 7, 33, 782);
    check_a_bt(MatmulKind::TexABt, Epilogue::Bias, 33, 10, 52);
}

#[test]
fn matmul_tex_abt_tall_matches_cpu_for_every_epilogue_and_any_k() {
    // The 16×8 block: M and N not multiples of 16 or 8, K not of 4.
    for (m, n, k) in [
        (1, 1, 1),
        (7, 33, 784),
        (33, 7, 5),
        (993, 50, 784),
        (2401, 50, 7),
        (50, 993, 13),
        (100, 129, 13),
        (17, 1030, 30),
    ] {
        check_a_bt(MatmulKind::TexABtTall, Epilogue::BiasSigmoid, m, n, k);
    }
    check_a_bt(MatmulKind::TexABtTall, Epilogue::Store, 7, 33, 782);
    check_a_bt(MatmulKind::TexABtTall, Epilogue::Bias, 33, 10, 52);
    check_a_bt(MatmulKind::TexABtTall, Epilogue::Bias, 2401, 1, 33);
}

#[test]
fn the_forward_product_takes_the_block_that_computes_fewer_columns() {
    for (h, kind) in [
        (1, MatmulKind::TexABtTall),
        (8, MatmulKind::TexABtTall),
        (9, MatmulKind::TexABt),
        (16, MatmulKind::TexABt),
        (50, MatmulKind::TexABtTall),
        (60, MatmulKind::TexABt),
        (128, MatmulKind::TexABt),
        (256, MatmulKind::TexABt),
        (1024, MatmulKind::TexABt),
    ] {
        assert_eq!(MatmulKind::for_hidden(h), kind, "H = {h}");
    }
}

#[test]
fn hidden_activation_writes_sigmoid_of_the_product_to_a_texture() {
    let gpu = vulkan();
    for (m, n, k) in [
        (1, 1, 1),
        (7, 33, 784),
        (993, 50, 784),
        (2401, 50, 784),
        (33, 10, 50),
        (5, 1030, 9),
    ] {
        let (a, b, bias) = (
            uniform(m * k, 1.0, 11),
            uniform(n * k, 1.0, 12),
            uniform(n, 1.0, 13),
        );
        let mut z = vec![0.0; m * n];
        ops::linear(&a, &b, &bias, m, k, n, &mut z);
        ops::sigmoid(&mut z);
        for kind in [MatmulKind::TexABt, MatmulKind::TexABtTall] {
            let got = harness::hidden_activation(
                gpu.context(),
                gpu.kernels(),
                kind,
                &a,
                &b,
                &bias,
                m,
                n,
                k,
            )
            .unwrap();
            assert_close(
                &format!("A1 texture {kind:?} {m}×{n}×{k}"),
                &got,
                &z,
                2e-5 * (k as f32).sqrt(),
            );
        }
    }
}

#[test]
fn matmul_tex_atb_sgd_matches_cpu_for_any_m_and_n() {
    for (m, n, k) in [
        (1, 1, 1),
        (7, 784, 33),
        (33, 13, 7),
        (50, 784, 2401),
        (129, 22, 100),
        (1030, 9, 3),
    ] {
        check_at_b_sgd(MatmulKind::TexAtB, m, n, k);
    }
}

#[test]
fn texture_rows_copies_a_matrix_with_zero_padding() {
    let gpu = vulkan();
    for (rows, cols) in [(1, 1), (3, 4), (50, 784), (7, 13), (1030, 6)] {
        let src = uniform(rows * cols, 1.0, 9);
        let got = harness::texture_rows(gpu.context(), gpu.kernels(), &src, rows, cols).unwrap();
        let width = cols.div_ceil(4) * 4;
        assert_eq!(got.len(), rows * width, "{rows}×{cols}");
        for (r, row) in got.chunks(width).enumerate() {
            assert_eq!(
                row[..cols],
                src[r * cols..(r + 1) * cols],
                "{rows}×{cols} row {r}"
            );
            assert!(
                row[cols..].iter().all(|&v| v == 0.0),
                "{rows}×{cols} padding"
            );
        }
    }
}

#[test]
fn standardize_matches_cpu_with_row_offset() {
    let gpu = vulkan();
    for (count, d, offset, rows) in [
        (3, 1, 1, 2),
        (40, 7, 5, 33),
        (12, 784, 3, 7),
        (2401, 33, 0, 2401),
    ] {
        let pixels: Vec<u8> = (0..count * d).map(|i| (i * 37 % 256) as u8).collect();
        let stats = Standardizer {
            mean: uniform(d, 100.0, 7).iter().map(|v| v + 120.0).collect(),
            inv_std: uniform(d, 0.01, 8)
                .iter()
                .map(|v| v.abs() + 0.005)
                .collect(),
        };
        let got = harness::standardize(
            gpu.context(),
            gpu.kernels(),
            &pixels,
            &stats.mean,
            &stats.inv_std,
            None,
            offset,
            rows,
            count,
        )
        .unwrap();
        let mut want = vec![0.0; rows * d];
        ops::standardize(
            &pixels[offset * d..(offset + rows) * d],
            &stats,
            rows,
            &mut want,
        );
        assert_close(
            &format!("standardize {rows}×{d} from {offset}"),
            &got,
            &want,
            1e-6,
        );
    }
}

#[test]
fn softmax_cross_entropy_matches_cpu_including_huge_logits() {
    let gpu = vulkan();
    for (rows, classes, offset, scale) in [
        (1, 1, 0, 1.0),
        (7, 10, 3, 5.0),
        (33, 7, 0, 1e4),
        (993, 10, 7, 30.0),
    ] {
        let n = offset + rows + 2;
        let labels: Vec<u8> = (0..n).map(|i| (i * 5 % classes) as u8).collect();
        let labels32: Vec<u32> = labels.iter().map(|&y| y as u32).collect();
        let z2 = uniform(rows * classes, scale, 9);
        let out = harness::softmax_cross_entropy(
            gpu.context(),
            gpu.kernels(),
            &z2,
            &labels32,
            None,
            offset,
            rows,
            classes,
        )
        .unwrap();
        let (mut g2, mut loss, mut pred) =
            (vec![0.0; rows * classes], vec![0.0; rows], vec![0u8; rows]);
        ops::softmax_cross_entropy(
            &z2,
            &labels[offset..offset + rows],
            rows,
            classes,
            1.0 / rows as f32,
            &mut g2,
            &mut loss,
            &mut pred,
        );
        let what = format!("softmax {rows}×{classes} scale {scale}");
        assert_close(&format!("{what} G2"), &out.g2, &g2, 1e-5);
        assert!(
            out.loss[offset..offset + rows]
                .iter()
                .all(|l| l.is_finite()),
            "{what}: loss not finite"
        );
        assert_close(
            &format!("{what} loss"),
            &out.loss[offset..offset + rows],
            &loss,
            1e-5,
        );
        let pred32: Vec<u32> = pred.iter().map(|&p| p as u32).collect();
        assert_eq!(
            out.predicted[offset..offset + rows],
            pred32[..],
            "{what}: arg-max"
        );
    }
}

#[test]
fn hidden_delta_matches_cpu() {
    let gpu = vulkan();
    for (rows, hidden, classes) in [(1, 1, 1), (7, 33, 10), (100, 993, 7), (2401, 50, 10)] {
        let g2 = uniform(rows * classes, 0.1, 10);
        let w2 = uniform(classes * hidden, 1.0, 11);
        let a1: Vec<f32> = uniform(rows * hidden, 0.5, 12)
            .iter()
            .map(|v| v + 0.5)
            .collect();
        let got = harness::hidden_delta(
            gpu.context(),
            gpu.kernels(),
            &g2,
            &w2,
            &a1,
            rows,
            hidden,
            classes,
        )
        .unwrap();
        let mut want = vec![0.0; rows * hidden];
        ops::hidden_delta(&g2, &w2, &a1, rows, hidden, classes, &mut want);
        assert_close(
            &format!("hidden_delta {rows}×{hidden}×{classes}"),
            &got,
            &want,
            1e-5,
        );
    }
}

#[test]
fn bias_update_matches_cpu_column_sum_and_update() {
    let gpu = vulkan();
    for (rows, cols) in [(1, 1), (7, 33), (2401, 10), (993, 784)] {
        let g = uniform(rows * cols, 1.0, 13);
        let b = uniform(cols, 1.0, 14);
        let got =
            harness::bias_update(gpu.context(), gpu.kernels(), &g, &b, rows, 0.7, false).unwrap();
        let mut db = vec![0.0; cols];
        ops::column_sum(&g, rows, cols, &mut db);
        // MODE 1 stores the column sum itself, for the optimizer step.
        let stored =
            harness::bias_update(gpu.context(), gpu.kernels(), &g, &b, rows, 0.7, true).unwrap();
        assert_close(
            &format!("bias gradient {rows}×{cols}"),
            &stored,
            &db,
            2e-5 * (rows as f32).sqrt(),
        );
        let mut want = b.clone();
        ops::sgd_update(&mut want, &db, 0.7, 0.0, 0.0);
        assert_close(
            &format!("bias_update {rows}×{cols}"),
            &got,
            &want,
            2e-5 * (rows as f32).sqrt(),
        );
    }
}

/// A seeded permutation of 0..n (the epoch order of a shuffled run).
fn permutation(n: usize, seed: u64) -> Vec<u32> {
    fashion_nn::train::epoch_order(n, seed, 1)
}

#[test]
fn standardize_gathers_the_shuffled_images_like_the_cpu() {
    let gpu = vulkan();
    // The last two spread the set over 4 and 3 pixel chunks, as a set
    // larger than one storage binding is.
    for (count, d, offset, rows, chunk_images) in [
        (5, 3, 1, 3, 5),
        (301, 784, 100, 77, 76),
        (1001, 63, 937, 64, 334),
    ] {
        let pixels: Vec<u8> = (0..count * d).map(|i| (i * 53 % 251) as u8).collect();
        let stats = Standardizer {
            mean: uniform(d, 50.0, 3).iter().map(|v| v + 100.0).collect(),
            inv_std: uniform(d, 0.01, 4)
                .iter()
                .map(|v| v.abs() + 0.004)
                .collect(),
        };
        let order = permutation(count, 9);
        let got = harness::standardize(
            gpu.context(),
            gpu.kernels(),
            &pixels,
            &stats.mean,
            &stats.inv_std,
            Some(&order),
            offset,
            rows,
            chunk_images,
        )
        .unwrap();
        // The CPU backend's gather: the images at positions offset.. of the order.
        let gathered: Vec<u8> = order[offset..offset + rows]
            .iter()
            .flat_map(|&i| pixels[i as usize * d..(i as usize + 1) * d].to_vec())
            .collect();
        let mut want = vec![0.0; rows * d];
        ops::standardize(&gathered, &stats, rows, &mut want);
        assert_close(
            &format!("shuffled standardize {rows}×{d}"),
            &got,
            &want,
            1e-6,
        );
    }
}

#[test]
fn softmax_cross_entropy_reads_the_labels_of_the_shuffled_images() {
    let gpu = vulkan();
    let (n, rows, classes, offset) = (257, 50, 10, 200);
    let labels: Vec<u8> = (0..n).map(|i| (i * 7 % classes) as u8).collect();
    let labels32: Vec<u32> = labels.iter().map(|&y| y as u32).collect();
    let order = permutation(n, 4);
    let z2 = uniform(rows * classes, 3.0, 5);
    let out = harness::softmax_cross_entropy(
        gpu.context(),
        gpu.kernels(),
        &z2,
        &labels32,
        Some(&order),
        offset,
        rows,
        classes,
    )
    .unwrap();
    let shuffled: Vec<u8> = order[offset..offset + rows]
        .iter()
        .map(|&i| labels[i as usize])
        .collect();
    let (mut g2, mut loss, mut pred) =
        (vec![0.0; rows * classes], vec![0.0; rows], vec![0u8; rows]);
    ops::softmax_cross_entropy(
        &z2,
        &shuffled,
        rows,
        classes,
        1.0 / rows as f32,
        &mut g2,
        &mut loss,
        &mut pred,
    );
    assert_close("shuffled softmax G2", &out.g2, &g2, 1e-5);
    // Loss and prediction land at the epoch position.
    assert_close(
        "shuffled softmax loss",
        &out.loss[offset..offset + rows],
        &loss,
        1e-5,
    );
}

#[test]
fn optimizer_step_matches_cpu_for_momentum_and_adam() {
    let gpu = vulkan();
    // 4 194 369 = 65 535 workgroups of 64 + 129: the grid-stride loop's second lap.
    for len in [1, 7, 993, 100_352, 4_194_369] {
        for (optimizer, t) in [
            (Optimizer::MOMENTUM, 1),
            (Optimizer::ADAM, 1),
            (Optimizer::ADAM, 250),
        ] {
            for decay in [true, false] {
                let theta = uniform(len, 1.0, 20);
                let grad = uniform(len, 0.1, 21);
                let m0 = uniform(len, 0.05, 22);
                let v0: Vec<f32> = uniform(len, 0.01, 23).iter().map(|v| v.abs()).collect();
                let hyper = Hyper {
                    lr: 0.01,
                    l1: 1e-3,
                    l2: 1e-2,
                    batch_size: 1,
                    optimizer,
                };
                let mut rule = ops::Rule::for_step(&hyper, t);
                if !decay {
                    rule = rule.unregularized();
                }
                let got = harness::optimizer_step(
                    gpu.context(),
                    gpu.kernels(),
                    &rule,
                    &theta,
                    &grad,
                    &m0,
                    &v0,
                    decay,
                )
                .unwrap();
                let (mut want, mut m, mut v) = (theta.clone(), m0.clone(), v0.clone());
                ops::optimizer_update(&mut want, &grad, &mut m, &mut v, &rule);
                let what = format!("{} t {t} decay {decay} len {len}", optimizer.name());
                assert_close(&format!("{what} θ"), &got.theta, &want, 1e-5);
                assert_close(&format!("{what} m"), &got.m, &m, 1e-5);
                if let Optimizer::Adam { .. } = optimizer {
                    assert_close(&format!("{what} v"), &got.v, &v, 1e-5);
                }
                // The step moved θ, so the comparison means something.
                assert!(
                    want.iter().zip(&theta).any(|(a, b)| a != b),
                    "{what}: no step"
                );
            }
        }
    }
}
