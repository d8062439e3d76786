//! The network's parameters, the hyper-parameters that train them, and the
//! model file.

mod file;
mod hyper;
mod optimizer;
mod params;
mod predict;

pub use file::{
    folder_of, is_model_file, load, load_bytes, load_with_state, save, save_with_state, BestEpoch,
    SavedModel, TrainingState, FORMAT,
};
pub use hyper::{readable, Hyper, Preset};
pub use optimizer::{Optimizer, OptimizerState};
pub use params::{Params, Shape};
pub use predict::{ascii_art, predict_proba, top_classes};
