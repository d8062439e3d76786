//! `fashion-nn download` against a small HTTP/1.1 server on the loopback
//! interface (std::net, one thread), never the real network: the real files,
//! altered bytes, a cut connection, a 404 and a folder that cannot be made.
//!
//! The server serves the mirror's files rebuilt from Debian's copies in
//! /usr/share/datasets/fashion-mnist (CI installs `dataset-fashion-mnist`):
//! Debian rewrote the gzip header (no file name, another time stamp), so the
//! original header is put back; see `fashion_nn::download::FILES`.

use std::collections::HashMap;
use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use fashion_nn::download::FILES;
use sha2::{Digest, Sha256};

const DEBIAN_DIR: &str = "/usr/share/datasets/fashion-mnist";

/// The mirror's copy of `name`: Debian's file with the original gzip header
/// (flags FNAME, the 2017 time stamp, the file name) put back.
fn mirror_file(name: &str) -> Vec<u8> {
    let debian = fs::read(Path::new(DEBIAN_DIR).join(name))
        .unwrap_or_else(|e| panic!("{DEBIAN_DIR}/{name}: {e}; install dataset-fashion-mnist"));
    // Debian's header: magic, deflate, no flags, its own time, xfl 0, Unix.
    assert_eq!(debian[..4], [0x1f, 0x8b, 8, 0], "{name}: unexpected header");
    let mtime: u32 = if name.starts_with("train") {
        1_504_176_606
    } else {
        1_504_176_627
    };
    let mut v = vec![0x1f, 0x8b, 8, 0x08];
    v.extend(mtime.to_le_bytes());
    v.extend([0, 3]);
    v.extend(name.trim_end_matches(".gz").as_bytes());
    v.push(0);
    v.extend(&debian[10..]);
    v
}

/// The four mirror files, built once for all tests.
fn mirror_files() -> &'static HashMap<String, Vec<u8>> {
    static FILES_BYTES: OnceLock<HashMap<String, Vec<u8>>> = OnceLock::new();
    FILES_BYTES.get_or_init(|| {
        FILES
            .iter()
            .map(|f| (f.name.to_string(), mirror_file(f.name)))
            .collect()
    })
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// What the server answers to one request.
enum Reply {
    /// 200 with this body.
    Body(Vec<u8>),
    /// An empty answer with this status line.
    Status(&'static str),
    /// 200 claiming `claimed` bytes, sending `body`, then closing.
    Cut { claimed: usize, body: Vec<u8> },
}

/// Starts a server on 127.0.0.1:0 that answers each GET with
/// `route(path)`; returns its base URL and the count of requests. The thread
/// lives until the test process ends.
fn serve(route: impl Fn(&str) -> Reply + Send + 'static) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind the loopback");
    let base = format!("http://{}/", listener.local_addr().expect("address"));
    let requests = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&requests);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().expect("clone the stream"));
            let mut request_line = String::new();
            if reader.read_line(&mut request_line).is_err() {
                continue;
            }
            // Skip the headers, up to the empty line.
            let mut line = String::new();
            while reader.read_line(&mut line).map(|n| n > 2).unwrap_or(false) {
                line.clear();
            }
            counter.fetch_add(1, Ordering::SeqCst);
            let path = request_line.split(' ').nth(1).unwrap_or("/").to_string();
            let (head, body) = match route(path.trim_start_matches('/')) {
                Reply::Body(b) => (
                    format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n", b.len()),
                    b,
                ),
                Reply::Status(s) => (format!("HTTP/1.1 {s}\r\nContent-Length: 0\r\n"), vec![]),
                Reply::Cut { claimed, body } => (
                    format!("HTTP/1.1 200 OK\r\nContent-Length: {claimed}\r\n"),
                    body,
                ),
            };
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(b"Content-Type: application/octet-stream\r\n");
            let _ = stream.write_all(b"Connection: close\r\n\r\n");
            let _ = stream.write_all(&body);
            let _ = stream.flush();
            // Dropping the stream closes the connection.
        }
    });
    (base, requests)
}

