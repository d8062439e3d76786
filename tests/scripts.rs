//! `scripts/test.sh` and `scripts/bench.sh` with bad arguments and broken
//! surroundings: each a clear message and a non-zero exit, checked before
//! anything runs. The scripts run from a copy of `scripts/` in a temporary
//! folder, with stand-ins for `cargo`, `python3`, `setup.sh` and the
//! `fashion-nn` binary that log their arguments, so nothing real is built,
//! installed or benchmarked and every test takes milliseconds.
#![cfg(unix)]

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Mutex;

use clap::ValueEnum;
use fashion_nn::cli::BackendChoice;

/// Held while a stand-in is written and while a process is spawned: a child
/// forked by another test thread while a stand-in is open for writing would
/// make running it fail with "text file busy".
static SPAWN: Mutex<()> = Mutex::new(());

/// A copy of the repository's scripts in a temporary folder, with stand-ins.
struct Sandbox {
    root: PathBuf,
}

/// Logs its name and arguments to $SANDBOX_LOG and does what the FAKE_*
/// variables say.
const CARGO: &str = r#"#!/bin/sh
echo "cargo $*" >>"$SANDBOX_LOG"
"#;

const SETUP: &str = r#"#!/bin/sh
echo "setup.sh" >>"$SANDBOX_LOG"
"#;

const PYTHON: &str = r#"#!/bin/sh
echo "python3 $*" >>"$SANDBOX_LOG"
case "$1" in
  -c) [ "${FAKE_NUMPY_MISSING:-}" != 1 ] ;;
  -m) exit 0 ;;
  -) cat >/dev/null; echo "the table" ;;
  *) if [ "${FAKE_NUMPY:-}" = fail ]; then echo '{"half'; exit 1; fi
     echo '{"numpy": "new"}' ;;
esac
"#;

const FASHION_NN: &str = r#"#!/bin/sh
echo "fashion-nn $*" >>"$SANDBOX_LOG"
case "$1" in
  adapters)
    case "${FAKE_ADAPTERS:-}" in
      none) echo "no GPU adapters found (on Debian, apt-get install mesa-vulkan-drivers)" ;;
      broken) echo "fashion-nn: cannot load libvulkan: boom" >&2; exit 3 ;;
      *) echo "vulkan  llvmpipe (LLVM 15.0.6, 256 bits)  Cpu  llvmpipe" ;;
    esac ;;
  bench)
    if [ "${FAKE_BENCH:-}" = fail ]; then echo '{"half'; echo "error: bench failed" >&2; exit 1; fi
    echo '{"results": "new"}' ;;
esac
"#;

