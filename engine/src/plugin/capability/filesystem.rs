//! `read-file`: declared globs, matched on the real path.
//!
//! The requested path must be absolute. It is normalised lexically and matched first
//! (so a path outside the globs is refused without touching the file system, and its
//! existence is not revealed), then resolved through symbolic links and matched again:
//! `..` and symlinks cannot lead out of the declared globs.

use std::io::Read;

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};

use super::{Capability, HostCallError};
use crate::normalize::path::normalize_lexical;
use crate::plugin::limits::{MAX_PATH_BYTES, MAX_READ_FILE_BYTES};
use crate::plugin::manifest::PathAccess;

/// The files a guard may read.
#[derive(Debug, Clone)]
pub struct FileReadAccess {
    allowed: Allowed,
}

#[derive(Debug, Clone)]
enum Allowed {
    Undeclared,
    Any,
    Globs(GlobSet),
}

impl FileReadAccess {
    /// Compile the manifest's `filesystem.read` declaration.
    pub fn new(read: &PathAccess) -> Result<Self, String> {
        let allowed = match read {
            PathAccess::Denied => Allowed::Undeclared,
            PathAccess::Any => Allowed::Any,
            PathAccess::Globs(globs) => {
                let mut set = GlobSetBuilder::new();
                for g in globs {
                    let glob = GlobBuilder::new(g)
                        .literal_separator(true)
                        .build()
                        .map_err(|e| format!("capabilities.filesystem.read: `{g}`: {e}"))?;
                    set.add(glob);
                }
                Allowed::Globs(set.build().map_err(|e| e.to_string())?)
            }
        };
        Ok(FileReadAccess { allowed })
    }

    fn permits(&self, path: &str) -> bool {
        match &self.allowed {
            Allowed::Undeclared => false,
            Allowed::Any => true,
            Allowed::Globs(set) => set.is_match(path),
        }
    }

