//! Find where a value lives in a YAML document, so errors found after parsing (a bad
//! regex, an unknown guard in a rule) still point at a line and column.

use std::fmt;

use serde_saphyr::granit_parser::{Event, Parser};

/// One step of a path into a document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathSeg {
    /// A mapping key.
    Key(String),
    /// A sequence index.
    Index(usize),
}

/// A path into a document, printed as `guards.secret_leak.patterns[2].pattern`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct YamlPath(pub Vec<PathSeg>);

impl YamlPath {
    /// Parse `a.b[2].c`.
    pub fn parse(s: &str) -> Self {
        let mut segs = Vec::new();
        for part in s.split('.').filter(|p| !p.is_empty()) {
            let mut rest = part;
            if let Some(i) = rest.find('[') {
                if i > 0 {
                    segs.push(PathSeg::Key(rest[..i].to_string()));
                }
                rest = &rest[i..];
                while let Some(tail) = rest.strip_prefix('[') {
                    let end = tail.find(']').unwrap_or(tail.len());
                    match tail[..end].parse() {
                        Ok(n) => segs.push(PathSeg::Index(n)),
                        Err(_) => segs.push(PathSeg::Key(tail[..end].to_string())),
                    }
                    rest = tail.get(end + 1..).unwrap_or("");
                }
            } else {
                segs.push(PathSeg::Key(rest.to_string()));
            }
        }
        YamlPath(segs)
    }

    /// Append a dotted suffix.
    pub fn join(&self, suffix: &str) -> Self {
        let mut segs = self.0.clone();
        segs.extend(YamlPath::parse(suffix).0);
        YamlPath(segs)
    }
}

impl fmt::Display for YamlPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, seg) in self.0.iter().enumerate() {
            match seg {
                PathSeg::Key(k) if i == 0 => write!(f, "{k}")?,
                PathSeg::Key(k) => write!(f, ".{k}")?,
                PathSeg::Index(n) => write!(f, "[{n}]")?,
            }
        }
        Ok(())
    }
}

#[derive(Debug)]
enum Frame {
    Map {
        key: Option<String>,
        expecting_key: bool,
    },
    Seq {
        next: usize,
    },
}

/// The (1-based line, 1-based column) of the deepest existing node on `path`.
/// Falls back to the nearest ancestor that exists; `None` if nothing parses.
pub fn locate(text: &str, path: &YamlPath) -> Option<(usize, usize)> {
    let mut stack: Vec<Frame> = Vec::new();
    let mut best: Option<(usize, (usize, usize))> = None;
    for item in Parser::new_from_str(text) {
        let (event, span) = item.ok()?;
        let pos = (span.start.line(), span.start.col() + 1);
        // Path of the node this event starts (or is).
        let is_node_start = matches!(
            event,
            Event::Scalar(..)
                | Event::MappingStart(..)
                | Event::SequenceStart(..)
                | Event::Alias(..)
        );
        let mut is_key = false;
        if is_node_start {
            if let Some(Frame::Map { expecting_key, .. }) = stack.last() {
                is_key = *expecting_key;
            }
            let depth = matched_depth(&stack, path);
            if !is_key && depth == stack.len() {
                // This node sits at a prefix of the path. A scalar value is pointed at
                // itself; a collection value is better named by its key (already recorded).
                let scalar = matches!(event, Event::Scalar(..) | Event::Alias(..));
                if best.is_none_or(|(d, _)| depth > d || (depth == d && scalar)) {
                    best = Some((depth, pos));
                }
            }
            if is_key {
                if let Event::Scalar(ref k, ..) = event {
                    // A key: record it, and locate the key itself when it is the target.
                    let key = k.to_string();
                    if let Some(Frame::Map {
                        key: slot,
                        expecting_key,
                    }) = stack.last_mut()
                    {
                        *slot = Some(key);
                        *expecting_key = false;
                    }
                    let depth = matched_depth(&stack, path);
                    if depth == stack.len() && best.is_none_or(|(d, _)| depth >= d) {
                        best = Some((depth, pos));
                    }
                    continue;
                }
            }
        }
        match event {
            Event::MappingStart(..) => stack.push(Frame::Map {
                key: None,
                expecting_key: true,
            }),
            Event::SequenceStart(..) => stack.push(Frame::Seq { next: 0 }),
            Event::MappingEnd | Event::SequenceEnd => {
                stack.pop();
                advance(&mut stack);
            }
            Event::Scalar(..) | Event::Alias(..) => advance(&mut stack),
            _ => {}
        }
    }
    best.map(|(_, pos)| pos)
}

/// After a value completes, the parent moves on: a map expects a key, a sequence's index grows.
fn advance(stack: &mut [Frame]) {
    match stack.last_mut() {
        Some(Frame::Map { expecting_key, .. }) => *expecting_key = true,
        Some(Frame::Seq { next }) => *next += 1,
        None => {}
    }
}

/// How many leading path segments the open frames match, counting from the root.
fn matched_depth(stack: &[Frame], path: &YamlPath) -> usize {
    stack
        .iter()
        .zip(path.0.iter())
        .take_while(|(frame, seg)| match (frame, seg) {
            (Frame::Map { key: Some(k), .. }, PathSeg::Key(want)) => k == want,
            (Frame::Seq { next }, PathSeg::Index(want)) => next == want,
            _ => false,
        })
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = "version: \"1.1.0\"\nguards:\n  secret_leak:\n    patterns:\n      - name: a\n        pattern: \"x\"\n      - name: b\n        pattern: \"(\"\n";

    #[test]
    fn finds_nested_sequence_field() {
        let at = locate(
            DOC,
            &YamlPath::parse("guards.secret_leak.patterns[1].pattern"),
        );
        assert_eq!(at, Some((8, 18)));
    }

    #[test]
    fn falls_back_to_nearest_ancestor() {
        let at = locate(DOC, &YamlPath::parse("guards.secret_leak.nope"));
        assert_eq!(at, Some((3, 3)));
    }

    #[test]
    fn path_round_trips() {
        let p = YamlPath::parse("guards.custom[0].inline.logic");
        assert_eq!(p.to_string(), "guards.custom[0].inline.logic");
    }
}
