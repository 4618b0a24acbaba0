//! `clawdstrike check`.

use std::cell::RefCell;
use std::io::{BufWriter, Read, Write};
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::mpsc::{self, TryRecvError};

use clawdstrike_engine::event::EventError;
use clawdstrike_engine::{Decision, EventLimits, PolicyEvent, Status};

use crate::event_stream::{EventStream, Item, Position};

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

/// Events per batch handed from the reading thread to the deciding one.
const BATCH: usize = 256;

/// Batches the queue between the two holds: with [`BATCH`], at most a few thousand events
/// parsed ahead of the decisions.
const QUEUE_BATCHES: usize = 16;

/// What the reading thread hands over, in input order.
// Nearly every item is an event: boxing it would cost an allocation per event.
#[allow(clippy::large_enum_variant)]
enum Parsed {
    /// An event to decide.
    Event(PolicyEvent),
    /// Input that is not an event, with its location (reported; exit 2).
    Bad(String),
}

/// Split and parse the input on the reading thread; returns how many JSON values were
/// read. A partial batch is handed over before every read that may block, so a live pipe
/// is answered event by event.
fn read_events(
    reader: Box<dyn Read + Send>,
    source: &str,
    max_event: usize,
    max_input: Option<u64>,
    tx: &mpsc::SyncSender<Vec<Parsed>>,
) -> usize {
    let batch = Rc::new(RefCell::new(Vec::with_capacity(BATCH)));
    let (pending, hand_over) = (Rc::clone(&batch), tx.clone());
    let stream = EventStream::new(reader, max_event, max_input).before_read(move || {
        let ready = std::mem::take(&mut *pending.borrow_mut());
        if !ready.is_empty() {
            let _ = hand_over.send(ready);
        }
    });
    let mut seen = 0usize;
    for item in stream {
        let parsed = match item {
            Ok(Item::Value { at, json }) => {
                seen += 1;
                match PolicyEvent::from_slice(&json) {
                    Ok(event) => Parsed::Event(event),
                    // Where in the input the event went wrong, not where in the event.
                    Err(EventError::Invalid {
                        line,
                        column,
                        message,
                    }) if line > 0 => {
                        let (line, column) = (line as u64, column as u64);
                        let here = if line == 1 {
                            Position {
                                line: at.line,
                                column: at.column + column.max(1) - 1,
                            }
                        } else {
                            Position {
                                line: at.line + line - 1,
                                column,
                            }
                        };
                        Parsed::Bad(format!(
                            "{source}:{here}: event {seen}: invalid event: {message}"
                        ))
                    }
                    Err(e) => Parsed::Bad(format!("{source}:{at}: event {seen}: {e}")),
                }
            }
            Ok(Item::TooLarge { at, bytes }) => Parsed::Bad(format!(
                "{source}:{at}: event is {bytes} bytes, larger than the limit of {max_event} bytes (--max-event-bytes)"
            )),
            Err(e) if e.position().is_some() => Parsed::Bad(format!("{source}:{e}")),
            Err(e) => Parsed::Bad(format!("{source}: {e}")),
        };
        let full = {
            let mut batch = batch.borrow_mut();
            batch.push(parsed);
            batch.len() >= BATCH
        };
        if full {
            let ready = std::mem::replace(&mut *batch.borrow_mut(), Vec::with_capacity(BATCH));
            if tx.send(ready).is_err() {
                return seen; // the deciding side stopped
            }
        }
    }
    let ready = std::mem::take(&mut *batch.borrow_mut());
    if !ready.is_empty() {
        let _ = tx.send(ready);
    }
    seen
}

