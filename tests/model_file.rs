//! The safetensors model file: round trip, atomic writes, and every malformed
//! file a clear error naming it.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use fashion_nn::data::Standardizer;
use fashion_nn::model::{load, save, Params, SavedModel, Shape};

fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("fashion-nn-model-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn small_model() -> SavedModel {
    let shape = Shape {
        inputs: 12,
        hidden: 5,
        classes: 3,
    };
    SavedModel {
        params: Params::init(shape, 0.5, 3),
        stats: Standardizer {
            mean: (0..12).map(|i| i as f32 * 10.0).collect(),
            inv_std: (0..12).map(|i| 1.0 / (1.0 + i as f32)).collect(),
        },
        rows: 3,
        cols: 4,
        class_names: vec!["a".into(), "b".into(), "c".into()],
        settings: vec![("epochs".into(), "7".into()), ("lr".into(), "0.5".into())],
    }
}

fn load_err(path: &Path) -> String {
    format!("{:#}", load(path).expect_err("loading should fail"))
}

#[test]
fn save_then_load_gives_the_same_model() {
    let dir = temp("roundtrip");
    let path = dir.join("m.safetensors");
    let model = small_model();
    save(&path, &model).unwrap();
    let back = load(&path).unwrap();
    assert_eq!(back.params, model.params);
    assert_eq!(back.stats.mean, model.stats.mean);
    for (a, b) in back.stats.inv_std.iter().zip(&model.stats.inv_std) {
        assert!((a - b).abs() <= 1e-6 * b.abs());
    }
    assert_eq!((back.rows, back.cols), (3, 4));
    assert_eq!(back.class_names, model.class_names);
    assert_eq!(back.settings, model.settings);
    // No temporary file is left behind.
    let names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 1, "{names:?}");
}

#[test]
fn failed_save_leaves_the_previous_file_whole() {
    let dir = temp("atomic");
    let path = dir.join("m.safetensors");
    save(&path, &small_model()).unwrap();
    let before = std::fs::read(&path).unwrap();
    // A target whose folder does not exist fails without touching anything.
    let err = save(&dir.join("missing").join("m.safetensors"), &small_model()).unwrap_err();
    assert!(
        format!("{err:#}").contains("writing the model to"),
        "{err:#}"
    );
    assert_eq!(std::fs::read(&path).unwrap(), before);
}

#[test]
fn garbage_empty_and_truncated_files_are_clear_errors() {
    let dir = temp("bad");
    let garbage = dir.join("garbage.safetensors");
    std::fs::write(&garbage, b"this is not a model at all, just some text").unwrap();
    let e = load_err(&garbage);
    assert!(
        e.contains("garbage.safetensors") && e.contains("not a safetensors file"),
        "{e}"
    );

    let empty = dir.join("empty.safetensors");
    std::fs::write(&empty, b"").unwrap();
    let e = load_err(&empty);
    assert!(
        e.contains("empty.safetensors") && e.contains("not a safetensors file"),
        "{e}"
    );

    let good = dir.join("good.safetensors");
    save(&good, &small_model()).unwrap();
    let bytes = std::fs::read(&good).unwrap();
    let cut = dir.join("cut.safetensors");
    std::fs::write(&cut, &bytes[..bytes.len() - 10]).unwrap();
    let e = load_err(&cut);
    assert!(
        e.contains("cut.safetensors") && e.contains("not a safetensors file"),
        "{e}"
    );

    let e = load_err(&dir.join("nope.safetensors"));
    assert!(
        e.contains("reading the model") && e.contains("nope.safetensors"),
        "{e}"
    );
}

#[test]
fn safetensors_file_of_another_program_is_rejected() {
    let dir = temp("foreign");
    let path = dir.join("foreign.safetensors");
    let data = [1.0f32, 2.0];
    let view = safetensors::tensor::TensorView::new(
        safetensors::Dtype::F32,
        vec![2],
        bytemuck::cast_slice(&data),
    )
    .unwrap();
    std::fs::write(
        &path,
        safetensors::serialize([("weight", view)], None).unwrap(),
    )
    .unwrap();
    let e = load_err(&path);
    assert!(e.contains("not a fashion-nn model"), "{e}");
}

