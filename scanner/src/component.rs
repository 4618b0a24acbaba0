//! Checking a guard's WebAssembly component without compiling it.
//!
//! [`check_component`] validates the bytes with `wasmparser` (the version wasmtime 48 is
//! built on, with its default features, which include the component model), refuses a core
//! module, lists the component's top-level imports and exports, refuses an import the
//! engine would refuse at load ([`clawdstrike_formats::imports::disallowed`]), and
//! requires the exports of the `clawdstrike:guard/guard@1.0.0` world: the functions
//! `describe`, `init` and `check`. For every imported instance it also lists the names of
//! the functions the component imports from it — `wit-component` only keeps the functions
//! a guest actually uses, so for `clawdstrike:guard/host@1.0.0` this says which host calls
//! (`http-request`, `read-file`, `get-secret`, `log`) the guard can make.
//!
//! Validation is linear in the size of the component (about a millisecond per 100 KB); no
//! code is compiled or run.

use std::collections::BTreeMap;

use clawdstrike_formats::imports;
use wasmparser::component_types::ComponentEntityType;
use wasmparser::{
    ComponentExternalKind, ComponentTypeRef, Encoding, KnownCustom, Parser, Payload, TypeBounds,
    Validator, WasmFeatures,
};

/// The world's exports: every guard component must export these functions.
pub const REQUIRED_EXPORTS: [&str; 3] = ["describe", "init", "check"];

/// The host interface of the world, whose functions are gated by capabilities.
pub const HOST_INTERFACE: &str = "clawdstrike:guard/host";

/// What a valid guard component imports and exports.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ComponentInfo {
    /// Top-level import names, in order (`clawdstrike:guard/host@1.0.0`, `wasi:cli/stdout@0.2.6`).
    /// Structural type imports (`verdict`, `guard-info`) are left out, as wasmtime leaves
    /// them out of what it links.
    pub imports: Vec<String>,
    /// Top-level export names, in order (`describe`, `init`, `check`).
    pub exports: Vec<String>,
    /// For each imported instance (interface), the functions the component imports from it.
    pub instance_functions: BTreeMap<String, Vec<String>>,
    /// The top-level `producers` custom section: field (`processed-by`, `language`) →
    /// `name version` values (`ComponentizeJS 0.22.0`). Informational: anyone can write it.
    pub producers: BTreeMap<String, Vec<String>>,
}

impl ComponentInfo {
    /// The functions imported from the world's `host` interface (any 1.x version), e.g.
    /// `["log", "http-request"]`.
    pub fn host_functions(&self) -> Vec<&str> {
        self.instance_functions
            .iter()
            .filter(|(name, _)| {
                name.split_once('@')
                    .is_some_and(|(iface, _)| iface == HOST_INTERFACE)
            })
            .flat_map(|(_, funcs)| funcs.iter().map(String::as_str))
            .collect()
    }

    /// Whether the `producers` section says ComponentizeJS built the component. Its guests
    /// import every function of an interface they use (the SDK imports `host` as a whole),
    /// so their imported host functions say nothing about which ones they call.
    pub fn is_componentize_js(&self) -> bool {
        self.producers
            .get("processed-by")
            .is_some_and(|v| v.iter().any(|p| p.starts_with("ComponentizeJS ")))
    }
}

/// Why a component is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ComponentError {
    /// The bytes do not start with the WebAssembly magic number.
    #[error("not a WebAssembly file (it does not start with \\0asm); the entrypoint must be the built component")]
    NotWasm,
    /// A core WebAssembly module instead of a component.
    #[error(
        "this is a core WebAssembly module, not a component; build a component: \
         `cargo build --target wasm32-wasip2` for Rust (scripts/build-guards.sh), \
         ComponentizeJS (`clawdstrike-guard-build`) for TypeScript"
    )]
    CoreModule,
    /// The component does not validate.
    #[error("the component is not valid WebAssembly: {message} (at byte offset {offset})")]
    Invalid {
        /// Byte offset of the problem.
        offset: usize,
        /// The validator's message.
        message: String,
    },
    /// Imports the engine refuses at load.
    #[error(
        "the component imports {}, which the engine refuses: a guard may import only the \
         clawdstrike:guard@1.0.x interfaces and the deny-all WASI 0.2 interfaces (cli, io, \
         clocks, random, filesystem); remove the dependency that pulls these in",
        imports.join(", ")
    )]
    DisallowedImports {
        /// The refused import names.
        imports: Vec<String>,
    },
    /// The world's exports are missing (or are not functions).
    #[error(
        "the component does not export {} as functions; a guard implements the \
         clawdstrike:guard/guard@1.0.0 world (describe, init, check); build it with the guard SDK",
        missing.join(", ")
    )]
    MissingExports {
        /// The exports that are missing.
        missing: Vec<String>,
    },
}

