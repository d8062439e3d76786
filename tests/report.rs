//! `train --report DIR`: the files exist and parse, and a folder that cannot
//! be written is refused before training.

use std::path::PathBuf;
use std::process::Command;

use base64::Engine;
use fashion_nn::report::REPORT_FILES;

fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("fashion-nn-report-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_fashion-nn"));
    c.env_remove("FASHION_MNIST_DIR");
    c
}

/// The attribute values `name="…"` of every `tag` element in `svg`.
fn attributes<'a>(svg: &'a str, tag: &str, name: &str) -> Vec<&'a str> {
    let key = format!("{name}=\"");
    svg.split(&format!("<{tag} "))
        .skip(1)
        .filter_map(|el| {
            let el = &el[..el.find('>').unwrap_or(el.len())];
            let start = el.find(&key)? + key.len();
            Some(&el[start..start + el[start..].find('"')?])
        })
        .collect()
}

#[test]
fn report_files_exist_and_parse() {
    let dir = temp("files").join("nested").join("report");
    let out = bin()
        .args([
            "--backend",
            "cpu",
            "--hidden",
            "16",
            "--epochs",
            "3",
            "--train-limit",
            "3000",
            "--json",
            "--report",
        ])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let trained: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let mut expected: Vec<String> = REPORT_FILES.iter().map(|s| s.to_string()).collect();
    expected.sort();
    assert_eq!(names, expected, "no temporary file is left behind");

    let m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("metrics.json")).unwrap()).unwrap();
    let epochs = m["epochs"].as_array().unwrap();
    assert_eq!(epochs.len(), 3);
    for (i, e) in epochs.iter().enumerate() {
        assert_eq!(e["epoch"], i + 1);
        for key in [
            "loss",
            "train_accuracy",
            "test_loss",
            "test_accuracy",
            "seconds",
        ] {
            assert!(e[key].is_f64(), "epoch {i} lacks {key}: {e}");
        }
        assert_eq!(e["loss"], trained["loss"][i]);
    }
    assert_eq!(m["test_accuracy"], trained["test_accuracy"]);
    // The last epoch's test accuracy is the final one: same parameters.
    assert_eq!(epochs[2]["test_accuracy"], m["test_accuracy"]);
    assert_eq!(m["class_names"][0], "T-shirt/top");
    let classes = m["classes"].as_array().unwrap();
    assert_eq!(classes.len(), 10);
    for c in classes {
        for key in ["precision", "recall", "f1"] {
            let v = c[key].as_f64().unwrap();
            assert!((0.0..=1.0).contains(&v), "{c}");
        }
    }
    let confusion = m["confusion"].as_array().unwrap();
    let total: u64 = confusion
        .iter()
        .flat_map(|row| row.as_array().unwrap())
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert_eq!(total, 10_000);
    assert_eq!(classes[9]["support"], 1000);

    for name in [
        "learning_curve.svg",
        "confusion_matrix.svg",
        "test_samples.svg",
    ] {
        let svg = std::fs::read_to_string(dir.join(name)).unwrap();
        assert!(
            svg.trim_start().starts_with("<svg") && svg.trim_end().ends_with("</svg>"),
            "{name} is not one SVG element"
        );
    }
    let curve = std::fs::read_to_string(dir.join("learning_curve.svg")).unwrap();
    for text in ["epoch", "training loss", "test accuracy (%)"] {
        assert!(curve.contains(text), "learning curve lacks {text:?}");
    }
    let heat = std::fs::read_to_string(dir.join("confusion_matrix.svg")).unwrap();
    for name in ["Trouser", "Ankle boot", "predicted class"] {
        assert!(heat.contains(name), "confusion matrix lacks {name:?}");
    }
    // 64 images, each a PNG that decodes to 28×28 gray.
    let grid = std::fs::read_to_string(dir.join("test_samples.svg")).unwrap();
    let hrefs = attributes(&grid, "image", "href");
    assert_eq!(hrefs.len(), 64);
    for href in hrefs {
        let data = href
            .strip_prefix("data:image/png;base64,")
            .expect("PNG data URI");
        let img = image::load_from_memory_with_format(
            &base64::engine::general_purpose::STANDARD
                .decode(data)
                .unwrap(),
            image::ImageFormat::Png,
        )
        .expect("decodes")
        .to_luma8();
        assert_eq!(img.dimensions(), (28, 28));
    }
    // Wrong predictions have a red frame, and there are as many as red labels.
    let frames = attributes(&grid, "rect", "stroke")
        .iter()
        .filter(|s| **s == "red")
        .count();
    let red_labels = attributes(&grid, "text", "fill")
        .iter()
        .filter(|s| **s == "red")
        .count();
    assert_eq!(frames, red_labels);
    assert!(
        grid.contains(&format!("{frames} wrong")),
        "the title counts the {frames} wrong"
    );
}

#[test]
fn report_folder_under_a_regular_file_fails_before_training() {
    let dir = temp("unwritable");
    let file = dir.join("plain-file");
    std::fs::write(&file, b"x").unwrap();
    let report = file.join("report");
    let out = bin()
        .args(["--backend", "cpu", "--report"])
        .arg(&report)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("--report")
            && stderr.contains(&report.display().to_string())
            && stderr.contains("cannot be created"),
        "{stderr}"
    );
    assert!(
        out.stdout.is_empty(),
        "training started: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    let left: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
    assert_eq!(left.len(), 1, "nothing else was written");

    // A regular file as the report folder is refused too.
    let out = bin()
        .args(["--backend", "cpu", "--report"])
        .arg(&file)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("is a file, not a folder"), "{stderr}");
}

#[test]
fn a_model_saved_into_the_report_or_a_folder_in_its_way_fails_before_training() {
    let dir = temp("clash");
    let report = dir.join("rp");
    for save in [report.join("metrics.json"), report.clone()] {
        let out = bin()
            .args(["--backend", "cpu", "--report"])
            .arg(&report)
            .arg("--save")
            .arg(&save)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(
            stderr.contains("is the --report folder") && stderr.contains("save it elsewhere"),
            "{stderr}"
        );
        assert!(out.stdout.is_empty(), "training started");
    }
    // A folder where the report writes one of its files.
    std::fs::create_dir_all(report.join(REPORT_FILES[0])).unwrap();
    let out = bin()
        .args(["--backend", "cpu", "--report"])
        .arg(&report)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("is in the way"), "{stderr}");
    assert!(out.stdout.is_empty(), "training started");
}

#[test]
fn report_files_are_replaced_all_or_none() {
    let dir = temp("all-or-none");
    std::fs::write(dir.join("a.txt"), "old a").unwrap();
    // The second file cannot be written (its folder does not exist), so the
    // first must not be replaced either.
    let files: [(&str, &[u8]); 2] = [("a.txt", b"new a"), ("missing/b.txt", b"new b")];
    let e = fashion_nn::report::write_all_or_none(&dir, &files).unwrap_err();
    assert!(
        format!("{e:#}").contains("the previous report, if any, is left as it was"),
        "{e:#}"
    );
    assert_eq!(std::fs::read_to_string(dir.join("a.txt")).unwrap(), "old a");
    let left: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left.len(), 1, "temporary files left: {left:?}");
    let files: [(&str, &[u8]); 1] = [("a.txt", b"new a")];
    fashion_nn::report::write_all_or_none(&dir, &files).unwrap();
    assert_eq!(std::fs::read_to_string(dir.join("a.txt")).unwrap(), "new a");
}
