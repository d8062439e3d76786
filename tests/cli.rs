//! Errors a user can cause on the command line: each a clear message naming
//! the flag, file or limit, and a non-zero exit, never a panic.

use std::process::{Command, Output};

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_fashion-nn"))
        .args(args)
        .env_remove("FASHION_MNIST_DIR")
        .output()
        .expect("the binary runs")
}

/// Asserts a failure with exit code `code` whose stderr contains every needle.
fn assert_fails(args: &[&str], code: i32, needles: &[&str]) {
    let out = run(args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(code),
        "{args:?}: stderr was {stderr}"
    );
    assert!(!stderr.contains("panicked"), "{args:?} panicked: {stderr}");
    for n in needles {
        assert!(stderr.contains(n), "{args:?}: stderr lacks {n:?}: {stderr}");
    }
    if code == 2 {
        // Argument errors stop before anything runs.
        assert!(
            out.stdout.is_empty(),
            "{args:?}: nothing belongs on stdout, got {}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
}

#[test]
fn unknown_backend_is_rejected_with_the_possible_values() {
    assert_fails(
        &["--backend", "cuda"],
        2,
        &["invalid value 'cuda'", "--backend", "vulkan", "cpu"],
    );
}

#[test]
fn backend_without_adapter_lists_the_adapters_that_exist() {
    // Linux has no Metal; lavapipe is there as a Vulkan adapter.
    assert_fails(
        &[
            "--backend",
            "metal",
            "--epochs",
            "1",
            "--train-limit",
            "100",
        ],
        1,
        &[
            "no metal GPU adapter found",
            "adapters present",
            "vulkan",
            "--backend cpu",
        ],
    );
}

#[test]
fn non_positive_or_non_finite_learning_rate_is_rejected() {
    for (lr, why) in [
        ("0", "greater than 0"),
        ("-1", "greater than 0"),
        ("nan", "not a finite number"),
        ("inf", "not a finite number"),
        ("fast", "not a number"),
    ] {
        assert_fails(&["--lr", lr], 2, &["--lr", why]);
    }
}

#[test]
fn zero_hidden_units_or_batch_size_is_rejected() {
    assert_fails(&["--hidden", "0"], 2, &["--hidden", "at least 1"]);
    assert_fails(&["--batch-size", "0"], 2, &["--batch-size", "at least 1"]);
    assert_fails(&["--epochs", "0"], 2, &["--epochs", "at least 1"]);
}

#[test]
fn negative_regularization_is_rejected() {
    assert_fails(&["--l2", "-0.1"], 2, &["--l2", "0 or more"]);
}

#[test]
fn data_folder_without_the_files_says_how_to_get_them() {
    let dir = std::env::temp_dir().join(format!("fashion-nn-empty-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    assert_fails(
        &["--backend", "cpu", "--data", dir.to_str().unwrap()],
        1,
        &[
            dir.to_str().unwrap(),
            "train-images-idx3-ubyte",
            "apt-get install dataset-fashion-mnist",
            "--data",
        ],
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn batch_beyond_the_gpu_binding_limit_names_the_limit() {
    // 60 000 standardized images are 188 MB, over lavapipe's 128 MiB per binding.
    assert_fails(
        &[
            "--backend",
            "vulkan",
            "--batch-size",
            "60000",
            "--epochs",
            "1",
        ],
        1,
        &["max_storage_buffer_binding_size", "--batch-size"],
    );
}

#[test]
fn json_output_is_exactly_one_object_on_stdout() {
    let out = run(&[
        "--backend",
        "cpu",
        "--epochs",
        "2",
        "--hidden",
        "16",
        "--train-limit",
        "2000",
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let v: serde_json::Value =
        serde_json::from_str(stdout.trim()).expect("stdout is one JSON object");
    for key in [
        "backend",
        "adapter",
        "epochs",
        "hidden",
        "batch_size",
        "train_accuracy",
        "test_accuracy",
        "loss",
        "epoch_seconds",
        "total_seconds",
    ] {
        assert!(v.get(key).is_some(), "missing {key} in {stdout}");
    }
    assert_eq!(v["backend"], "cpu");
    assert_eq!(v["loss"].as_array().unwrap().len(), 2);
    assert!(v["test_accuracy"].as_f64().unwrap() > 0.5);
}

#[test]
fn adapters_lists_lavapipe() {
    let out = run(&["adapters"]);
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("vulkan") && stdout.contains("llvmpipe"),
        "{stdout}"
    );
}

#[test]
fn divergence_stops_with_the_epoch_and_advice_on_both_backends() {
    for backend in ["cpu", "vulkan"] {
        let checkpoint = std::env::temp_dir()
            .join(format!(
                "fashion-nn-diverged-{}-{backend}.safetensors",
                std::process::id()
            ))
            .display()
            .to_string();
        assert_fails(
            &[
                "--backend",
                backend,
                "--lr",
                "3e38",
                "--train-limit",
                "500",
                "--epochs",
                "3",
                "--hidden",
                "8",
                "--checkpoint",
                &checkpoint,
            ],
            1,
            &[
                "training diverged in epoch 1",
                "NaN",
                "lower --lr",
                "the initial weights (the last finite ones) are saved in",
            ],
        );
        let saved = fashion_nn::model::load(std::path::Path::new(&checkpoint)).unwrap();
        assert!(saved.params.w1.iter().all(|w| w.is_finite()));
        std::fs::remove_file(&checkpoint).unwrap();
    }
}

#[test]
fn hidden_activations_beyond_the_gpu_binding_limit_stop_before_the_first_epoch() {
    // 40 000 × 1 024 activations × 4 bytes = 164 MB > lavapipe's 128 MiB.
    let args = [
        "--backend",
        "vulkan",
        "--train-limit",
        "40000",
        "--hidden",
        "1024",
        "--batch-size",
        "40000",
        "--epochs",
        "1",
    ];
    assert_fails(
        &args,
        1,
        &[
            "hidden activations",
            "max_storage_buffer_binding_size",
            "--batch-size",
        ],
    );
    let out = run(&args);
    assert!(
        !String::from_utf8_lossy(&out.stdout).contains("epoch   1"),
        "an epoch ran first"
    );
}

#[test]
fn a_network_too_large_for_memory_is_an_error_not_an_abort() {
    assert_fails(
        &[
            "--backend",
            "cpu",
            "--train-limit",
            "100",
            "--hidden",
            "100000000",
        ],
        1,
        &["does not fit in memory", "--hidden"],
    );
}

#[test]
fn learning_rate_beyond_f32_is_named_as_such() {
    assert_fails(&["--lr", "1e40"], 2, &["--lr", "too large for f32"]);
}

#[test]
fn bench_with_a_missing_adapter_fails_before_timing_anything() {
    let out = run(&[
        "bench",
        "--backends",
        "cpu,metal",
        "--train-limit",
        "600",
        "--epochs",
        "1",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("--backends: metal cannot be opened"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("bench: article on cpu"),
        "timing started: {stderr}"
    );
}

#[test]
fn a_loss_far_above_guessing_warns_of_divergence() {
    let out = run(&[
        "--backend",
        "cpu",
        "--lr",
        "1000",
        "--train-limit",
        "2000",
        "--epochs",
        "1",
        "--hidden",
        "16",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("warning: epoch 1 loss") && stderr.contains("diverging"),
        "{stderr}"
    );
}

#[test]
fn a_closed_stdout_pipe_ends_quietly_without_a_panic() {
    use std::process::Stdio;
    let mut child = Command::new(env!("CARGO_BIN_EXE_fashion-nn"))
        .args([
            "--backend",
            "cpu",
            "--epochs",
            "3",
            "--train-limit",
            "2000",
            "--hidden",
            "16",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take()); // the reader goes away before the first line
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn negative_or_too_large_counts_are_named_as_such() {
    assert_fails(
        &["--epochs", "-1"],
        2,
        &["--epochs", "must be at least 1 (got -1)"],
    );
    assert_fails(
        &["--train-limit", "99999999999999999999999"],
        2,
        &["--train-limit", "is too large (at most"],
    );
    assert_fails(
        &["--seed", "-1"],
        2,
        &["--seed", "`-1` is not a whole number from 0 to"],
    );
}

#[test]
fn a_malformed_binding_cap_variable_is_named() {
    for value in ["abc", "0", "-1", "3", "99999999999999999999999"] {
        let out = Command::new(env!("CARGO_BIN_EXE_fashion-nn"))
            .args([
                "--backend",
                "vulkan",
                "--epochs",
                "1",
                "--train-limit",
                "100",
            ])
            .env("FASHION_NN_MAX_BINDING_BYTES", value)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{value}: {stderr}");
        assert!(
            stderr.contains(&format!(
                "FASHION_NN_MAX_BINDING_BYTES={value}: not a whole number of bytes from 4 to"
            )),
            "{value}: {stderr}"
        );
    }
}

#[test]
fn bench_reports_the_batch_in_use_like_train() {
    // 10 images: the article's batch of 2 400 is one batch of 10.
    let out = run(&[
        "bench",
        "--backends",
        "cpu",
        "--workload",
        "article",
        "--train-limit",
        "10",
        "--epochs",
        "1",
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("batch 10, 10 images"), "{stdout}");

    let out = run(&[
        "bench",
        "--backends",
        "cpu",
        "--workload",
        "wide",
        "--hidden",
        "8",
        "--batch-size",
        "1000000",
        "--train-limit",
        "600",
        "--epochs",
        "1",
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    assert_eq!(v["workload"]["batch_size"], 600, "{v}");
    assert_eq!(v["workload"]["images"], 600, "{v}");
}

#[test]
fn bench_refuses_a_backend_named_twice_or_an_empty_entry() {
    assert_fails(
        &["bench", "--backends", "cpu,vulkan,cpu"],
        2,
        &["--backends cpu,vulkan,cpu", "cpu is named more than once"],
    );
    assert_fails(
        &["bench", "--backends", "cpu,,vulkan"],
        2,
        &["--backends has an empty entry", "cpu,vulkan", "metal"],
    );
    let stderr =
        String::from_utf8_lossy(&run(&["bench", "--backends", "cpu,"]).stderr).into_owned();
    assert!(stderr.contains("--backends has an empty entry"), "{stderr}");
    assert!(!stderr.contains("none was supplied"), "{stderr}");
}

#[test]
fn bench_without_an_adapter_names_its_own_flag() {
    let args = [
        "bench",
        "--backends",
        "metal",
        "--train-limit",
        "100",
        "--epochs",
        "1",
    ];
    assert_fails(
        &args,
        1,
        &[
            "--backends: metal cannot be opened",
            "no metal GPU adapter found",
            "adapters present",
            "Pick one of those with --backends",
            "use --backends cpu",
        ],
    );
    let stderr = String::from_utf8_lossy(&run(&args).stderr).into_owned();
    assert!(
        !stderr.contains("--backend "),
        "train's flag named: {stderr}"
    );
}

#[test]
fn negative_fractions_rates_and_indices_are_named() {
    assert_fails(
        &["--val-split", "-0.1"],
        2,
        &["--val-split", "between 0 and 1"],
    );
    assert_fails(&["--lr-decay", "-1"], 2, &["--lr-decay"]);
    assert_fails(
        &["predict", "--model", "m.st", "--index", "-1"],
        2,
        &["--index", "must be 0 or more (got -1)"],
    );
    assert_fails(&["--lr", "1e-50"], 2, &["--lr", "is too small for f32"]);
}

#[test]
fn a_full_stdout_is_an_error_not_a_panic() {
    for args in [
        vec!["adapters"],
        vec![
            "--backend",
            "cpu",
            "--epochs",
            "1",
            "--train-limit",
            "200",
            "--hidden",
            "4",
            "--json",
        ],
    ] {
        let full = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_fashion-nn"))
            .args(&args)
            .stdout(full)
            .env("RUST_BACKTRACE", "1")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(
            stderr.contains("error: cannot write to standard output (No space left on device")
                && !stderr.contains("panicked"),
            "{args:?}: {stderr}"
        );
    }
}