/// Validate a guard component and list its imports and exports. See the module docs.
pub fn check_component(bytes: &[u8]) -> Result<ComponentInfo, ComponentError> {
    if !bytes.starts_with(b"\0asm") {
        return Err(ComponentError::NotWasm);
    }
    let invalid = |e: wasmparser::BinaryReaderError| ComponentError::Invalid {
        offset: e.offset(),
        message: e.message().to_string(),
    };

    // First pass: the top-level names, without validating (cheap: function bodies are
    // skipped, nested modules and components are tracked by depth).
    let mut info = ComponentInfo::default();
    let mut export_kinds: Vec<(String, ComponentExternalKind)> = Vec::new();
    let mut depth = 0usize;
    for payload in Parser::new(0).parse_all(bytes) {
        match payload.map_err(invalid)? {
            Payload::Version { encoding, .. } => {
                if depth == 0 && encoding == Encoding::Module {
                    return Err(ComponentError::CoreModule);
                }
                depth += 1;
            }
            Payload::End(_) => depth = depth.saturating_sub(1),
            Payload::ComponentImportSection(reader) if depth == 1 => {
                for import in reader {
                    let import = import.map_err(invalid)?;
                    // A structural type import (`verdict`, `guard-info`: the world's `use`)
                    // needs no definition from the host; wasmtime does not list it among
                    // the imports it links, so neither do we. A resource type import does
                    // need one and is kept.
                    if matches!(import.ty, ComponentTypeRef::Type(TypeBounds::Eq(_))) {
                        continue;
                    }
                    info.imports.push(import.name.name.to_string());
                }
            }
            Payload::CustomSection(reader) if depth == 1 => {
                if let KnownCustom::Producers(fields) = reader.as_known() {
                    // A malformed producers section is not a reason to refuse a component.
                    for field in fields.into_iter().flatten() {
                        let values = field
                            .values
                            .into_iter()
                            .flatten()
                            .map(|v| format!("{} {}", v.name, v.version))
                            .collect();
                        info.producers.insert(field.name.to_string(), values);
                    }
                }
            }
            Payload::ComponentExportSection(reader) if depth == 1 => {
                for export in reader {
                    let export = export.map_err(invalid)?;
                    export_kinds.push((export.name.name.to_string(), export.kind));
                }
            }
            _ => {}
        }
    }

    let bad = imports::disallowed(info.imports.iter().map(String::as_str));
    if !bad.is_empty() {
        return Err(ComponentError::DisallowedImports { imports: bad });
    }

    let mut validator = Validator::new_with_features(WasmFeatures::default());
    let types = validator.validate_all(bytes).map_err(invalid)?;

    let missing: Vec<String> = REQUIRED_EXPORTS
        .iter()
        .filter(|want| {
            !export_kinds
                .iter()
                .any(|(name, kind)| name == *want && *kind == ComponentExternalKind::Func)
        })
        .map(|s| s.to_string())
        .collect();
    if !missing.is_empty() {
        return Err(ComponentError::MissingExports { missing });
    }
    info.exports = export_kinds.into_iter().map(|(n, _)| n).collect();

    for name in &info.imports {
        let Some(item) = types.component_item_for_import(name) else {
            continue;
        };
        if let ComponentEntityType::Instance(id) = item.ty {
            let funcs = types[id]
                .exports
                .iter()
                .filter(|(_, item)| matches!(item.ty, ComponentEntityType::Func(_)))
                .map(|(n, _)| n.clone())
                .collect();
            info.instance_functions.insert(name.clone(), funcs);
        }
    }
    Ok(info)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_functions_come_from_any_1_x_host_interface_only() {
        let mut info = ComponentInfo::default();
        info.instance_functions.insert(
            "clawdstrike:guard/host@1.0.0".into(),
            vec!["log".into(), "http-request".into()],
        );
        info.instance_functions
            .insert("clawdstrike:guard/state@1.0.0".into(), vec!["get".into()]);
        info.instance_functions
            .insert("evil:guard/host@1.0.0".into(), vec!["read-file".into()]);
        assert_eq!(info.host_functions(), ["log", "http-request"]);
    }

    #[test]
    fn componentize_js_is_recognised_from_processed_by() {
        let mut info = ComponentInfo::default();
        assert!(!info.is_componentize_js());
        info.producers.insert(
            "processed-by".into(),
            vec![
                "wit-component 0.259.0".into(),
                "ComponentizeJS 0.22.0".into(),
            ],
        );
        assert!(info.is_componentize_js());
    }

    #[test]
    fn truncated_and_garbage_components_are_invalid_not_a_panic() {
        assert_eq!(check_component(b""), Err(ComponentError::NotWasm));
        // A component preamble, then a section that claims more bytes than there are.
        let bytes = b"\0asm\x0d\x00\x01\x00\x07\xff\xff\xff\x0f\x01";
        assert!(matches!(
            check_component(bytes),
            Err(ComponentError::Invalid { .. })
        ));
        // An unknown layer/version.
        assert!(matches!(
            check_component(b"\0asm\x0e\x00\x01\x00"),
            Err(ComponentError::Invalid { .. })
        ));
    }
}
