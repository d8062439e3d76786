//! `fashion-nn download`: fetches the four Fashion-MNIST files from the
//! project's mirror and checks each one's SHA-256 before it takes its place.
//!
//! Each file goes to a temporary file in the target folder
//! (`.NAME.part-PID`), is hashed while it arrives, and is renamed over
//! `NAME` only when its length and SHA-256 are right; on any failure the
//! temporary file is removed, so the folder never holds a half-written or
//! wrong file under a real name (a run killed outright can leave a
//! `.NAME.part-PID`, which the next run removes). A file already there with
//! the right SHA-256 is kept (and said so); one with a wrong SHA-256 is
//! downloaded again and replaced, after the new copy has been checked.

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use sha2::{Digest, Sha256};

/// The mirror the Fashion-MNIST README links to ("Get the Data"); plain HTTP.
pub const MIRROR: &str = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/";

/// Environment variable that replaces [`MIRROR`] (a base URL ending in `/`);
/// the tests point it at a server on the loopback interface. Plain HTTP only.
pub const MIRROR_ENV: &str = "FASHION_NN_MIRROR";

/// One file of the data set as the mirror serves it.
#[derive(Clone, Copy, Debug)]
pub struct RemoteFile {
    pub name: &'static str,
    /// Length in bytes.
    pub size: u64,
    /// SHA-256, lowercase hex.
    pub sha256: &'static str,
}

/// The four files and their SHA-256 sums.
///
/// Fashion-MNIST publishes MD5 sums only (README of
/// github.com/zalandoresearch/fashion-mnist, "Get the Data"):
/// train-images 8d4fb7e6c68d591d4c3dfef9ec88bf0d, train-labels
/// 25c81989df183df01b3e8a0aad5dffbe, t10k-images
/// bef4ecab320f06d8554ea6380940ec79, t10k-labels
/// bb300cfdad3c16e7a12a480ee83cd310. The SHA-256 sums below were computed on
/// 2026-12-03 from files whose MD5s equal those. This machine has no access
/// to the mirror; it has Debian's `dataset-fashion-mnist` copies
/// (/usr/share/datasets/fashion-mnist), whose MD5s differ because their gzip
/// header was rewritten: same compressed stream, but no file name and another
/// time stamp. With the original header put back (flags FNAME, the file
/// name, MTIME 1504176606 = 2017-08-31 10:50:06 UTC for `train-*` and
/// 1504176627 for `t10k-*`, found by matching the published MD5s) all four
/// MD5s match, and the sizes below are the mirror's (24 or 23 bytes longer
/// than Debian's: the name and its NUL). `tests/download.rs` rebuilds the
/// mirror's files the same way.
pub const FILES: [RemoteFile; 4] = [
    RemoteFile {
        name: "train-images-idx3-ubyte.gz",
        size: 26_421_880,
        sha256: "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
    },
    RemoteFile {
        name: "train-labels-idx1-ubyte.gz",
        size: 29_515,
        sha256: "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
    },
    RemoteFile {
        name: "t10k-images-idx3-ubyte.gz",
        size: 4_422_102,
        sha256: "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
    },
    RemoteFile {
        name: "t10k-labels-idx1-ubyte.gz",
        size: 5_148,
        sha256: "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
    },
];

/// The folder `download` writes to without `--dir`: `$FASHION_MNIST_DIR`
/// when set, else `./data` — the first two places the trainer looks
/// ([`crate::data::find_data_dir`]); the third, the system folder, is not
/// the user's to write.
pub fn default_dir() -> PathBuf {
    match std::env::var_os("FASHION_MNIST_DIR") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => PathBuf::from("data"),
    }
}

/// The mirror to use: `$FASHION_NN_MIRROR` when set, else [`MIRROR`]; always
/// ending in `/`.
pub fn mirror() -> String {
    let mut base = match std::env::var(MIRROR_ENV) {
        Ok(m) if !m.is_empty() => m,
        _ => MIRROR.to_string(),
    };
    if !base.ends_with('/') {
        base.push('/');
    }
    base
}

/// What happened to one file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Present with the right SHA-256; left alone.
    Kept,
    /// Absent; downloaded and checked.
    Downloaded,
    /// Present with a wrong SHA-256; downloaded, checked and put in its place.
    Replaced,
}

