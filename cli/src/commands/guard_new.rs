//! `clawdstrike guard new`: a new guard package, in Rust or TypeScript, from a template
//! (`sdk/templates/`): source, tests, manifest, README, CHANGELOG and an example policy
//! and event, ready for `cargo test` or `npm test`.

use std::path::{Path, PathBuf};

use super::{EXIT_BAD_INPUT, EXIT_OK};

/// Arguments of `guard new`.
#[derive(clap::Args)]
pub struct NewArgs {
    /// The directory to create (it must not exist, or be empty).
    dir: PathBuf,
    /// The package name (default: the directory's name). Lower-case letters, digits and
    /// `-`; the guard is named after it with `_` for `-`.
    #[arg(long)]
    name: Option<String>,
    /// What the guard starts as: `basic` (a configurable content check),
    /// `async-guard` (asks an HTTP service, with an `async:` block in the example policy),
    /// `compliance-guard` (a file-header rule with warn/deny) or `multi-guard` (two
    /// guards in one package).
    #[arg(long, default_value = "basic", value_parser = TEMPLATE_NAMES)]
    template: String,
    /// The guard's language: `rust` (a crate built for wasm32-wasip2) or `typescript`
    /// (an npm package built with ComponentizeJS).
    #[arg(long, default_value = "rust", value_parser = ["rust", "typescript"])]
    lang: String,
    /// Depend on a local checkout of the SDK (`sdk/rust` or `sdk/typescript`) instead of
    /// the published package.
    #[arg(long)]
    sdk_path: Option<PathBuf>,
}

/// One template: its own files, laid over its language's common files (same path: the
/// template's wins).
struct Template {
    name: &'static str,
    summary: &'static str,
    files: &'static [(&'static str, &'static str)],
}

/// The templates of one language.
struct Language {
    name: &'static str,
    /// Files every template of the language shares. `gitignore` is written as
    /// `.gitignore` (a dotfile in the templates would be skipped by some tools).
    common: &'static [(&'static str, &'static str)],
    templates: &'static [Template],
    /// What to run first in the new package.
    first_steps: &'static str,
}

macro_rules! files {
    ($dir:literal: $($path:literal),* $(,)?) => {
        &[$(($path, include_str!(concat!("../../../sdk/templates/", $dir, "/", $path)))),*]
    };
}

const BASIC: &str = "denies file writes whose content contains a banned word.";
const ASYNC: &str =
    "asks a reputation service about every outgoing connection and denies bad scores.";
const COMPLIANCE: &str = "source files must carry an SPDX license header with an allowed license.";
const MULTI: &str = "protected paths and blocked commands.";

