//! Temporary files written beside their targets and renamed over them: each
//! named `PREFIX` + the writing process's id, so a later run can tell an
//! abandoned one (its process is gone) from one being written right now.

use std::path::{Path, PathBuf};

/// `dir/PREFIX<pid>` for this process.
pub fn temp_path(dir: &Path, prefix: &str) -> PathBuf {
    dir.join(format!("{prefix}{}", std::process::id()))
}

/// Removes the files `dir/PREFIX<pid>` whose process no longer runs (left by
/// a crash, a kill or a second Ctrl-C); a live process's file is left alone.
/// Errors are ignored: such files are only clutter.
pub fn remove_abandoned(dir: &Path, prefix: &str) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix(prefix))
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        if pid != std::process::id() && !process_runs(pid) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// Whether a process with this id exists (on Unix: `kill(pid, 0)` succeeds or
/// is refused for permission); elsewhere assumed to, so nothing is removed.
fn process_runs(pid: u32) -> bool {
    #[cfg(unix)]
    {
        let Ok(pid) = libc::pid_t::try_from(pid) else {
            return false;
        };
        // SAFETY: signal 0 only checks that the process exists.
        let r = unsafe { libc::kill(pid, 0) };
        r == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
    }
    #[cfg(not(unix))]
    {
        let _ = pid;
        true
    }
}
