//! `predict IMAGE...`: pictures brought to the data set's form, every bad file
//! a one-line error naming it, and a picture of a real test image predicted
//! as `--index` predicts it.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use fashion_nn::data::{load_fashion_mnist, prepare_picture, read_picture, SYSTEM_DATA_DIR};
use image::{GrayImage, Luma, Rgb, RgbImage};

fn temp(name: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("fashion-nn-picture-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_fashion-nn"));
    c.env_remove("FASHION_MNIST_DIR");
    c
}

/// A 3×4 model of 3 classes; enough for the error paths.
fn small_model(dir: &Path) -> PathBuf {
    let path = dir.join("small.safetensors");
    common::save_model(&path, 3, 4, 5, &["alpha", "beta", "gamma"]);
    path
}

/// A dark trouser-like shape (waist band and two legs) on a white
/// background, `w`×`h`, the garment in x 30..90, y 20..280 of a 120×300
/// picture scaled to `w`×`h`.
fn trousers_on_white(w: u32, h: u32) -> RgbImage {
    RgbImage::from_fn(w, h, |x, y| {
        let (fx, fy) = (x as f64 * 120.0 / w as f64, y as f64 * 300.0 / h as f64);
        let waist = (30.0..90.0).contains(&fx) && (20.0..60.0).contains(&fy);
        let legs = ((30.0..55.0).contains(&fx) || (65.0..90.0).contains(&fx))
            && (20.0..280.0).contains(&fy);
        if waist || legs {
            Rgb([50, 40, 90])
        } else {
            Rgb([250, 248, 245])
        }
    })
}

