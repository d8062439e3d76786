//! A run's [`Checkpoint`] in the model file: the model as `--save` writes it,
//! plus the position and the optimizer's moments, so `--resume` continues
//! exactly where the run stopped.

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};

use super::Checkpoint;
use crate::model::{load_with_state, save_with_state, SavedModel, TrainingState};

/// What a model file says about the data besides the numbers.
#[derive(Clone, Debug)]
pub struct ModelLabels {
    pub rows: usize,
    pub cols: usize,
    pub class_names: Vec<String>,
    pub settings: Vec<(String, String)>,
}

/// Writes `checkpoint` to `path` atomically.
pub fn save_checkpoint(path: &Path, checkpoint: &Checkpoint, labels: &ModelLabels) -> Result<()> {
    let model = SavedModel {
        params: checkpoint.params.clone(),
        stats: checkpoint.stats.clone(),
        rows: labels.rows,
        cols: labels.cols,
        class_names: labels.class_names.clone(),
        settings: labels.settings.clone(),
    };
    let state = TrainingState {
        epochs_done: checkpoint.epochs_done,
        batches_done: checkpoint.batches_done,
        optimizer: checkpoint.optimizer.clone(),
        best: checkpoint.best.clone(),
    };
    save_with_state(path, &model, Some(&state))
}

/// Reads a model file to continue training from: a checkpoint continues
/// where it stopped; a model without a training state starts at epoch 1
/// from its weights and statistics.
pub fn load_checkpoint(path: &Path) -> Result<(Checkpoint, SavedModel)> {
    if path.is_dir() {
        bail!(
            "--resume {}: is a folder; give the checkpoint or model file in it",
            path.display()
        );
    }
    if path.exists() && !path.is_file() {
        bail!(
            "--resume {}: is a device, pipe or socket, not a file; give a model or checkpoint file",
            path.display()
        );
    }
    if !path.is_file() {
        bail!(
            "--resume {}: no such file; give a model or checkpoint written by `train --save` or by an interrupted run",
            path.display()
        );
    }
    let (model, state) = load_with_state(path)?;
    let (epochs_done, batches_done, optimizer, best) = match state {
        Some(s) => (s.epochs_done, s.batches_done, s.optimizer, s.best),
        None => (0, 0, None, None),
    };
    Ok((
        Checkpoint {
            params: model.params.clone(),
            optimizer,
            stats: model.stats.clone(),
            epochs_done,
            batches_done,
            best,
        },
        model,
    ))
}

/// Where an interrupted run writes its checkpoint: `--checkpoint`, else next
/// to `--save` (`model.safetensors` → `model.checkpoint.safetensors`), else
/// `fashion-nn-checkpoint.safetensors` in the current folder.
pub fn checkpoint_path(explicit: Option<&Path>, save: Option<&Path>) -> PathBuf {
    match explicit {
        Some(path) => path.to_path_buf(),
        None => beside_save(save, "checkpoint"),
    }
}

/// `NAME.KIND.safetensors` next to the `--save` file NAME.safetensors, else
/// `fashion-nn-KIND.safetensors` in the current folder.
pub fn beside_save(save: Option<&Path>, kind: &str) -> PathBuf {
    match save {
        Some(save) => {
            let stem = save
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| "model".into());
            save.with_file_name(format!("{stem}.{kind}.safetensors"))
        }
        None => PathBuf::from(format!("fashion-nn-{kind}.safetensors")),
    }
}
