//! The guards an engine holds, by index, and the per-event memo of their verdicts.
//!
//! Composition rules refer to guards by index (resolved once at build time), and a guard
//! referenced by several rules runs at most once per event.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use crate::decision::Verdict;
use crate::event::PolicyEvent;
use crate::guards::Guard;

/// Index of a guard in a [`GuardTable`].
pub type GuardId = usize;

/// Every guard an engine can run, addressable by name and index.
#[derive(Debug, Default, Clone)]
pub struct GuardTable {
    guards: Vec<Entry>,
    by_name: HashMap<String, GuardId>,
}

#[derive(Debug, Clone)]
struct Entry {
    guard: Arc<dyn Guard>,
    /// Runs directly (contributes on its own) unless consumed by an applying rule.
    /// False for instances that exist only as a rule operand with its own config.
    top_level: bool,
}

impl GuardTable {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// Add an enabled guard that contributes to decisions directly; also registers the
    /// given aliases (e.g. `jailbreak` for `jailbreak_detection`).
    pub fn insert_top_level(&mut self, guard: Arc<dyn Guard>, aliases: &[&str]) -> GuardId {
        let id = self.push(guard, true);
        for alias in aliases {
            self.by_name.insert((*alias).to_string(), id);
        }
        id
    }

    /// Add a guard instance used only by a composition operand (not named, not top level).
    pub fn insert_operand_instance(&mut self, guard: Arc<dyn Guard>) -> GuardId {
        let id = self.guards.len();
        self.guards.push(Entry {
            guard,
            top_level: false,
        });
        id
    }

    fn push(&mut self, guard: Arc<dyn Guard>, top_level: bool) -> GuardId {
        let id = self.guards.len();
        self.by_name.insert(guard.name().to_string(), id);
        self.guards.push(Entry { guard, top_level });
        id
    }

    /// Look a guard up by name or alias.
    pub fn id(&self, name: &str) -> Option<GuardId> {
        self.by_name.get(name).copied()
    }

    /// The guard at an index.
    pub fn get(&self, id: GuardId) -> &Arc<dyn Guard> {
        &self.guards[id].guard
    }

    /// Number of guards (including operand instances).
    pub fn len(&self) -> usize {
        self.guards.len()
    }

    /// True when there are no guards.
    pub fn is_empty(&self) -> bool {
        self.guards.is_empty()
    }

    /// Whether the guard contributes directly when no applying rule consumes it.
    pub fn is_top_level(&self, id: GuardId) -> bool {
        self.guards[id].top_level
    }

    /// Every name and alias, sorted (for error messages).
    pub fn names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.by_name.keys().map(String::as_str).collect();
        names.sort_unstable();
        names
    }
}

/// What one guard did with the current event.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The guard does not examine this kind of event.
    Skipped,
    /// The guard's verdict and how long it took (µs).
    Done(Verdict, u64),
}

/// Per-event memo: each guard runs at most once per event.
#[derive(Debug, Clone)]
pub struct GuardRun<'a> {
    table: &'a GuardTable,
    event: &'a PolicyEvent,
    slots: Vec<Option<Outcome>>,
}

impl<'a> GuardRun<'a> {
    /// Start evaluating an event.
    pub fn new(table: &'a GuardTable, event: &'a PolicyEvent) -> Self {
        Self {
            table,
            event,
            slots: vec![None; table.len()],
        }
    }

    /// The event being evaluated.
    pub fn event(&self) -> &'a PolicyEvent {
        self.event
    }

    /// The table.
    pub fn table(&self) -> &'a GuardTable {
        self.table
    }

    /// Record an outcome obtained elsewhere (an async guard's), so rules recall it.
    pub fn set(&mut self, id: GuardId, outcome: Outcome) {
        self.slots[id] = Some(outcome);
    }

    /// Run (or recall) a guard on the event.
    pub fn outcome(&mut self, id: GuardId) -> &Outcome {
        if self.slots[id].is_none() {
            let start = Instant::now();
            let verdict = self.table.get(id).check(self.event);
            let micros = start.elapsed().as_micros() as u64;
            self.slots[id] = Some(match verdict {
                None => Outcome::Skipped,
                Some(v) => Outcome::Done(v, micros),
            });
        }
        self.slots[id].as_ref().unwrap_or(&Outcome::Skipped)
    }
}