fn stderr_of(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn dark_garment_on_white_is_inverted_cropped_scaled_and_centred() {
    let dir = temp("trousers");
    let path = dir.join("trousers.png");
    trousers_on_white(120, 300).save(&path).unwrap();
    let (gray, w, h) = read_picture(&path).unwrap();
    assert_eq!((w, h), (120, 300));
    let p = prepare_picture(&gray, w, h, 28, 28).unwrap();
    assert!(p.inverted, "a light border means a light background");
    assert_eq!(p.crop, (30, 20, 60, 260));
    assert_eq!(p.pixels.len(), 28 * 28);
    // The garment is bright, the background black.
    let bright: Vec<(usize, usize)> = (0..28 * 28)
        .filter(|&i| p.pixels[i] > 128)
        .map(|i| (i % 28, i / 28))
        .collect();
    let (min_x, max_x) = (
        bright.iter().map(|b| b.0).min().unwrap(),
        bright.iter().map(|b| b.0).max().unwrap(),
    );
    let (min_y, max_y) = (
        bright.iter().map(|b| b.1).min().unwrap(),
        bright.iter().map(|b| b.1).max().unwrap(),
    );
    // The longer side (height) fills the 28 rows; the aspect ratio is kept
    // (60/260 of 28 is about 6 columns) and the garment is centred.
    assert_eq!((min_y, max_y), (0, 27));
    let garment_width = max_x - min_x + 1;
    assert!(garment_width < 8, "width {garment_width}");
    assert!((min_x + max_x).abs_diff(27) <= 1, "{min_x}..{max_x}");
    for y in 0..28 {
        for x in 0..28 {
            if x + 2 < min_x || x > max_x + 2 {
                assert_eq!(p.pixels[y * 28 + x], 0, "background at ({x}, {y})");
            }
        }
    }
}

#[test]
fn bright_garment_on_black_is_not_inverted_and_fills_a_model_of_any_size() {
    // A wide bright block on black, prepared for 8 rows × 6 columns: the
    // longer side relative to the target (width) fills the 6 columns.
    let img = GrayImage::from_fn(200, 100, |x, y| {
        if (50..150).contains(&x) && (40..60).contains(&y) {
            Luma([230])
        } else {
            Luma([10])
        }
    });
    let p = prepare_picture(img.as_raw(), 200, 100, 8, 6).unwrap();
    assert!(!p.inverted);
    assert_eq!(p.crop, (50, 40, 100, 20));
    assert_eq!((p.rows, p.cols, p.pixels.len()), (8, 6, 48));
    // 100×20 scaled by 6/100 is 6×1: one full row in the middle.
    let lit: Vec<usize> = (0..48).filter(|&i| p.pixels[i] > 128).collect();
    assert_eq!(lit, (18..24).collect::<Vec<_>>(), "{:?}", p.pixels);
}

#[test]
fn transparent_background_counts_as_white() {
    // Fully transparent black around an opaque dark square: shown on white,
    // the border is light, so the picture is inverted and the square found.
    let dir = temp("alpha");
    let path = dir.join("alpha.png");
    image::RgbaImage::from_fn(40, 40, |x, y| {
        if (10..30).contains(&x) && (10..30).contains(&y) {
            image::Rgba([20, 20, 20, 255])
        } else {
            image::Rgba([0, 0, 0, 0])
        }
    })
    .save(&path)
    .unwrap();
    let (gray, w, h) = read_picture(&path).unwrap();
    assert_eq!((gray[0], gray[20 * 40 + 20]), (255, 20));
    let p = prepare_picture(&gray, w, h, 28, 28).unwrap();
    assert!(p.inverted);
    assert_eq!(p.crop, (10, 10, 20, 20));
    assert!(p.pixels.iter().all(|&v| v == 255), "the square fills 28x28");
}

#[test]
fn blank_picture_is_an_error() {
    let flat = vec![200u8; 50 * 40];
    let e = prepare_picture(&flat, 50, 40, 28, 28).unwrap_err();
    assert!(format!("{e:#}").contains("blank"), "{e:#}");
}

/// Runs `predict --model model files…` and returns stderr, asserting exit 1
/// and nothing on stdout.
fn predict_fails(model: &Path, files: &[&Path]) -> String {
    let out = bin()
        .arg("predict")
        .arg("--model")
        .arg(model)
        .args(files)
        .output()
        .unwrap();
    let stderr = stderr_of(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "one line: {stderr}");
    assert!(
        out.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    stderr
}

#[test]
fn missing_picture_names_the_file() {
    let dir = temp("missing");
    let model = small_model(&dir);
    let e = predict_fails(&model, &[&dir.join("nope.png")]);
    assert!(
        e.contains("nope.png") && e.contains("no such file") && e.contains("check"),
        "{e}"
    );
}

#[test]
fn empty_picture_names_the_file() {
    let dir = temp("empty");
    let model = small_model(&dir);
    let path = dir.join("empty.jpg");
    std::fs::write(&path, b"").unwrap();
    let e = predict_fails(&model, &[&path]);
    assert!(e.contains("empty.jpg") && e.contains("is empty"), "{e}");
}

#[test]
fn text_file_named_png_is_not_a_picture() {
    let dir = temp("text");
    let model = small_model(&dir);
    let path = dir.join("x.png");
    std::fs::write(&path, b"this is a text file, not a picture\n").unwrap();
    let e = predict_fails(&model, &[&path]);
    assert!(
        e.contains("x.png") && e.contains("not a PNG or JPEG picture"),
        "{e}"
    );
}

#[test]
fn truncated_png_is_damaged() {
    let dir = temp("truncated");
    let model = small_model(&dir);
    let good = dir.join("good.png");
    trousers_on_white(120, 300).save(&good).unwrap();
    let bytes = std::fs::read(&good).unwrap();
    let cut = dir.join("cut.png");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    // A good picture before the bad one: nothing is printed for it either.
    let e = predict_fails(&model, &[&good, &cut]);
    assert!(
        e.contains("cut.png") && e.contains("PNG data is damaged or cut off"),
        "{e}"
    );
}

#[test]
fn corrupt_model_is_named_before_any_picture_is_read() {
    let dir = temp("bad-model");
    let model = dir.join("model.safetensors");
    std::fs::write(&model, b"garbage, not a model").unwrap();
    let png = dir.join("t.png");
    trousers_on_white(60, 150).save(&png).unwrap();
    let e = predict_fails(&model, &[&png]);
    assert!(
        e.contains("model.safetensors") && e.contains("not a safetensors file"),
        "{e}"
    );
}

#[test]
fn neither_index_nor_picture_is_an_argument_error() {
    let dir = temp("no-input");
    let model = small_model(&dir);
    let out = bin()
        .args(["predict", "--model"])
        .arg(&model)
        .output()
        .unwrap();
    let e = stderr_of(&out);
    assert_eq!(out.status.code(), Some(2), "{e}");
    assert!(e.contains("--index") && e.contains("IMAGE"), "{e}");
}

#[test]
fn pictures_take_the_image_size_of_the_model() {
    let dir = temp("model-size");
    let model = small_model(&dir);
    let png = dir.join("t.png");
    let jpg = dir.join("t.jpg");
    trousers_on_white(120, 300).save(&png).unwrap();
    trousers_on_white(240, 600).save(&jpg).unwrap();
    let out = bin()
        .args(["predict", "--json", "--top", "2", "--model"])
        .arg(&model)
        .args([&png, &jpg])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let preds = v["predictions"].as_array().unwrap();
    assert_eq!(preds.len(), 2);
    assert_eq!(preds[1]["width"], 240);
    for p in preds {
        assert_eq!(p["inverted"], true);
        let top = p["top"].as_array().unwrap();
        assert_eq!(top.len(), 2);
        let names = ["alpha", "beta", "gamma"];
        assert!(names.contains(&top[0]["name"].as_str().unwrap()), "{p}");
    }
    // The text output draws the prepared 3×4 image: 3 lines of 8 characters.
    let out = bin()
        .args(["predict", "--model"])
        .arg(&model)
        .arg(&png)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[..3].iter().all(|l| l.chars().count() == 8), "{text}");
    assert!(
        lines[3].contains("inverted") && lines[3].contains("4x3"),
        "{text}"
    );
}

#[test]
fn png_of_a_real_test_image_gets_the_same_top_class_as_index() {
    let dir = temp("real");
    let model = dir.join("m.safetensors");
    let out = bin()
        .args([
            "--backend",
            "cpu",
            "--hidden",
            "32",
            "--epochs",
            "2",
            "--train-limit",
            "10000",
            "--data",
            SYSTEM_DATA_DIR,
            "--save",
        ])
        .arg(&model)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let data = load_fashion_mnist(Path::new(SYSTEM_DATA_DIR)).expect("dataset-fashion-mnist");
    let top_class = |args: &[&std::ffi::OsStr]| -> u64 {
        let out = bin()
            .args(["predict", "--json", "--data", SYSTEM_DATA_DIR, "--model"])
            .arg(&model)
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr_of(&out));
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let top = if v["predictions"].is_array() {
            &v["predictions"][0]["top"]
        } else {
            &v["top"]
        };
        top[0]["class"].as_u64().unwrap()
    };
    for index in [0usize, 1, 2, 3, 4] {
        let path = dir.join(format!("test-{index}.png"));
        GrayImage::from_raw(28, 28, data.test.image(index).to_vec())
            .unwrap()
            .save(&path)
            .unwrap();
        let n = index.to_string();
        let by_index = top_class(&["--index".as_ref(), n.as_ref()]);
        let by_picture = top_class(&[path.as_os_str()]);
        assert_eq!(by_picture, by_index, "test image {index}");
    }
}

