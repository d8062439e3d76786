//! IDX reading (raw and gzip), Fashion-MNIST loading and its error messages,
//! and per-pixel standardization.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use fashion_nn::data::{
    find_data_dir, load_fashion_mnist, read_idx_images, read_idx_labels, Dataset, IdxImages,
    Standardizer,
};
use flate2::write::GzEncoder;
use flate2::Compression;

/// A fresh directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir =
            std::env::temp_dir().join(format!("fashion-nn-test-{}-{n}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("create temp dir");
        TempDir(dir)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// The bytes of an idx3 file: magic 0x803, count, rows, cols, then `pixels`.
fn idx3_bytes(count: u32, rows: u32, cols: u32, pixels: &[u8]) -> Vec<u8> {
    let mut b = Vec::new();
    for w in [0x0803, count, rows, cols] {
        b.extend_from_slice(&w.to_be_bytes());
    }
    b.extend_from_slice(pixels);
    b
}

/// The bytes of an idx1 file: magic 0x801, count, then `labels`.
fn idx1_bytes(count: u32, labels: &[u8]) -> Vec<u8> {
    let mut b = Vec::new();
    for w in [0x0801, count] {
        b.extend_from_slice(&w.to_be_bytes());
    }
    b.extend_from_slice(labels);
    b
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = GzEncoder::new(Vec::new(), Compression::default());
    e.write_all(bytes).expect("gzip into memory");
    e.finish().expect("gzip into memory")
}

fn write(path: &Path, bytes: &[u8]) {
    fs::write(path, bytes).expect("write test file");
}

/// Pseudo-random but fixed pixel values.
fn pattern(n: usize, seed: u32) -> Vec<u8> {
    (0..n as u32)
        .map(|i| (i.wrapping_mul(2_654_435_761).wrapping_add(seed) >> 13) as u8)
        .collect()
}

fn err_text<T: std::fmt::Debug>(r: anyhow::Result<T>) -> String {
    let msg = format!("{:#}", r.expect_err("expected an error"));
    eprintln!("{msg}"); // shown with --nocapture
    msg
}

/// Writes a complete Fashion-MNIST-like directory of `n_train` and `n_test`
/// images of `rows`×`cols`, gzip or raw.
fn write_set(dir: &TempDir, n_train: u32, n_test: u32, rows: u32, cols: u32, gz: bool) {
    let d = (rows * cols) as usize;
    let files = [
        (
            "train-images-idx3-ubyte",
            idx3_bytes(n_train, rows, cols, &pattern(n_train as usize * d, 1)),
        ),
        (
            "train-labels-idx1-ubyte",
            idx1_bytes(
                n_train,
                &(0..n_train).map(|i| (i % 10) as u8).collect::<Vec<_>>(),
            ),
        ),
        (
            "t10k-images-idx3-ubyte",
            idx3_bytes(n_test, rows, cols, &pattern(n_test as usize * d, 2)),
        ),
        (
            "t10k-labels-idx1-ubyte",
            idx1_bytes(
                n_test,
                &(0..n_test).map(|i| (i % 10) as u8).collect::<Vec<_>>(),
            ),
        ),
    ];
    for (name, bytes) in files {
        if gz {
            write(&dir.path(&format!("{name}.gz")), &gzip(&bytes));
        } else {
            write(&dir.path(name), &bytes);
        }
    }
}

#[test]
fn raw_and_gzip_images_of_awkward_size_read_the_same_bytes() {
    let dir = TempDir::new("awkward");
    let pixels = pattern(7 * 3 * 5, 7);
    let bytes = idx3_bytes(7, 3, 5, &pixels);
    let raw = dir.path("images-raw");
    // The gzip file has no .gz extension: detection is by magic bytes.
    let gz = dir.path("images-gz");
    write(&raw, &bytes);
    write(&gz, &gzip(&bytes));
    let expected = IdxImages {
        count: 7,
        rows: 3,
        cols: 5,
        pixels,
    };
    assert_eq!(read_idx_images(&raw).expect("raw"), expected);
    assert_eq!(read_idx_images(&gz).expect("gzip"), expected);
}

#[test]
fn raw_and_gzip_labels_read_the_same_bytes() {
    let dir = TempDir::new("labels");
    let labels: Vec<u8> = (0..13).map(|i| (i * 7 % 10) as u8).collect();
    let bytes = idx1_bytes(13, &labels);
    write(&dir.path("l"), &bytes);
    write(&dir.path("l.gz"), &gzip(&bytes));
    assert_eq!(read_idx_labels(&dir.path("l")).expect("raw"), labels);
    assert_eq!(read_idx_labels(&dir.path("l.gz")).expect("gzip"), labels);
}

#[test]
fn zero_images_read_as_an_empty_set() {
    let dir = TempDir::new("empty");
    write(&dir.path("i"), &idx3_bytes(0, 28, 28, &[]));
    let images = read_idx_images(&dir.path("i")).expect("empty image file");
    assert_eq!((images.count, images.rows, images.cols), (0, 28, 28));
    assert!(images.pixels.is_empty());
}

#[test]
fn missing_file_error_names_the_path() {
    let dir = TempDir::new("missing-file");
    let path = dir.path("nope-idx3-ubyte");
    let msg = err_text(read_idx_images(&path));
    assert!(msg.contains("nope-idx3-ubyte"), "{msg}");
    assert!(msg.contains("cannot open"), "{msg}");
}

#[test]
fn labels_file_read_as_images_is_a_wrong_magic_error() {
    let dir = TempDir::new("magic-labels-as-images");
    let path = dir.path("labels-given-as-images");
    write(&path, &idx1_bytes(3, &[1, 2, 3]));
    let msg = err_text(read_idx_images(&path));
    assert!(msg.contains("labels-given-as-images"), "{msg}");
    assert!(msg.contains("is not an IDX image file"), "{msg}");
    assert!(msg.contains("0x00000801"), "{msg}");
    assert!(msg.contains("0x00000803"), "{msg}");
    assert!(msg.contains("swapped"), "{msg}");
}

#[test]
fn images_file_read_as_labels_is_a_wrong_magic_error() {
    let dir = TempDir::new("magic-images-as-labels");
    let path = dir.path("images-given-as-labels.gz");
    write(&path, &gzip(&idx3_bytes(1, 2, 2, &[1, 2, 3, 4])));
    let msg = err_text(read_idx_labels(&path));
    assert!(msg.contains("images-given-as-labels.gz"), "{msg}");
    assert!(msg.contains("is not an IDX label file"), "{msg}");
    assert!(msg.contains("0x00000803"), "{msg}");
    assert!(msg.contains("0x00000801"), "{msg}");
}

#[test]
fn a_non_idx_file_is_a_wrong_magic_error() {
    let dir = TempDir::new("magic-html");
    let path = dir.path("page.html");
    write(&path, b"<!DOCTYPE html><html>not found</html>");
    let msg = err_text(read_idx_images(&path));
    assert!(msg.contains("page.html"), "{msg}");
    assert!(msg.contains("is not an IDX image file"), "{msg}");
    assert!(msg.contains("not an IDX file"), "{msg}");
}

#[test]
fn truncated_images_say_expected_and_actual_bytes() {
    let dir = TempDir::new("truncated");
    let path = dir.path("short-images");
    // 4 images of 3x5 = 60 bytes promised, 50 present.
    write(&path, &idx3_bytes(4, 3, 5, &pattern(50, 3)));
    let msg = err_text(read_idx_images(&path));
    assert!(msg.contains("short-images"), "{msg}");
    assert!(msg.contains("truncated"), "{msg}");
    assert!(msg.contains("4 images of 3x5"), "{msg}");
    assert!(msg.contains("60 bytes"), "{msg}");
    assert!(msg.contains("only 50"), "{msg}");
}

#[test]
fn truncated_gzip_images_are_an_error() {
    let dir = TempDir::new("truncated-gz");
    let path = dir.path("short.gz");
    write(&path, &gzip(&idx3_bytes(4, 3, 5, &pattern(50, 3))));
    let msg = err_text(read_idx_images(&path));
    assert!(msg.contains("short.gz"), "{msg}");
    assert!(msg.contains("truncated"), "{msg}");
}

#[test]
fn truncated_header_is_an_error() {
    let dir = TempDir::new("truncated-header");
    let path = dir.path("stub");
    write(&path, &idx3_bytes(4, 3, 5, &[])[..10]);
    let msg = err_text(read_idx_images(&path));
    assert!(msg.contains("stub"), "{msg}");
    assert!(msg.contains("truncated"), "{msg}");
    assert!(msg.contains("header"), "{msg}");
}

#[test]
fn truncated_labels_are_an_error() {
    let dir = TempDir::new("truncated-labels");
    let path = dir.path("short-labels");
    write(&path, &idx1_bytes(9, &[1, 2, 3]));
    let msg = err_text(read_idx_labels(&path));
    assert!(msg.contains("short-labels"), "{msg}");
    assert!(msg.contains("9 labels"), "{msg}");
    assert!(msg.contains("only 3"), "{msg}");
}

#[test]
fn trailing_bytes_after_the_data_are_an_error() {
    let dir = TempDir::new("trailing");
    let path = dir.path("long-labels");
    write(&path, &idx1_bytes(2, &[1, 2, 3, 4, 5]));
    let msg = err_text(read_idx_labels(&path));
    assert!(msg.contains("long-labels"), "{msg}");
    assert!(msg.contains("3 bytes after the data"), "{msg}");
}

#[test]
fn header_claiming_billions_of_images_in_a_tiny_file_is_a_truncation_error() {
    let dir = TempDir::new("huge-header");
    let path = dir.path("liar");
    // 2^31 images of 28x28 (1.7 TB) claimed, 84 data bytes present: 100 bytes.
    let bytes = idx3_bytes(1 << 31, 28, 28, &pattern(84, 5));
    assert_eq!(bytes.len(), 100);
    write(&path, &bytes);
    let msg = err_text(read_idx_images(&path));
    assert!(msg.contains("liar"), "{msg}");
    assert!(msg.contains("truncated"), "{msg}");
    assert!(msg.contains("2147483648 images"), "{msg}");
    assert!(msg.contains("only 84"), "{msg}");

    let gz = dir.path("liar.gz");
    write(&gz, &gzip(&bytes));
    let msg = err_text(read_idx_images(&gz));
    assert!(msg.contains("truncated"), "{msg}");
}

#[test]
fn header_whose_size_overflows_is_an_error() {
    let dir = TempDir::new("overflow");
    let path = dir.path("overflow");
    write(&path, &idx3_bytes(u32::MAX, u32::MAX, u32::MAX, &[0; 8]));
    let msg = err_text(read_idx_images(&path));
    assert!(msg.contains("overflow"), "{msg}");
}

#[test]
fn zero_rows_or_cols_are_an_error() {
    let dir = TempDir::new("zero-dims");
    let path = dir.path("flat");
    write(&path, &idx3_bytes(5, 0, 28, &[]));
    let msg = err_text(read_idx_images(&path));
    assert!(msg.contains("flat"), "{msg}");
    assert!(msg.contains("0x28"), "{msg}");
    let path = dir.path("thin");
    write(&path, &idx3_bytes(5, 28, 0, &[]));
    let msg = err_text(read_idx_images(&path));
    assert!(msg.contains("28x0"), "{msg}");
}

#[test]
fn corrupt_gzip_stream_is_an_error() {
    let dir = TempDir::new("corrupt-gz");
    let path = dir.path("garbled.gz");
    let mut bytes = gzip(&idx3_bytes(7, 3, 5, &pattern(105, 9)));
    // Keep the gzip header (10 bytes), garble the deflate stream and trailer.
    for b in &mut bytes[10..] {
        *b ^= 0xa5;
    }
    write(&path, &bytes);
    let msg = err_text(read_idx_images(&path));
    assert!(msg.contains("garbled.gz"), "{msg}");
    assert!(msg.contains("gzip"), "{msg}");
}

#[test]
fn gzip_with_a_wrong_checksum_is_an_error() {
    let dir = TempDir::new("crc-gz");
    let path = dir.path("badcrc.gz");
    let mut bytes = gzip(&idx1_bytes(4, &[1, 2, 3, 4]));
    let n = bytes.len();
    bytes[n - 8] ^= 0xff; // the CRC32 of the trailer
    write(&path, &bytes);
    let msg = err_text(read_idx_labels(&path));
    assert!(msg.contains("badcrc.gz"), "{msg}");
    assert!(msg.contains("gzip"), "{msg}");
}

#[test]
fn cut_off_gzip_stream_is_an_error() {
    let dir = TempDir::new("cut-gz");
    let path = dir.path("cut.gz");
    let bytes = gzip(&idx3_bytes(7, 3, 5, &pattern(105, 9)));
    write(&path, &bytes[..bytes.len() / 2]);
    let msg = err_text(read_idx_images(&path));
    assert!(msg.contains("cut.gz"), "{msg}");
    assert!(msg.contains("gzip") || msg.contains("truncated"), "{msg}");
}

#[test]
fn load_reads_gzip_and_raw_directories_alike() {
    let gz = TempDir::new("set-gz");
    let raw = TempDir::new("set-raw");
    write_set(&gz, 23, 7, 3, 5, true);
    write_set(&raw, 23, 7, 3, 5, false);
    let a = load_fashion_mnist(&gz.0).expect("gzip set");
    let b = load_fashion_mnist(&raw.0).expect("raw set");
    assert_eq!(a.train, b.train);
    assert_eq!(a.test, b.test);
    assert_eq!(a.train.count, 23);
    assert_eq!(a.test.count, 7);
    assert_eq!((a.train.rows, a.train.cols, a.train.classes), (3, 5, 10));
    assert_eq!(a.train.image(22), &pattern(23 * 15, 1)[22 * 15..]);
    assert_eq!(a.dir, gz.0);
}

#[test]
fn load_prefers_gzip_when_both_exist() {
    let dir = TempDir::new("set-both");
    write_set(&dir, 5, 3, 2, 2, true);
    // A broken raw file beside the good .gz must not be read.
    write(&dir.path("train-images-idx3-ubyte"), b"broken");
    let set = load_fashion_mnist(&dir.0).expect("gzip preferred");
    assert_eq!(set.train.count, 5);
}

#[test]
fn missing_directory_says_how_to_get_the_data() {
    let dir = TempDir::new("no-dir");
    let missing = dir.path("not-here");
    let msg = err_text(load_fashion_mnist(&missing));
    assert!(msg.contains("not-here"), "{msg}");
    assert!(
        msg.contains("apt-get install dataset-fashion-mnist"),
        "{msg}"
    );
    assert!(msg.contains("--data"), "{msg}");
    assert!(msg.contains("FASHION_MNIST_DIR"), "{msg}");
}

#[test]
fn missing_file_in_directory_is_named_with_how_to_get_it() {
    let dir = TempDir::new("no-file");
    write_set(&dir, 5, 3, 2, 2, true);
    fs::remove_file(dir.path("t10k-labels-idx1-ubyte.gz")).expect("remove");
    let msg = err_text(load_fashion_mnist(&dir.0));
    assert!(msg.contains(&dir.0.display().to_string()), "{msg}");
    assert!(msg.contains("lacks t10k-labels-idx1-ubyte"), "{msg}");
    assert!(
        msg.contains("apt-get install dataset-fashion-mnist"),
        "{msg}"
    );
    assert!(msg.contains("--data"), "{msg}");
}

#[test]
fn image_label_count_mismatch_names_both_files_and_counts() {
    let dir = TempDir::new("count-mismatch");
    write_set(&dir, 6, 3, 2, 2, false);
    write(
        &dir.path("train-labels-idx1-ubyte"),
        &idx1_bytes(5, &[0, 1, 2, 3, 4]),
    );
    let msg = err_text(load_fashion_mnist(&dir.0));
    assert!(msg.contains("train-images-idx3-ubyte"), "{msg}");
    assert!(msg.contains("train-labels-idx1-ubyte"), "{msg}");
    assert!(msg.contains("6 images"), "{msg}");
    assert!(msg.contains("5 labels"), "{msg}");
}

#[test]
fn label_out_of_range_names_file_index_and_value() {
    let dir = TempDir::new("label-range");
    // Ten training images use labels 0 to 9: ten classes.
    write_set(&dir, 10, 3, 2, 2, false);
    write(
        &dir.path("t10k-labels-idx1-ubyte"),
        &idx1_bytes(3, &[9, 0, 10]),
    );
    let msg = err_text(load_fashion_mnist(&dir.0));
    assert!(msg.contains("t10k-labels-idx1-ubyte"), "{msg}");
    assert!(msg.contains("label 2 is 10"), "{msg}");
    assert!(msg.contains("10 classes"), "{msg}");
}

#[test]
fn train_and_test_image_sizes_must_match() {
    let dir = TempDir::new("size-mismatch");
    write_set(&dir, 4, 3, 2, 2, false);
    write(
        &dir.path("t10k-images-idx3-ubyte"),
        &idx3_bytes(3, 3, 1, &[0; 9]),
    );
    let msg = err_text(load_fashion_mnist(&dir.0));
    assert!(msg.contains("2x2"), "{msg}");
    assert!(msg.contains("3x1"), "{msg}");
}

#[test]
fn from_idx_checks_counts_and_labels() {
    let images = IdxImages {
        count: 2,
        rows: 1,
        cols: 2,
        pixels: vec![1, 2, 3, 4],
    };
    let a = Path::new("a-images");
    let b = Path::new("b-labels");
    let set = Dataset::from_idx(images.clone(), vec![0, 2], 3, a, b).expect("valid");
    assert_eq!(set.image(1), &[3, 4]);
    assert_eq!(set.classes, 3);
    let msg = err_text(Dataset::from_idx(images.clone(), vec![0, 3], 3, a, b));
    assert!(
        msg.contains("b-labels") && msg.contains("label 1 is 3"),
        "{msg}"
    );
    let msg = err_text(Dataset::from_idx(images, vec![0], 3, a, b));
    assert!(
        msg.contains("a-images") && msg.contains("b-labels"),
        "{msg}"
    );
}

#[test]
fn take_keeps_the_first_images_and_clamps_to_count() {
    let set = Dataset {
        count: 3,
        rows: 1,
        cols: 2,
        classes: 10,
        pixels: vec![1, 2, 3, 4, 5, 6],
        labels: vec![7, 8, 9],
    };
    let two = set.take(2);
    assert_eq!(two.count, 2);
    assert_eq!(two.pixels, vec![1, 2, 3, 4]);
    assert_eq!(two.labels, vec![7, 8]);
    assert_eq!(set.take(10), set);
    assert_eq!(set.take(0).pixels.len(), 0);
}

#[test]
fn find_data_dir_prefers_flag_then_env() {
    // The only test that touches FASHION_MNIST_DIR.
    let flag = Path::new("/some/flag/dir");
    assert_eq!(find_data_dir(Some(flag)), flag);
    std::env::set_var("FASHION_MNIST_DIR", "/from/env");
    assert_eq!(find_data_dir(None), Path::new("/from/env"));
    assert_eq!(find_data_dir(Some(flag)), flag);
    std::env::set_var("FASHION_MNIST_DIR", "");
    let fallback = find_data_dir(None);
    assert!(
        fallback == Path::new("data") || fallback == Path::new("/usr/share/datasets/fashion-mnist"),
        "{fallback:?}"
    );
    std::env::remove_var("FASHION_MNIST_DIR");
}

fn tiny_set(count: usize, d: usize, pixels: Vec<u8>) -> Dataset {
    Dataset {
        count,
        rows: 1,
        cols: d,
        classes: 10,
        pixels,
        labels: vec![0; count],
    }
}

#[test]
fn constant_pixel_gets_std_one_and_standardizes_to_zero() {
    // Pixel 0 is always 7; pixel 1 varies.
    let set = tiny_set(3, 2, vec![7, 0, 7, 10, 7, 20]);
    let s = Standardizer::fit(&set);
    assert_eq!(s.mean[0], 7.0);
    assert_eq!(s.inv_std[0], 1.0);
    let mut out = vec![f32::NAN; 6];
    s.apply(&set, 0, 3, &mut out);
    for i in 0..3 {
        assert_eq!(out[2 * i], 0.0);
    }
}

#[test]
fn mean_and_population_std_match_a_hand_computed_example() {
    // Pixel 0: 2, 4, 4, 4, 5, 5, 7, 9 → mean 5, population std 2.
    // Pixel 1: 0, 0, 0, 0, 255, 255, 255, 255 → mean 127.5, std 127.5.
    let p0 = [2u8, 4, 4, 4, 5, 5, 7, 9];
    let p1 = [0u8, 0, 0, 0, 255, 255, 255, 255];
    let pixels = p0.iter().zip(&p1).flat_map(|(&a, &b)| [a, b]).collect();
    let set = tiny_set(8, 2, pixels);
    let s = Standardizer::fit(&set);
    assert_eq!(s.mean, vec![5.0, 127.5]);
    assert_eq!(s.inv_std, vec![0.5, 1.0 / 127.5]);
    let mut out = vec![0.0; 16];
    s.apply(&set, 0, 8, &mut out);
    assert_eq!(out[0], -1.5); // (2 − 5) / 2
    assert_eq!(out[14], 2.0); // (9 − 5) / 2
    assert!((out[15] - 1.0).abs() < 1e-6, "{}", out[15]);
    assert!((out[1] + 1.0).abs() < 1e-6, "{}", out[1]);
}

#[test]
fn apply_starts_at_first_and_writes_count_images() {
    let set = tiny_set(4, 3, (0..12).collect());
    let s = Standardizer {
        mean: vec![1.0, 2.0, 3.0],
        inv_std: vec![1.0, 0.5, 0.25],
    };
    let mut out = vec![-99.0; 8];
    s.apply(&set, 1, 2, &mut out);
    // Images 1 and 2: pixels 3, 4, 5 and 6, 7, 8.
    assert_eq!(&out[..6], &[2.0, 1.0, 0.5, 5.0, 2.5, 1.25]);
    assert_eq!(&out[6..], &[-99.0, -99.0], "wrote past count × D");
}

#[test]
fn parallel_apply_matches_the_formula_on_a_large_set() {
    let (count, d) = (700, 784);
    let set = tiny_set(count, d, pattern(count * d, 11));
    let s = Standardizer::fit(&set);
    let mut out = vec![0.0; (count - 3) * d];
    s.apply(&set, 3, count - 3, &mut out);
    for (k, &x) in out.iter().enumerate() {
        let (i, j) = (3 + k / d, k % d);
        let p = f32::from(set.pixels[i * d + j]);
        assert_eq!(x, (p - s.mean[j]) * s.inv_std[j], "image {i} pixel {j}");
    }
}

#[test]
fn real_fashion_mnist_loads() {
    // CI installs `dataset-fashion-mnist`; a missing directory fails here.
    let dir = Path::new("/usr/share/datasets/fashion-mnist");
    let set = load_fashion_mnist(dir).unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(set.train.count, 60_000);
    assert_eq!(set.test.count, 10_000);
    for split in [&set.train, &set.test] {
        assert_eq!((split.rows, split.cols, split.classes), (28, 28, 10));
        assert_eq!(split.pixels.len(), split.count * 784);
        assert_eq!(split.labels.len(), split.count);
        assert!(split.labels.iter().all(|&y| y < 10));
    }
    // Fashion-MNIST is balanced: 6 000 training images per class.
    let mut per_class = [0usize; 10];
    for &y in &set.train.labels {
        per_class[usize::from(y)] += 1;
    }
    assert_eq!(per_class, [6_000; 10]);
}
