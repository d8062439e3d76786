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
    // println! panics when stdout cannot take the text (`> /dev/full`, a full
    // disk): say so as an error instead of a panic with a backtrace.
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or("");
        if let Some(cause) = message.strip_prefix("failed printing to stdout: ") {
            eprintln!(
                "error: cannot write to standard output ({cause}); free space where it goes, or send it elsewhere"
            );
            std::process::exit(1);
        }
        default_hook(info);
    }));
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
