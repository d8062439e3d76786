//! Reading IDX files (raw or gzip), the data set, and per-pixel standardization.

mod dataset;
mod idx;
mod split;
mod standardize;

pub use dataset::{
    find_data_dir, load_fashion_mnist, Dataset, FashionMnist, CLASS_NAMES, FASHION_MNIST_CLASSES,
    SYSTEM_DATA_DIR,
};
pub use idx::{read_idx_images, read_idx_labels, IdxImages, IDX1_UBYTE_MAGIC, IDX3_UBYTE_MAGIC};
pub use split::split_validation;
pub use standardize::{Standardizer, MIN_STD};
