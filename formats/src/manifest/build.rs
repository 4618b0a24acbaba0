//! From a positioned document (either syntax) to a [`PluginManifest`]: field names, types,
//! defaults, limits and the value rules of [`super::rules`]. The first problem stops the
//! build and is reported with its line, column and field path (spelt as in the file).

use super::error::ManifestError;
use super::model::*;
use super::node::{camel_to_snake, snake_to_camel, Key, Kind, Node, Source, Syntax};
use super::rules::{self, shorten};
use super::{MAX_GUARDS, MAX_LIST_ENTRIES, MAX_STRING_BYTES};
use crate::event::EventType;
use serde_json::Value;

type R<T> = Result<T, ManifestError>;

/// The `[plugin]` table's keys, as written in TOML.
const HEADER_SNAKE: [&str; 6] = [
    "version",
    "name",
    "display_name",
    "description",
    "author",
    "license",
];

/// Build the manifest from `root`, the parsed document of `src`.
pub(crate) fn build(src: &Source<'_>, root: &Node) -> R<PluginManifest> {
    let b = Builder { src };
    b.manifest(root)
}

struct Builder<'s> {
    src: &'s Source<'s>,
}

/// An object being read: which fields exist (already checked against the allowed list).
struct Obj<'n> {
    path: String,
    pos: usize,
    entries: &'n [(Key, Node)],
}

/// A field that was present: its node and its path.
struct Field<'n> {
    node: &'n Node,
    path: String,
}

fn join(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_string()
    } else {
        format!("{parent}.{key}")
    }
}

impl<'s> Builder<'s> {
    fn err(&self, pos: usize, path: &str, msg: impl std::fmt::Display) -> ManifestError {
        if path.is_empty() {
            self.src.error(pos, msg.to_string())
        } else {
            self.src.error(pos, format!("{path}: {msg}"))
        }
    }

    /// How a field (given in its JSON spelling) is written in this syntax.
    fn spell(&self, field: &str) -> String {
        match self.src.syntax {
            Syntax::Json => field.to_string(),
            Syntax::Toml => camel_to_snake(field),
        }
    }

