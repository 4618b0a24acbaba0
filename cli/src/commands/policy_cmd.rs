//! `clawdstrike policy validate | show | test`.

use std::path::PathBuf;

use crate::policy_test::{self, PolicyTestFile};
use clap::Subcommand;

use super::{build_engine, load_policy, report_policy_error, PolicyArgs};
use super::{EXIT_BAD_INPUT, EXIT_DENIED, EXIT_OK};

#[derive(Subcommand)]
pub enum PolicyCommand {
    /// Check a policy: every error with its file, line and column; exit 2 on error.
    Validate {
        /// Policy file or built-in ruleset name.
        file: String,
        #[command(flatten)]
        policy_args: PolicyArgs,
    },
    /// Print a policy; with --resolved, the effective policy after extends and merges.
    Show {
        /// Policy file or built-in ruleset name.
        file: String,
        /// Merge the extends chain and fill in every guard's defaults.
        #[arg(long)]
        resolved: bool,
        #[command(flatten)]
        policy_args: PolicyArgs,
    },
    /// Run a policy test file (events with expected decisions); exit 1 if any fails.
    Test {
        /// The test file (YAML).
        file: PathBuf,
        /// The policy to test (overrides `policy:` in the test file).
        #[arg(long, short)]
        policy: Option<String>,
        #[command(flatten)]
        policy_args: PolicyArgs,
    },
}

pub fn run(cmd: PolicyCommand) -> i32 {
    match cmd {
        PolicyCommand::Validate { file, policy_args } => validate(&file, &policy_args),
        PolicyCommand::Show {
            file,
            resolved,
            policy_args,
        } => show(&file, resolved, &policy_args),
        PolicyCommand::Test {
            file,
            policy,
            policy_args,
        } => test(&file, policy.as_deref(), &policy_args),
    }
}

fn validate(file: &str, args: &PolicyArgs) -> i32 {
    let result =
        load_policy(file, args, true).and_then(|p| build_engine(&p, args, None).map(|e| (p, e)));
    match result {
        Ok((policy, engine)) => {
            println!(
                "ok: {} (version {}, {} guards: {})",
                policy.source.describe(),
                policy.file.version.as_deref().unwrap_or("?"),
                engine.guard_names().len(),
                engine.guard_names().join(", ")
            );
            EXIT_OK
        }
        Err(e) => {
            report_policy_error(&e);
            EXIT_BAD_INPUT
        }
    }
}

fn show(file: &str, resolved: bool, args: &PolicyArgs) -> i32 {
    if !resolved {
        let path = PathBuf::from(file);
        let text = if path.exists() {
            std::fs::read_to_string(&path)
        } else {
            clawdstrike_engine::policy::rulesets::ruleset(file)
                .map(str::to_owned)
                .ok_or_else(|| std::io::Error::other("no such file or built-in ruleset"))
        };
        return match text {
            Ok(t) => {
                print!("{t}");
                EXIT_OK
            }
            Err(e) => {
                eprintln!("error: {file}: {e}");
                EXIT_BAD_INPUT
            }
        };
    }
    // Placeholders stay as written: `show` must not print secrets.
    match load_policy(file, args, false) {
        Ok(policy) => {
            print!("{}", policy.to_yaml());
            EXIT_OK
        }
        Err(e) => {
            report_policy_error(&e);
            EXIT_BAD_INPUT
        }
    }
}

fn test(file: &PathBuf, policy_override: Option<&str>, args: &PolicyArgs) -> i32 {
    let text = match std::fs::read_to_string(file) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: {}: {e}", file.display());
            return EXIT_BAD_INPUT;
        }
    };
    let tests = match PolicyTestFile::parse(&text) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: {}: {e}", file.display());
            return EXIT_BAD_INPUT;
        }
    };
    let policy_spec = match (policy_override, tests.policy.as_deref()) {
        (Some(p), _) => p.to_string(),
        (None, Some(p)) => {
            let rel = file.parent().unwrap_or(std::path::Path::new(".")).join(p);
            if rel.exists() {
                rel.display().to_string()
            } else {
                p.to_string()
            }
        }
        (None, None) => {
            eprintln!(
                "error: {}: no policy: add `policy:` to the file or pass --policy",
                file.display()
            );
            return EXIT_BAD_INPUT;
        }
    };
    let engine =
        match load_policy(&policy_spec, args, true).and_then(|p| build_engine(&p, args, None)) {
            Ok(e) => e,
            Err(e) => {
                report_policy_error(&e);
                return EXIT_BAD_INPUT;
            }
        };
    let outcomes = policy_test::run(&engine, &tests);
    let mut failed = 0;
    for o in &outcomes {
        if o.passed() {
            println!("ok   {}", o.name);
        } else {
            failed += 1;
            println!("FAIL {}", o.name);
            for f in &o.failures {
                println!("       {f}");
            }
        }
    }
    println!(
        "tests: {} passed, {} failed",
        outcomes.len() - failed,
        failed
    );
    if failed > 0 {
        EXIT_DENIED
    } else {
        EXIT_OK
    }
}
