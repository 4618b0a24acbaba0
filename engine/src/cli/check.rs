//! `clawdstrike check`.

use std::io::Read;
use std::path::PathBuf;

use clawdstrike_engine::{EventLimits, PolicyEvent, Status};
use serde_json::Value;

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
    /// Largest input in total, in bytes.
    #[arg(long, default_value_t = 1 << 30)]
    max_input_bytes: usize,
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
    let mut engine = match build_engine(&policy, &args.policy_args, audit.clone()) {
        Ok(e) => e,
        Err(e) => {
            report_policy_error(&e);
            return EXIT_BAD_INPUT;
        }
    };
    if let Some(audit) = audit {
        engine = engine.with_audit(audit);
    }
    let source = match &args.event {
        Some(p) if p.as_os_str() != "-" => p.display().to_string(),
        _ => "<stdin>".to_string(),
    };
    let input = match read_input(args.event.as_ref(), args.max_input_bytes) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {source}: {e}");
            return EXIT_BAD_INPUT;
        }
    };
    let limits = EventLimits {
        max_event_bytes: args.max_event_bytes,
    };
    let mut code = EXIT_OK;
    let mut seen = 0usize;
    let mut stream = serde_json::Deserializer::from_str(&input).into_iter::<Value>();
    loop {
        let start = stream.byte_offset();
        let next = stream.next();
        let Some(item) = next else { break };
        let end = stream.byte_offset();
        let (line, column) = line_col(&input, start);
        let value = match item {
            Ok(v) => v,
            Err(e) => {
                eprintln!(
                    "error: {source}:{}:{}: invalid JSON: {e}",
                    e.line(),
                    e.column()
                );
                code = EXIT_BAD_INPUT;
                break; // the stream cannot be resynchronised after a syntax error
            }
        };
        let events = match value {
            Value::Array(items) => items,
            other => vec![other],
        };
        if end - start > limits.max_event_bytes && events.len() <= 1 {
            eprintln!(
                "error: {source}:{line}:{column}: event is {} bytes, larger than the limit of {} bytes (--max-event-bytes)",
                end - start,
                limits.max_event_bytes
            );
            code = EXIT_BAD_INPUT;
            continue;
        }
        for value in events {
            seen += 1;
            let event = match PolicyEvent::from_value(value) {
                Ok(e) => e,
                Err(e) => {
                    eprintln!("error: {source}:{line}:{column}: event {seen}: {e}");
                    code = EXIT_BAD_INPUT;
                    continue;
                }
            };
            let decision = engine.check(&event);
            if args.json {
                match serde_json::to_string(&decision) {
                    Ok(s) => println!("{s}"),
                    Err(e) => {
                        eprintln!("error: cannot render decision: {e}");
                        return EXIT_BAD_INPUT;
                    }
                }
            } else {
                print!("{}", output::human(&decision));
            }
            if decision.status == Status::Deny && code == EXIT_OK {
                code = EXIT_DENIED;
            }
        }
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

fn read_input(path: Option<&PathBuf>, limit: usize) -> Result<String, String> {
    let mut bytes = Vec::new();
    let reader: Box<dyn Read> = match path {
        Some(p) if p.as_os_str() != "-" => {
            Box::new(std::fs::File::open(p).map_err(|e| e.to_string())?)
        }
        _ => Box::new(std::io::stdin()),
    };
    reader
        .take(limit as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| e.to_string())?;
    if bytes.len() > limit {
        return Err(format!(
            "input is larger than the limit of {limit} bytes (--max-input-bytes)"
        ));
    }
    String::from_utf8(bytes).map_err(|e| {
        format!(
            "input is not valid UTF-8 (first bad byte at offset {})",
            e.utf8_error().valid_up_to()
        )
    })
}

fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    // Skip the whitespace between values so the position names the event itself.
    let skipped = text[before.len()..]
        .len()
        .saturating_sub(text[before.len()..].trim_start().len());
    let before = &text[..before.len() + skipped];
    let line = before.matches('\n').count() + 1;
    let column = before.len() - before.rfind('\n').map(|i| i + 1).unwrap_or(0) + 1;
    (line, column)
}
