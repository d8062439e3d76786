//! Any IDX data set: the number of classes and the image size come from the
//! files, the class names from a names file, and eval/predict use the names
//! saved in the model. The data is made here: 4 classes of 8×6 images, each
//! class a bright block in its own quarter of the picture, plus noise.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use fashion_nn::data::{load_data, load_fashion_mnist, read_class_names};

const ROWS: usize = 8;
const COLS: usize = 6;
const CLASSES: usize = 4;
const NAMES: [&str; CLASSES] = ["north-west", "north-east", "south-west", "south-east"];

fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("fashion-nn-any-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn idx3(images: &[Vec<u8>]) -> Vec<u8> {
    let mut b = Vec::new();
    for w in [0x0803u32, images.len() as u32, ROWS as u32, COLS as u32] {
        b.extend_from_slice(&w.to_be_bytes());
    }
    for img in images {
        b.extend_from_slice(img);
    }
    b
}

fn idx1(labels: &[u8]) -> Vec<u8> {
    let mut b = Vec::new();
    for w in [0x0801u32, labels.len() as u32] {
        b.extend_from_slice(&w.to_be_bytes());
    }
    b.extend_from_slice(labels);
    b
}

/// One image of class `c`: its quarter bright (200–255), the rest dark (0–60).
fn image_of(c: usize, seed: usize) -> Vec<u8> {
    (0..ROWS * COLS)
        .map(|i| {
            let (y, x) = (i / COLS, i % COLS);
            let quarter = 2 * usize::from(y >= ROWS / 2) + usize::from(x >= COLS / 2);
            let noise = (i * 7919 + seed * 104_729) % 61;
            if quarter == c {
                (195 + noise) as u8
            } else {
                noise as u8
            }
        })
        .collect()
}

/// Writes the four IDX files of `n_train` and `n_test` images into `dir`.
fn write_set(dir: &Path, n_train: usize, n_test: usize) {
    for (prefix, n, offset) in [("train", n_train, 0), ("t10k", n_test, 100_000)] {
        let labels: Vec<u8> = (0..n).map(|i| (i % CLASSES) as u8).collect();
        let images: Vec<Vec<u8>> = labels
            .iter()
            .enumerate()
            .map(|(i, &y)| image_of(y as usize, i + offset))
            .collect();
        std::fs::write(
            dir.join(format!("{prefix}-images-idx3-ubyte")),
            idx3(&images),
        )
        .unwrap();
        std::fs::write(
            dir.join(format!("{prefix}-labels-idx1-ubyte")),
            idx1(&labels),
        )
        .unwrap();
    }
}

fn run(args: &[&str], extra: &[&Path]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_fashion-nn"))
        .args(args)
        .args(extra)
        .env_remove("FASHION_MNIST_DIR")
        .output()
        .unwrap()
}

fn json_of(out: &Output) -> serde_json::Value {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("one JSON object")
}

#[test]
fn classes_and_image_size_come_from_the_files() {
    let dir = temp("shape");
    write_set(&dir, 40, 8);
    let set = load_fashion_mnist(&dir).unwrap();
    assert_eq!((set.train.rows, set.train.cols), (ROWS, COLS));
    assert_eq!((set.train.classes, set.test.classes), (CLASSES, CLASSES));
    // Not Fashion-MNIST and no names file: the label numbers.
    assert_eq!(set.class_names, ["0", "1", "2", "3"]);
}

#[test]
fn class_names_file_in_the_data_folder_names_the_classes() {
    let dir = temp("names");
    write_set(&dir, 40, 8);
    std::fs::write(dir.join("class_names.txt"), NAMES.join("\n") + "\n\n").unwrap();
    let set = load_fashion_mnist(&dir).unwrap();
    assert_eq!(set.class_names, NAMES);
}

#[test]
fn names_file_with_the_wrong_number_of_lines_is_an_error() {
    let dir = temp("wrong-lines");
    write_set(&dir, 40, 8);
    let names = dir.join("names.txt");
    std::fs::write(&names, "a\nb\nc\n").unwrap();
    let e = format!("{:#}", load_data(&dir, Some(&names)).unwrap_err());
    assert!(
        e.contains("names.txt")
            && e.contains("names 3 classes")
            && e.contains("0 to 3")
            && e.contains("exactly 4 names"),
        "{e}"
    );
    // The same through the command line: exit 1, nothing trained.
    let out = run(
        &[
            "--backend",
            "cpu",
            "--data",
            dir.to_str().unwrap(),
            "--labels",
        ],
        &[&names],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("names.txt") && stderr.contains("exactly 4 names"),
        "{stderr}"
    );
    assert!(!String::from_utf8_lossy(&out.stdout).contains("epoch"));
    // Too many names is as wrong as too few.
    std::fs::write(&names, "a\nb\nc\nd\ne\n").unwrap();
    let e = format!("{:#}", load_data(&dir, Some(&names)).unwrap_err());
    assert!(e.contains("names 5 classes"), "{e}");
}

