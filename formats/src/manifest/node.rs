//! A parsed manifest document with the source position of every value and key, built from
//! either syntax, so that one builder can validate both and point at the offending line.
//!
//! JSON goes through `serde_json` first (grammar, escapes, its recursion limit, located syntax
//! errors); only a document it accepted is walked again here to record positions. TOML comes
//! from `toml`'s spanned document tree.

use super::error::ManifestError;
use serde_json::{Map, Number, Value};
use std::path::Path;

/// Deepest nesting of arrays and objects accepted (a configSchema needs a few levels; a
/// hostile document would need thousands to exhaust the stack).
pub(crate) const MAX_DEPTH: usize = 64;

/// Which syntax a document was written in: decides key spelling and type names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Syntax {
    /// `clawdstrike.plugin.json`, camelCase.
    Json,
    /// `clawdstrike.plugin.toml`, snake_case under tables.
    Toml,
}

/// A value and the byte offset where it starts.
#[derive(Debug, Clone)]
pub(crate) struct Node {
    pub pos: usize,
    pub kind: Kind,
}

/// A key of an object/table and where it is written.
#[derive(Debug, Clone)]
pub(crate) struct Key {
    pub name: String,
    pub pos: usize,
}

#[derive(Debug, Clone)]
pub(crate) enum Kind {
    Null,
    Bool(bool),
    Number(Number),
    String(String),
    Array(Vec<Node>),
    Object(Vec<(Key, Node)>),
}

impl Node {
    /// The value without positions; object keys kept exactly as written.
    pub fn to_value(&self) -> Value {
        match &self.kind {
            Kind::Null => Value::Null,
            Kind::Bool(b) => Value::Bool(*b),
            Kind::Number(n) => Value::Number(n.clone()),
            Kind::String(s) => Value::String(s.clone()),
            Kind::Array(a) => Value::Array(a.iter().map(Node::to_value).collect()),
            Kind::Object(o) => Value::Object(
                o.iter()
                    .map(|(k, v)| (k.name.clone(), v.to_value()))
                    .collect::<Map<_, _>>(),
            ),
        }
    }
}

/// The text being parsed and where it came from, to turn byte offsets into errors.
pub(crate) struct Source<'a> {
    pub text: &'a str,
    pub origin: &'a Path,
    pub syntax: Syntax,
}

impl Source<'_> {
    /// 1-based line and column (in characters) of byte offset `pos`.
    pub fn line_column(&self, pos: usize) -> (usize, usize) {
        line_column(self.text, pos)
    }

    /// A located parse error.
    pub fn error(&self, pos: usize, message: impl Into<String>) -> ManifestError {
        let (line, column) = self.line_column(pos);
        ManifestError::Parse {
            path: self.origin.to_path_buf(),
            line,
            column,
            message: message.into(),
        }
    }
}

/// 1-based line and column (in characters) of byte offset `pos` in `text`.
pub(crate) fn line_column(text: &str, pos: usize) -> (usize, usize) {
    let mut pos = pos.min(text.len());
    while !text.is_char_boundary(pos) {
        pos -= 1;
    }
    let before = &text[..pos];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}

