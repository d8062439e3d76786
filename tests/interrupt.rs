//! Ctrl-C, resuming, and the flags of better training, through the binary.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use fashion_nn::model::load;

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_fashion-nn"));
    c.env_remove("FASHION_MNIST_DIR");
    c
}

fn run(args: &[&str]) -> Output {
    bin().args(args).output().expect("the binary runs")
}

fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("fashion-nn-interrupt-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn signal(pid: u32, name: &str) {
    let ok = Command::new("kill")
        .args([&format!("-{name}"), &pid.to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill -{name} failed");
}

/// Starts `args`, waits for the line of epoch `epoch` on stdout, sends
/// `signals` (one after another), and returns the output.
fn interrupt_after_epoch(args: &[&str], epoch: usize, signals: &[&str]) -> (Option<i32>, String) {
    let mut child = bin()
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let marker = format!("epoch {epoch:>3}/");
    loop {
        match lines.next() {
            Some(line) if line.as_ref().unwrap().starts_with(&marker) => break,
            Some(_) => {}
            None => panic!("the run ended before epoch {epoch}"),
        }
    }
    for s in signals {
        signal(child.id(), s);
    }
    // Drain stdout so the child never blocks on a full pipe.
    for _ in lines {}
    let out = child.wait_with_output().unwrap();
    (out.status.code(), text(&out.stderr))
}

const SMALL: [&str; 12] = [
    "--backend",
    "vulkan",
    "--train-limit",
    "6000",
    "--hidden",
    "64",
    "--optimizer",
    "adam",
    "--shuffle",
    "--seed",
    "3",
    "--l2",
];

fn small(extra: &[&str]) -> Vec<String> {
    SMALL
        .iter()
        .chain(&["1e-4"])
        .chain(extra)
        .map(|s| s.to_string())
        .collect()
}

fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

#[test]
fn ctrl_c_writes_a_checkpoint_and_resuming_ends_with_the_uninterrupted_weights() {
    let whole = temp("whole.safetensors");
    let resumed = temp("resumed.safetensors");
    let checkpoint = temp("run.checkpoint.safetensors");
    let whole_s = whole.display().to_string();
    let resumed_s = resumed.display().to_string();
    let checkpoint_s = checkpoint.display().to_string();

    let out = run(&strs(&small(&["--epochs", "4", "--save", &whole_s])));
    assert!(out.status.success(), "{}", text(&out.stderr));

    let args = small(&["--epochs", "4", "--save", &resumed_s]);
    let (code, stderr) = interrupt_after_epoch(&strs(&args), 1, &["INT"]);
    assert_eq!(code, Some(130), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "checkpoint written to {}",
            temp("resumed.checkpoint.safetensors").display()
        )),
        "{stderr}"
    );
    assert!(stderr.contains("resume with: "), "{stderr}");
    assert!(stderr.contains("--resume"), "{stderr}");
    assert!(
        !resumed.exists(),
        "an interrupted run wrote its --save file"
    );
    std::fs::rename(temp("resumed.checkpoint.safetensors"), &checkpoint).unwrap();

    let out = run(&strs(&small(&[
        "--epochs",
        "4",
        "--save",
        &resumed_s,
        "--resume",
        &checkpoint_s,
    ])));
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(stdout.contains("resuming after epoch 1 batch"), "{stdout}");
    let (a, b) = (load(&whole).unwrap(), load(&resumed).unwrap());
    let diff = a.params.max_relative_difference(&b.params);
    assert!(diff < 1e-6, "resumed weights differ by {diff}");
}

#[test]
fn a_second_ctrl_c_exits_at_once_and_leaves_the_last_checkpoint_whole() {
    let checkpoint = temp("twice.safetensors");
    let checkpoint_s = checkpoint.display().to_string();
    // A first interrupted run leaves a checkpoint.
    let args = small(&["--epochs", "50", "--checkpoint", &checkpoint_s]);
    let (code, stderr) = interrupt_after_epoch(&strs(&args), 1, &["INT"]);
    assert_eq!(code, Some(130), "{stderr}");
    let before = std::fs::read(&checkpoint).unwrap();
    // The resumed run gets two signals in a row (SIGTERM, then SIGINT).
    let args = small(&[
        "--epochs",
        "50",
        "--checkpoint",
        &checkpoint_s,
        "--resume",
        &checkpoint_s,
    ]);
    let (code, stderr) = interrupt_after_epoch(&strs(&args), 3, &["TERM", "INT"]);
    assert_eq!(code, Some(130), "{stderr}");
    assert!(stderr.contains("second interrupt: exiting now"), "{stderr}");
    // Either the old checkpoint or a complete new one, never a torn file.
    let after = std::fs::read(&checkpoint).unwrap();
    assert!(after == before || load(Path::new(&checkpoint)).is_ok());
    load(&checkpoint).expect("the checkpoint stays loadable");
}