/// Serves the mirror's files, with `change` applied to each reply.
fn serve_mirror(
    change: impl Fn(&str, Vec<u8>) -> Reply + Send + 'static,
) -> (String, Arc<AtomicUsize>) {
    let files = mirror_files();
    serve(move |name| match files.get(name) {
        Some(bytes) => change(name, bytes.clone()),
        None => Reply::Status("404 Not Found"),
    })
}

/// A fresh directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!(
            "fashion-nn-download-{}-{n}-{name}",
            std::process::id()
        ));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("create temp dir");
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// Runs `fashion-nn download ARGS` in `cwd` against `mirror`, with no proxy
/// and no `FASHION_MNIST_DIR`.
fn download(cwd: &Path, mirror: &str, args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_fashion-nn"));
    cmd.arg("download")
        .args(args)
        .current_dir(cwd)
        .env("FASHION_NN_MIRROR", mirror)
        .env_remove("FASHION_MNIST_DIR");
    for proxy in [
        "ALL_PROXY",
        "all_proxy",
        "HTTPS_PROXY",
        "https_proxy",
        "HTTP_PROXY",
        "http_proxy",
    ] {
        cmd.env_remove(proxy);
    }
    cmd.output().expect("the binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Asserts exit code 1, no panic, and every needle in stderr; returns stderr.
fn assert_fails(out: &Output, needles: &[&str]) -> String {
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "stderr was {stderr}");
    assert!(!stderr.contains("panicked"), "panicked: {stderr}");
    for n in needles {
        assert!(stderr.contains(n), "stderr lacks {n:?}: {stderr}");
    }
    stderr
}

/// The names in `dir`, sorted.
fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .expect("read the folder")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn all_names() -> Vec<String> {
    let mut names: Vec<String> = FILES.iter().map(|f| f.name.to_string()).collect();
    names.sort();
    names
}

#[test]
fn download_writes_the_four_mirror_files_byte_for_byte() {
    let tmp = TempDir::new("ok");
    let (mirror, requests) = serve_mirror(|_, b| Reply::Body(b));
    let out = download(&tmp.0, &mirror, &["--dir", "fm"]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "stderr: {}", text(&out.stderr));
    let dir = tmp.0.join("fm");
    assert_eq!(names_in(&dir), all_names(), "no temporary file is left");
    for f in FILES {
        let got = fs::read(dir.join(f.name)).expect("downloaded file");
        assert!(got == mirror_files()[f.name], "{} differs", f.name);
        assert!(stdout.contains(&format!("{mirror}{}", f.name)), "{stdout}");
        assert!(stdout.contains(f.sha256), "{stdout}");
    }
    assert_eq!(requests.load(Ordering::SeqCst), 4);
    assert!(stdout.contains("4 downloaded, 0 already there"), "{stdout}");
    assert!(
        stdout.contains("to train: fashion-nn --data fm"),
        "{stdout}"
    );
    // The result is a data folder the trainer reads.
    let data = fashion_nn::data::load_fashion_mnist(&dir).expect("loads");
    assert_eq!((data.train.count, data.test.count), (60_000, 10_000));
}

#[test]
fn present_files_are_kept_when_right_and_replaced_when_wrong() {
    let tmp = TempDir::new("present");
    let dir = tmp.0.join("data");
    fs::create_dir_all(&dir).expect("mkdir");
    for f in FILES {
        fs::write(dir.join(f.name), &mirror_files()[f.name]).expect("write");
    }
    // What a run killed mid-download leaves behind.
    fs::write(dir.join(".train-images-idx3-ubyte.gz.part-99999"), b"half").expect("write");
    let wrong = b"not the labels".to_vec();
    fs::write(dir.join("t10k-labels-idx1-ubyte.gz"), &wrong).expect("write");
    let (mirror, requests) = serve_mirror(|_, b| Reply::Body(b));
    // No --dir and no FASHION_MNIST_DIR: ./data, which the trainer finds.
    let out = download(&tmp.0, &mirror, &[]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "stderr: {}", text(&out.stderr));
    assert_eq!(requests.load(Ordering::SeqCst), 1, "{stdout}");
    assert_eq!(
        stdout.matches("SHA-256 checks out; skipped").count(),
        3,
        "{stdout}"
    );
    assert!(stdout.contains(&sha256_hex(&wrong)), "{stdout}");
    assert!(stdout.contains("downloading it again"), "{stdout}");
    assert!(
        fs::read(dir.join("t10k-labels-idx1-ubyte.gz")).expect("read")
            == mirror_files()["t10k-labels-idx1-ubyte.gz"]
    );
    assert_eq!(names_in(&dir), all_names());
    assert!(stdout.contains("1 downloaded, 3 already there"), "{stdout}");
    assert!(stdout.ends_with("to train: fashion-nn\n"), "{stdout}");
}

#[test]
fn altered_bytes_fail_the_sha256_check_and_leave_no_file() {
    let tmp = TempDir::new("altered");
    let (mirror, _) = serve_mirror(|name, mut b| {
        if name == "train-labels-idx1-ubyte.gz" {
            let last = b.len() - 1;
            b[last] ^= 1;
        }
        Reply::Body(b)
    });
    let mut altered = mirror_files()["train-labels-idx1-ubyte.gz"].clone();
    let last = altered.len() - 1;
    altered[last] ^= 1;
    let out = download(&tmp.0, &mirror, &["--dir", "fm"]);
    let expected = FILES[1].sha256;
    assert_eq!(FILES[1].name, "train-labels-idx1-ubyte.gz");
    assert_fails(
        &out,
        &[
            "train-labels-idx1-ubyte.gz",
            "SHA-256",
            &sha256_hex(&altered),
            &format!("expected {expected}"),
        ],
    );
    // The file before it arrived whole; the altered one is nowhere.
    assert_eq!(names_in(&tmp.0.join("fm")), ["train-images-idx3-ubyte.gz"]);
}

#[test]
fn cut_connection_is_an_error_and_leaves_no_file() {
    let tmp = TempDir::new("cut");
    let (mirror, _) = serve_mirror(|_, b| Reply::Cut {
        claimed: b.len(),
        body: b[..b.len() / 3].to_vec(),
    });
    let out = download(&tmp.0, &mirror, &["--dir", "fm"]);
    let url = format!("{mirror}train-images-idx3-ubyte.gz");
    assert_fails(
        &out,
        &[&format!("downloading {url} failed"), "of 26421880 bytes"],
    );
    assert!(names_in(&tmp.0.join("fm")).is_empty());
}

#[test]
fn not_found_is_an_error_naming_the_url() {
    let tmp = TempDir::new("404");
    let (mirror, _) = serve(|_| Reply::Status("404 Not Found"));
    let out = download(&tmp.0, &mirror, &["--dir", "fm"]);
    let url = format!("{mirror}train-images-idx3-ubyte.gz");
    assert_fails(&out, &[&url, "HTTP 404 Not Found"]);
    assert!(names_in(&tmp.0.join("fm")).is_empty());
}

#[test]
fn folder_that_cannot_be_made_is_an_error_naming_it() {
    let tmp = TempDir::new("unwritable");
    // A folder inside a regular file cannot exist, whoever runs the test
    // (root writes into read-only folders).
    fs::write(tmp.0.join("a-file"), b"x").expect("write");
    let (mirror, requests) = serve_mirror(|_, b| Reply::Body(b));
    let out = download(&tmp.0, &mirror, &["--dir", "a-file/data"]);
    assert_fails(&out, &["cannot create the folder a-file/data", "--dir"]);
    assert_eq!(requests.load(Ordering::SeqCst), 0);
}

#[test]
fn download_is_in_the_help_and_the_mirror_variable_is_not() {
    let out = Command::new(env!("CARGO_BIN_EXE_fashion-nn"))
        .args(["download", "--help"])
        .output()
        .expect("runs");
    let help = text(&out.stdout);
    assert!(out.status.success());
    assert!(help.contains("--dir"), "{help}");
    assert!(!help.contains("FASHION_NN_MIRROR"), "{help}");
}
