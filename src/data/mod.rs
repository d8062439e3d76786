//! Reading IDX files (raw or gzip), the data set, and per-pixel standardization.

mod dataset;
mod idx;
mod standardize;

pub use dataset::{
    find_data_dir, load_fashion_mnist, Dataset, FashionMnist, CLASS_NAMES, FASHION_MNIST_CLASSES,
    SYSTEM_DATA_DIR,
};
pub use idx::{
    idx_images_from_bytes, idx_labels_from_bytes, read_idx_images, read_idx_labels, IdxImages,
    IDX1_UBYTE_MAGIC, IDX3_UBYTE_MAGIC,
};
pub use standardize::{Standardizer, MIN_STD};
