//! The labelled image sets and where to find them on disk.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use super::idx::{read_idx_images, read_idx_labels, IdxImages};

/// Number of classes in Fashion-MNIST (labels 0..10).
pub const FASHION_MNIST_CLASSES: usize = 10;

/// The file in a data folder that names the classes, one per line, line 1
/// naming label 0. Optional; `--labels FILE` names another file.
pub const CLASS_NAMES_FILE: &str = "class_names.txt";

/// The directory the `dataset-fashion-mnist` package installs to.
pub const SYSTEM_DATA_DIR: &str = "/usr/share/datasets/fashion-mnist";

/// How to get the files, appended to every "not found" error.
const HOW_TO_GET: &str = "install them with `sudo apt-get install dataset-fashion-mnist` \
(files land in /usr/share/datasets/fashion-mnist), or pass --data DIR / set FASHION_MNIST_DIR \
to a folder holding train-images-idx3-ubyte(.gz), train-labels-idx1-ubyte(.gz), \
t10k-images-idx3-ubyte(.gz), t10k-labels-idx1-ubyte(.gz)";

/// Fashion-MNIST's class names, by label.
pub const CLASS_NAMES: [&str; 10] = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
];

/// `count` images of `rows`×`cols` u8 pixels, row-major, one after another, and
/// one label in 0..`classes` for each.
#[derive(Clone, Debug, PartialEq)]
pub struct Dataset {
    pub count: usize,
    pub rows: usize,
    pub cols: usize,
    pub classes: usize,
    pub pixels: Vec<u8>,
    pub labels: Vec<u8>,
}

impl Dataset {
    /// Pixels per image, D = rows × cols.
    pub fn pixels_per_image(&self) -> usize {
        self.rows * self.cols
    }

    /// Builds a data set from an image file's contents and its labels,
    /// checking that there is one label per image and every label is in
    /// 0..`classes`. The paths only name the files in error messages.
    pub fn from_idx(
        images: IdxImages,
        labels: Vec<u8>,
        classes: usize,
        images_path: &Path,
        labels_path: &Path,
    ) -> Result<Dataset> {
        if classes == 0 || classes > 256 {
            bail!("{classes} classes requested; u8 labels allow 1 to 256");
        }
        if images.count != labels.len() {
            bail!(
                "{} holds {} images but {} holds {} labels; \
                 the two files must come from the same set (one label per image)",
                images_path.display(),
                images.count,
                labels_path.display(),
                labels.len()
            );
        }
        debug_assert_eq!(
            images.pixels.len(),
            images.count * images.rows * images.cols
        );
        if let Some((i, &y)) = labels
            .iter()
            .enumerate()
            .find(|&(_, &y)| usize::from(y) >= classes)
        {
            bail!(
                "{}: label {i} is {y}, but there are {classes} classes (labels 0 to {}); \
                 the file is damaged or belongs to another data set",
                labels_path.display(),
                classes - 1
            );
        }
        Ok(Dataset {
            count: images.count,
            rows: images.rows,
            cols: images.cols,
            classes,
            pixels: images.pixels,
            labels,
        })
    }

    /// The D pixels of image `i`, row-major. Panics when `i` ≥ count.
    pub fn image(&self, i: usize) -> &[u8] {
        assert!(i < self.count, "image {i} of a set of {}", self.count);
        let d = self.pixels_per_image();
        &self.pixels[i * d..(i + 1) * d]
    }

    /// The first `n` images (all of them when `n` ≥ count).
    pub fn take(&self, n: usize) -> Dataset {
        let count = n.min(self.count);
        Dataset {
            count,
            rows: self.rows,
            cols: self.cols,
            classes: self.classes,
            pixels: self.pixels[..count * self.pixels_per_image()].to_vec(),
            labels: self.labels[..count].to_vec(),
        }
    }
}

/// The training and test sets of one directory.
#[derive(Clone, Debug)]
pub struct FashionMnist {
    pub dir: PathBuf,
    pub train: Dataset,
    pub test: Dataset,
    /// One name per class: from the class-names file when there is one,
    /// Fashion-MNIST's names for 10 classes of 28×28 without one, else
    /// "0", "1", ….
    pub class_names: Vec<String>,
}

