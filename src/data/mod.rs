//! Reading IDX files (raw or gzip), the data set, per-pixel standardization,
//! and pictures brought to the data set's form.

mod dataset;
mod idx;
mod picture;
mod split;
mod standardize;

pub use dataset::{
    class_name_problem, default_class_names, find_data_dir, load_data, load_fashion_mnist,
    load_test_set, read_class_names, Dataset, FashionMnist, CLASS_NAMES, CLASS_NAMES_FILE,
    FASHION_MNIST_CLASSES, SYSTEM_DATA_DIR,
};
pub use idx::{
    idx_images_from_bytes, idx_labels_from_bytes, read_idx_images, read_idx_labels, IdxImages,
    IDX1_UBYTE_MAGIC, IDX3_UBYTE_MAGIC,
};
pub use picture::{load_picture, prepare_picture, read_picture, PreparedPicture, GARMENT_LEVEL};
pub use split::split_validation;
pub use standardize::{Standardizer, MIN_STD};