    /// Read the whole file at `requested`, within the limits.
    pub fn read(&self, requested: &str) -> Result<Vec<u8>, HostCallError> {
        if matches!(self.allowed, Allowed::Undeclared) {
            return Err(HostCallError::Undeclared {
                capability: Capability::FilesystemRead,
                call: "read-file",
            });
        }
        if requested.len() > MAX_PATH_BYTES {
            return Err(HostCallError::Denied(format!(
                "path is {} bytes; the limit is {MAX_PATH_BYTES}",
                requested.len()
            )));
        }
        let (lexical, had_nul) = normalize_lexical(requested);
        if had_nul {
            return Err(HostCallError::Denied("path contains a NUL byte".into()));
        }
        if !lexical.starts_with('/') {
            return Err(HostCallError::Denied(format!(
                "`{requested}` is not an absolute path"
            )));
        }
        if !self.permits(&lexical) {
            return Err(HostCallError::Denied(format!(
                "`{lexical}` is not in capabilities.filesystem.read"
            )));
        }
        let real = match std::fs::canonicalize(&lexical) {
            Ok(p) => p,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(HostCallError::NotFound)
            }
            Err(e) => return Err(HostCallError::Failed(format!("cannot resolve path: {e}"))),
        };
        let real_str = real.to_string_lossy();
        if !self.permits(&real_str) {
            return Err(HostCallError::Denied(format!(
                "`{lexical}` resolves to `{real_str}`, which is not in capabilities.filesystem.read"
            )));
        }
        // Refuse anything but a regular file before opening it: opening a FIFO or a
        // device can block, and a host call must not (epochs cannot interrupt it).
        let kind = std::fs::metadata(&real)
            .map_err(|e| HostCallError::Failed(format!("cannot stat file: {e}")))?;
        if !kind.is_file() {
            return Err(HostCallError::Failed(format!(
                "`{real_str}` is not a regular file"
            )));
        }
        let file = std::fs::File::open(&real).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => HostCallError::NotFound,
            _ => HostCallError::Failed(format!("cannot open file: {e}")),
        })?;
        let meta = file
            .metadata()
            .map_err(|e| HostCallError::Failed(format!("cannot stat file: {e}")))?;
        if !meta.is_file() {
            return Err(HostCallError::Failed(format!(
                "`{real_str}` is not a regular file"
            )));
        }
        let mut buf = Vec::new();
        file.take(MAX_READ_FILE_BYTES + 1)
            .read_to_end(&mut buf)
            .map_err(|e| HostCallError::Failed(format!("cannot read file: {e}")))?;
        if buf.len() as u64 > MAX_READ_FILE_BYTES {
            return Err(HostCallError::TooLarge(format!(
                "file is larger than {MAX_READ_FILE_BYTES} bytes"
            )));
        }
        Ok(buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn access(globs: &[&str]) -> FileReadAccess {
        FileReadAccess::new(&PathAccess::Globs(
            globs.iter().map(|s| s.to_string()).collect(),
        ))
        .unwrap()
    }

    #[test]
    fn reads_inside_and_refuses_outside_the_globs() {
        let dir = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(dir.path()).unwrap();
        let allowed = root.join("conf");
        std::fs::create_dir(&allowed).unwrap();
        std::fs::write(allowed.join("a.conf"), "hello").unwrap();
        std::fs::write(root.join("secret.txt"), "nope").unwrap();
        let a = access(&[&format!("{}/conf/*.conf", root.display())]);

        assert_eq!(
            a.read(&format!("{}/conf/a.conf", root.display())).unwrap(),
            b"hello"
        );
        // `..` is resolved before matching.
        let climb = format!("{}/conf/../secret.txt", root.display());
        assert!(matches!(a.read(&climb), Err(HostCallError::Denied(_))));
        // `*` does not cross `/`.
        std::fs::create_dir(allowed.join("sub")).unwrap();
        std::fs::write(allowed.join("sub/b.conf"), "x").unwrap();
        assert!(matches!(
            a.read(&format!("{}/conf/sub/b.conf", root.display())),
            Err(HostCallError::Denied(_))
        ));
        // Missing file inside the globs.
        assert_eq!(
            a.read(&format!("{}/conf/missing.conf", root.display())),
            Err(HostCallError::NotFound)
        );
        // Relative paths and NUL bytes.
        assert!(matches!(
            a.read("conf/a.conf"),
            Err(HostCallError::Denied(_))
        ));
        assert!(matches!(
            a.read(&format!("{}/conf/a.conf\0x", root.display())),
            Err(HostCallError::Denied(_))
        ));
    }

    #[cfg(unix)]
    #[test]
    fn a_symlink_cannot_lead_out_of_the_globs() {
        let dir = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(dir.path()).unwrap();
        std::fs::create_dir(root.join("conf")).unwrap();
        std::fs::write(root.join("secret.txt"), "nope").unwrap();
        std::os::unix::fs::symlink(root.join("secret.txt"), root.join("conf/evil.conf")).unwrap();
        let a = access(&[&format!("{}/conf/*.conf", root.display())]);
        let err = a
            .read(&format!("{}/conf/evil.conf", root.display()))
            .unwrap_err();
        assert!(
            matches!(&err, HostCallError::Denied(m) if m.contains("resolves to")),
            "{err:?}"
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_fifo_is_refused_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(dir.path()).unwrap();
        let fifo = root.join("pipe.conf");
        let status = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(status.success());
        let a = access(&[&format!("{}/*.conf", root.display())]);
        let err = a.read(&fifo.to_string_lossy()).unwrap_err();
        assert!(
            matches!(&err, HostCallError::Failed(m) if m.contains("not a regular file")),
            "{err:?}"
        );
    }

    #[test]
    fn undeclared_stops_the_guard_and_directories_are_not_files() {
        let none = FileReadAccess::new(&PathAccess::Denied).unwrap();
        assert!(matches!(
            none.read("/etc/hostname"),
            Err(HostCallError::Undeclared { .. })
        ));
        let any = FileReadAccess::new(&PathAccess::Any).unwrap();
        assert!(matches!(any.read("/"), Err(HostCallError::Failed(_))));
    }
}
