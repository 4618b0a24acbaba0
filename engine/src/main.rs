//! `clawdstrike`: decide agent events against a policy, and work with policies.

mod cli;

fn main() {
    restore_sigpipe();
    std::process::exit(cli::run());
}

/// Rust ignores SIGPIPE, so printing into a closed pipe (`clawdstrike ... | head -1`)
/// becomes a panic. A command-line tool should end quietly there, as other Unix tools do.
fn restore_sigpipe() {
    #[cfg(unix)]
    // SAFETY: called first thing in `main`, before any other thread exists; SIG_DFL is a
    // valid disposition for SIGPIPE.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}