const LANGUAGES: &[Language] = &[
    Language {
        name: "rust",
        common: files!("rust/common": "Cargo.toml", "CHANGELOG.md", "README.md", "gitignore", "../../LICENSE"),
        templates: &[
            Template {
                name: "basic",
                summary: BASIC,
                files: files!("rust/basic": "src/lib.rs", "tests/guard.rs", "clawdstrike.plugin.toml", "policy.example.yaml", "event.json"),
            },
            Template {
                name: "async-guard",
                summary: ASYNC,
                files: files!("rust/async-guard": "src/lib.rs", "tests/guard.rs", "clawdstrike.plugin.toml", "policy.example.yaml", "event.json"),
            },
            Template {
                name: "compliance-guard",
                summary: COMPLIANCE,
                files: files!("rust/compliance-guard": "src/lib.rs", "tests/guard.rs", "clawdstrike.plugin.toml", "policy.example.yaml", "event.json"),
            },
            Template {
                name: "multi-guard",
                summary: MULTI,
                files: files!("rust/multi-guard": "Cargo.toml", "README.md", "src/lib.rs", "tests/guard.rs", "clawdstrike.plugin.toml", "policy.example.yaml", "event.json"),
            },
        ],
        first_steps: "cargo test",
    },
    Language {
        name: "typescript",
        common: files!("typescript/common": "package.json", "CHANGELOG.md", "README.md", "gitignore", "../../LICENSE"),
        templates: &[
            Template {
                name: "basic",
                summary: BASIC,
                files: files!("typescript/basic": "src/guard.ts", "test/guard.test.js", "clawdstrike.plugin.json", "policy.example.yaml", "event.json"),
            },
            Template {
                name: "async-guard",
                summary: ASYNC,
                files: files!("typescript/async-guard": "src/guard.ts", "test/guard.test.js", "clawdstrike.plugin.json", "policy.example.yaml", "event.json"),
            },
            Template {
                name: "compliance-guard",
                summary: COMPLIANCE,
                files: files!("typescript/compliance-guard": "src/guard.ts", "test/guard.test.js", "clawdstrike.plugin.json", "policy.example.yaml", "event.json"),
            },
            Template {
                name: "multi-guard",
                summary: MULTI,
                files: files!("typescript/multi-guard": "package.json", "README.md", "src/config.ts", "src/paths.ts", "src/commands.ts", "test/guard.test.js", "clawdstrike.plugin.json", "policy.example.yaml", "event.json"),
            },
        ],
        first_steps: "npm install\n  npm test",
    },
];

const TEMPLATE_NAMES: [&str; 4] = ["basic", "async-guard", "compliance-guard", "multi-guard"];

/// The names a package gets, from its package name (`my-guard`).
struct Names {
    package: String,
    guard: String,
    type_name: String,
    display: String,
}

impl Names {
    fn new(package: &str) -> Result<Names, String> {
        let valid = package.len() <= 64
            && package.starts_with(|c: char| c.is_ascii_lowercase())
            && package
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
        if !valid {
            return Err(format!(
                "`{package}` is not a usable package name: use lower-case letters, digits and `-`, \
                 starting with a letter, at most 64 characters (or pass --name)"
            ));
        }
        let guard = package.replace('-', "_");
        let words: Vec<&str> = guard.split('_').filter(|w| !w.is_empty()).collect();
        let type_name = words
            .iter()
            .map(|w| {
                let mut c = w.chars();
                c.next()
                    .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                    .unwrap_or_default()
            })
            .collect();
        let display = {
            let text = words.join(" ");
            let mut c = text.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        };
        Ok(Names {
            package: package.to_string(),
            guard,
            type_name,
            display,
        })
    }
}

fn fill(text: &str, names: &Names, template: &Template, sdk: &str) -> String {
    text.replace("{{package}}", &names.package)
        .replace("{{guard}}", &names.guard)
        .replace("{{crate}}", &names.guard)
        .replace("{{type}}", &names.type_name)
        .replace("{{display}}", &names.display)
        .replace("{{template}}", template.name)
        .replace("{{summary}}", template.summary)
        .replace("{{sdk}}", sdk)
}

/// What `{{sdk}}` becomes: the SDK dependency, published or a local checkout.
fn sdk_dependency(language: &Language, sdk_path: Option<&Path>) -> Result<String, String> {
    let version = env!("CARGO_PKG_VERSION");
    let Some(path) = sdk_path else {
        let major_minor: Vec<&str> = version.split('.').take(2).collect();
        return Ok(match language.name {
            "rust" => format!("\"{}\"", major_minor.join(".")),
            _ => format!("^{version}"),
        });
    };
    let path = path
        .canonicalize()
        .map_err(|e| format!("--sdk-path {}: {e}", path.display()))?;
    let marker = match language.name {
        "rust" => "Cargo.toml",
        _ => "package.json",
    };
    if !path.join(marker).is_file() {
        return Err(format!(
            "--sdk-path {}: no {marker} there (give the SDK's sdk/{} directory)",
            path.display(),
            language.name
        ));
    }
    // TOML basic strings and JSON strings escape `\` and `"` alike.
    let text = path
        .display()
        .to_string()
        .replace('\\', "\\\\")
        .replace('"', "\\\"");
    Ok(match language.name {
        "rust" => format!("{{ path = \"{text}\" }}"),
        _ => format!("file:{text}"),
    })
}