fn write_executable(path: &Path, text: &str) {
    let _guard = SPAWN.lock().unwrap_or_else(|e| e.into_inner());
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

impl Sandbox {
    /// `with_binary`: whether the stand-in fashion-nn is in the target folder.
    fn new(name: &str, with_binary: bool) -> Sandbox {
        let root =
            std::env::temp_dir().join(format!("fashion-nn-scripts-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
        for script in ["test.sh", "bench.sh"] {
            let text = std::fs::read_to_string(repo.join("scripts").join(script)).unwrap();
            write_executable(&root.join("scripts").join(script), &text);
        }
        write_executable(&root.join("scripts/setup.sh"), SETUP);
        write_executable(&root.join("bin/cargo"), CARGO);
        write_executable(&root.join("bin/python3"), PYTHON);
        if with_binary {
            write_executable(&root.join("elsewhere/release/fashion-nn"), FASHION_NN);
        }
        std::fs::write(root.join("log"), "").unwrap();
        Sandbox { root }
    }

    /// The target folder the scripts are given in CARGO_TARGET_DIR (not
    /// `target`, so a script that ignores the variable misses the binary).
    fn target(&self) -> PathBuf {
        self.root.join("elsewhere")
    }

    fn run(&self, script: &str, args: &[&str], env: &[(&str, &str)]) -> Output {
        let path = format!(
            "{}:{}",
            self.root.join("bin").display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let mut command = Command::new("bash");
        command
            .arg(self.root.join("scripts").join(script))
            .args(args)
            .env("PATH", path)
            .env("CARGO_TARGET_DIR", self.target())
            .env("SANDBOX_LOG", self.root.join("log"))
            .env("XDG_RUNTIME_DIR", &self.root)
            .envs(env.iter().copied())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let child = {
            let _guard = SPAWN.lock().unwrap_or_else(|e| e.into_inner());
            command.spawn().expect("bash runs")
        };
        child.wait_with_output().unwrap()
    }

    /// What the stand-ins were asked to do, one line each.
    fn log(&self) -> String {
        std::fs::read_to_string(self.root.join("log")).unwrap()
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn test_sh_fails_when_there_is_no_vulkan_adapter() {
    let sandbox = Sandbox::new("no-adapter", true);
    let out = sandbox.run("test.sh", &[], &[("FAKE_ADAPTERS", "none")]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("no Vulkan adapter found"), "{err}");
    let log = sandbox.log();
    assert!(log.contains("fashion-nn adapters"), "{log}");
    assert!(!log.contains("cargo test"), "the tests ran anyway: {log}");
}

#[test]
fn test_sh_uses_the_binary_in_cargo_target_dir() {
    let sandbox = Sandbox::new("target-dir", true);
    let out = sandbox.run("test.sh", &[], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let log = sandbox.log();
    assert!(log.contains("fashion-nn adapters"), "{log}");
    assert!(log.contains("cargo test --release"), "{log}");
}

#[test]
fn test_sh_shows_why_the_binary_failed() {
    let sandbox = Sandbox::new("broken", true);
    let out = sandbox.run("test.sh", &[], &[("FAKE_ADAPTERS", "broken")]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("cannot load libvulkan: boom"), "{err}");
    assert!(err.contains("adapters` failed"), "{err}");
    assert!(!err.contains("no Vulkan adapter found"), "{err}");
    assert!(!sandbox.log().contains("cargo test"));
}

#[test]
fn test_sh_names_a_missing_binary() {
    let sandbox = Sandbox::new("missing", false);
    let out = sandbox.run("test.sh", &[], &[]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    let bin = sandbox.target().join("release/fashion-nn");
    assert!(err.contains(&bin.display().to_string()), "{err}");
    assert!(err.contains("No such file"), "{err}");
    assert!(!err.contains("no Vulkan adapter found"), "{err}");
}

#[test]
fn bench_sh_rejects_bad_arguments_before_doing_anything() {
    let sandbox = Sandbox::new("bench-args", true);
    for (args, needle) in [
        (&["--epochs", "0"][..], "--epochs '0': give a whole number"),
        (&["--epochs", "-1"], "--epochs '-1': give a whole number"),
        (&["--epochs", "abc"], "--epochs 'abc': give a whole number"),
        (&["--epochs", ""], "--epochs '': give a whole number"),
        (&["--epochs"], "--epochs needs a number"),
        (&["--backends", "foo"], "unknown backend 'foo'"),
        (&["--backends", "cpu,foo"], "unknown backend 'foo'"),
        (&["--backends", "cpu,,vulkan"], "has an empty entry"),
        (&["--backends", "cpu,"], "has an empty entry"),
        (
            &["--backends", "cpu,vulkan,cpu"],
            "cpu is named more than once",
        ),
        (&["--backend", "cpu"], "unknown argument '--backend'"),
    ] {
        let out = sandbox.run("bench.sh", args, &[]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: lacks {needle:?}: {err}");
        assert!(err.contains("usage: scripts/bench.sh"), "{args:?}: {err}");
        let log = sandbox.log();
        assert!(log.is_empty(), "{args:?}: something ran first: {log}");
    }
}

#[test]
fn bench_sh_knows_the_backend_names_of_the_cli() {
    let script =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/bench.sh"))
            .unwrap();
    let line = script
        .lines()
        .find_map(|l| l.strip_prefix("known=("))
        .expect("bench.sh lists the backend names in known=(...)");
    let mut in_script: Vec<&str> = line.trim_end_matches(')').split_whitespace().collect();
    let mut in_cli: Vec<&str> = BackendChoice::value_variants()
        .iter()
        .map(|b| b.name())
        .collect();
    in_script.sort_unstable();
    in_cli.sort_unstable();
    assert_eq!(in_script, in_cli);
}

#[test]
fn bench_sh_runs_everything_and_writes_into_the_target_dir() {
    let sandbox = Sandbox::new("bench-ok", true);
    let out = sandbox.run("bench.sh", &["--epochs", "02", "--backends", "cpu"], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let log = sandbox.log();
    assert!(
        log.contains("fashion-nn bench --workload article --backends cpu --epochs 2 --json"),
        "{log}"
    );
    assert!(log.contains("numpy_article.py --epochs 2 --json"), "{log}");
    let bench = sandbox.target().join("bench");
    let read = |f: &str| std::fs::read_to_string(bench.join(f)).unwrap();
    assert_eq!(read("numpy.json").trim(), r#"{"numpy": "new"}"#);
    assert_eq!(read("wide.json").trim(), r#"{"results": "new"}"#);
}

/// The files of `dir`, sorted.
fn files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn bench_sh_keeps_the_earlier_results_when_a_part_fails() {
    let sandbox = Sandbox::new("bench-fail", true);
    let bench = sandbox.target().join("bench");
    std::fs::create_dir_all(&bench).unwrap();
    for f in ["numpy.json", "article.json", "wide.json"] {
        std::fs::write(bench.join(f), "earlier").unwrap();
    }
    let read = |f: &str| std::fs::read_to_string(bench.join(f)).unwrap();
    let all = ["article.json", "numpy.json", "wide.json"];

    let out = sandbox.run("bench.sh", &["--epochs", "1"], &[("FAKE_NUMPY", "fail")]);
    assert_ne!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(read("numpy.json"), "earlier");
    assert_eq!(files(&bench), all, "a partial file was left");

    let out = sandbox.run("bench.sh", &["--epochs", "1"], &[("FAKE_BENCH", "fail")]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("error: bench failed"));
    assert_eq!(read("numpy.json").trim(), r#"{"numpy": "new"}"#);
    assert_eq!(read("article.json"), "earlier");
    assert_eq!(read("wide.json"), "earlier");
    assert_eq!(files(&bench), all, "a partial file was left");
}

#[test]
fn bench_sh_says_where_it_installs_numpy() {
    let sandbox = Sandbox::new("bench-numpy", true);
    let out = sandbox.run(
        "bench.sh",
        &["--epochs", "1"],
        &[("FAKE_NUMPY_MISSING", "1")],
    );
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    let python = sandbox.root.join("bin/python3");
    assert!(
        err.contains("installing it into the current python3")
            && err.contains(&python.display().to_string())
            && err.contains("with pip"),
        "{err}"
    );
    assert!(
        sandbox
            .log()
            .contains("python3 -m pip install --quiet numpy"),
        "{}",
        sandbox.log()
    );
}
