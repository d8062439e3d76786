//! `train --report DIR`: what a person would rather look at than read. The
//! learning curve and the confusion matrix as SVG charts (plotters' SVG
//! backend writes text as `<text>`, so no fonts are needed), a grid of test
//! images with their predicted and true classes, and `metrics.json`.
//!
//! Every file is written to a temporary name in DIR and renamed into place,
//! so a failed report leaves no half-written file.

mod charts;
mod samples;

pub use charts::{confusion_svg, learning_curve_svg};
pub use samples::samples_svg;

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::Serialize;

use crate::data::Dataset;
use crate::train::{class_metrics, confusion_matrix, TrainReport};

/// The files a report holds, in the order they are written.
pub const REPORT_FILES: [&str; 4] = [
    "metrics.json",
    "learning_curve.svg",
    "confusion_matrix.svg",
    "test_samples.svg",
];

/// Rows and columns of test images in `test_samples.svg`.
pub const SAMPLE_GRID: usize = 8;

/// Creates `dir` when needed and checks that a file can be written in it,
/// before any training: a folder that cannot be created or written is an
/// error naming it. Leaves nothing behind but the folder.
pub fn check_report_dir(dir: &Path) -> Result<()> {
    if dir.exists() && !dir.is_dir() {
        bail!(
            "--report {}: is a file, not a folder; give a folder for the report",
            dir.display()
        );
    }
    if let Err(e) = std::fs::create_dir_all(dir) {
        bail!(
            "--report {}: the folder cannot be created ({e}); give a folder you can write",
            dir.display()
        );
    }
    let probe = dir.join(format!(".fashion-nn-write-test-{}", std::process::id()));
    if let Err(e) = std::fs::write(&probe, b"") {
        bail!(
            "--report {}: cannot write in the folder ({e}); give a folder you can write",
            dir.display()
        );
    }
    let _ = std::fs::remove_file(&probe);
    for name in REPORT_FILES {
        let path = dir.join(name);
        if path.exists() && !path.is_file() {
            bail!(
                "--report {}: {} is in the way (a folder or special file where the report writes {name}); \
                 move it, or give another folder",
                dir.display(),
                path.display()
            );
        }
    }
    Ok(())
}

/// Writes the files `(name, bytes)` into `dir` all or none: each to a
/// temporary file first (synced), and only when every one is whole are they
/// renamed over their targets, so a full disk leaves the previous report as
/// it was, not half old and half new.
pub fn write_all_or_none(dir: &Path, files: &[(&str, &[u8])]) -> Result<Vec<PathBuf>> {
    let temps: Vec<PathBuf> = files
        .iter()
        .map(|(name, _)| crate::temp_files::temp_path(dir, &format!(".{name}.tmp-")))
        .collect();
    let _in_flight: Vec<_> = temps.iter().map(|t| crate::interrupt::writing(t)).collect();
    let remove_temps = || {
        for t in &temps {
            let _ = std::fs::remove_file(t);
        }
    };
    for ((name, bytes), tmp) in files.iter().zip(&temps) {
        crate::temp_files::remove_abandoned(dir, &format!(".{name}.tmp-"));
        let write = || -> std::io::Result<()> {
            let mut f = std::fs::File::create(tmp)?;
            f.write_all(bytes)?;
            f.sync_all()
        };
        if let Err(e) = write() {
            remove_temps();
            return Err(e).with_context(|| {
                format!(
                    "writing the report file {} (the previous report, if any, is left as it was)",
                    dir.join(name).display()
                )
            });
        }
    }
    let mut written = Vec::new();
    for ((name, _), tmp) in files.iter().zip(&temps) {
        let path = dir.join(name);
        if let Err(e) = std::fs::rename(tmp, &path) {
            remove_temps();
            return Err(e).with_context(|| format!("writing the report file {}", path.display()));
        }
        written.push(path);
    }
    Ok(written)
}

/// One epoch in `metrics.json`.
#[derive(Serialize)]
struct EpochJson {
    epoch: usize,
    loss: f64,
    train_accuracy: f64,
    test_loss: f64,
    test_accuracy: f64,
    seconds: f64,
}

/// One class in `metrics.json`.
#[derive(Serialize)]
struct ClassJson<'a> {
    name: &'a str,
    precision: f64,
    recall: f64,
    f1: f64,
    support: usize,
}

/// `metrics.json`.
#[derive(Serialize)]
struct MetricsJson<'a> {
    backend: &'a str,
    adapter: &'a str,
    epochs: Vec<EpochJson>,
    train_accuracy: f64,
    test_accuracy: f64,
    test_loss: f64,
    class_names: &'a [String],
    classes: Vec<ClassJson<'a>>,
    /// confusion[true class][predicted class].
    confusion: Vec<Vec<usize>>,
}

/// Writes the report of a finished run into `dir` (checked beforehand with
/// [`check_report_dir`]): the final test evaluation of `report` against the
/// labels of `test`, named by `class_names`. Returns the paths written.
pub fn write_report(
    dir: &Path,
    report: &TrainReport,
    test: &Dataset,
    class_names: &[String],
) -> Result<Vec<PathBuf>> {
    let classes = class_names.len();
    let confusion = confusion_matrix(&test.labels, &report.test.predictions, classes);
    let metrics = class_metrics(&confusion);
    let json = MetricsJson {
        backend: &report.backend.backend,
        adapter: &report.backend.adapter,
        epochs: report
            .epochs
            .iter()
            .map(|e| EpochJson {
                epoch: e.epoch,
                loss: e.stats.loss,
                train_accuracy: e.stats.accuracy,
                test_loss: e.test.loss,
                test_accuracy: e.test.accuracy,
                seconds: e.seconds,
            })
            .collect(),
        train_accuracy: report.train.accuracy,
        test_accuracy: report.test.accuracy,
        test_loss: report.test.loss,
        class_names,
        classes: class_names
            .iter()
            .zip(&metrics)
            .map(|(name, m)| ClassJson {
                name,
                precision: m.precision,
                recall: m.recall,
                f1: m.f1,
                support: m.support,
            })
            .collect(),
        confusion: confusion.clone(),
    };
    let mut text = serde_json::to_string_pretty(&json)?;
    text.push('\n');
    let curve = learning_curve_svg(&report.epochs)?;
    let heat = confusion_svg(&confusion, class_names)?;
    let shown = test.count.min(SAMPLE_GRID * SAMPLE_GRID);
    let grid = samples_svg(
        test,
        &report.test.predictions,
        class_names,
        shown,
        SAMPLE_GRID,
    )?;
    let files: Vec<(&str, &[u8])> = REPORT_FILES
        .iter()
        .copied()
        .zip([
            text.as_bytes(),
            curve.as_bytes(),
            heat.as_bytes(),
            grid.as_bytes(),
        ])
        .collect();
    write_all_or_none(dir, &files)
}