    fn type_name(&self, node: &Node) -> &'static str {
        match (&node.kind, self.src.syntax) {
            (Kind::Null, _) => "null",
            (Kind::Bool(_), _) => "a boolean",
            (Kind::Number(_), _) => "a number",
            (Kind::String(_), _) => "a string",
            (Kind::Array(_), _) => "an array",
            (Kind::Object(_), Syntax::Json) => "an object",
            (Kind::Object(_), Syntax::Toml) => "a table",
        }
    }

    fn object_word(&self) -> &'static str {
        match self.src.syntax {
            Syntax::Json => "an object",
            Syntax::Toml => "a table",
        }
    }

    fn expected(&self, node: &Node, path: &str, what: &str) -> ManifestError {
        self.err(
            node.pos,
            path,
            format!("expected {what}, found {}", self.type_name(node)),
        )
    }

    /// Read `node` as an object whose fields (JSON spelling) are `fields`; any other key is
    /// an error naming it and, when it is only misspelt for this syntax, the right spelling.
    fn obj<'n>(&self, node: &'n Node, path: &str, fields: &[&str]) -> R<Obj<'n>> {
        let Kind::Object(entries) = &node.kind else {
            return Err(self.expected(node, path, self.object_word()));
        };
        for (key, _) in entries {
            if fields.iter().any(|f| self.spell(f) == key.name) {
                continue;
            }
            let spelled: Vec<String> = fields.iter().map(|f| self.spell(f)).collect();
            let hint = match self.src.syntax {
                Syntax::Json => snake_to_camel(&key.name)
                    .filter(|c| c != &key.name && fields.contains(&c.as_str()))
                    .map(|c| format!(" (JSON manifests use camelCase: \"{c}\")")),
                Syntax::Toml if path.is_empty() && HEADER_SNAKE.contains(&key.name.as_str()) => {
                    Some(" (in TOML it belongs under [plugin])".to_string())
                }
                Syntax::Toml => {
                    let snake = camel_to_snake(&key.name);
                    (snake != key.name && spelled.contains(&snake))
                        .then(|| format!(" (TOML manifests use snake_case: \"{snake}\")"))
                }
            }
            .unwrap_or_default();
            return Err(self.err(
                key.pos,
                &join(path, &shorten(&key.name)),
                format!(
                    "unknown field{hint}; expected one of {}",
                    spelled.join(", ")
                ),
            ));
        }
        Ok(Obj {
            path: path.to_string(),
            pos: node.pos,
            entries,
        })
    }

    fn get<'n>(&self, o: &Obj<'n>, field: &str) -> Option<Field<'n>> {
        let key = self.spell(field);
        o.entries
            .iter()
            .find(|(k, _)| k.name == key)
            .map(|(_, node)| Field {
                node,
                path: join(&o.path, &key),
            })
    }

    fn required<'n>(&self, o: &Obj<'n>, field: &str) -> R<Field<'n>> {
        self.get(o, field).ok_or_else(|| {
            self.err(
                o.pos,
                &o.path,
                format!("missing required field \"{}\"", self.spell(field)),
            )
        })
    }

    fn string(&self, f: &Field<'_>) -> R<String> {
        let Kind::String(s) = &f.node.kind else {
            return Err(self.expected(f.node, &f.path, "a string"));
        };
        if s.len() > MAX_STRING_BYTES {
            return Err(self.err(
                f.node.pos,
                &f.path,
                format!(
                    "the string is {} bytes long; at most {MAX_STRING_BYTES} are allowed",
                    s.len()
                ),
            ));
        }
        if s.contains('\0') {
            return Err(self.err(f.node.pos, &f.path, "the string contains a NUL byte"));
        }
        Ok(s.clone())
    }

    fn opt_string(&self, o: &Obj<'_>, field: &str) -> R<Option<String>> {
        self.get(o, field).map(|f| self.string(&f)).transpose()
    }

    fn bool(&self, f: &Field<'_>) -> R<bool> {
        match f.node.kind {
            Kind::Bool(b) => Ok(b),
            _ => Err(self.expected(f.node, &f.path, "true or false")),
        }
    }

    /// A whole number in `1..=max`; `unit` names it in messages.
    fn positive(&self, f: &Field<'_>, max: u64, unit: &str) -> R<u64> {
        let n = match &f.node.kind {
            Kind::Number(n) => n.as_u64(),
            _ => return Err(self.expected(f.node, &f.path, "a whole number")),
        };
        match n {
            Some(0) => Err(self.err(f.node.pos, &f.path, "must be greater than 0")),
            Some(n) if n <= max => Ok(n),
            Some(n) => Err(self.err(
                f.node.pos,
                &f.path,
                format!("{n} {unit} is above the hard limit of {max} {unit}"),
            )),
            None => Err(self.err(
                f.node.pos,
                &f.path,
                format!("expected a whole number from 1 to {max}"),
            )),
        }
    }

    /// An array of at most `max` entries, each with its path.
    fn array<'n>(&self, f: &Field<'n>, max: usize) -> R<Vec<Field<'n>>> {
        let Kind::Array(items) = &f.node.kind else {
            return Err(self.expected(f.node, &f.path, "an array"));
        };
        if items.len() > max {
            return Err(self.err(
                f.node.pos,
                &f.path,
                format!("has {} entries; at most {max} are allowed", items.len()),
            ));
        }
        Ok(items
            .iter()
            .enumerate()
            .map(|(i, node)| Field {
                node,
                path: format!("{}[{i}]", f.path),
            })
            .collect())
    }

    /// A non-empty array of strings, each checked (and normalised) by `rule`.
    fn string_list(
        &self,
        f: &Field<'_>,
        max: usize,
        empty_hint: &str,
        rule: impl Fn(&str) -> Result<String, String>,
    ) -> R<Vec<String>> {
        let items = self.array(f, max)?;
        if items.is_empty() {
            return Err(self.err(
                f.node.pos,
                &f.path,
                format!("the list is empty; {empty_hint}"),
            ));
        }
        items
            .iter()
            .map(|item| {
                let s = self.string(item)?;
                rule(&s).map_err(|m| self.err(item.node.pos, &item.path, m))
            })
            .collect()
    }

    // -----------------------------------------------------------------------------------

    fn manifest(&self, root: &Node) -> R<PluginManifest> {
        const HEADER: [&str; 6] = [
            "version",
            "name",
            "displayName",
            "description",
            "author",
            "license",
        ];
        const SECTIONS: [&str; 5] = [
            "clawdstrike",
            "guards",
            "capabilities",
            "resources",
            "trust",
        ];
        let (top, header) = match self.src.syntax {
            Syntax::Json => {
                // `$schema` lets editors find the published schema; it means nothing here.
                let fields: Vec<&str> = ["$schema"]
                    .into_iter()
                    .chain(HEADER)
                    .chain(SECTIONS)
                    .collect();
                let top = self.obj(root, "", &fields)?;
                if let Some(f) = self.get(&top, "$schema") {
                    self.string(&f)?;
                }
                let header = Obj {
                    path: String::new(),
                    pos: top.pos,
                    entries: top.entries,
                };
                (top, header)
            }
            Syntax::Toml => {
                let fields: Vec<&str> = ["plugin"].into_iter().chain(SECTIONS).collect();
                let top = self.obj(root, "", &fields)?;
                let plugin = self.required(&top, "plugin")?;
                let header = self.obj(plugin.node, &plugin.path, &HEADER)?;
                (top, header)
            }
        };

        let version_field = self.required(&header, "version")?;
        let manifest_version = self.manifest_version(&version_field)?;
        let name_field = self.required(&header, "name")?;
        let name = self.string(&name_field)?;
        rules::package_name(&name)
            .map_err(|m| self.err(name_field.node.pos, &name_field.path, m))?;

        let engine = match self.get(&top, "clawdstrike") {
            Some(f) => self.engine_range(&f)?,
            None => EngineRange::default(),
        };
        let guards = self.guards(&self.required(&top, "guards")?)?;
        let capabilities = match self.get(&top, "capabilities") {
            Some(f) => self.capabilities(&f)?,
            None => Capabilities::default(),
        };
        let resources = match self.get(&top, "resources") {
            Some(f) => self.resources(&f)?,
            None => Resources::default(),
        };
        let trust = match self.get(&top, "trust") {
            Some(f) => self.trust(&f)?,
            None => TrustRequest::default(),
        };
        Ok(PluginManifest {
            manifest_version,
            name,
            display_name: self.opt_string(&header, "displayName")?,
            description: self.opt_string(&header, "description")?,
            author: self.opt_string(&header, "author")?,
            license: self.opt_string(&header, "license")?,
            engine,
            guards,
            capabilities,
            resources,
            trust,
        })
    }

    fn manifest_version(&self, f: &Field<'_>) -> R<semver::Version> {
        let s = self.string(f)?;
        let v = semver::Version::parse(&s).map_err(|_| {
            self.err(
                f.node.pos,
                &f.path,
                format!(
                    "\"{}\" is not a manifest format version; write \"1.0.0\"",
                    shorten(&s)
                ),
            )
        })?;
        if v.major != 1 {
            return Err(self.err(
                f.node.pos,
                &f.path,
                format!(
                    "manifest format {v} is not supported; this engine reads format 1.x \
                     (write \"1.0.0\"; this field is the manifest format, not the package version)"
                ),
            ));
        }
        Ok(v)
    }

    fn engine_range(&self, f: &Field<'_>) -> R<EngineRange> {
        let o = self.obj(f.node, &f.path, &["minVersion", "maxVersion"])?;
        let mut range = EngineRange::default();
        let mut min = None;
        if let Some(mf) = self.get(&o, "minVersion") {
            let s = self.string(&mf)?;
            min = Some(rules::min_version(&s).map_err(|m| self.err(mf.node.pos, &mf.path, m))?);
            range.min_version = Some(s);
        }
        if let Some(xf) = self.get(&o, "maxVersion") {
            let s = self.string(&xf)?;
            let max = rules::max_version(&s).map_err(|m| self.err(xf.node.pos, &xf.path, m))?;
            if let Some(min) = &min {
                if !max.admits(min) {
                    return Err(self.err(
                        xf.node.pos,
                        &xf.path,
                        format!(
                            "maxVersion \"{}\" is below minVersion {min}; no engine can satisfy both",
                            shorten(&s)
                        ),
                    ));
                }
            }
            range.max_version = Some(s);
        }
        Ok(range)
    }

    fn guards(&self, f: &Field<'_>) -> R<Vec<GuardDecl>> {
        let items = self.array(f, MAX_GUARDS)?;
        if items.is_empty() {
            return Err(self.err(
                f.node.pos,
                &f.path,
                "a package must declare at least one guard",
            ));
        }
        let mut out: Vec<GuardDecl> = Vec::with_capacity(items.len());
        for item in &items {
            let (g, name_pos) = self.guard(item)?;
            if let Some(first) = out.iter().position(|o| o.name == g.name) {
                let name_path = join(&item.path, "name");
                return Err(self.err(
                    name_pos,
                    &name_path,
                    format!(
                        "duplicate guard name \"{}\" (also {}[{first}]); each guard needs its own name",
                        g.name, f.path
                    ),
                ));
            }
            out.push(g);
        }
        Ok(out)
    }

    /// The guard and where its name is written.
    fn guard(&self, f: &Field<'_>) -> R<(GuardDecl, usize)> {
        let o = self.obj(
            f.node,
            &f.path,
            &[
                "name",
                "displayName",
                "entrypoint",
                "handles",
                "configSchema",
            ],
        )?;
        let nf = self.required(&o, "name")?;
        let name = self.string(&nf)?;
        rules::guard_name(&name).map_err(|m| self.err(nf.node.pos, &nf.path, m))?;
        let ef = self.required(&o, "entrypoint")?;
        let entrypoint = self.string(&ef)?;
        rules::entrypoint(&entrypoint).map_err(|m| self.err(ef.node.pos, &ef.path, m))?;
        let handles = self.handles(&self.required(&o, "handles")?)?;
        let config_schema = match self.get(&o, "configSchema") {
            Some(cf) => Some(self.config_schema(&cf, &name)?),
            None => None,
        };
        let guard = GuardDecl {
            name,
            display_name: self.opt_string(&o, "displayName")?,
            entrypoint,
            handles,
            config_schema,
        };
        Ok((guard, nf.node.pos))
    }

    fn handles(&self, f: &Field<'_>) -> R<Vec<EventType>> {
        let items = self.array(f, EventType::ALL.len())?;
        if items.is_empty() {
            return Err(self.err(
                f.node.pos,
                &f.path,
                "list at least one event type the guard examines, e.g. [\"file_write\"]",
            ));
        }
        let mut out: Vec<EventType> = Vec::with_capacity(items.len());
        for item in &items {
            let s = self.string(item)?;
            let t = EventType::parse(&s).ok_or_else(|| {
                let all: Vec<&str> = EventType::ALL.iter().map(|t| t.as_str()).collect();
                self.err(
                    item.node.pos,
                    &item.path,
                    format!(
                        "unknown event type \"{}\"; expected one of {}",
                        shorten(&s),
                        all.join(", ")
                    ),
                )
            })?;
            if out.contains(&t) {
                return Err(self.err(
                    item.node.pos,
                    &item.path,
                    format!("\"{t}\" is listed twice"),
                ));
            }
            out.push(t);
        }
        Ok(out)
    }

    fn config_schema(&self, f: &Field<'_>, guard: &str) -> R<Value> {
        if !matches!(f.node.kind, Kind::Object(_) | Kind::Bool(_)) {
            return Err(self.expected(f.node, &f.path, "a JSON Schema (an object)"));
        }
        // Keys inside are JSON Schema keywords and are kept exactly as written, in TOML too.
        let schema = f.node.to_value();
        // Compiling also checks the schema against its meta-schema. Remote `$ref`s cannot
        // resolve (the crate is built without HTTP or file retrieval), so compiling a
        // hostile schema never reaches the network.
        jsonschema::validator_for(&schema).map_err(|e| {
            self.err(
                f.node.pos,
                &f.path,
                format!(
                    "guard \"{guard}\" has an invalid config schema: {}",
                    shorten_long(&e.to_string())
                ),
            )
        })?;
        Ok(schema)
    }

    fn capabilities(&self, f: &Field<'_>) -> R<Capabilities> {
        let o = self.obj(
            f.node,
            &f.path,
            &["network", "filesystem", "secrets", "subprocess"],
        )?;
        Ok(Capabilities {
            network: match self.get(&o, "network") {
                Some(nf) => self.network(&nf)?,
                None => NetworkCapability::Denied,
            },
            filesystem: match self.get(&o, "filesystem") {
                Some(ff) => self.filesystem(&ff)?,
                None => FilesystemCapability::default(),
            },
            secrets: match self.get(&o, "secrets") {
                Some(sf) => self.secrets(&sf)?,
                None => SecretsCapability::Denied,
            },
            subprocess: match self.get(&o, "subprocess") {
                Some(pf) => self.bool(&pf)?,
                None => false,
            },
        })
    }

    fn network(&self, f: &Field<'_>) -> R<NetworkCapability> {
        match &f.node.kind {
            Kind::Bool(false) => return Ok(NetworkCapability::Denied),
            Kind::Bool(true) => return Ok(NetworkCapability::Any),
            Kind::Object(_) => {}
            _ => {
                return Err(self.expected(
                    f.node,
                    &f.path,
                    &format!("false, true or {} with allowedHosts", self.object_word()),
                ))
            }
        }
        let o = self.obj(
            f.node,
            &f.path,
            &[
                "allowedHosts",
                "allowedMethods",
                "maxRequestSizeBytes",
                "maxResponseSizeBytes",
            ],
        )?;
        let hosts = self.string_list(
            &self.required(&o, "allowedHosts")?,
            MAX_LIST_ENTRIES,
            "list the hosts the guard calls, or write false to deny network access",
            rules::host_pattern,
        )?;
        let mut rules_out = NetworkRules::with_hosts(hosts);
        if let Some(mf) = self.get(&o, "allowedMethods") {
            let methods = self.string_list(
                &mf,
                MAX_LIST_ENTRIES,
                "list at least one method, or leave the field out for [\"GET\"]",
                rules::http_method,
            )?;
            let mut unique: Vec<String> = Vec::with_capacity(methods.len());
            for m in methods {
                if !unique.contains(&m) {
                    unique.push(m);
                }
            }
            rules_out.allowed_methods = unique;
        }
        if let Some(sf) = self.get(&o, "maxRequestSizeBytes") {
            rules_out.max_request_size_bytes =
                self.positive(&sf, HARD_MAX_NETWORK_BYTES, "bytes")?;
        }
        if let Some(sf) = self.get(&o, "maxResponseSizeBytes") {
            rules_out.max_response_size_bytes =
                self.positive(&sf, HARD_MAX_NETWORK_BYTES, "bytes")?;
        }
        Ok(NetworkCapability::Hosts(rules_out))
    }

    fn filesystem(&self, f: &Field<'_>) -> R<FilesystemCapability> {
        match &f.node.kind {
            Kind::Bool(false) => return Ok(FilesystemCapability::default()),
            Kind::Bool(true) => {
                return Ok(FilesystemCapability {
                    read: PathAccess::Any,
                    write: PathAccess::Any,
                })
            }
            Kind::Object(_) => {}
            _ => {
                return Err(self.expected(
                    f.node,
                    &f.path,
                    &format!("false, true or {} with read/write", self.object_word()),
                ))
            }
        }
        let o = self.obj(f.node, &f.path, &["read", "write"])?;
        let access = |field: &str| -> R<PathAccess> {
            let Some(af) = self.get(&o, field) else {
                return Ok(PathAccess::Denied);
            };
            match &af.node.kind {
                Kind::Bool(false) => Ok(PathAccess::Denied),
                Kind::Bool(true) => Ok(PathAccess::Any),
                Kind::Array(_) => self
                    .string_list(
                        &af,
                        MAX_LIST_ENTRIES,
                        "list the paths, or write false to deny",
                        |g| rules::glob(g).map(|()| g.to_string()),
                    )
                    .map(PathAccess::Globs),
                _ => Err(self.expected(af.node, &af.path, "false, true or a list of globs")),
            }
        };
        Ok(FilesystemCapability {
            read: access("read")?,
            write: access("write")?,
        })
    }

    fn secrets(&self, f: &Field<'_>) -> R<SecretsCapability> {
        match &f.node.kind {
            Kind::Bool(false) => return Ok(SecretsCapability::Denied),
            Kind::Bool(true) => return Ok(SecretsCapability::Any),
            Kind::Object(_) => {}
            _ => {
                return Err(self.expected(
                    f.node,
                    &f.path,
                    &format!("false, true or {} with allowedKeys", self.object_word()),
                ))
            }
        }
        let o = self.obj(f.node, &f.path, &["allowedKeys"])?;
        let keys = self.string_list(
            &self.required(&o, "allowedKeys")?,
            MAX_LIST_ENTRIES,
            "name the secrets the guard reads, or write false to deny",
            |k| rules::secret_key(k).map(|()| k.to_string()),
        )?;
        Ok(SecretsCapability::Keys(keys))
    }

    fn resources(&self, f: &Field<'_>) -> R<Resources> {
        let o = self.obj(
            f.node,
            &f.path,
            &["maxMemoryMb", "maxCpuMs", "maxTimeoutMs"],
        )?;
        let mut r = Resources::default();
        // The hard caps fit in u32, so the conversions below cannot fail.
        if let Some(mf) = self.get(&o, "maxMemoryMb") {
            r.max_memory_mb = self.positive(&mf, HARD_MAX_MEMORY_MB.into(), "MB")? as u32;
        }
        if let Some(cf) = self.get(&o, "maxCpuMs") {
            r.max_cpu_ms = self.positive(&cf, HARD_MAX_CPU_MS.into(), "ms")? as u32;
        }
        if let Some(tf) = self.get(&o, "maxTimeoutMs") {
            r.max_timeout_ms = self.positive(&tf, HARD_MAX_TIMEOUT_MS.into(), "ms")? as u32;
        }
        Ok(r)
    }

    fn trust(&self, f: &Field<'_>) -> R<TrustRequest> {
        let o = self.obj(f.node, &f.path, &["level", "sandbox"])?;
        let mut t = TrustRequest::default();
        if let Some(lf) = self.get(&o, "level") {
            let s = self.string(&lf)?;
            t.level = s
                .parse::<TrustTier>()
                .map_err(|e| self.err(lf.node.pos, &lf.path, shorten_long(&e.to_string())))?;
        }
        if let Some(sf) = self.get(&o, "sandbox") {
            let s = self.string(&sf)?;
            t.sandbox = s
                .parse::<Sandbox>()
                .map_err(|e| self.err(sf.node.pos, &sf.path, shorten_long(&e.to_string())))?;
        }
        Ok(t)
    }
}

/// Messages from other crates can quote a whole hostile value; keep them readable.
fn shorten_long(msg: &str) -> String {
    const MAX: usize = 400;
    if msg.len() <= MAX {
        msg.to_string()
    } else {
        let mut cut = MAX;
        while !msg.is_char_boundary(cut) {
            cut -= 1;
        }
        format!("{}...", &msg[..cut])
    }
}
