//! Reading IDX files (raw or gzip), the data set, and per-pixel standardization.

mod dataset;
mod idx;
mod standardize;

pub use dataset::{find_data_dir, load_fashion_mnist, Dataset, FashionMnist, CLASS_NAMES};
pub use idx::{read_idx_images, read_idx_labels, IdxImages};
pub use standardize::Standardizer;
