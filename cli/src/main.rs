//! `clawdstrike`: decide agent events against a policy, serve decisions, and build,
//! check and publish guard packages. Argument parsing and wiring live in [`commands`];
//! the decisions themselves come from the `clawdstrike-engine` library.

mod commands;
mod daemon;
mod event_stream;
mod policy_test;
mod publish;

/// Events are parsed on one thread and decided and freed on another; mimalloc keeps those
/// cross-thread frees cheap (with the system allocator they were a tenth of a check).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    restore_sigpipe();
    std::process::exit(commands::run());
}

/// Rust ignores SIGPIPE, so printing into a closed pipe (`clawdstrike ... | head -1`)
/// becomes a panic. A command-line tool should end quietly there, as other Unix tools do.
#[allow(unsafe_code)] // signal(2); SAFETY note at the block
fn restore_sigpipe() {
    #[cfg(unix)]
    // SAFETY: called first thing in `main`, before any other thread exists; SIG_DFL is a
    // valid disposition for SIGPIPE.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}