fn assert_fails(args: &[&str], code: i32, needles: &[&str]) {
    let out = run(args);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(code), "{args:?}: {stderr}");
    assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    for n in needles {
        assert!(stderr.contains(n), "{args:?}: stderr lacks {n:?}: {stderr}");
    }
}

#[test]
fn bad_training_flags_name_the_flag_and_what_to_give() {
    assert_fails(
        &["--val-split", "1.5"],
        2,
        &["--val-split", "between 0 and 1"],
    );
    assert_fails(&["--val-split", "x"], 2, &["--val-split", "not a number"]);
    assert_fails(
        &["--optimizer", "rmsprop"],
        2,
        &["invalid value 'rmsprop'", "sgd", "momentum", "adam"],
    );
    assert_fails(
        &[
            "--backend",
            "cpu",
            "--resume",
            "/nonexistent/model.safetensors",
        ],
        1,
        &["--resume /nonexistent/model.safetensors: no such file"],
    );
    assert_fails(
        &[
            "--backend",
            "cpu",
            "--checkpoint",
            "/nonexistent/dir/c.safetensors",
        ],
        1,
        &[
            "--checkpoint /nonexistent/dir/c.safetensors",
            "does not exist",
        ],
    );
    let not_a_model = temp("not-a-model.safetensors");
    std::fs::write(&not_a_model, b"hello").unwrap();
    assert_fails(
        &[
            "--backend",
            "cpu",
            "--resume",
            &not_a_model.display().to_string(),
        ],
        1,
        &["is not a safetensors file"],
    );
}

#[test]
fn resuming_a_finished_run_or_another_shape_is_refused() {
    let model = temp("finished.safetensors");
    let model_s = model.display().to_string();
    let base = ["--backend", "cpu", "--train-limit", "500", "--hidden", "8"];
    let out = run(&[&base[..], &["--epochs", "2", "--save", &model_s]].concat());
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_fails(
        &[&base[..], &["--epochs", "2", "--resume", &model_s]].concat(),
        1,
        &["already finished 2 epochs", "--epochs larger"],
    );
    assert_fails(
        &[
            "--backend",
            "cpu",
            "--train-limit",
            "500",
            "--hidden",
            "9",
            "--epochs",
            "3",
            "--resume",
            &model_s,
        ],
        1,
        &["784 → 8 → 10", "784 → 9 → 10", "same --hidden"],
    );
    // Training on from a finished run: two more epochs.
    let out = run(&[&base[..], &["--epochs", "4", "--resume", &model_s]].concat());
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        stdout.contains("resuming after epoch 2 batch 0"),
        "{stdout}"
    );
    assert!(
        stdout.contains("epoch   3/4") && stdout.contains("epoch   4/4"),
        "{stdout}"
    );
}

#[test]
fn validation_split_keeps_the_best_epoch_and_reports_it() {
    let out = run(&[
        "--backend",
        "cpu",
        "--train-limit",
        "2000",
        "--hidden",
        "16",
        "--epochs",
        "3",
        "--val-split",
        "0.2",
        "--optimizer",
        "momentum",
        "--json",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let accuracies = json["validation_accuracy"].as_array().unwrap();
    assert_eq!(accuracies.len(), 3);
    let best = json["best_epoch"].as_u64().unwrap() as usize;
    let max = accuracies
        .iter()
        .map(|a| a.as_f64().unwrap())
        .fold(0.0, f64::max);
    assert_eq!(accuracies[best - 1].as_f64().unwrap(), max);
    assert_eq!(json["optimizer"], "momentum");
    assert!(text(&out.stderr).contains("1600 training, 400 validation"));
}

#[test]
fn resuming_with_a_validation_set_keeps_the_starting_weights_unless_an_epoch_beats_them() {
    let model = temp("validated.safetensors");
    let common = [
        "--backend",
        "cpu",
        "--train-limit",
        "1000",
        "--hidden",
        "8",
        "--val-split",
        "0.2",
    ];
    let first = bin()
        .args(common)
        .args(["--epochs", "1", "--save"])
        .arg(&model)
        .output()
        .unwrap();
    assert!(first.status.success(), "{}", text(&first.stderr));
    // A rate so small the weights cannot change: no epoch can beat the start.
    let out = bin()
        .args(common)
        .args(["--epochs", "1", "--lr", "1e-30", "--resume"])
        .arg(&model)
        .output()
        .unwrap();
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        stdout.contains(
            "kept the weights of epoch 0, from before --resume (no epoch of this run beat them)"
        ),
        "{stdout}"
    );
}

#[test]
fn auto_falls_back_to_the_cpu_when_the_gpu_hits_a_limit() {
    // A software adapter allowed for `auto`, and a binding limit that a batch
    // of 500 images (1.5 MB) exceeds.
    let out = bin()
        .env("FASHION_NN_AUTO_SOFTWARE", "1")
        .env("FASHION_NN_MAX_BINDING_BYTES", "1000000")
        .args([
            "--backend",
            "auto",
            "--train-limit",
            "2000",
            "--batch-size",
            "500",
            "--hidden",
            "8",
            "--epochs",
            "1",
            "--json",
        ])
        .output()
        .unwrap();
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("auto: using the GPU adapter"), "{stderr}");
    assert!(
        stderr.contains("auto: the GPU backend failed (")
            && stderr.contains("at most 1.0 MiB")
            && stderr.contains("falling back to the CPU backend"),
        "{stderr}"
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["backend"], "cpu");
}

