//! Saving and loading a trained model as safetensors (readable by NumPy and
//! PyTorch): the weights, the standardization statistics, and the image size,
//! class names and hyper-parameters as string metadata. Writes are atomic: a
//! temporary file in the same folder, synced, then renamed over the target.

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;

use anyhow::{bail, Context, Result};
use safetensors::tensor::{Dtype, SafeTensors, TensorView};

use super::{OptimizerState, Params, Shape};
use crate::data::Standardizer;

/// Temporary files of a save: this prefix and the process id.
const TEMP_PREFIX: &str = ".fashion-nn-save-";

/// The `format` metadata value this version writes and reads.
pub const FORMAT: &str = "fashion-nn/1";

/// Everything needed to classify an image later.
#[derive(Clone, Debug, PartialEq)]
pub struct SavedModel {
    pub params: Params,
    pub stats: Standardizer,
    pub rows: usize,
    pub cols: usize,
    pub class_names: Vec<String>,
    /// Free-form training settings (lr, epochs, …), kept as text.
    pub settings: Vec<(String, String)>,
}

fn f32_bytes(v: &[f32]) -> &[u8] {
    bytemuck::cast_slice(v)
}

/// The folder a file path lives in (`.` for a bare file name).
pub fn folder_of(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Writes `model` to `path` atomically: on any failure the previous file is
/// left whole.
/// How far the run that wrote a checkpoint got, and its optimizer's state:
/// what `--resume` needs to continue exactly where it stopped.
#[derive(Clone, Debug, PartialEq)]
pub struct TrainingState {
    /// Whole epochs finished.
    pub epochs_done: usize,
    /// Batches finished of the epoch after them.
    pub batches_done: usize,
    /// Moments and step count of a stateful rule.
    pub optimizer: Option<OptimizerState>,
    /// With a validation set: the best epoch so far, kept so a resumed run
    /// still returns it when no later epoch beats it.
    pub best: Option<BestEpoch>,
}

/// The epoch with the best validation accuracy so far, and its weights.
#[derive(Clone, Debug, PartialEq)]
pub struct BestEpoch {
    pub epoch: usize,
    pub accuracy: f64,
    pub params: Params,
}

/// Metadata keys of a [`TrainingState`].
const STATE_KEYS: [&str; 5] = [
    "epochs_done",
    "batches_done",
    "optimizer_step",
    "best_epoch",
    "best_validation_accuracy",
];

/// Writes `model` to `path` atomically (see [`save_with_state`]).
pub fn save(path: &Path, model: &SavedModel) -> Result<()> {
    save_with_state(path, model, None)
}

/// Writes `model`, and a run's `state` when given (a checkpoint), to `path`
/// atomically: a temporary file in the same folder, synced, then renamed
/// over `path`, so a crash leaves the previous file whole.
pub fn save_with_state(
    path: &Path,
    model: &SavedModel,
    state: Option<&TrainingState>,
) -> Result<()> {
    let s = model.params.shape;
    let std: Vec<f32> = model.stats.inv_std.iter().map(|v| 1.0 / v).collect();
    // The parameter arrays stored, each as `{prefix}w1` … `{prefix}b2`: the
    // weights, and in a checkpoint the moments and the best epoch's weights.
    let mut arrays: Vec<(&str, &Params)> = vec![("", &model.params)];
    let mut meta: HashMap<String, String> = model.settings.iter().cloned().collect();
    if let Some(state) = state {
        meta.insert("epochs_done".into(), state.epochs_done.to_string());
        meta.insert("batches_done".into(), state.batches_done.to_string());
        if let Some(o) = &state.optimizer {
            meta.insert("optimizer_step".into(), o.step.to_string());
            arrays.extend([("m_", &o.m), ("v_", &o.v)]);
        }
        if let Some(b) = &state.best {
            meta.insert("best_epoch".into(), b.epoch.to_string());
            meta.insert("best_validation_accuracy".into(), b.accuracy.to_string());
            arrays.push(("best_", &b.params));
        }
    }
    let mut tensors: Vec<(String, TensorView)> = Vec::new();
    for (prefix, p) in arrays {
        for (name, dims, values) in [
            ("w1", vec![s.hidden, s.inputs], &p.w1),
            ("b1", vec![s.hidden], &p.b1),
            ("w2", vec![s.classes, s.hidden], &p.w2),
            ("b2", vec![s.classes], &p.b2),
        ] {
            tensors.push((
                format!("{prefix}{name}"),
                TensorView::new(Dtype::F32, dims, f32_bytes(values))?,
            ));
        }
    }
    // 1/std exactly as trained with (1/(1/x) is not always x in f32).
    for (name, values) in [
        ("pixel_mean", &model.stats.mean),
        ("pixel_std", &std),
        ("pixel_inv_std", &model.stats.inv_std),
    ] {
        tensors.push((
            name.to_string(),
            TensorView::new(Dtype::F32, vec![s.inputs], f32_bytes(values))?,
        ));
    }
    meta.insert("format".into(), FORMAT.into());
    meta.insert("rows".into(), model.rows.to_string());
    meta.insert("cols".into(), model.cols.to_string());
    meta.insert(
        "class_names".into(),
        serde_json::to_string(&model.class_names)?,
    );
    let bytes =
        safetensors::serialize(tensors, Some(meta)).context("encoding the model as safetensors")?;

    // Through a symbolic link to the file it points at, not over the link.
    let resolved;
    let path = if path.is_symlink() {
        resolved = std::fs::canonicalize(path)
            .with_context(|| format!("{} is a link to a missing file", path.display()))?;
        resolved.as_path()
    } else {
        path
    };
    let dir = folder_of(path);
    if path.file_name().is_none() {
        bail!("{} is not a file path", path.display());
    }
    // A short temporary name: the target's own may already be near the
    // 255-byte limit.
    crate::temp_files::remove_abandoned(dir, TEMP_PREFIX);
    let tmp = crate::temp_files::temp_path(dir, TEMP_PREFIX);
    let _in_flight = crate::interrupt::writing(&tmp);
    let write = || -> Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(&bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)?;
        Ok(())
    };
    if let Err(e) = write() {
        let _ = std::fs::remove_file(&tmp);
        let what = if state.is_some() {
            "checkpoint"
        } else {
            "model"
        };
        return Err(e).with_context(|| format!("writing the {what} to {}", path.display()));
    }
    Ok(())
}

