//! The network's parameters, the hyper-parameters that train them, and the
//! model file.

mod file;
mod hyper;
mod params;
mod predict;

pub use file::{folder_of, load, load_bytes, save, SavedModel, FORMAT};
pub use hyper::{Hyper, Preset};
pub use params::{Params, Shape};
pub use predict::{ascii_art, predict_proba, top_classes};
