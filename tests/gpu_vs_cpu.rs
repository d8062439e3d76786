//! Whole epochs on the GPU against the CPU backend from the same seed, and a
//! subset of the real data trained on both.

mod common;

use common::vulkan;
use fashion_nn::backend::cpu::CpuBackend;
use fashion_nn::backend::{Backend, Split};
use fashion_nn::data::split_validation;
use fashion_nn::data::{load_fashion_mnist, Dataset, Standardizer, SYSTEM_DATA_DIR};
use fashion_nn::model::{Hyper, Optimizer, Params, Shape};
use fashion_nn::train::{run, train, Control, Outcome, Sets, TrainConfig, TrainReport};

/// A synthetic set of `n` images of 7×9 pixels, 10 classes, with class-dependent
/// bright pixels so that training has something to learn.
fn synthetic(n: usize) -> Dataset {
    let d = 63;
    let mut pixels = vec![0u8; n * d];
    let mut labels = vec![0u8; n];
    for i in 0..n {
        let y = (i * 7 + i / 3) % 10;
        labels[i] = y as u8;
        for j in 0..d {
            let base = ((i * 131 + j * 71) % 97) as u8;
            pixels[i * d + j] = if j % 10 == y { 150 + base } else { base };
        }
    }
    Dataset {
        count: n,
        rows: 7,
        cols: 9,
        classes: 10,
        pixels,
        labels,
    }
}

fn one_epoch(
    backend: &mut dyn Backend,
    data: &Dataset,
    params: &Params,
    hyper: &Hyper,
) -> (f64, f64, Params) {
    let stats = Standardizer::fit(data);
    backend.upload(Split::Train, data, &stats).unwrap();
    backend.set_params(params).unwrap();
    let s = backend.train_epoch(hyper).unwrap();
    (s.loss, s.accuracy, backend.params().unwrap())
}

#[test]
fn one_epoch_gpu_equals_cpu_from_the_same_seed() {
    // 1 001 images in batches of 64: 15 full batches and a last one of 41.
    let data = synthetic(1001);
    let shape = Shape {
        inputs: 63,
        hidden: 37,
        classes: 10,
    };
    let params = Params::init(shape, shape.default_init_scale(), 7);
    let hyper = Hyper {
        lr: 0.5,
        l1: 1e-4,
        l2: 1e-3,
        batch_size: 64,
        optimizer: Optimizer::Sgd,
    };
    let (cpu_loss, cpu_acc, cpu_params) =
        one_epoch(&mut CpuBackend::new(None).unwrap(), &data, &params, &hyper);
    let (gpu_loss, gpu_acc, gpu_params) = one_epoch(&mut vulkan(), &data, &params, &hyper);
    assert!(
        (cpu_loss - gpu_loss).abs() <= 1e-4 * cpu_loss.abs().max(1.0),
        "loss: CPU {cpu_loss}, GPU {gpu_loss}"
    );
    assert!(
        (cpu_acc - gpu_acc).abs() <= 2.0 / 1001.0,
        "accuracy: CPU {cpu_acc}, GPU {gpu_acc}"
    );
    let diff = cpu_params.max_relative_difference(&gpu_params);
    assert!(
        diff < 1e-4,
        "weights after one epoch differ by {diff} (relative)"
    );
    // The epoch really moved the weights, so the comparison means something.
    assert!(params.max_relative_difference(&cpu_params) > 1e-2);
}

#[test]
fn article_sized_batches_on_real_data_match_between_gpu_and_cpu() {
    let data = load_fashion_mnist(std::path::Path::new(SYSTEM_DATA_DIR))
        .expect("apt-get install dataset-fashion-mnist");
    let train_set = data.train.take(4800);
    let shape = Shape {
        inputs: 784,
        hidden: 50,
        classes: 10,
    };
    let params = Params::init(shape, 1.0, 42);
    let hyper = Hyper {
        lr: 2.4,
        l1: 0.0,
        l2: 0.5 / 2400.0,
        batch_size: 2400,
        optimizer: Optimizer::Sgd,
    };
    let (cpu_loss, _, cpu_params) = one_epoch(
        &mut CpuBackend::new(None).unwrap(),
        &train_set,
        &params,
        &hyper,
    );
    let (gpu_loss, _, gpu_params) = one_epoch(&mut vulkan(), &train_set, &params, &hyper);
    assert!(
        (cpu_loss - gpu_loss).abs() <= 1e-4 * cpu_loss.abs().max(1.0),
        "loss: CPU {cpu_loss}, GPU {gpu_loss}"
    );
    let diff = cpu_params.max_relative_difference(&gpu_params);
    assert!(diff < 1e-4, "weights differ by {diff} (relative)");
}