fn tensor(st: &SafeTensors, path: &Path, name: &str, shape: &[usize]) -> Result<Vec<f32>> {
    let t = st.tensor(name).with_context(|| {
        format!(
            "{}: no tensor `{name}`; is this a fashion-nn model?",
            path.display()
        )
    })?;
    if t.dtype() != Dtype::F32 || t.shape() != shape {
        bail!(
            "{}: tensor `{name}` is {:?} {:?}, expected F32 {:?}; the file does not match its own metadata",
            path.display(),
            t.dtype(),
            t.shape(),
            shape
        );
    }
    Ok(bytemuck::pod_collect_to_vec(t.data()))
}

/// Whether the file at `path` is a fashion-nn model or checkpoint (its
/// safetensors header carries our `format`); reads only the header.
pub fn is_model_file(path: &Path) -> bool {
    use std::io::Read;
    let header = || -> Option<serde_json::Value> {
        let mut f = std::fs::File::open(path).ok()?;
        let mut len = [0u8; 8];
        f.read_exact(&mut len).ok()?;
        let len = u64::from_le_bytes(len);
        // safetensors caps its header at 100 MB.
        if len > 100_000_000 {
            return None;
        }
        let mut text = vec![0u8; len as usize];
        f.read_exact(&mut text).ok()?;
        serde_json::from_slice(&text).ok()
    };
    header().is_some_and(|h| h["__metadata__"]["format"] == FORMAT)
}

/// The four parameter arrays stored as `{prefix}w1` … `{prefix}b2` (the
/// weights with no prefix, the moments as `m_`/`v_`, the best epoch's as
/// `best_`), each checked for its shape and for NaN or infinity.
fn params_named(st: &SafeTensors, path: &Path, shape: Shape, prefix: &str) -> Result<Params> {
    let (h, d, c) = (shape.hidden, shape.inputs, shape.classes);
    let read = |name: &str, dims: &[usize]| -> Result<Vec<f32>> {
        let name = format!("{prefix}{name}");
        let values = tensor(st, path, &name, dims)?;
        refuse_non_finite(path, &name, &values)?;
        Ok(values)
    };
    Ok(Params {
        shape,
        w1: read("w1", &[h, d])?,
        b1: read("b1", &[h])?,
        w2: read("w2", &[c, h])?,
        b2: read("b2", &[c])?,
    })
}

