//! Helpers shared by the tests.
#![allow(dead_code)]

use fashion_nn::backend::gpu::context::Api;
use fashion_nn::backend::gpu::GpuBackend;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Opens the Vulkan adapter. A machine without one fails the test: CI installs
/// lavapipe (`apt-get install mesa-vulkan-drivers`), so no adapter is a bug.
pub fn vulkan() -> GpuBackend {
    match GpuBackend::new(Api::Vulkan) {
        Ok(gpu) => gpu,
        Err(e) => {
            panic!("no Vulkan adapter for the GPU tests ({e:#}); install mesa-vulkan-drivers")
        }
    }
}

/// `n` values uniform in [-scale, scale) from `seed`.
pub fn uniform(n: usize, scale: f32, seed: u64) -> Vec<f32> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..n).map(|_| rng.random_range(-scale..scale)).collect()
}

/// Asserts `gpu` equals `cpu` to within `rel` of the largest |cpu| value (at least 1).
pub fn assert_close(what: &str, gpu: &[f32], cpu: &[f32], rel: f32) {
    assert_eq!(gpu.len(), cpu.len(), "{what}: lengths differ");
    let scale = cpu.iter().fold(1.0f32, |m, v| m.max(v.abs()));
    let (mut worst, mut at) = (0.0f32, 0);
    for (i, (g, c)) in gpu.iter().zip(cpu).enumerate() {
        let d = (g - c).abs();
        if d.is_nan() || d > worst {
            worst = if d.is_nan() { f32::INFINITY } else { d };
            at = i;
        }
    }
    assert!(
        worst <= rel * scale,
        "{what}: GPU {} vs CPU {} at index {at} (difference {worst}, allowed {})",
        gpu[at],
        cpu[at],
        rel * scale
    );
}

/// Saves a model of `rows`×`cols` images, `hidden` units and one class a
/// name in `names` (random weights, flat statistics) to `path`.
pub fn save_model(path: &std::path::Path, rows: usize, cols: usize, hidden: usize, names: &[&str]) {
    let shape = fashion_nn::model::Shape {
        inputs: rows * cols,
        hidden,
        classes: names.len(),
    };
    let model = fashion_nn::model::SavedModel {
        params: fashion_nn::model::Params::init(shape, 0.05, 1),
        stats: fashion_nn::data::Standardizer {
            mean: vec![60.0; rows * cols],
            inv_std: vec![0.02; rows * cols],
        },
        rows,
        cols,
        class_names: names.iter().map(|n| n.to_string()).collect(),
        settings: vec![],
    };
    fashion_nn::model::save(path, &model).unwrap();
}