/// Where to look for the data: the flag, then `$FASHION_MNIST_DIR` (when set
/// and not empty), then `./data` (when it is a directory), then
/// `/usr/share/datasets/fashion-mnist`. Does not check that the result exists;
/// [`load_fashion_mnist`] says what is missing.
pub fn find_data_dir(flag: Option<&Path>) -> PathBuf {
    if let Some(dir) = flag {
        return dir.to_path_buf();
    }
    if let Some(dir) = std::env::var_os("FASHION_MNIST_DIR") {
        if !dir.is_empty() {
            return PathBuf::from(dir);
        }
    }
    let local = Path::new("data");
    if local.is_dir() {
        return local.to_path_buf();
    }
    PathBuf::from(SYSTEM_DATA_DIR)
}

/// The four file names (without `.gz`) of a Fashion-MNIST directory.
const TRAIN_IMAGES: &str = "train-images-idx3-ubyte";
const TRAIN_LABELS: &str = "train-labels-idx1-ubyte";
const TEST_IMAGES: &str = "t10k-images-idx3-ubyte";
const TEST_LABELS: &str = "t10k-labels-idx1-ubyte";

/// The path of `name` in `dir`: `name.gz` when it exists, else `name` when it
/// exists, else `None`.
fn find_file(dir: &Path, name: &str) -> Option<PathBuf> {
    let gz = dir.join(format!("{name}.gz"));
    if gz.is_file() {
        return Some(gz);
    }
    let raw = dir.join(name);
    raw.is_file().then_some(raw)
}

/// Reads a class-names file: one name per line, line 1 naming label 0;
/// surrounding spaces and trailing empty lines are ignored.
pub fn read_class_names(path: &Path) -> Result<Vec<String>> {
    let text = std::fs::read_to_string(path).with_context(|| {
        format!(
            "reading the class names {} (one name per line, line 1 for label 0)",
            path.display()
        )
    })?;
    // A byte-order mark some editors write is not part of the first name.
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let mut names: Vec<String> = text.lines().map(|l| l.trim().to_string()).collect();
    while names.last().is_some_and(|n| n.is_empty()) {
        names.pop();
    }
    if names.is_empty() {
        bail!(
            "{} names no classes; write one class name per line, line 1 for label 0",
            path.display()
        );
    }
    if let Some((i, problem)) = class_name_problem(&names) {
        bail!(
            "{}: line {} {problem}; write one class name per line, line 1 for label 0",
            path.display(),
            i + 1
        );
    }
    Ok(names)
}

/// The first class name that cannot name a class, and why: empty, holding a
/// control character (a line break would break the tables), or repeating an
/// earlier one (two classes would read alike).
pub fn class_name_problem(names: &[String]) -> Option<(usize, String)> {
    for (i, name) in names.iter().enumerate() {
        if name.trim().is_empty() {
            return Some((i, "is empty".into()));
        }
        if name.chars().any(char::is_control) {
            return Some((i, format!("{name:?} holds a control character")));
        }
        if let Some(j) = names[..i].iter().position(|n| n == name) {
            return Some((i, format!("repeats the name of label {j} ({name:?})")));
        }
    }
    None
}

/// The names used when no class-names file exists: Fashion-MNIST's for 10
/// classes of 28×28 images, the label numbers otherwise.
pub fn default_class_names(classes: usize, rows: usize, cols: usize) -> Vec<String> {
    if classes == CLASS_NAMES.len() && (rows, cols) == (28, 28) {
        CLASS_NAMES.iter().map(|s| s.to_string()).collect()
    } else {
        (0..classes).map(|c| c.to_string()).collect()
    }
}

/// Reads only the test set of `dir` (`t10k-*`, `.gz` or raw): what `eval`
/// and `predict --index` need, since a saved model carries its own
/// standardization. Its `classes` is the largest label + 1; the caller
/// checks that against the model's.
pub fn load_test_set(dir: &Path) -> Result<Dataset> {
    let [images, labels] = find_files(dir, [TEST_IMAGES, TEST_LABELS])?;
    let idx = read_idx_images(&images)?;
    let y = read_idx_labels(&labels)?;
    let used = usize::from(y.iter().copied().max().unwrap_or(0)) + 1;
    Dataset::from_idx(idx, y, used, &images, &labels)
}