fn train_subset(backend: &mut dyn Backend) -> (f64, f64) {
    let data = load_fashion_mnist(std::path::Path::new(SYSTEM_DATA_DIR))
        .expect("apt-get install dataset-fashion-mnist");
    let train_set = data.train.take(3000);
    let test_set = data.test.take(1000);
    let config = TrainConfig {
        epochs: 3,
        hidden: 32,
        hyper: Hyper {
            lr: 0.5,
            l1: 0.0,
            l2: 0.0,
            batch_size: 50,
            optimizer: Optimizer::Sgd,
        },
        init_scale: (3.0f32 / 784.0).sqrt(),
        seed: 1,
        shuffle: false,
        lr_decay: 1.0,
    };
    let report = train(backend, &train_set, &test_set, &config, &mut |_| {}).unwrap();
    let first = report.epochs[0].stats.loss;
    let last = report.epochs[2].stats.loss;
    assert!(last < first, "loss did not fall: {first} → {last}");
    (report.test.accuracy, report.train.accuracy)
}

#[test]
fn real_data_subset_trains_well_above_chance_on_both_backends() {
    let (cpu_test, cpu_train) = train_subset(&mut CpuBackend::new(None).unwrap());
    let (gpu_test, gpu_train) = train_subset(&mut vulkan());
    // Chance is 10%; 3 000 images for 3 epochs reach about 75–80%.
    assert!(
        cpu_test > 0.7 && gpu_test > 0.7,
        "test accuracy CPU {cpu_test}, GPU {gpu_test}"
    );
    assert!(
        (cpu_test - gpu_test).abs() < 0.02,
        "CPU {cpu_test} vs GPU {gpu_test}"
    );
    assert!(cpu_train > 0.7 && gpu_train > 0.7);
}

/// Three epochs through the training loop with shuffling, `optimizer`, L1
/// and L2, a validation set and a partial last batch.
fn full_run(backend: &mut dyn Backend, optimizer: Optimizer) -> TrainReport {
    let all = synthetic(1201);
    let (train_set, validation) = split_validation(&all, 0.1, 3).unwrap();
    let test_set = synthetic(300);
    let config = TrainConfig {
        epochs: 3,
        hidden: 29,
        hyper: Hyper {
            lr: optimizer.default_lr(0.5),
            l1: 1e-4,
            l2: 1e-3,
            batch_size: 64,
            optimizer,
        },
        init_scale: 0.1,
        seed: 5,
        shuffle: true,
        lr_decay: 1.0,
    };
    let sets = Sets {
        train: &train_set,
        validation: Some(&validation),
        test: &test_set,
    };
    let control = Control {
        stop: None,
        on_epoch: &mut |_| {},
    };
    match run(backend, sets, &config, None, control).unwrap() {
        Outcome::Finished(report) => *report,
        other => panic!("the run did not finish: {other:?}"),
    }
}

#[test]
fn shuffled_momentum_and_adam_runs_match_between_gpu_and_cpu() {
    for optimizer in [Optimizer::MOMENTUM, Optimizer::ADAM] {
        let cpu = full_run(&mut CpuBackend::new(None).unwrap(), optimizer);
        let gpu = full_run(&mut vulkan(), optimizer);
        for (c, g) in cpu.epochs.iter().zip(&gpu.epochs) {
            let (lc, lg) = (c.stats.loss, g.stats.loss);
            assert!(
                (lc - lg).abs() <= 1e-4 * lc.max(1.0),
                "{}: epoch {} loss CPU {lc}, GPU {lg}",
                optimizer.name(),
                c.epoch
            );
        }
        assert_eq!(cpu.best.map(|b| b.0), gpu.best.map(|b| b.0));
        let diff = cpu.params.max_relative_difference(&gpu.params);
        assert!(
            diff < 1e-3,
            "{}: weights differ by {diff}",
            optimizer.name()
        );
        let (sc, sg) = (
            cpu.checkpoint.optimizer.as_ref().unwrap(),
            gpu.checkpoint.optimizer.as_ref().unwrap(),
        );
        assert_eq!(sc.step, sg.step);
        assert_eq!(sc.step, 3 * 1081usize.div_ceil(64) as u64);
        let diff = sc.m.max_relative_difference(&sg.m);
        assert!(
            diff < 1e-3,
            "{}: first moments differ by {diff}",
            optimizer.name()
        );
    }
}
