//! Ctrl-C (SIGINT) and SIGTERM while training: the first asks the run to stop
//! after the current batch and write a checkpoint; a second one exits at
//! once (checkpoints are written atomically, so the last one stays whole).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use anyhow::{Context, Result};

static STOP: AtomicBool = AtomicBool::new(false);

/// Temporary files being written now; a second interrupt removes them
/// before it exits, so an abandoned save leaves nothing behind.
static WRITING: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// Registers `path` as a temporary file in progress until the guard drops.
pub fn writing(path: &Path) -> WritingGuard {
    if let Ok(mut v) = WRITING.lock() {
        v.push(path.to_path_buf());
    }
    WritingGuard(path.to_path_buf())
}

/// See [`writing`].
pub struct WritingGuard(PathBuf);

impl Drop for WritingGuard {
    fn drop(&mut self) {
        if let Ok(mut v) = WRITING.lock() {
            v.retain(|p| p != &self.0);
        }
    }
}

/// The signals the handler takes over: a run started with one of them
/// ignored (`nohup` ignores SIGHUP) keeps ignoring it.
#[cfg(unix)]
const HANDLED: [libc::c_int; 3] = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP];

#[cfg(unix)]
fn ignored_signals() -> Vec<libc::c_int> {
    HANDLED
        .into_iter()
        .filter(|&sig| {
            // SAFETY: sigaction with a null new action only reads the current one.
            unsafe {
                let mut old: libc::sigaction = std::mem::zeroed();
                libc::sigaction(sig, std::ptr::null(), &mut old) == 0
                    && old.sa_sigaction == libc::SIG_IGN
            }
        })
        .collect()
}

/// Exit status of a run stopped by a signal (128 + SIGINT, as shells report it).
pub const EXIT_INTERRUPTED: u8 = 130;

/// Installs the handler (once per process) and returns the flag it raises.
pub fn stop_flag() -> Result<&'static AtomicBool> {
    #[cfg(unix)]
    let ignored = ignored_signals();
    ctrlc::set_handler(|| {
        if STOP.swap(true, Ordering::SeqCst) {
            if let Ok(files) = WRITING.try_lock() {
                for f in files.iter() {
                    let _ = std::fs::remove_file(f);
                }
            }
            eprintln!("\nsecond interrupt: exiting now (a checkpoint already on disk stays whole)");
            std::process::exit(i32::from(EXIT_INTERRUPTED));
        }
        eprintln!(
            "\ninterrupt: stopping after the current batch, with a checkpoint if training is still under way \
             (press Ctrl-C again to exit at once)"
        );
    })
    .context("could not install the Ctrl-C / SIGTERM handler")?;
    #[cfg(unix)]
    for sig in ignored {
        // SAFETY: setting a signal back to ignored, as it was when we started.
        unsafe {
            libc::signal(sig, libc::SIG_IGN);
        }
    }
    Ok(&STOP)
}

/// The error a run returns when a signal stopped it; `main` exits with
/// [`EXIT_INTERRUPTED`] for it.
#[derive(Debug)]
pub struct Interrupted;

impl std::fmt::Display for Interrupted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "training interrupted")
    }
}

impl std::error::Error for Interrupted {}
