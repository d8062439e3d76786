//! Interrupting a run and resuming it from the checkpoint file ends with the
//! same weights as the run that was never interrupted.

mod common;

use std::ops::Range;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::Result;
use common::vulkan;
use fashion_nn::backend::cpu::CpuBackend;
use fashion_nn::backend::{Backend, BackendInfo, BatchTally, Evaluation, Split};
use fashion_nn::data::{Dataset, Standardizer};
use fashion_nn::model::{Hyper, Optimizer, OptimizerState, Params};
use fashion_nn::train::{
    load_checkpoint, run, save_checkpoint, Checkpoint, Control, ModelLabels, Outcome, Sets,
    TrainConfig,
};

/// Forwards to `inner`, and raises `stop` once `calls` calls of
/// `train_batches` have run (as Ctrl-C would in the middle of an epoch).
struct StopAfter<'a> {
    inner: Box<dyn Backend>,
    calls: usize,
    stop: &'a AtomicBool,
}

impl Backend for StopAfter<'_> {
    fn info(&self) -> BackendInfo {
        self.inner.info()
    }
    fn upload(&mut self, split: Split, data: &Dataset, stats: &Standardizer) -> Result<()> {
        self.inner.upload(split, data, stats)
    }
    fn set_params(&mut self, params: &Params) -> Result<()> {
        self.inner.set_params(params)
    }
    fn params(&mut self) -> Result<Params> {
        self.inner.params()
    }
    fn images(&self, split: Split) -> usize {
        self.inner.images(split)
    }
    fn set_order(&mut self, order: Option<&[u32]>) -> Result<()> {
        self.inner.set_order(order)
    }
    fn train_batches(&mut self, hyper: &Hyper, batches: Range<usize>) -> Result<BatchTally> {
        let tally = self.inner.train_batches(hyper, batches)?;
        self.calls = self.calls.saturating_sub(1);
        if self.calls == 0 {
            self.stop.store(true, Ordering::SeqCst);
        }
        Ok(tally)
    }
    fn optimizer_state(&mut self) -> Result<Option<OptimizerState>> {
        self.inner.optimizer_state()
    }
    fn set_optimizer_state(&mut self, state: &OptimizerState) -> Result<()> {
        self.inner.set_optimizer_state(state)
    }
    fn evaluate(&mut self, split: Split) -> Result<Evaluation> {
        self.inner.evaluate(split)
    }
    fn prepare_training(&mut self, hyper: &Hyper) -> Result<()> {
        self.inner.prepare_training(hyper)
    }
}

/// 10 classes of 6×5 images with a class-dependent bright column.
fn synthetic(n: usize) -> Dataset {
    let d = 30;
    let mut pixels = vec![0u8; n * d];
    let mut labels = vec![0u8; n];
    for i in 0..n {
        let y = (i * 3 + i / 7) % 10;
        labels[i] = y as u8;
        for j in 0..d {
            let base = ((i * 37 + j * 11) % 89) as u8;
            pixels[i * d + j] = if j % 10 == y { 160 + base } else { base };
        }
    }
    Dataset {
        count: n,
        rows: 6,
        cols: 5,
        classes: 10,
        pixels,
        labels,
    }
}

fn config(optimizer: Optimizer) -> TrainConfig {
    TrainConfig {
        epochs: 3,
        hidden: 24,
        hyper: Hyper {
            lr: optimizer.default_lr(0.5),
            l1: 1e-5,
            l2: 1e-4,
            batch_size: 10,
            optimizer,
        },
        init_scale: 0.2,
        seed: 11,
        shuffle: true,
        lr_decay: 0.9,
    }
}

fn go(
    backend: &mut dyn Backend,
    data: &Dataset,
    config: &TrainConfig,
    start: Option<Checkpoint>,
    stop: Option<&AtomicBool>,
) -> Outcome {
    go_validated(backend, data, None, config, start, stop)
}

fn go_validated(
    backend: &mut dyn Backend,
    data: &Dataset,
    validation: Option<&Dataset>,
    config: &TrainConfig,
    start: Option<Checkpoint>,
    stop: Option<&AtomicBool>,
) -> Outcome {
    let sets = Sets {
        train: data,
        validation,
        test: data,
    };
    let control = Control {
        stop,
        on_epoch: &mut |_| {},
    };
    run(backend, sets, config, start, control).unwrap()
}

fn kind(outcome: &Outcome) -> &'static str {
    match outcome {
        Outcome::Finished(_) => "finished",
        Outcome::Interrupted { .. } => "interrupted",
        Outcome::Diverged { .. } => "diverged",
    }
}

fn finished_params(outcome: Outcome) -> Params {
    match outcome {
        Outcome::Finished(report) => report.params,
        other => panic!("expected a finished run, got a {} one", kind(&other)),
    }
}