/// Refuse what both syntaxes refuse before parsing: a byte-order mark (tools disagree on
/// whether it is part of the first key, which is a parser differential waiting to happen).
pub(crate) fn precheck(src: &Source<'_>) -> Result<(), ManifestError> {
    if src.text.starts_with('\u{feff}') {
        return Err(src.error(
            0,
            "the file starts with a UTF-8 byte-order mark; save it as UTF-8 without a BOM",
        ));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// JSON

/// Parse JSON text into a positioned tree.
pub(crate) fn parse_json(src: &Source<'_>) -> Result<Node, ManifestError> {
    precheck(src)?;
    // serde_json decides what is valid JSON and reports syntax errors with their position.
    if let Err(e) = serde_json::from_str::<Value>(src.text) {
        return Err(ManifestError::Parse {
            path: src.origin.to_path_buf(),
            line: e.line().max(1),
            column: e.column().max(1),
            message: format!("invalid JSON: {}", strip_position(&e.to_string())),
        });
    }
    let mut w = JsonWalker {
        text: src.text,
        bytes: src.text.as_bytes(),
        i: 0,
    };
    w.value(0).map_err(|(pos, msg)| src.error(pos, msg))
}

/// serde_json appends " at line L column C"; the error already carries both.
fn strip_position(msg: &str) -> &str {
    match msg.rfind(" at line ") {
        Some(i) => &msg[..i],
        None => msg,
    }
}

type WalkResult<T> = Result<T, (usize, String)>;

/// Walks JSON text that serde_json has already accepted, recording positions. Token
/// decoding (string escapes, numbers) is delegated back to serde_json.
struct JsonWalker<'a> {
    text: &'a str,
    bytes: &'a [u8],
    i: usize,
}

impl JsonWalker<'_> {
    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.bytes.get(self.i) {
            self.i += 1;
        }
    }

    fn value(&mut self, depth: usize) -> WalkResult<Node> {
        self.skip_ws();
        let pos = self.i;
        let kind = match self.bytes.get(pos) {
            Some(b'{') => {
                self.enter(depth, pos)?;
                self.object(depth)?
            }
            Some(b'[') => {
                self.enter(depth, pos)?;
                self.array(depth)?
            }
            Some(b'"') => Kind::String(self.string()?),
            Some(b't') => self.literal("true", Kind::Bool(true))?,
            Some(b'f') => self.literal("false", Kind::Bool(false))?,
            Some(b'n') => self.literal("null", Kind::Null)?,
            Some(_) => self.number()?,
            None => return Err((pos, "unexpected end of document".into())),
        };
        Ok(Node { pos, kind })
    }

    fn enter(&self, depth: usize, pos: usize) -> WalkResult<()> {
        if depth >= MAX_DEPTH {
            return Err((
                pos,
                format!("nested more than {MAX_DEPTH} levels deep; a manifest needs far fewer"),
            ));
        }
        Ok(())
    }

    fn literal(&mut self, word: &str, kind: Kind) -> WalkResult<Kind> {
        if self.text[self.i..].starts_with(word) {
            self.i += word.len();
            Ok(kind)
        } else {
            Err((self.i, "invalid literal".into()))
        }
    }

    fn number(&mut self) -> WalkResult<Kind> {
        let start = self.i;
        while let Some(b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E') = self.bytes.get(self.i) {
            self.i += 1;
        }
        serde_json::from_str::<Number>(&self.text[start..self.i])
            .map(Kind::Number)
            .map_err(|e| (start, format!("invalid number: {e}")))
    }

    fn string(&mut self) -> WalkResult<String> {
        let start = self.i;
        let mut j = start + 1;
        loop {
            match self.bytes.get(j) {
                Some(b'\\') => j += 2,
                Some(b'"') => break,
                Some(_) => j += 1,
                None => return Err((start, "unterminated string".into())),
            }
        }
        self.i = j + 1;
        serde_json::from_str::<String>(&self.text[start..self.i])
            .map_err(|e| (start, format!("invalid string: {e}")))
    }

    fn expect(&mut self, b: u8) -> WalkResult<()> {
        self.skip_ws();
        if self.bytes.get(self.i) == Some(&b) {
            self.i += 1;
            Ok(())
        } else {
            Err((self.i, format!("expected `{}`", b as char)))
        }
    }

    /// Next byte after whitespace, without consuming it.
    fn peek(&mut self) -> Option<u8> {
        self.skip_ws();
        self.bytes.get(self.i).copied()
    }

    fn object(&mut self, depth: usize) -> WalkResult<Kind> {
        self.expect(b'{')?;
        let mut entries: Vec<(Key, Node)> = Vec::new();
        if self.peek() == Some(b'}') {
            self.i += 1;
            return Ok(Kind::Object(entries));
        }
        loop {
            self.skip_ws();
            let key_pos = self.i;
            let name = self.string()?;
            // serde_json keeps the last of two equal keys; a schema validator or another
            // tool may keep the first. Refusing both closes that differential.
            if entries.iter().any(|(k, _)| k.name == name) {
                return Err((key_pos, format!("duplicate key \"{name}\"")));
            }
            self.expect(b':')?;
            let value = self.value(depth + 1)?;
            entries.push((Key { name, pos: key_pos }, value));
            match self.peek() {
                Some(b',') => self.i += 1,
                Some(b'}') => {
                    self.i += 1;
                    return Ok(Kind::Object(entries));
                }
                _ => return Err((self.i, "expected `,` or `}`".into())),
            }
        }
    }

    fn array(&mut self, depth: usize) -> WalkResult<Kind> {
        self.expect(b'[')?;
        let mut items = Vec::new();
        if self.peek() == Some(b']') {
            self.i += 1;
            return Ok(Kind::Array(items));
        }
        loop {
            items.push(self.value(depth + 1)?);
            match self.peek() {
                Some(b',') => self.i += 1,
                Some(b']') => {
                    self.i += 1;
                    return Ok(Kind::Array(items));
                }
                _ => return Err((self.i, "expected `,` or `]`".into())),
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// TOML

/// Parse TOML text into a positioned tree (keys as written, snake_case).
pub(crate) fn parse_toml(src: &Source<'_>) -> Result<Node, ManifestError> {
    use toml::de::DeTable;
    precheck(src)?;
    let doc = DeTable::parse(src.text).map_err(|e| {
        let pos = e.span().map_or(0, |s| s.start);
        src.error(pos, format!("invalid TOML: {}", e.message().trim_end()))
    })?;
    let span = doc.span();
    convert_table(doc.get_ref(), span.start, 0).map_err(|(pos, msg)| src.error(pos, msg))
}

fn convert_table(table: &toml::de::DeTable<'_>, pos: usize, depth: usize) -> WalkResult<Node> {
    if depth >= MAX_DEPTH {
        return Err((
            pos,
            format!("nested more than {MAX_DEPTH} levels deep; a manifest needs far fewer"),
        ));
    }
    let mut entries = Vec::with_capacity(table.len());
    for (k, v) in table.iter() {
        let key = Key {
            name: k.get_ref().to_string(),
            pos: k.span().start,
        };
        entries.push((key, convert_value(v, depth + 1)?));
    }
    Ok(Node {
        pos,
        kind: Kind::Object(entries),
    })
}

fn convert_value(v: &toml::Spanned<toml::de::DeValue<'_>>, depth: usize) -> WalkResult<Node> {
    use toml::de::DeValue;
    let pos = v.span().start;
    let kind = match v.get_ref() {
        DeValue::String(s) => Kind::String(s.to_string()),
        DeValue::Boolean(b) => Kind::Bool(*b),
        DeValue::Integer(i) => {
            let n = i64::from_str_radix(i.as_str(), i.radix())
                .map_err(|_| (pos, format!("integer {i} does not fit in 64 bits")))?;
            Kind::Number(Number::from(n))
        }
        DeValue::Float(f) => {
            let x: f64 = f
                .as_str()
                .parse()
                .map_err(|_| (pos, format!("invalid float {f}")))?;
            Kind::Number(
                Number::from_f64(x).ok_or_else(|| (pos, format!("{f} is not a finite number")))?,
            )
        }
        DeValue::Datetime(_) => {
            return Err((pos, "dates and times are not used in a manifest".into()));
        }
        DeValue::Array(items) => {
            if depth >= MAX_DEPTH {
                return Err((
                    pos,
                    format!("nested more than {MAX_DEPTH} levels deep; a manifest needs far fewer"),
                ));
            }
            let mut out = Vec::with_capacity(items.len());
            for item in items.iter() {
                out.push(convert_value(item, depth + 1)?);
            }
            Kind::Array(out)
        }
        DeValue::Table(t) => return convert_table(t, pos, depth),
    };
    Ok(Node { pos, kind })
}

/// `display_name` → `displayName`; `None` when `key` is not lower snake_case (so it can
/// match no field).
pub(crate) fn snake_to_camel(key: &str) -> Option<String> {
    let ok = key
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        && key.starts_with(|c: char| c.is_ascii_lowercase())
        && !key.ends_with('_')
        && !key.contains("__");
    if !ok {
        return None;
    }
    let mut out = String::with_capacity(key.len());
    let mut upper = false;
    for c in key.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.push(c.to_ascii_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    Some(out)
}

/// `displayName` → `display_name`.
pub(crate) fn camel_to_snake(key: &str) -> String {
    let mut out = String::with_capacity(key.len() + 4);
    for c in key.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// Keys of the `[plugin]` table, which the JSON form keeps at the top level.
const PLUGIN_TABLE_KEYS: [&str; 6] = [
    "version",
    "name",
    "display_name",
    "description",
    "author",
    "license",
];

/// The JSON form of a TOML manifest, converted mechanically (no validation): `[plugin]`
/// keys move to the top level and snake_case keys become camelCase, except inside
/// `config_schema`, which is a JSON Schema and is copied as written. Keys that are not
/// lower snake_case are copied unchanged, so a validator still sees (and refuses) them;
/// a camelCase key, which would otherwise pass for its JSON twin, becomes
/// `"maxMemoryMb (in TOML write max_memory_mb)"`.
/// Syntax errors are reported like [`PluginManifest::from_toml_str`](super::PluginManifest::from_toml_str) does.
pub fn toml_to_json(text: &str, origin: &Path) -> Result<Value, ManifestError> {
    super::check_size(text, origin)?;
    let src = Source {
        text,
        origin,
        syntax: Syntax::Toml,
    };
    let root = parse_toml(&src)?;
    let Kind::Object(entries) = &root.kind else {
        return Ok(root.to_value());
    };
    let mut out = Map::new();
    for (k, v) in entries {
        match (k.name.as_str(), &v.kind) {
            ("plugin", Kind::Object(plugin)) => {
                for (pk, pv) in plugin {
                    let name = if PLUGIN_TABLE_KEYS.contains(&pk.name.as_str()) {
                        rename(&pk.name)
                    } else {
                        // Not a [plugin] key: keep it nested so the schema reports it.
                        out.entry("plugin")
                            .or_insert_with(|| Value::Object(Map::new()))
                            .as_object_mut()
                            .map(|m| m.insert(pk.name.clone(), rename_tree(pv)));
                        continue;
                    };
                    out.insert(name, rename_tree(pv));
                }
            }
            (name, _) if PLUGIN_TABLE_KEYS.contains(&name) => {
                // At the top of a TOML file these are wrong, though the same key at the top
                // of the JSON form is right: mark it so that it matches no field.
                out.insert(
                    format!("{name} (in TOML write it under [plugin])"),
                    rename_tree(v),
                );
            }
            _ => {
                out.insert(rename(&k.name), rename_tree(v));
            }
        }
    }
    Ok(Value::Object(out))
}

fn rename(key: &str) -> String {
    match snake_to_camel(key) {
        Some(camel) => camel,
        // A camelCase key is wrong in TOML, but copied unchanged it would be right in JSON
        // and a validator would accept it; mark it so that it matches no field.
        None if key.bytes().any(|b| b.is_ascii_uppercase()) => {
            format!("{key} (in TOML write {})", camel_to_snake(key))
        }
        None => key.to_string(),
    }
}

fn rename_tree(node: &Node) -> Value {
    match &node.kind {
        Kind::Array(items) => Value::Array(items.iter().map(rename_tree).collect()),
        Kind::Object(entries) => Value::Object(
            entries
                .iter()
                .map(|(k, v)| {
                    if k.name == "config_schema" {
                        ("configSchema".to_string(), v.to_value())
                    } else {
                        (rename(&k.name), rename_tree(v))
                    }
                })
                .collect(),
        ),
        _ => node.to_value(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn json_src(text: &str) -> Source<'_> {
        Source {
            text,
            origin: Path::new("m.json"),
            syntax: Syntax::Json,
        }
    }

    fn toml_src(text: &str) -> Source<'_> {
        Source {
            text,
            origin: Path::new("m.toml"),
            syntax: Syntax::Toml,
        }
    }

    fn parse_err(r: Result<Node, ManifestError>) -> (usize, usize, String) {
        match r {
            Err(ManifestError::Parse {
                line,
                column,
                message,
                ..
            }) => (line, column, message),
            other => panic!("expected a parse error, got {other:?}"),
        }
    }

    #[test]
    fn line_column_counts_characters_from_one() {
        let t = "ab\ncdé\nf";
        assert_eq!(line_column(t, 0), (1, 1));
        assert_eq!(line_column(t, 3), (2, 1));
        assert_eq!(line_column(t, t.find('f').unwrap()), (3, 1));
        // After "cdé" (é is two bytes) the column is 4, not 5.
        assert_eq!(line_column(t, t.find('\n').unwrap() + 1 + 4), (2, 4));
    }

    #[test]
    fn json_walk_records_positions_and_decodes_escapes() {
        let text = "{\n  \"a\": [1, \"x\\u0041\"],\n  \"b\": {\"c\": null}\n}";
        let node = parse_json(&json_src(text)).unwrap();
        assert_eq!(node.to_value(), json!({"a": [1, "xA"], "b": {"c": null}}));
        let Kind::Object(entries) = &node.kind else {
            panic!()
        };
        assert_eq!(line_column(text, entries[0].0.pos), (2, 3));
        assert_eq!(line_column(text, entries[1].1.pos), (3, 8));
    }

    #[test]
    fn json_syntax_errors_carry_line_and_column() {
        let (line, column, msg) = parse_err(parse_json(&json_src("{\n  \"a\": 1 2\n}")));
        assert_eq!((line, column), (2, 10));
        assert!(msg.starts_with("invalid JSON"), "{msg}");
        assert!(
            !msg.contains(" at line "),
            "position is not repeated: {msg}"
        );
    }

    #[test]
    fn json_duplicate_keys_are_refused_where_they_appear() {
        let (line, column, msg) = parse_err(parse_json(&json_src(
            "{\"name\": \"a\",\n \"name\": \"b\"}",
        )));
        assert_eq!((line, column), (2, 2));
        assert_eq!(msg, "duplicate key \"name\"");
    }

    #[test]
    fn json_nesting_is_capped() {
        let deep = format!("{}{}", "[".repeat(MAX_DEPTH + 1), "]".repeat(MAX_DEPTH + 1));
        let (_, _, msg) = parse_err(parse_json(&json_src(&deep)));
        assert!(msg.contains("nested more than 64 levels"), "{msg}");
        let ok = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert!(parse_json(&json_src(&ok)).is_ok());
    }

    #[test]
    fn byte_order_mark_is_refused_in_both_syntaxes() {
        let (l, c, msg) = parse_err(parse_json(&json_src("\u{feff}{}")));
        assert_eq!((l, c), (1, 1));
        assert!(msg.contains("byte-order mark"), "{msg}");
        let (_, _, msg) = parse_err(parse_toml(&toml_src("\u{feff}[plugin]\n")));
        assert!(msg.contains("byte-order mark"), "{msg}");
    }

    #[test]
    fn toml_errors_carry_line_and_column_from_the_span() {
        let (line, column, msg) = parse_err(parse_toml(&toml_src("[plugin]\nname = \n")));
        assert_eq!(line, 2);
        assert!(column >= 7, "{column}");
        assert!(msg.starts_with("invalid TOML"), "{msg}");
    }

    #[test]
    fn toml_values_convert_and_dates_are_refused() {
        let node =
            parse_toml(&toml_src("a = 0x10\nb = 1.5\nc = [true]\n[d]\ne = \"x\"\n")).unwrap();
        assert_eq!(
            node.to_value(),
            json!({"a": 16, "b": 1.5, "c": [true], "d": {"e": "x"}})
        );
        let (line, _, msg) = parse_err(parse_toml(&toml_src("x = 1\nd = 1979-05-27\n")));
        assert_eq!(line, 2);
        assert!(msg.contains("dates"), "{msg}");
        let (_, _, msg) = parse_err(parse_toml(&toml_src("x = nan\n")));
        assert!(msg.contains("finite"), "{msg}");
    }

    #[test]
    fn key_spellings_convert_both_ways() {
        assert_eq!(
            snake_to_camel("max_memory_mb").as_deref(),
            Some("maxMemoryMb")
        );
        assert_eq!(snake_to_camel("name").as_deref(), Some("name"));
        assert_eq!(snake_to_camel("displayName"), None);
        assert_eq!(snake_to_camel("a__b"), None);
        assert_eq!(snake_to_camel("_a"), None);
        assert_eq!(
            camel_to_snake("maxResponseSizeBytes"),
            "max_response_size_bytes"
        );
    }

    #[test]
    fn toml_camel_case_keys_do_not_pass_for_json_ones() {
        let v = toml_to_json(
            "name = \"x\"\n[resources]\nmaxMemoryMb = 1\nweird-key = 2\n",
            Path::new("m.toml"),
        )
        .unwrap();
        assert_eq!(
            v,
            json!({"name (in TOML write it under [plugin])": "x",
                   "resources": {"maxMemoryMb (in TOML write max_memory_mb)": 1, "weird-key": 2}})
        );
    }

    #[test]
    fn toml_converts_to_the_json_layout() {
        let v = toml_to_json(
            "[plugin]\nversion = \"1.0.0\"\ndisplay_name = \"X\"\n\
             [[guards]]\nname = \"g\"\nconfig_schema = { type = \"object\", additionalProperties = false, properties = { max_items = { type = \"integer\" } } }\n\
             [resources]\nmax_cpu_ms = 5\n",
            Path::new("m.toml"),
        )
        .unwrap();
        assert_eq!(
            v,
            json!({
                "version": "1.0.0", "displayName": "X",
                "guards": [{"name": "g", "configSchema": {"type": "object",
                    "additionalProperties": false,
                    "properties": {"max_items": {"type": "integer"}}}}],
                "resources": {"maxCpuMs": 5}
            })
        );
    }
}
