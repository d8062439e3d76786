//! Sets larger than one storage binding: split over several bindings and
//! trained like the CPU does, or refused before any work with the limit and
//! the largest size that fits. The binding limit is lowered for the tests
//! through FASHION_NN_MAX_BINDING_BYTES (every test in this file sets the
//! same value, so their running in parallel does not matter).

mod common;

use common::vulkan;
use fashion_nn::backend::cpu::CpuBackend;
use fashion_nn::backend::{Backend, Split};
use fashion_nn::data::{Dataset, Standardizer};
use fashion_nn::model::{Hyper, Optimizer, Params, Shape};
use fashion_nn::train::epoch_order;

const CAP: &str = "100000";

fn cap_bindings() {
    std::env::set_var("FASHION_NN_MAX_BINDING_BYTES", CAP);
}

/// `n` images of 300 pixels in 10 classes, each class with its own bright band.
fn synthetic(n: usize) -> Dataset {
    let d = 300;
    let mut pixels = vec![0u8; n * d];
    let labels: Vec<u8> = (0..n).map(|i| ((i * 7 + i / 5) % 10) as u8).collect();
    for i in 0..n {
        for j in 0..d {
            let base = ((i * 29 + j * 13) % 83) as u8;
            pixels[i * d + j] = if j / 30 == labels[i] as usize {
                150 + base
            } else {
                base
            };
        }
    }
    Dataset {
        count: n,
        rows: 15,
        cols: 20,
        classes: 10,
        pixels,
        labels,
    }
}

#[test]
fn a_set_larger_than_one_binding_is_split_and_trains_like_the_cpu() {
    cap_bindings();
    // 1 000 × 300 bytes over bindings of 100 000: chunks of 333 images, 4 of them.
    let data = synthetic(1000);
    let stats = Standardizer::fit(&data);
    let shape = Shape {
        inputs: 300,
        hidden: 20,
        classes: 10,
    };
    let params = Params::init(shape, 0.1, 3);
    let hyper = Hyper {
        lr: 0.003,
        l1: 0.0,
        l2: 1e-4,
        batch_size: 50,
        optimizer: Optimizer::ADAM,
    };
    let order = epoch_order(1000, 8, 1);
    let mut results = Vec::new();
    for backend in [
        Box::new(CpuBackend::new(None).unwrap()) as Box<dyn Backend>,
        Box::new(vulkan()),
    ] {
        let mut backend = backend;
        backend.upload(Split::Train, &data, &stats).unwrap();
        backend.set_params(&params).unwrap();
        backend.prepare_training(&hyper).unwrap();
        backend.set_order(Some(&order)).unwrap();
        let stats = backend.train_epoch(&hyper).unwrap();
        let eval = backend.evaluate(Split::Train).unwrap();
        results.push((stats, eval, backend.params().unwrap()));
    }
    let (cpu, gpu) = (&results[0], &results[1]);
    assert!(
        (cpu.0.loss - gpu.0.loss).abs() < 1e-4 * cpu.0.loss,
        "loss CPU {} GPU {}",
        cpu.0.loss,
        gpu.0.loss
    );
    let diff = cpu.2.max_relative_difference(&gpu.2);
    assert!(diff < 1e-3, "weights differ by {diff}");
    assert!(
        (cpu.1.accuracy - gpu.1.accuracy).abs() <= 2.0 / 1000.0,
        "evaluated accuracy CPU {} GPU {}",
        cpu.1.accuracy,
        gpu.1.accuracy
    );
    assert!(gpu.1.accuracy > 0.5, "the epoch learned nothing");
}

#[test]
fn a_set_beyond_four_bindings_names_the_limit_and_the_largest_that_fits() {
    cap_bindings();
    let data = synthetic(1400);
    let mut gpu = vulkan();
    let error = gpu
        .upload(Split::Train, &data, &Standardizer::fit(&data))
        .unwrap_err();
    let message = format!("{error:#}");
    for needle in [
        "1400 images × 300",
        "need 5 storage bindings",
        "at most 0.1 MiB",
        "binds 4",
        "at most 1332 images of 300 pixels fit",
        "--train-limit 1332",
    ] {
        assert!(message.contains(needle), "lacks {needle:?}: {message}");
    }
}

#[test]
fn a_test_set_beyond_four_bindings_is_not_told_to_use_train_limit() {
    cap_bindings();
    let data = synthetic(1400);
    let mut gpu = vulkan();
    let error = gpu
        .upload(Split::Test, &data, &Standardizer::fit(&data))
        .unwrap_err();
    let message = format!("{error:#}");
    assert!(
        message.contains("the test set is evaluated whole, so use --backend cpu")
            && !message.contains("--train-limit"),
        "{message}"
    );
}
