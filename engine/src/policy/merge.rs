//! How a policy combines with the policy it `extends` (SPEC.md §7 merge strategies).

use super::model::{CustomGuardSpec, GuardsSection, MergeStrategy, PolicyFile, SettingsSection};
use crate::compose::CompositionRule;

/// Combine `base` (what is extended) with `child` using the child's merge strategy.
/// The result has no `extends` and the default strategy.
pub fn merge(base: &PolicyFile, child: &PolicyFile) -> PolicyFile {
    let strategy = child.merge_strategy.unwrap_or_default();
    let mut merged = match strategy {
        MergeStrategy::Replace => child.clone(),
        MergeStrategy::Merge => PolicyFile {
            guards: if child.guards.is_empty() {
                base.guards.clone()
            } else {
                child.guards.clone()
            },
            custom_guards: if child.custom_guards.is_empty() {
                base.custom_guards.clone()
            } else {
                child.custom_guards.clone()
            },
            settings: child.settings.clone().or_else(|| base.settings.clone()),
            ..header(base, child)
        },
        MergeStrategy::DeepMerge => PolicyFile {
            guards: merge_guards(&base.guards, &child.guards),
            custom_guards: merge_keyed(&base.custom_guards, &child.custom_guards, |g| g.id.clone()),
            settings: merge_settings(base.settings.as_ref(), child.settings.as_ref()),
            ..header(base, child)
        },
    };
    merged.extends = None;
    merged.merge_strategy = None;
    merged
}

/// Version, name, description and posture: the child's where it sets them.
fn header(base: &PolicyFile, child: &PolicyFile) -> PolicyFile {
    PolicyFile {
        version: child.version.clone().or_else(|| base.version.clone()),
        name: child.name.clone().or_else(|| base.name.clone()),
        description: child
            .description
            .clone()
            .or_else(|| base.description.clone()),
        posture: child.posture.clone().or_else(|| base.posture.clone()),
        ..PolicyFile::default()
    }
}

fn merge_guards(base: &GuardsSection, child: &GuardsSection) -> GuardsSection {
    GuardsSection {
        custom: merge_keyed(&base.custom, &child.custom, CustomGuardSpec::key),
        composition: merge_keyed(
            &base.composition,
            &child.composition,
            |r: &CompositionRule| r.name.clone(),
        ),
        ..base.combine_builtins(child, &crate::guards::builtin::DeepMerge)
    }
}

fn merge_settings(
    base: Option<&SettingsSection>,
    child: Option<&SettingsSection>,
) -> Option<SettingsSection> {
    match (base, child) {
        (None, None) => None,
        (Some(b), None) => Some(b.clone()),
        (None, Some(c)) => Some(c.clone()),
        (Some(b), Some(c)) => Some(SettingsSection {
            fail_fast: c.fail_fast.or(b.fail_fast),
            verbose_logging: c.verbose_logging.or(b.verbose_logging),
            session_timeout_secs: c.session_timeout_secs.or(b.session_timeout_secs),
            unexamined_events: c.unexamined_events.or(b.unexamined_events),
        }),
    }
}

/// Base entries in order, each replaced by the child's entry with the same key; the
/// child's new entries appended.
fn merge_keyed<T: Clone, K: PartialEq>(base: &[T], child: &[T], key: impl Fn(&T) -> K) -> Vec<T> {
    let mut out: Vec<T> = base
        .iter()
        .map(|b| child.iter().find(|c| key(c) == key(b)).unwrap_or(b).clone())
        .collect();
    for c in child {
        if !base.iter().any(|b| key(b) == key(c)) {
            out.push(c.clone());
        }
    }
    out
}
