//! `clawdstrike check`.

use std::cell::RefCell;
use std::io::{BufWriter, Read, Write};
use std::path::PathBuf;
use std::rc::Rc;

use clawdstrike_engine::{EventLimits, PolicyEvent, Status};

use crate::event_stream::{EventStream, Item};

use super::{build_engine, load_policy, output, report_policy_error, PolicyArgs};
use super::{EXIT_BAD_INPUT, EXIT_DENIED, EXIT_OK};

/// Arguments of `check`.
#[derive(clap::Args)]
pub struct CheckArgs {
    /// Policy file, or a built-in ruleset name (default, strict, ai-agent, cicd, permissive).
    #[arg(long, short)]
    policy: String,
    /// Event file (one JSON event, a JSON array, or JSON lines); `-` or absent = stdin.
    #[arg(long, short)]
    event: Option<PathBuf>,
    /// Print one decision JSON per event (one per line).
    #[arg(long)]
    json: bool,
    /// Append one audit record per decision to this JSON-lines file.
    #[arg(long, env = "CLAWDSTRIKE_AUDIT_LOG")]
    audit_log: Option<PathBuf>,
    /// Largest single event, in bytes.
    #[arg(long, default_value_t = EventLimits::default().max_event_bytes)]
    max_event_bytes: usize,
    /// Largest input in total, in bytes (default: no limit; memory use does not grow
    /// with the input, only with the largest event).
    #[arg(long)]
    max_input_bytes: Option<u64>,
    #[command(flatten)]
    policy_args: PolicyArgs,
}

pub fn run(args: CheckArgs) -> i32 {
    let policy = match load_policy(&args.policy, &args.policy_args, true) {
        Ok(p) => p,
        Err(e) => {
            report_policy_error(&e);
            return EXIT_BAD_INPUT;
        }
    };
    let Ok(audit) = super::open_audit_log(args.audit_log.as_deref()) else {
        return EXIT_BAD_INPUT;
    };
    let engine = match build_engine(&policy, &args.policy_args, audit.clone()) {
        Ok(e) => e,
        Err(e) => {
            report_policy_error(&e);
            return EXIT_BAD_INPUT;
        }
    };
    let source = match &args.event {
        Some(p) if p.as_os_str() != "-" => p.display().to_string(),
        _ => "<stdin>".to_string(),
    };
    let reader: Box<dyn Read> = match &args.event {
        Some(p) if p.as_os_str() != "-" => match std::fs::File::open(p) {
            Ok(f) => Box::new(f),
            Err(e) => {
                eprintln!("error: {source}: {e}");
                return EXIT_BAD_INPUT;
            }
        },
        _ => Box::new(std::io::stdin()),
    };
    // Decisions are buffered, and flushed whenever the input has to be waited for: a
    // batch is written in large blocks, a live pipe gets each answer at once.
    let out = Rc::new(RefCell::new(BufWriter::with_capacity(
        64 * 1024,
        std::io::stdout(),
    )));
    let flush_out = Rc::clone(&out);
    let stream = EventStream::new(reader, args.max_event_bytes, args.max_input_bytes).before_read(
        move || {
            let _ = flush_out.borrow_mut().flush();
        },
    );
    let mut code = EXIT_OK;
    let mut seen = 0usize;
    let mut line = Vec::with_capacity(1024);
    for item in stream {
        let (at, value) = match item {
            Ok(Item::Value { at, value, .. }) => (at, value),
            Ok(Item::TooLarge { at, bytes }) => {
                eprintln!(
                    "error: {source}:{at}: event is {bytes} bytes, larger than the limit of {} bytes (--max-event-bytes)",
                    args.max_event_bytes
                );
                code = EXIT_BAD_INPUT;
                continue;
            }
            Err(e) => {
                eprintln!("error: {source}:{e}");
                code = EXIT_BAD_INPUT;
                break;
            }
        };
        seen += 1;
        let event = match PolicyEvent::from_value(value) {
            Ok(e) => e,
            Err(e) => {
                eprintln!("error: {source}:{at}: event {seen}: {e}");
                code = EXIT_BAD_INPUT;
                continue;
            }
        };
        let decision = engine.check(&event);
        line.clear();
        if args.json {
            if let Err(e) = serde_json::to_writer(&mut line, &decision) {
                eprintln!("error: cannot render decision: {e}");
                return EXIT_BAD_INPUT;
            }
            line.push(b'\n');
        } else {
            line.extend_from_slice(output::human(&decision).as_bytes());
        }
        if let Err(e) = out.borrow_mut().write_all(&line) {
            eprintln!("error: cannot write the decision: {e}");
            return EXIT_BAD_INPUT;
        }
        if decision.status == Status::Deny && code == EXIT_OK {
            code = EXIT_DENIED;
        }
    }
    if let Err(e) = out.borrow_mut().flush() {
        eprintln!("error: cannot write the decisions: {e}");
        return EXIT_BAD_INPUT;
    }
    if engine.background_pending() > 0 && !engine.finish_background() {
        eprintln!(
            "warning: {} background check(s) did not finish; their results are not in the audit log",
            engine.background_pending()
        );
    }
    if seen == 0 && code == EXIT_OK {
        eprintln!("error: {source}: no event in the input");
        return EXIT_BAD_INPUT;
    }
    code
}
