//! Ctrl-C (SIGINT) and SIGTERM while training: the first asks the run to stop
//! after the current batch and write a checkpoint; a second one exits at
//! once (checkpoints are written atomically, so the last one stays whole).

use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{Context, Result};

static STOP: AtomicBool = AtomicBool::new(false);

/// Exit status of a run stopped by a signal (128 + SIGINT, as shells report it).
pub const EXIT_INTERRUPTED: u8 = 130;

/// Installs the handler (once per process) and returns the flag it raises.
pub fn stop_flag() -> Result<&'static AtomicBool> {
    ctrlc::set_handler(|| {
        if STOP.swap(true, Ordering::SeqCst) {
            eprintln!("\nsecond interrupt: exiting now (a checkpoint already on disk stays whole)");
            std::process::exit(i32::from(EXIT_INTERRUPTED));
        }
        eprintln!("\ninterrupt: stopping after the current batch and writing a checkpoint (press Ctrl-C again to exit at once)");
    })
    .context("could not install the Ctrl-C / SIGTERM handler")?;
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