#[test]
fn resuming_on_other_data_or_saving_over_the_checkpoint_is_refused() {
    let model = temp("five-hundred.safetensors");
    let model_s = model.display().to_string();
    let base = ["--backend", "cpu", "--hidden", "8"];
    let out = run(&[
        &base[..],
        &["--train-limit", "500", "--epochs", "1", "--save", &model_s],
    ]
    .concat());
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_fails(
        &[
            &base[..],
            &[
                "--train-limit",
                "600",
                "--epochs",
                "2",
                "--resume",
                &model_s,
            ],
        ]
        .concat(),
        1,
        &[
            "that run trained on 500 images, this one has 600",
            "same data",
        ],
    );
    let same = temp("same.safetensors").display().to_string();
    assert_fails(
        &["--backend", "cpu", "--save", &same, "--checkpoint", &same],
        1,
        &["is also the --save file", "give two names"],
    );
    let file = temp("plain-file");
    std::fs::write(&file, b"x").unwrap();
    let under = file.join("m.safetensors").display().to_string();
    assert_fails(
        &["--backend", "cpu", "--save", &under],
        1,
        &["is a file, not a folder"],
    );
}

#[test]
fn a_diverged_run_keeps_its_weights_apart_from_an_existing_checkpoint() {
    let dir = temp("diverged-cwd");
    std::fs::create_dir_all(&dir).unwrap();
    let checkpoint = dir.join("fashion-nn-checkpoint.safetensors");
    std::fs::write(&checkpoint, b"another run's checkpoint").unwrap();
    let out = bin()
        .current_dir(&dir)
        .args([
            "--backend",
            "cpu",
            "--train-limit",
            "300",
            "--hidden",
            "4",
            "--lr",
            "3e38",
        ])
        .output()
        .unwrap();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("are saved in fashion-nn-last-finite.safetensors"),
        "{stderr}"
    );
    assert!(load(&dir.join("fashion-nn-last-finite.safetensors")).is_ok());
    assert_eq!(
        std::fs::read(&checkpoint).unwrap(),
        b"another run's checkpoint"
    );
}

#[test]
fn bench_refuses_a_network_too_large_for_memory() {
    assert_fails(
        &[
            "bench",
            "--backends",
            "cpu",
            "--hidden",
            "100000000",
            "--epochs",
            "1",
            "--train-limit",
            "100",
        ],
        1,
        &["does not fit in memory", "smaller --hidden"],
    );
}

#[test]
fn a_hangup_ignored_by_nohup_stays_ignored() {
    // `trap '' HUP` is what nohup does: the run must not take SIGHUP over.
    let script = format!(
        "trap '' HUP; exec '{}' --backend cpu --train-limit 500 --hidden 8 --epochs 600",
        env!("CARGO_BIN_EXE_fashion-nn")
    );
    let mut child = Command::new("sh")
        .args(["-c", &script])
        .env_remove("FASHION_MNIST_DIR")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let mut seen = Vec::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        let hit = line.starts_with("epoch   5/600");
        seen.push(line);
        if hit {
            break;
        }
    }
    signal(child.id(), "HUP");
    let rest: Vec<String> = lines.map(|l| l.unwrap()).collect();
    let out = child.wait_with_output().unwrap();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("interrupt"), "{stderr}");
    assert!(
        rest.iter().any(|l| l.starts_with("epoch 600/600")),
        "the run stopped early: {:?}",
        rest.last()
    );
}