/// Refuses a tensor with a NaN or an infinity: such weights classify every
/// image alike and train no further.
fn refuse_non_finite(path: &Path, name: &str, values: &[f32]) -> Result<()> {
    if let Some(i) = values.iter().position(|v| !v.is_finite()) {
        bail!(
            "{}: tensor `{name}` holds {} at index {i}; the file is damaged or was saved from a run that diverged \
             (train again, or resume from an earlier checkpoint)",
            path.display(),
            values[i]
        );
    }
    Ok(())
}

/// The metadata `class_names`: a JSON list of one non-empty name a class.
fn class_names_of(path: &Path, text: &str, classes: usize) -> Result<Vec<String>> {
    let names: Vec<String> = serde_json::from_str(text).with_context(|| {
        format!(
            "{}: metadata `class_names` is not a JSON list of names",
            path.display()
        )
    })?;
    if names.len() != classes {
        bail!(
            "{}: metadata `class_names` names {} classes but the model has {classes}",
            path.display(),
            names.len()
        );
    }
    if let Some((c, problem)) = crate::data::class_name_problem(&names) {
        bail!(
            "{}: metadata `class_names`: the name of class {c} {problem}",
            path.display()
        );
    }
    Ok(names)
}

/// Reads a model written by [`save`], checking every tensor's type and shape.
pub fn load(path: &Path) -> Result<SavedModel> {
    let bytes = read_model_file(path)?;
    load_bytes(&bytes, path)
}

/// The bytes of a model file; a folder, device or pipe is refused before it
/// is opened (reading a pipe would wait for a writer).
fn read_model_file(path: &Path) -> Result<Vec<u8>> {
    let meta =
        std::fs::metadata(path).with_context(|| format!("reading the model {}", path.display()))?;
    if !meta.is_file() {
        bail!(
            "{} is {}, not a model file; give the .safetensors file written by --save",
            path.display(),
            if meta.is_dir() {
                "a folder"
            } else {
                "a device, pipe or socket"
            }
        );
    }
    std::fs::read(path).with_context(|| format!("reading the model {}", path.display()))
}

