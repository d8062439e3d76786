//! `fashion-nn`: parses the command line and hands it to the library.

use std::process::ExitCode;

fn main() -> ExitCode {
    // Mesa's drivers probe for a Wayland display and print "error:
    // XDG_RUNTIME_DIR is invalid or not set" on headless machines. A compute
    // program has no display; point the probe at the temp folder so it fails
    // quietly. Safe here: no other thread exists yet.
    if std::env::var_os("XDG_RUNTIME_DIR").is_none() {
        std::env::set_var("XDG_RUNTIME_DIR", std::env::temp_dir());
    }
    // Like other Unix tools, end quietly when the reader of stdout goes away
    // (`fashion-nn … | head`), instead of panicking in println!.
    #[cfg(unix)]
    // SAFETY: restoring the default action of SIGPIPE before any thread starts.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = fashion_nn::cli::Cli::parse_checked();
    match fashion_nn::cli::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.is::<fashion_nn::interrupt::Interrupted>() => {
            ExitCode::from(fashion_nn::interrupt::EXIT_INTERRUPTED)
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
