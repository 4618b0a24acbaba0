//! `clawdstrike`: decide agent events against a policy, and work with policies.

mod cli;

fn main() {
    std::process::exit(cli::run());
}