/// [`load`] of a model file already in memory; `path` stands for the file in
/// error messages.
pub fn load_bytes(bytes: &[u8], path: &Path) -> Result<SavedModel> {
    let st = SafeTensors::deserialize(bytes).with_context(|| {
        format!(
            "{} is not a safetensors file (or is damaged)",
            path.display()
        )
    })?;
    let (_, header) = SafeTensors::read_metadata(bytes).with_context(|| {
        format!(
            "{} is not a safetensors file (or is damaged)",
            path.display()
        )
    })?;
    let meta = header.metadata().clone().unwrap_or_default();
    if meta.get("format").map(String::as_str) != Some(FORMAT) {
        bail!(
            "{} is a safetensors file but not a fashion-nn model (metadata `format` is not `{FORMAT}`)",
            path.display()
        );
    }
    let number = |key: &str| -> Result<usize> {
        meta.get(key)
            .and_then(|v| v.parse().ok())
            .filter(|&v| v > 0)
            .with_context(|| {
                format!(
                    "{}: metadata `{key}` is missing or not a positive number",
                    path.display()
                )
            })
    };
    let (rows, cols) = (number("rows")?, number("cols")?);
    let w1 = st
        .tensor("w1")
        .with_context(|| format!("{}: no tensor `w1`", path.display()))?;
    let (hidden, inputs) = match w1.shape() {
        [h, d] => (*h, *d),
        other => bail!(
            "{}: tensor `w1` has shape {other:?}, expected [hidden, pixels]",
            path.display()
        ),
    };
    // checked: both come from the file, and their product may overflow.
    if rows.checked_mul(cols) != Some(inputs) {
        bail!(
            "{}: `w1` takes {inputs} pixels but the images are {rows}x{cols}",
            path.display()
        );
    }
    let classes = match st.tensor("b2").map(|t| t.shape().to_vec()) {
        Ok(s) if s.len() == 1 && s[0] > 0 => s[0],
        _ => bail!("{}: tensor `b2` is missing or not a vector", path.display()),
    };
    let shape = Shape {
        inputs,
        hidden,
        classes,
    };
    let params = params_named(&st, path, shape, "")?;
    let mean = tensor(&st, path, "pixel_mean", &[inputs])?;
    refuse_non_finite(path, "pixel_mean", &mean)?;
    let std = tensor(&st, path, "pixel_std", &[inputs])?;
    if std.iter().any(|s| !(s.is_finite() && *s > 0.0)) {
        bail!(
            "{}: `pixel_std` holds a value that is not a positive number",
            path.display()
        );
    }
    let class_names = match meta.get("class_names") {
        None => crate::data::default_class_names(classes, rows, cols),
        Some(text) => class_names_of(path, text, classes)?,
    };
    let mut settings: Vec<(String, String)> = meta
        .into_iter()
        .filter(|(k, _)| !matches!(k.as_str(), "format" | "rows" | "cols" | "class_names"))
        .filter(|(k, _)| !STATE_KEYS.contains(&k.as_str()))
        .collect();
    settings.sort();
    let inv_std = match st.tensor("pixel_inv_std") {
        Ok(_) => tensor(&st, path, "pixel_inv_std", &[inputs])?,
        Err(_) => std.iter().map(|s| 1.0 / s).collect(),
    };
    if inv_std.iter().any(|s| !(s.is_finite() && *s > 0.0)) {
        bail!(
            "{}: `pixel_inv_std` holds a value that is not a positive number",
            path.display()
        );
    }
    Ok(SavedModel {
        params,
        stats: Standardizer { mean, inv_std },
        rows,
        cols,
        class_names,
        settings,
    })
}

/// A model file with the training state a checkpoint written by
/// [`save_with_state`] carries (`None` for a model saved at the end of a run
/// without one), from one read of the file.
pub fn load_with_state(path: &Path) -> Result<(SavedModel, Option<TrainingState>)> {
    let bytes = read_model_file(path)?;
    let model = load_bytes(&bytes, path)?;
    // load_bytes has parsed the same bytes: these cannot fail now.
    let st = SafeTensors::deserialize(&bytes)
        .with_context(|| format!("{} is not a safetensors file", path.display()))?;
    let (_, header) = SafeTensors::read_metadata(&bytes)
        .with_context(|| format!("{} is not a safetensors file", path.display()))?;
    let meta = header.metadata().clone().unwrap_or_default();
    let number = |key: &str| -> Result<Option<u64>> {
        match meta.get(key) {
            None => Ok(None),
            Some(v) => v.parse().map(Some).with_context(|| {
                format!("{}: metadata `{key}` is not a whole number", path.display())
            }),
        }
    };
    let Some(epochs_done) = number("epochs_done")? else {
        return Ok((model, None));
    };
    let batches_done = number("batches_done")?.unwrap_or(0);
    let shape = model.params.shape;
    let optimizer = match number("optimizer_step")? {
        None => None,
        Some(step) => Some(OptimizerState {
            step,
            m: params_named(&st, path, shape, "m_")?,
            v: params_named(&st, path, shape, "v_")?,
        }),
    };
    let best = match number("best_epoch")? {
        None => None,
        Some(epoch) => {
            let accuracy = meta
                .get("best_validation_accuracy")
                .and_then(|v| v.parse::<f64>().ok())
                .filter(|a| (0.0..=1.0).contains(a))
                .with_context(|| {
                    format!(
                        "{}: metadata `best_validation_accuracy` is missing or not a fraction",
                        path.display()
                    )
                })?;
            Some(BestEpoch {
                epoch: epoch as usize,
                accuracy,
                params: params_named(&st, path, shape, "best_")?,
            })
        }
    };
    let state = TrainingState {
        epochs_done: epochs_done as usize,
        batches_done: batches_done as usize,
        optimizer,
        best,
    };
    Ok((model, Some(state)))
}
