//! The audit log: one JSON line per decision, with every contribution.
//!
//! Lines are written whole and flushed before `check` returns, so a crash loses at most
//! the decision in flight.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::Path;
use std::sync::Mutex;

use serde::Serialize;

use crate::decision::Decision;
use crate::event::PolicyEvent;

/// Where audit records go.
pub struct AuditLog {
    out: Mutex<BufWriter<Box<dyn Write + Send>>>,
}

impl std::fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditLog").finish_non_exhaustive()
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Record<'a> {
    timestamp: String,
    kind: &'static str,
    event_id: &'a str,
    event_type: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    session_id: Option<&'a str>,
    policy: &'a str,
    decision: &'a Decision,
}

impl AuditLog {
    /// Append to a file (created if missing).
    pub fn open(path: &Path) -> std::io::Result<Self> {
        let file: File = OpenOptions::new().create(true).append(true).open(path)?;
        Ok(Self::to_writer(Box::new(file)))
    }

    /// Write to any sink (tests, stderr).
    pub fn to_writer(out: Box<dyn Write + Send>) -> Self {
        AuditLog {
            out: Mutex::new(BufWriter::new(out)),
        }
    }

    /// Record one event that is not a decision (plugin loads, checks, capability use):
    /// `fields` is merged into a record with `timestamp` and `kind`.
    pub fn record_event(&self, kind: &str, fields: serde_json::Value) {
        let mut record = serde_json::Map::new();
        record.insert(
            "timestamp".into(),
            chrono::Utc::now()
                .to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
                .into(),
        );
        record.insert("kind".into(), kind.into());
        if let serde_json::Value::Object(fields) = fields {
            record.extend(fields);
        }
        match serde_json::to_vec(&record) {
            Ok(line) => self.write_line(line),
            Err(e) => tracing::error!(kind, error = %e, "audit record could not be serialised"),
        }
    }

    fn write_line(&self, mut line: Vec<u8>) {
        line.push(b'\n');
        let mut out = match self.out.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        if let Err(e) = out.write_all(&line).and_then(|_| out.flush()) {
            tracing::error!(error = %e, "audit log write failed");
        }
    }

    /// Record one decision. Audit failures are reported through `tracing`, never turned
    /// into a different decision.
    pub fn record(&self, policy: &str, event: &PolicyEvent, decision: &Decision) {
        let record = Record {
            timestamp: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            kind: "decision",
            event_id: &event.event_id,
            event_type: event.event_type.as_str(),
            session_id: event.session_id.as_deref(),
            policy,
            decision,
        };
        let Ok(line) = serde_json::to_vec(&record) else {
            tracing::error!(event_id = %event.event_id, "audit record could not be serialised");
            return;
        };
        self.write_line(line);
    }
}