pub fn run(args: NewArgs) -> i32 {
    match scaffold(&args) {
        Ok(written) => {
            println!(
                "created {} from the `{}` template:",
                args.dir.display(),
                args.template
            );
            for path in &written {
                println!("  {path}");
            }
            println!(
                "\nnext:\n  cd {}\n  {}\n  (README.md has the build, validate and dev-server steps)",
                args.dir.display(),
                language(&args.lang).map_or("", |l| l.first_steps)
            );
            EXIT_OK
        }
        Err(message) => {
            eprintln!("error: {message}");
            EXIT_BAD_INPUT
        }
    }
}

fn language(name: &str) -> Option<&'static Language> {
    LANGUAGES.iter().find(|l| l.name == name)
}

fn scaffold(args: &NewArgs) -> Result<Vec<String>, String> {
    let language =
        language(&args.lang).ok_or_else(|| format!("no templates for `{}`", args.lang))?;
    let template = language
        .templates
        .iter()
        .find(|t| t.name == args.template)
        .ok_or_else(|| format!("no template `{}`", args.template))?;
    let package = match &args.name {
        Some(n) => n.clone(),
        None => args
            .dir
            .file_name()
            .and_then(|n| n.to_str())
            .ok_or_else(|| format!("{}: give the package a --name", args.dir.display()))?
            .to_string(),
    };
    let names = Names::new(&package)?;
    let sdk = sdk_dependency(language, args.sdk_path.as_deref())?;
    if args.dir.exists() {
        let mut entries =
            std::fs::read_dir(&args.dir).map_err(|e| format!("{}: {e}", args.dir.display()))?;
        if entries.next().is_some() {
            return Err(format!(
                "{} already exists and is not empty; nothing was written",
                args.dir.display()
            ));
        }
    }
    let mut files: Vec<(&str, &str)> = language
        .common
        .iter()
        .filter(|(path, _)| !template.files.iter().any(|(p, _)| p == path))
        .copied()
        .collect();
    files.extend(template.files.iter().copied());
    let mut written = Vec::new();
    for (path, text) in files {
        let target = match path {
            "gitignore" => ".gitignore",
            // The Apache-2.0 text the manifests' `license` names, shared by every template.
            "../../LICENSE" => "LICENSE",
            other => other,
        };
        let full = args.dir.join(target);
        if let Some(parent) = full.parent() {
            std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
        }
        std::fs::write(&full, fill(text, &names, template, &sdk))
            .map_err(|e| format!("{}: {e}", full.display()))?;
        written.push(target.to_string());
    }
    written.sort();
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_package_name() {
        let n = Names::new("acme-secret-scan").unwrap();
        assert_eq!(
            (n.guard.as_str(), n.type_name.as_str(), n.display.as_str()),
            ("acme_secret_scan", "AcmeSecretScan", "Acme secret scan")
        );
        for bad in ["", "My-Guard", "1guard", "a/b", "a b", &"x".repeat(65)] {
            assert!(Names::new(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn every_placeholder_is_filled() {
        let names = Names::new("my-guard").unwrap();
        for language in LANGUAGES {
            let names_here: Vec<&str> = language.templates.iter().map(|t| t.name).collect();
            assert_eq!(names_here, TEMPLATE_NAMES, "{}", language.name);
            for t in language.templates {
                for (path, text) in language.common.iter().chain(t.files) {
                    let out = fill(text, &names, t, "\"0.1\"");
                    assert!(
                        !out.contains("{{"),
                        "{}/{}/{path} keeps a placeholder",
                        language.name,
                        t.name
                    );
                }
            }
        }
    }
}