#[test]
fn eval_with_a_model_of_another_image_size_names_both_shapes() {
    let dir = temp("shape");
    let path = dir.join("small.safetensors");
    save(&path, &small_model()).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_fashion-nn"))
        .args([
            "eval",
            "--backend",
            "cpu",
            "--model",
            path.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("3x4") && stderr.contains("28x28"),
        "{stderr}"
    );
}

#[test]
fn save_to_a_folder_that_does_not_exist_fails_before_training() {
    let out = Command::new(env!("CARGO_BIN_EXE_fashion-nn"))
        .args([
            "--backend",
            "cpu",
            "--save",
            "/nonexistent-dir/m.safetensors",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("--save") && stderr.contains("does not exist"),
        "{stderr}"
    );
    assert!(
        out.stdout.is_empty(),
        "training started: {}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn train_save_then_eval_reports_the_same_accuracy() {
    let dir = temp("train-eval");
    let path = dir.join("m.safetensors");
    let bin = env!("CARGO_BIN_EXE_fashion-nn");
    let out = Command::new(bin)
        .args([
            "--backend",
            "cpu",
            "--hidden",
            "16",
            "--epochs",
            "1",
            "--train-limit",
            "3000",
            "--json",
            "--save",
        ])
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let trained: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let out = Command::new(bin)
        .args(["eval", "--backend", "vulkan", "--json", "--model"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let eval: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let (a, b) = (
        trained["test_accuracy"].as_f64().unwrap(),
        eval["test_accuracy"].as_f64().unwrap(),
    );
    // Trained on the CPU, evaluated on the GPU: the same model, f32 rounding apart.
    assert!((a - b).abs() <= 0.001, "train reported {a}, eval {b}");
    assert_eq!(eval["confusion"].as_array().unwrap().len(), 10);
    assert_eq!(eval["class_names"][9], "Ankle boot");
}

#[test]
fn predict_proba_is_a_distribution_matching_the_cpu_forward_pass() {
    use fashion_nn::backend::cpu::CpuBackend;
    use fashion_nn::backend::{Backend, Split};
    use fashion_nn::data::Dataset;
    use fashion_nn::model::{predict_proba, top_classes};
    let model = small_model();
    let pixels: Vec<u8> = (0..5 * 12).map(|i| (i * 53 % 256) as u8).collect();
    let data = Dataset {
        count: 5,
        rows: 3,
        cols: 4,
        classes: 3,
        pixels,
        labels: vec![0, 1, 2, 0, 1],
    };
    let mut cpu = CpuBackend::new(Some(1)).unwrap();
    cpu.set_params(&model.params).unwrap();
    cpu.upload(Split::Test, &data, &model.stats).unwrap();
    let e = cpu.evaluate(Split::Test).unwrap();
    for i in 0..5 {
        let p = predict_proba(&model, data.image(i));
        assert!((p.iter().sum::<f32>() - 1.0).abs() < 1e-5, "{p:?}");
        let top = top_classes(&p, 3);
        assert!(top[0].1 >= top[1].1 && top[1].1 >= top[2].1);
        assert_eq!(top[0].0 as u8, e.predictions[i], "image {i}");
    }
}

#[test]
fn predict_index_past_the_test_set_names_the_range() {
    let dir = temp("predict");
    let path = dir.join("m.safetensors");
    save(&path, &small_model()).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_fashion-nn"))
        .args([
            "predict",
            "--index",
            "10000",
            "--model",
            path.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("--index 10000") && stderr.contains("0 to 9999"),
        "{stderr}"
    );
}

#[test]
fn weights_with_a_nan_or_an_infinity_are_refused_naming_the_tensor() {
    let dir = temp("non-finite");
    for (name, value) in [("w1", f32::NAN), ("b2", f32::INFINITY)] {
        let mut model = small_model();
        match name {
            "w1" => model.params.w1[7] = value,
            _ => model.params.b2[1] = value,
        }
        let path = dir.join(format!("{name}.safetensors"));
        save(&path, &model).unwrap();
        let e = load_err(&path);
        assert!(
            e.contains(&format!("tensor `{name}`")) && e.contains("diverged"),
            "{e}"
        );
    }
}

#[test]
fn class_names_that_do_not_fit_the_model_are_refused() {
    let dir = temp("names");
    for (names, needle) in [
        (vec!["a", "b"], "names 2 classes but the model has 3"),
        (vec!["a", " ", "c"], "the name of class 1 is empty"),
        (vec!["a", "b", "a"], "class 2 repeats the name of label 0"),
        (
            vec!["a", "b\nx", "c"],
            "class 1 \"b\\nx\" holds a control character",
        ),
    ] {
        let mut model = small_model();
        model.class_names = names.iter().map(|n| n.to_string()).collect();
        let path = dir.join("m.safetensors");
        save(&path, &model).unwrap();
        let e = load_err(&path);
        assert!(e.contains(needle), "{e}");
    }
    // Not JSON at all: the same bytes with the list overwritten in place.
    let path = dir.join("m.safetensors");
    save(&path, &small_model()).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let list = br#"[\"a\",\"b\",\"c\"]"#;
    let at = bytes
        .windows(list.len())
        .position(|w| w == list)
        .expect("the names are in the header");
    let mut broken = bytes.clone();
    broken[at..at + list.len()].fill(b'x');
    std::fs::write(&path, broken).unwrap();
    let e = load_err(&path);
    assert!(e.contains("`class_names` is not a JSON list"), "{e}");
}

/// A 784 → 5 → 10 model, for commands run on the real test set.
fn fashion_model(dir: &Path) -> PathBuf {
    let path = dir.join("fashion.safetensors");
    let names: Vec<String> = (0..10).map(|c| format!("c{c}")).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    common::save_model(&path, 28, 28, 5, &names);
    path
}

#[test]
fn eval_and_predict_need_only_the_test_files() {
    let dir = temp("test-only");
    let data = dir.join("data");
    std::fs::create_dir_all(&data).unwrap();
    let system = Path::new(fashion_nn::data::SYSTEM_DATA_DIR);
    for name in ["t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"] {
        std::fs::copy(system.join(name), data.join(name)).unwrap();
    }
    let model = fashion_model(&dir);
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_fashion-nn"))
            .args(args)
            .arg("--data")
            .arg(&data)
            .arg("--model")
            .arg(&model)
            .output()
            .unwrap()
    };
    for args in [
        &["eval", "--backend", "cpu"][..],
        &["predict", "--index", "0"],
    ] {
        let out = run(args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{args:?}: {stderr}");
    }
    // Without the test labels it names the missing file.
    std::fs::remove_file(data.join("t10k-labels-idx1-ubyte.gz")).unwrap();
    let out = run(&["eval", "--backend", "cpu"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("lacks t10k-labels-idx1-ubyte(.gz);"),
        "{stderr}"
    );
}

fn train_in(dir: &Path, extra: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_fashion-nn"))
        .current_dir(dir)
        .args([
            "--backend",
            "cpu",
            "--epochs",
            "1",
            "--train-limit",
            "300",
            "--hidden",
            "4",
        ])
        .args(extra)
        .output()
        .unwrap()
}

#[test]
fn save_and_checkpoint_naming_one_file_in_two_ways_are_refused() {
    let dir = temp("same-file");
    let good = dir.join("good.st");
    save(&good, &small_model()).unwrap();
    let before = std::fs::read(&good).unwrap();
    std::os::unix::fs::symlink("good.st", dir.join("link.st")).unwrap();
    let absolute = good.to_str().unwrap().to_string();
    for checkpoint in ["./good.st", absolute.as_str(), "link.st", "sub/../good.st"] {
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        let out = train_in(&dir, &["--save", "good.st", "--checkpoint", checkpoint]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{checkpoint}: {stderr}");
        assert!(
            stderr.contains("is also the --save file"),
            "{checkpoint}: {stderr}"
        );
    }
    assert_eq!(std::fs::read(&good).unwrap(), before, "the model changed");
}

#[test]
fn save_over_a_file_that_is_not_a_model_is_refused_and_the_file_kept() {
    let dir = temp("not-a-model");
    std::fs::write(dir.join("notes.txt"), "my notes\n").unwrap();
    for flag in ["--save", "--checkpoint"] {
        let out = train_in(&dir, &[flag, "notes.txt"]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(
            stderr.contains(&format!(
                "{flag} notes.txt: the file exists and is not a fashion-nn model"
            )),
            "{stderr}"
        );
    }
    assert_eq!(
        std::fs::read_to_string(dir.join("notes.txt")).unwrap(),
        "my notes\n"
    );
}

#[test]
fn save_through_a_link_writes_the_file_it_points_at_without_optimizer_moments() {
    let dir = temp("link");
    save(&dir.join("old.st"), &small_model()).unwrap();
    std::os::unix::fs::symlink("old.st", dir.join("link.st")).unwrap();
    let out = train_in(&dir, &["--save", "link.st"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(dir.join("link.st").is_symlink(), "the link was replaced");
    let model = load(&dir.join("old.st")).unwrap();
    assert_eq!(model.params.shape.hidden, 4, "the target was not written");
    // Plain SGD has no moments to save.
    let bytes = std::fs::read(dir.join("old.st")).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let names: Vec<String> = st.names().into_iter().map(str::to_string).collect();
    assert!(
        !names
            .iter()
            .any(|n| n.starts_with("m_") || n.starts_with("v_")),
        "{names:?}"
    );
}

fn mkfifo(path: &Path) {
    let ok = Command::new("mkfifo").arg(path).status().unwrap().success();
    assert!(ok, "mkfifo {}", path.display());
}

#[test]
fn a_pipe_or_a_dangling_link_is_refused_before_training_and_never_read() {
    let dir = temp("special");
    let fifo = dir.join("fifo.st");
    let _ = std::fs::remove_file(&fifo);
    mkfifo(&fifo);
    let out = train_in(&dir, &["--save", "fifo.st"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("--save fifo.st: is a device, pipe or socket"),
        "{stderr}"
    );
    use std::os::unix::fs::FileTypeExt;
    assert!(
        std::fs::metadata(&fifo).unwrap().file_type().is_fifo(),
        "the pipe was replaced"
    );

    let _ = std::fs::remove_file(dir.join("dangling.st"));
    std::os::unix::fs::symlink("missing.st", dir.join("dangling.st")).unwrap();
    let out = train_in(&dir, &["--checkpoint", "dangling.st"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("--checkpoint dangling.st: is a link to missing.st, which does not exist"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty(), "training started");

    // Reading a pipe as a model, checkpoint or picture would wait forever.
    for args in [
        vec!["eval", "--backend", "cpu", "--model", "fifo.st"],
        vec!["--backend", "cpu", "--resume", "fifo.st"],
        vec!["predict", "--model", "fifo.st", "--index", "0"],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_fashion-nn"))
            .current_dir(&dir)
            .args(&args)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(
            stderr.contains("a device, pipe or socket"),
            "{args:?}: {stderr}"
        );
    }
}

#[test]
fn a_save_removes_temporary_files_of_dead_runs_and_keeps_live_ones() {
    let dir = temp("abandoned");
    let mut child = Command::new("true").spawn().unwrap();
    let dead = child.id();
    child.wait().unwrap();
    let abandoned = dir.join(format!(".fashion-nn-save-{dead}"));
    let live = dir.join(".fashion-nn-save-1");
    std::fs::write(&abandoned, b"half a model").unwrap();
    std::fs::write(&live, b"being written by pid 1").unwrap();
    save(&dir.join("m.safetensors"), &small_model()).unwrap();
    assert!(!abandoned.exists(), "the dead run's file stayed");
    assert!(live.exists(), "a live process's file was removed");
}

#[test]
fn file_names_too_long_for_the_file_system_are_refused_before_training() {
    let dir = temp("long-names");
    let too_long = "m".repeat(256);
    let out = train_in(&dir, &["--save", &too_long]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("the file name is 256 bytes, more than the 255"),
        "{stderr}"
    );
    // Legal, but the checkpoint named after it would not be.
    let near = format!("{}.st", "m".repeat(245));
    let out = train_in(&dir, &["--save", &near]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("choose another with --checkpoint FILE"),
        "{stderr}"
    );
    // With a checkpoint named apart, the long name saves (its temporary
    // file has a short name).
    let out = train_in(&dir, &["--save", &near, "--checkpoint", "ck.st"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(load(&dir.join(&near)).is_ok());
}
