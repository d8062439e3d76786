//! Beyond the GPU's per-binding limit for real: ten times Fashion-MNIST's
//! training set, and 4 096 hidden units.

mod common;

use std::process::Command;

use common::vulkan;
use fashion_nn::backend::{Backend, Split};
use fashion_nn::data::{load_fashion_mnist, Dataset, Standardizer, SYSTEM_DATA_DIR};
use fashion_nn::model::{Hyper, Optimizer, Params, Shape};

#[test]
fn ten_times_fashion_mnist_trains_on_the_gpu() {
    let data = load_fashion_mnist(std::path::Path::new(SYSTEM_DATA_DIR))
        .expect("apt-get install dataset-fashion-mnist");
    let train = &data.train;
    // 600 000 images, 470 MB of u8 pixels: more than lavapipe's 128 MiB binding.
    let copies = 10;
    let big = Dataset {
        count: train.count * copies,
        pixels: train.pixels.repeat(copies),
        labels: train.labels.repeat(copies),
        ..train.clone()
    };
    let mut gpu = vulkan();
    let stats = Standardizer::fit(train);
    gpu.upload(Split::Train, &big, &stats).unwrap();
    let shape = Shape {
        inputs: 784,
        hidden: 8,
        classes: 10,
    };
    gpu.set_params(&Params::init(shape, shape.default_init_scale(), 1))
        .unwrap();
    let hyper = Hyper {
        lr: 0.5,
        l1: 0.0,
        l2: 0.0,
        batch_size: 1000,
        optimizer: Optimizer::Sgd,
    };
    gpu.prepare_training(&hyper).unwrap();
    let epoch = gpu.train_epoch(&hyper).unwrap();
    assert!(epoch.loss.is_finite());
    // The last copies are seen after the first: by then the network knows them.
    let eval = gpu.evaluate(Split::Train).unwrap();
    assert_eq!(eval.predictions.len(), 600_000);
    assert!(
        eval.accuracy > 0.75,
        "accuracy {} after one epoch",
        eval.accuracy
    );
    // The copies are the same images: their predictions agree.
    let n = train.count;
    assert_eq!(eval.predictions[..n], eval.predictions[9 * n..]);
}

/// An IDX file of `count` images of 28×28, or of `count` labels.
fn idx(images: Option<&[u8]>, labels: &[u8]) -> Vec<u8> {
    let mut b = Vec::new();
    let header: Vec<u32> = match images {
        Some(_) => vec![0x0803, labels.len() as u32, 28, 28],
        None => vec![0x0801, labels.len() as u32],
    };
    for w in header {
        b.extend_from_slice(&w.to_be_bytes());
    }
    b.extend_from_slice(images.unwrap_or(labels));
    b
}

#[test]
fn four_thousand_hidden_units_train_on_the_gpu() {
    // A small real subset, so the evaluations after each epoch stay cheap on
    // a software driver.
    let data = load_fashion_mnist(std::path::Path::new(SYSTEM_DATA_DIR))
        .expect("apt-get install dataset-fashion-mnist");
    let (train, test) = (data.train.take(1000), data.test.take(200));
    let dir = std::env::temp_dir().join(format!("fashion-nn-big-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for (name, bytes) in [
        (
            "train-images-idx3-ubyte",
            idx(Some(&train.pixels), &train.labels),
        ),
        ("train-labels-idx1-ubyte", idx(None, &train.labels)),
        (
            "t10k-images-idx3-ubyte",
            idx(Some(&test.pixels), &test.labels),
        ),
        ("t10k-labels-idx1-ubyte", idx(None, &test.labels)),
    ] {
        std::fs::write(dir.join(name), bytes).unwrap();
    }
    let out = Command::new(env!("CARGO_BIN_EXE_fashion-nn"))
        .args(["--backend", "vulkan", "--hidden", "4096", "--epochs", "2"])
        .args(["--optimizer", "adam", "--json", "--data"])
        .arg(&dir)
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["hidden"], 4096);
    assert!(json["test_accuracy"].as_f64().unwrap() > 0.5, "{json}");
}