#[test]
fn names_file_with_an_empty_line_or_missing_is_an_error() {
    let dir = temp("bad-names");
    let names = dir.join("names.txt");
    std::fs::write(&names, "a\n\nc\n").unwrap();
    let e = format!("{:#}", read_class_names(&names).unwrap_err());
    assert!(
        e.contains("names.txt") && e.contains("line 2 is empty"),
        "{e}"
    );
    let e = format!("{:#}", read_class_names(&dir.join("none.txt")).unwrap_err());
    assert!(e.contains("none.txt"), "{e}");
    std::fs::write(&names, "a\nb\na\n").unwrap();
    let e = format!("{:#}", read_class_names(&names).unwrap_err());
    assert!(e.contains("line 3 repeats the name of label 0"), "{e}");
    // An editor's byte-order mark is not part of the first name.
    std::fs::write(&names, "\u{feff}a\nb\n").unwrap();
    assert_eq!(read_class_names(&names).unwrap(), ["a", "b"]);
}

#[test]
fn test_label_beyond_the_training_classes_is_an_error() {
    let dir = temp("test-label");
    write_set(&dir, 40, 8);
    std::fs::write(
        dir.join("t10k-labels-idx1-ubyte"),
        idx1(&[0, 1, 2, 3, 4, 0, 1, 2]),
    )
    .unwrap();
    let e = format!("{:#}", load_fashion_mnist(&dir).unwrap_err());
    assert!(
        e.contains("t10k-labels-idx1-ubyte")
            && e.contains("label 4 is 4")
            && e.contains("4 classes"),
        "{e}"
    );
}

/// Trains on `backend` through the command line, saves, then evaluates and
/// predicts with the saved model: every output uses the names file's names.
fn train_save_eval_predict(backend: &str) {
    let dir = temp(&format!("cli-{backend}"));
    let data = dir.join("data");
    std::fs::create_dir_all(&data).unwrap();
    write_set(&data, 400, 100);
    let names = dir.join("my-names.txt");
    std::fs::write(&names, NAMES.join("\n")).unwrap();
    let model = dir.join("m.safetensors");
    let d = data.to_str().unwrap();
    let trained = json_of(&run(
        &[
            "train",
            "--backend",
            backend,
            "--data",
            d,
            "--epochs",
            "8",
            "--hidden",
            "12",
            "--batch-size",
            "20",
            "--lr",
            "1",
            "--json",
            "--labels",
        ],
        &[&names, Path::new("--save"), &model],
    ));
    let accuracy = trained["test_accuracy"].as_f64().unwrap();
    assert!(
        accuracy > 0.9,
        "test accuracy {accuracy} on a learnable pattern"
    );

    let eval = json_of(&run(
        &[
            "eval",
            "--backend",
            backend,
            "--json",
            "--data",
            d,
            "--model",
        ],
        &[&model],
    ));
    assert_eq!(eval["class_names"], serde_json::json!(NAMES));
    assert_eq!(eval["confusion"].as_array().unwrap().len(), CLASSES);
    assert!((eval["test_accuracy"].as_f64().unwrap() - accuracy).abs() <= 0.001);

    let out = run(
        &["predict", "--index", "3", "--data", d, "--model"],
        &[&model],
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("true class 3 (south-east)"), "{text}");
    // The art is the 8×6 image: 8 lines of 12 characters.
    assert!(
        text.lines()
            .take(ROWS)
            .all(|l| l.chars().count() == 2 * COLS),
        "{text}"
    );

    // A picture of a bright lower-left block is named by the model. (A small
    // dot in the upper-right corner keeps the crop to the whole picture.)
    let png = dir.join("sw.png");
    image::GrayImage::from_fn(60, 80, |x, y| {
        let block = x < 30 && y >= 40;
        let dot = x >= 57 && y < 3;
        image::Luma([if block || dot { 240 } else { 5 }])
    })
    .save(&png)
    .unwrap();
    let v = json_of(&run(&["predict", "--json", "--model"], &[&model, &png]));
    assert_eq!(v["predictions"][0]["top"][0]["name"], "south-west", "{v}");
}

#[test]
fn small_dataset_trains_saves_evaluates_and_predicts_on_cpu() {
    train_save_eval_predict("cpu");
}

#[test]
fn small_dataset_trains_saves_evaluates_and_predicts_on_vulkan() {
    train_save_eval_predict("vulkan");
}

#[test]
fn a_stray_large_label_is_noted_with_the_empty_classes() {
    let dir = temp("stray-label");
    write_set(&dir, 40, 8);
    let mut labels: Vec<u8> = (0..40).map(|i| (i % CLASSES) as u8).collect();
    labels[5] = 255;
    std::fs::write(dir.join("train-labels-idx1-ubyte"), idx1(&labels)).unwrap();
    let out = run(
        &[
            "--backend",
            "cpu",
            "--epochs",
            "1",
            "--hidden",
            "4",
            "--data",
        ],
        &[&dir],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("note: 251 of the 256 classes (labels 0 to 255, the largest training label) have no training image: 4, 5, 6"),
        "{stderr}"
    );
}