/// The paths of the IDX files `names` in `dir` (each `.gz` or raw); an error
/// naming the directory and every missing file otherwise.
fn find_files<const N: usize>(dir: &Path, names: [&str; N]) -> Result<[PathBuf; N]> {
    if !dir.is_dir() {
        bail!(
            "the Fashion-MNIST directory {} does not exist (or is not a directory); {HOW_TO_GET}",
            dir.display()
        );
    }
    let found = names.map(|name| find_file(dir, name));
    let missing: Vec<String> = names
        .iter()
        .zip(&found)
        .filter(|(_, path)| path.is_none())
        .map(|(name, _)| format!("{name}(.gz)"))
        .collect();
    if !missing.is_empty() {
        bail!(
            "the Fashion-MNIST directory {} lacks {}; {HOW_TO_GET}",
            dir.display(),
            missing.join(", ")
        );
    }
    // invariant: every entry is Some, checked just above.
    Ok(found.map(|path| path.expect("checked above"))) // invariant: all Some
}

/// Reads the four IDX files of `dir` with the class names of its
/// `class_names.txt`, if any; see [`load_data`].
pub fn load_fashion_mnist(dir: &Path) -> Result<FashionMnist> {
    load_data(dir, None)
}

/// Reads the four IDX files of `dir` (each `.gz` or raw, `.gz` preferred when
/// both exist): the training set (`train-*`) and the test set (`t10k-*`).
/// The classes are named by `names_file`, else by `dir/class_names.txt` when
/// it exists; a names file must name exactly as many classes as the training
/// labels use (0 to the largest). Without one, the number of classes is the
/// largest training label + 1 and the names come from
/// [`default_class_names`]. Errors name the directory and any missing file
/// and say how to get them; the training set must not be empty, every test
/// label must be a training class, and both sets must have the same image
/// size.
pub fn load_data(dir: &Path, names_file: Option<&Path>) -> Result<FashionMnist> {
    let [train_images, train_labels, test_images, test_labels] =
        find_files(dir, [TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS])?;
    let train_idx = read_idx_images(&train_images)?;
    let train_y = read_idx_labels(&train_labels)?;
    let test_idx = read_idx_images(&test_images)?;
    let test_y = read_idx_labels(&test_labels)?;
    if train_idx.count == 0 {
        bail!(
            "{} holds no images; download or install the data set again",
            train_images.display()
        );
    }
    // The classes the training labels use: 0 to the largest label.
    let used = usize::from(train_y.iter().copied().max().unwrap_or(0)) + 1;
    let in_folder = dir.join(CLASS_NAMES_FILE);
    let names_path = names_file
        .map(Path::to_path_buf)
        .or_else(|| in_folder.is_file().then_some(in_folder));
    let names = names_path
        .as_deref()
        .map(|path| {
            let names = read_class_names(path)?;
            if names.len() != used {
                bail!(
                    "{} names {} classes (one per line), but the labels of {} run from 0 to {} \
                     ({used} classes); write exactly {used} names, line 1 for label 0",
                    path.display(),
                    names.len(),
                    train_labels.display(),
                    used - 1
                );
            }
            Ok(names)
        })
        .transpose()?;
    if used < 2 {
        bail!(
            "{}: every label is 0; a classifier needs at least 2 classes",
            train_labels.display()
        );
    }
    let train = Dataset::from_idx(train_idx, train_y, used, &train_images, &train_labels)?;
    let test = Dataset::from_idx(test_idx, test_y, used, &test_images, &test_labels)?;
    if (train.rows, train.cols) != (test.rows, test.cols) {
        bail!(
            "{} holds {}x{} images but {} holds {}x{} images; \
             the training and test sets must have the same image size",
            train_images.display(),
            train.rows,
            train.cols,
            test_images.display(),
            test.rows,
            test.cols
        );
    }
    let class_names =
        names.unwrap_or_else(|| default_class_names(train.classes, train.rows, train.cols));
    Ok(FashionMnist {
        dir: dir.to_path_buf(),
        train,
        test,
        class_names,
    })
}
