//! The built-in rulesets of the existing engine, embedded in the binary.

/// `(name, YAML)` for every built-in ruleset.
pub const RULESETS: [(&str, &str); 5] = [
    ("default", include_str!("../../rulesets/default.yaml")),
    ("strict", include_str!("../../rulesets/strict.yaml")),
    ("ai-agent", include_str!("../../rulesets/ai-agent.yaml")),
    ("cicd", include_str!("../../rulesets/cicd.yaml")),
    ("permissive", include_str!("../../rulesets/permissive.yaml")),
];

/// The YAML of a built-in ruleset, by name with or without the `clawdstrike:` prefix.
pub fn ruleset(name: &str) -> Option<&'static str> {
    let name = name.strip_prefix("clawdstrike:").unwrap_or(name);
    RULESETS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, yaml)| *yaml)
}

/// The names of the built-in rulesets.
pub fn names() -> impl Iterator<Item = &'static str> {
    RULESETS.iter().map(|(n, _)| *n)
}