/// Writes `checkpoint` to a file and reads it back, checking the round trip.
fn through_a_file(checkpoint: &Checkpoint, name: &str) -> Checkpoint {
    let dir = std::env::temp_dir().join(format!("fashion-nn-resume-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("run.checkpoint.safetensors");
    let labels = ModelLabels {
        rows: 6,
        cols: 5,
        class_names: (0..10).map(|c| c.to_string()).collect(),
        settings: vec![],
    };
    save_checkpoint(&file, checkpoint, &labels).unwrap();
    let (loaded, _) = load_checkpoint(&file).unwrap();
    assert_eq!(
        &loaded, checkpoint,
        "the checkpoint file does not round-trip"
    );
    let _ = std::fs::remove_dir_all(&dir);
    loaded
}

/// Interrupts a run after `calls` calls, writes and reads the checkpoint
/// file, resumes, and compares with the uninterrupted run.
fn check_resume(make: &dyn Fn() -> Box<dyn Backend>, optimizer: Optimizer, calls: usize) {
    let data = synthetic(455);
    let config = config(optimizer);
    let whole = finished_params(go(make().as_mut(), &data, &config, None, None));

    let stop = AtomicBool::new(false);
    let mut stopping = StopAfter {
        inner: make(),
        calls,
        stop: &stop,
    };
    let checkpoint = match go(&mut stopping, &data, &config, None, Some(&stop)) {
        Outcome::Interrupted { checkpoint, .. } => *checkpoint,
        other => panic!("expected an interrupted run, got a {} one", kind(&other)),
    };
    assert!(
        checkpoint.epochs_done < config.epochs,
        "the stop came after the last epoch"
    );
    let loaded = through_a_file(&checkpoint, &format!("{}-{calls}", optimizer.name()));

    let resumed = finished_params(go(make().as_mut(), &data, &config, Some(loaded), None));
    let diff = whole.max_relative_difference(&resumed);
    assert!(
        diff < 1e-6,
        "{} stopped after {calls} calls at epoch {} batch {}: resumed weights differ by {diff}",
        optimizer.name(),
        checkpoint.epochs_done,
        checkpoint.batches_done
    );
}

#[test]
fn cpu_runs_resumed_mid_epoch_end_with_the_uninterrupted_weights() {
    let cpu = || -> Box<dyn Backend> { Box::new(CpuBackend::new(None).unwrap()) };
    for optimizer in [Optimizer::Sgd, Optimizer::MOMENTUM, Optimizer::ADAM] {
        // The first call of a stoppable run covers 1/20 of an epoch, the
        // next ones about 0.5 s each (here: the rest of the epoch): 1 stops
        // inside epoch 1, 2 and 3 at the ends of epochs 1 and 2.
        for calls in [1, 2, 3] {
            check_resume(&cpu, optimizer, calls);
        }
    }
}

#[test]
fn gpu_runs_resumed_mid_epoch_end_with_the_uninterrupted_weights() {
    let gpu = || -> Box<dyn Backend> { Box::new(vulkan()) };
    for optimizer in [Optimizer::Sgd, Optimizer::ADAM] {
        check_resume(&gpu, optimizer, 1);
    }
}

/// With a validation set the run returns its best epoch's weights; a run
/// interrupted after that epoch and resumed from the checkpoint file must
/// return the same epoch and weights (the checkpoint carries the best).
#[test]
fn a_resumed_run_with_a_validation_set_keeps_the_best_epoch_from_before_the_stop() {
    let data = synthetic(455);
    let validation = synthetic(120);
    let mut config = config(Optimizer::Sgd);
    // A rate that grows each epoch: the first epochs are the best ones.
    config.epochs = 5;
    config.lr_decay = 3.0;
    let cpu = || -> Box<dyn Backend> { Box::new(CpuBackend::new(None).unwrap()) };
    let report = |outcome: Outcome| match outcome {
        Outcome::Finished(report) => report,
        other => panic!("expected a finished run, got a {} one", kind(&other)),
    };
    let whole = report(go_validated(
        cpu().as_mut(),
        &data,
        Some(&validation),
        &config,
        None,
        None,
    ));
    let (best_epoch, _) = whole.best.expect("a validation set gives a best epoch");

    let stop = AtomicBool::new(false);
    // Calls: 1/20 of epoch 1, then about 0.5 s each (here: the rest of the
    // epoch), so the stop comes at an epoch's end.
    let mut stopping = StopAfter {
        inner: cpu(),
        calls: 4,
        stop: &stop,
    };
    let checkpoint = match go_validated(
        &mut stopping,
        &data,
        Some(&validation),
        &config,
        None,
        Some(&stop),
    ) {
        Outcome::Interrupted { checkpoint, .. } => *checkpoint,
        other => panic!("expected an interrupted run, got a {} one", kind(&other)),
    };
    assert!(
        best_epoch <= checkpoint.epochs_done,
        "best epoch {best_epoch} comes after the stop at epoch {}: the test shows nothing",
        checkpoint.epochs_done
    );
    let loaded = through_a_file(&checkpoint, "best");
    assert_eq!(loaded.best.as_ref().map(|b| b.epoch), Some(best_epoch));

    let resumed = report(go_validated(
        cpu().as_mut(),
        &data,
        Some(&validation),
        &config,
        Some(loaded),
        None,
    ));
    assert_eq!(resumed.best.map(|b| b.0), Some(best_epoch));
    let diff = whole.params.max_relative_difference(&resumed.params);
    assert!(diff < 1e-6, "resumed best weights differ by {diff}");
}