/// Render and write decisions on the writing thread. Output is buffered, and flushed
/// whenever no decision is waiting (the input has to be waited for): a batch is written
/// in large blocks, a live pipe gets each answer before it sends the next event.
fn write_decisions(decided: &mpsc::Receiver<Vec<Decision>>, json: bool) -> Result<(), String> {
    let stdout = std::io::stdout();
    let mut out = BufWriter::with_capacity(64 * 1024, stdout.lock());
    let mut line = Vec::with_capacity(1024);
    loop {
        let batch = match decided.try_recv() {
            Ok(batch) => batch,
            Err(TryRecvError::Empty) => {
                out.flush()
                    .map_err(|e| format!("cannot write the decisions: {e}"))?;
                match decided.recv() {
                    Ok(batch) => batch,
                    Err(_) => break,
                }
            }
            Err(TryRecvError::Disconnected) => break,
        };
        for decision in &batch {
            line.clear();
            if json {
                serde_json::to_writer(&mut line, decision)
                    .map_err(|e| format!("cannot render a decision: {e}"))?;
                line.push(b'\n');
            } else {
                line.extend_from_slice(output::human(decision).as_bytes());
            }
            out.write_all(&line)
                .map_err(|e| format!("cannot write the decisions: {e}"))?;
        }
    }
    out.flush()
        .map_err(|e| format!("cannot write the decisions: {e}"))
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
    let reader: Box<dyn Read + Send> = match &args.event {
        Some(p) if p.as_os_str() != "-" => match std::fs::File::open(p) {
            Ok(f) => Box::new(f),
            Err(e) => {
                eprintln!("error: {source}: {e}");
                return EXIT_BAD_INPUT;
            }
        },
        _ => Box::new(std::io::stdin()),
    };
    // Two threads: this one decides and writes, a reading thread splits and parses the
    // input, batches travelling between them through a bounded queue (memory stays
    // bounded; the order of the input is kept).
    let (tx, rx) = mpsc::sync_channel::<Vec<Parsed>>(QUEUE_BATCHES);
    let reading = {
        let source = source.clone();
        let (max_event, max_input) = (args.max_event_bytes, args.max_input_bytes);
        std::thread::Builder::new()
            .name("clawdstrike-read".into())
            .spawn(move || read_events(reader, &source, max_event, max_input, &tx))
    };
    let reading = match reading {
        Ok(handle) => handle,
        Err(e) => {
            eprintln!("error: cannot start the reading thread: {e}");
            return EXIT_BAD_INPUT;
        }
    };
    // A writing thread renders and writes the decisions, so reading, deciding and
    // writing overlap on two cores.
    let (decided, to_write) = mpsc::sync_channel::<Vec<Decision>>(QUEUE_BATCHES);
    let json = args.json;
    let writing = match std::thread::Builder::new()
        .name("clawdstrike-write".into())
        .spawn(move || write_decisions(&to_write, json))
    {
        Ok(handle) => handle,
        Err(e) => {
            eprintln!("error: cannot start the writing thread: {e}");
            return EXIT_BAD_INPUT;
        }
    };
    let mut code = EXIT_OK;
    for batch in rx.iter() {
        let mut decisions = Vec::with_capacity(batch.len());
        for parsed in batch {
            match parsed {
                Parsed::Event(event) => {
                    let decision = engine.check(&event);
                    if decision.status == Status::Deny && code == EXIT_OK {
                        code = EXIT_DENIED;
                    }
                    decisions.push(decision);
                }
                Parsed::Bad(message) => {
                    eprintln!("error: {message}");
                    code = EXIT_BAD_INPUT;
                }
            }
        }
        if !decisions.is_empty() && decided.send(decisions).is_err() {
            break; // the writer stopped: its error says why
        }
    }
    drop(decided);
    match writing.join() {
        Ok(Ok(())) => {}
        Ok(Err(message)) => {
            eprintln!("error: {message}");
            return EXIT_BAD_INPUT;
        }
        Err(_) => {
            eprintln!("error: the writing thread failed");
            return EXIT_BAD_INPUT;
        }
    }
    drop(rx);
    let Ok(seen) = reading.join() else {
        eprintln!("error: {source}: the reading thread failed");
        return EXIT_BAD_INPUT;
    };
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