/// Downloads every file of [`FILES`] missing (or wrong) in `dir` from
/// `mirror`, creating `dir` if needed. `say` gets one line per step.
pub fn download_all(
    dir: &Path,
    mirror: &str,
    say: &mut dyn FnMut(&str),
) -> Result<Vec<(RemoteFile, Outcome)>> {
    fs::create_dir_all(dir).with_context(|| {
        format!(
            "cannot create the folder {}; pass a folder you can write to with --dir",
            dir.display()
        )
    })?;
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_connect(Some(Duration::from_secs(30)))
        .timeout_recv_response(Some(Duration::from_secs(60)))
        .timeout_per_read(Some(Duration::from_secs(60)))
        .http_status_as_error(false)
        .build()
        .into();
    let mut outcomes = Vec::new();
    for file in FILES {
        remove_stale_parts(dir, file.name);
        let path = dir.join(file.name);
        let mut replacing = false;
        if path.exists() {
            let actual = sha256_of_file(&path)?;
            if actual == file.sha256 {
                say(&format!(
                    "{}: already there, SHA-256 checks out; skipped",
                    path.display()
                ));
                outcomes.push((file, Outcome::Kept));
                continue;
            }
            say(&format!(
                "{}: already there but its SHA-256 is {actual}, expected {}; downloading it again",
                path.display(),
                file.sha256
            ));
            replacing = true;
        }
        let url = format!("{mirror}{}", file.name);
        say(&format!("downloading {url} ({} bytes)", file.size));
        fetch_checked(&agent, &url, &file, &path)?;
        say(&format!(
            "{}: {} bytes, SHA-256 {} checks out",
            path.display(),
            file.size,
            file.sha256
        ));
        let outcome = if replacing {
            Outcome::Replaced
        } else {
            Outcome::Downloaded
        };
        outcomes.push((file, outcome));
    }
    Ok(outcomes)
}

/// A temporary file removed on drop unless [`Temp::keep_as`] renamed it.
struct Temp {
    path: PathBuf,
    armed: bool,
}

impl Temp {
    fn keep_as(mut self, target: &Path) -> io::Result<()> {
        fs::rename(&self.path, target)?;
        self.armed = false;
        Ok(())
    }
}

impl Drop for Temp {
    fn drop(&mut self) {
        if self.armed {
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// GETs `url` into a temporary file next to `path`, checks its length and
/// SHA-256 against `file`, then renames it to `path`.
fn fetch_checked(agent: &ureq::Agent, url: &str, file: &RemoteFile, path: &Path) -> Result<()> {
    let dir = crate::model::folder_of(path);
    let tmp_path = crate::temp_files::temp_path(dir, &format!(".{}.part-", file.name));
    let mut out = File::create(&tmp_path).with_context(|| {
        format!(
            "cannot write in {} (creating {}); pass a folder you can write to with --dir",
            dir.display(),
            tmp_path.display()
        )
    })?;
    let tmp = Temp {
        path: tmp_path,
        armed: true,
    };
    let fail = |why: String| -> anyhow::Error {
        anyhow::anyhow!(
            "downloading {url} failed: {why}; nothing was written to {}",
            path.display()
        )
    };

    let mut response = agent.get(url).call().map_err(|e| {
        fail(format!(
            "{e}; check the internet connection (and HTTP_PROXY if you use one), then try again"
        ))
    })?;
    let status = response.status();
    if !status.is_success() {
        return Err(fail(format!("the server answered HTTP {status}")));
    }
    // One byte more than expected tells a longer file from the right one
    // without reading an endless stream.
    let mut body = response.body_mut().as_reader().take(file.size + 1);
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut got: u64 = 0;
    loop {
        let n = match body.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                return Err(fail(format!(
                    "the connection broke after {got} of {} bytes ({e}); try again",
                    file.size
                )))
            }
        };
        hasher.update(&buf[..n]);
        out.write_all(&buf[..n])
            .with_context(|| format!("writing {}", tmp.path.display()))?;
        got += n as u64;
    }
    if got != file.size {
        let how = if got > file.size { "more than" } else { "only" };
        return Err(fail(format!(
            "received {how} {got} bytes, expected {}: the connection was cut, or the mirror serves \
             another version of the file; try again, or another mirror",
            file.size
        )));
    }
    let actual = hex(&hasher.finalize());
    if actual != file.sha256 {
        bail!(
            "{}: the downloaded file's SHA-256 is {actual}, expected {}; \
             the mirror served different bytes ({url}); nothing was written to {}",
            file.name,
            file.sha256,
            path.display()
        );
    }
    out.sync_all()
        .with_context(|| format!("writing {}", tmp.path.display()))?;
    drop(out);
    tmp.keep_as(path)
        .with_context(|| format!("moving the download into place as {}", path.display()))?;
    Ok(())
}

/// Removes `.NAME.part-PID` files that an interrupted run (Ctrl-C, a crash)
/// left in `dir`, not those of a download still running.
fn remove_stale_parts(dir: &Path, name: &str) {
    crate::temp_files::remove_abandoned(dir, &format!(".{name}.part-"));
}

/// SHA-256 of a file on disk, lowercase hex.
pub fn sha256_of_file(path: &Path) -> Result<String> {
    let mut f = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        match f.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => hasher.update(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
        }
    }
    Ok(hex(&hasher.finalize()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