#[test]
fn a_png_claiming_a_gigantic_picture_is_refused_before_decoding() {
    let dir = temp("gigantic");
    let model = small_model(&dir);
    // A PNG whose header claims 30 000 × 30 000 pixels, then no image data.
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = b"IHDR".to_vec();
    ihdr.extend_from_slice(&30_000u32.to_be_bytes());
    ihdr.extend_from_slice(&30_000u32.to_be_bytes());
    ihdr.extend_from_slice(&[8, 0, 0, 0, 0]); // 8-bit gray
    let mut crc = flate2::Crc::new();
    crc.update(&ihdr);
    png.extend_from_slice(&13u32.to_be_bytes());
    png.extend_from_slice(&ihdr);
    png.extend_from_slice(&crc.sum().to_be_bytes());
    // One short row of compressed data, then the end: far fewer than claimed.
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut z, &[0u8; 64]).unwrap();
    let data = z.finish().unwrap();
    for (kind, body) in [(&b"IDAT"[..], &data[..]), (&b"IEND"[..], &[][..])] {
        let mut chunk = kind.to_vec();
        chunk.extend_from_slice(body);
        let mut crc = flate2::Crc::new();
        crc.update(&chunk);
        png.extend_from_slice(&(body.len() as u32).to_be_bytes());
        png.extend_from_slice(&chunk);
        png.extend_from_slice(&crc.sum().to_be_bytes());
    }
    let file = dir.join("huge.png");
    std::fs::write(&file, &png).unwrap();
    let e = predict_fails(&model, &[&file]);
    assert!(
        e.contains("huge.png") && e.contains("30000x30000") && e.contains("scale it down"),
        "{e}"
    );
}
