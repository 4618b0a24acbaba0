//! Reading a package archive (a gzip'd tar) in memory, with hard limits.
//!
//! Nothing is written to disk and nothing is allocated without a bound: the compressed
//! size is checked first, every inflated byte is counted against a cap (so a gzip bomb is
//! refused as soon as it exceeds the cap, never inflated fully), every tar header's size is
//! checked before its data is read, and the data actually read is counted again (a header
//! cannot lie about it). Paths are checked after the tar reader has applied PAX and GNU
//! long-name extensions, i.e. on the path any other tool would extract to, and an entry
//! whose extensions disagree with each other is refused.
//!
//! The result is the archive's regular files, keyed by their path relative to the single
//! top-level directory every entry must be in (`package/` for npm tarballs,
//! `<name>-<version>/` for crates).

use std::cell::Cell;
use std::collections::{BTreeMap, HashMap};
use std::io::{self, Read};

use flate2::bufread::GzDecoder;
use tar::EntryType;

/// One mebibyte.
const MIB: u64 = 1024 * 1024;
/// A tar block.
const BLOCK: u64 = 512;

/// Limits on an archive. The defaults suit guard packages; a caller may tighten them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest archive, compressed (default 16 MiB).
    pub max_compressed_bytes: u64,
    /// Largest sum of all file sizes, unpacked (default 64 MiB).
    pub max_unpacked_bytes: u64,
    /// Most entries (files and directories; default 2,000).
    pub max_entries: usize,
    /// Largest single file (default 32 MiB).
    pub max_file_bytes: u64,
    /// Longest path inside the archive, in bytes, root directory included (default 256).
    pub max_path_bytes: usize,
    /// Most path components, root directory included (default 16).
    pub max_depth: usize,
    /// Most inflated bytes per compressed byte (default 100). The inflated tar stream may
    /// hold at most `max(max_compression_ratio × compressed size, min_inflate_allowance)`
    /// bytes; past that the archive is refused as a compression bomb.
    pub max_compression_ratio: u64,
    /// Inflated bytes always allowed whatever the ratio (default 1 MiB): a tiny archive of
    /// small files inflates a lot relative to its size because of tar's 512-byte blocks.
    pub min_inflate_allowance: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_compressed_bytes: 16 * MIB,
            max_unpacked_bytes: 64 * MIB,
            max_entries: 2_000,
            max_file_bytes: 32 * MIB,
            max_path_bytes: 256,
            max_depth: 16,
            max_compression_ratio: 100,
            min_inflate_allowance: MIB,
        }
    }
}

impl Limits {
    /// The most bytes the tar stream of an archive of `compressed` bytes may inflate to:
    /// the ratio cap, and never more than the unpacked limit plus room for tar headers.
    pub fn inflate_cap(&self, compressed: u64) -> u64 {
        self.ratio_cap(compressed).min(self.stream_cap())
    }

    fn ratio_cap(&self, compressed: u64) -> u64 {
        compressed
            .saturating_mul(self.max_compression_ratio)
            .max(self.min_inflate_allowance)
    }

    /// File data plus, per entry, a header, its padding and some room for PAX/long-name
    /// extension headers, plus the end-of-archive marker and record padding.
    fn stream_cap(&self) -> u64 {
        self.max_unpacked_bytes
            .saturating_add(
                (self.max_entries as u64)
                    .saturating_add(1)
                    .saturating_mul(8 * BLOCK),
            )
            .saturating_add(MIB)
    }
}

/// Why an archive is refused. Every message names the entry (when there is one) and the
/// limit in force, and says what to do instead. Hostile paths are quoted shortened and
/// escaped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ArchiveError {
    /// The bytes do not start with the gzip magic number.
    #[error(
        "the archive is not gzip-compressed (it does not start with 1f 8b); upload the .tgz \
         made by `npm pack` or the .crate made by `cargo package`"
    )]
    NotGzip,
    /// The compressed data is corrupt (bad deflate data, bad header, CRC mismatch).
    #[error("the archive's gzip data is corrupt: {detail}; pack it again")]
    CorruptGzip {
        /// What the decompressor said.
        detail: String,
    },
    /// The data ends early: in the gzip stream, inside an entry, or before the tar
    /// end-of-archive marker.
    #[error("the archive is truncated ({detail}); upload the whole file")]
    Truncated {
        /// Where it ended.
        detail: String,
    },
    /// Bytes after the end of the gzip stream or after the tar end-of-archive marker,
    /// which other tools might read as more entries.
    #[error("the archive has data after its end ({detail}); upload exactly the packed file")]
    TrailingData {
        /// Where.
        detail: String,
    },
    /// The inflated data is not a tar archive (bad header checksum, malformed header).
    #[error("the archive is not a valid tar archive: {detail}")]
    NotTar {
        /// What the tar reader said.
        detail: String,
    },
    /// The compressed archive is larger than the limit.
    #[error("the archive is {size} bytes, over the limit of {limit} bytes")]
    CompressedTooLarge {
        /// The archive's size.
        size: u64,
        /// The limit in force.
        limit: u64,
    },
    /// The files add up to more than the unpacked limit.
    #[error(
        "the files unpack to more than the limit of {limit} bytes in all (reached at \"{path}\"); \
         leave build outputs other than the guard components out of the package"
    )]
    UnpackedTooLarge {
        /// The entry that crossed the limit.
        path: String,
        /// The limit in force.
        limit: u64,
    },
    /// The archive inflates past the compression-ratio cap: a compression bomb.
    #[error(
        "the archive inflates to more than {limit} bytes from {compressed} compressed bytes \
         (over {ratio}:1); refused as a compression bomb"
    )]
    CompressionBomb {
        /// The compressed size.
        compressed: u64,
        /// The inflated-bytes cap that was crossed.
        limit: u64,
        /// The ratio limit in force.
        ratio: u64,
    },
    /// More entries than the limit.
    #[error("the archive has more than {limit} entries; leave files the guard does not need out of the package")]
    TooManyEntries {
        /// The limit in force.
        limit: usize,
    },
    /// One file is larger than the limit (checked on its header, before reading it).
    #[error("\"{path}\" is {size} bytes, over the limit of {limit} bytes for one file")]
    FileTooLarge {
        /// The entry.
        path: String,
        /// Its size as its header declares it.
        size: u64,
        /// The limit in force.
        limit: u64,
    },
    /// A path longer than the limit.
    #[error("the path \"{path}\" is {len} bytes long, over the limit of {limit} bytes")]
    PathTooLong {
        /// The path, shortened.
        path: String,
        /// Its length in bytes.
        len: usize,
        /// The limit in force.
        limit: usize,
    },
    /// A path with more components than the limit.
    #[error("the path \"{path}\" is {depth} directories deep, over the limit of {limit}")]
    TooDeep {
        /// The path.
        path: String,
        /// Its number of components.
        depth: usize,
        /// The limit in force.
        limit: usize,
    },
    /// An absolute path (`/etc/passwd`, `C:...`).
    #[error("\"{path}\" is an absolute path; every entry must be relative, inside the package directory")]
    AbsolutePath {
        /// The path.
        path: String,
    },
    /// A `..` component, which would climb out of the extraction directory.
    #[error("\"{path}\" has a `..` component; every entry must stay inside the package directory")]
    ParentDir {
        /// The path.
        path: String,
    },
    /// An empty (`a//b`) or `.` component: the same file could be spelt two ways.
    #[error(
        "\"{path}\" has an empty or `.` component; write each path in one plain form (`dir/file`)"
    )]
    NonNormalPath {
        /// The path.
        path: String,
    },
    /// A backslash, which Windows tools read as a separator.
    #[error("\"{path}\" contains a backslash; use `/` as the only separator")]
    Backslash {
        /// The path.
        path: String,
    },
    /// A NUL byte, where C-based tools would cut the path.
    #[error("\"{path}\" contains a NUL byte")]
    NulInPath {
        /// The path, NUL escaped.
        path: String,
    },
    /// A control character (newline, escape, ...), which can forge log lines or terminal
    /// output.
    #[error("\"{path}\" contains a control character; rename the file")]
    ControlCharacter {
        /// The path, escaped.
        path: String,
    },
    /// A path that is not UTF-8.
    #[error("the path \"{path}\" is not valid UTF-8; rename the file")]
    NonUtf8Path {
        /// The path, invalid bytes replaced.
        path: String,
    },
    /// A file at the top level: every entry must be inside one directory.
    #[error(
        "\"{path}\" is at the top level of the archive; every entry must be inside one \
         directory (`package/` for npm, `<name>-<version>/` for a crate)"
    )]
    TopLevelFile {
        /// The path.
        path: String,
    },
    /// An entry outside the directory the first entry is in.
    #[error(
        "\"{path}\" is outside the package directory \"{root}/\"; every entry must be inside it"
    )]
    OutsideRoot {
        /// The path.
        path: String,
        /// The package directory.
        root: String,
    },
    /// The same path twice (the second would silently replace the first), or two paths
    /// that differ only in letter case (the same file on case-insensitive file systems).
    #[error("\"{path}\" appears more than once in the archive (as \"{other}\" before); keep one")]
    DuplicatePath {
        /// The later entry.
        path: String,
        /// The earlier entry it collides with.
        other: String,
    },
    /// A path that is both a file and a directory (`a` and `a/b`).
    #[error("\"{path}\" is a file and also the directory of \"{other}\"")]
    FileDirConflict {
        /// The file.
        path: String,
        /// An entry under it.
        other: String,
    },
    /// A symbolic link.
    #[error("\"{path}\" is a symbolic link (to \"{target}\"); a package may hold only regular files and directories")]
    Symlink {
        /// The link.
        path: String,
        /// Where it points.
        target: String,
    },
    /// A hard link.
    #[error("\"{path}\" is a hard link (to \"{target}\"); a package may hold only regular files and directories")]
    Hardlink {
        /// The link.
        path: String,
        /// What it links to.
        target: String,
    },
    /// A character or block device.
    #[error("\"{path}\" is a device file; a package may hold only regular files and directories")]
    Device {
        /// The entry.
        path: String,
    },
    /// A named pipe.
    #[error(
        "\"{path}\" is a FIFO (named pipe); a package may hold only regular files and directories"
    )]
    Fifo {
        /// The entry.
        path: String,
    },
    /// Another entry type (sparse file, PAX global header, vendor types...).
    #[error("\"{path}\" has tar entry type {kind:?}, which a package may not use; pack with `npm pack` or `cargo package`")]
    UnsupportedEntry {
        /// The entry.
        path: String,
        /// The type byte, as a character.
        kind: char,
    },
    /// The entry's extension headers disagree with each other or with its header (a PAX
    /// path overridden by a GNU long name, a PAX size that differs from the header's), so
    /// different tools would extract different things.
    #[error("\"{path}\": {detail}; different tools would read this entry differently")]
    AmbiguousEntry {
        /// The entry (as this reader sees it).
        path: String,
        /// What disagrees.
        detail: String,
    },
    /// No regular file at all.
    #[error("the archive holds no files")]
    Empty,
}

/// The regular files of an archive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unpacked {
    /// The single top-level directory every entry is in (`package`, `acme-0.1.0`).
    pub root: String,
    /// Regular files, by path relative to `root` (`dist/guard.wasm`).
    pub files: BTreeMap<String, Vec<u8>>,
}

/// What stopped the inflating reader.
#[derive(Debug, Clone, Default)]
enum Stop {
    #[default]
    None,
    /// The inflate cap was reached.
    Cap,
    /// The gzip decoder failed.
    Gzip(io::ErrorKind, String),
}

/// Counts inflated bytes and refuses to go past `cap`; records gzip errors so they can be
/// told apart from tar errors after the tar reader has wrapped them.
struct Capped<'a, R> {
    inner: R,
    count: &'a Cell<u64>,
    cap: u64,
    stop: &'a Cell<Stop>,
}

impl<R: Read> Read for Capped<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let used = self.count.get();
        if used >= self.cap {
            // At the cap: one more byte means over it.
            let mut probe = [0u8; 1];
            return match self.inner.read(&mut probe) {
                Ok(0) => Ok(0),
                Ok(_) => {
                    self.stop.set(Stop::Cap);
                    Err(io::Error::other("inflate cap reached"))
                }
                Err(e) => Err(self.gzip_error(e)),
            };
        }
        let room = usize::try_from(self.cap - used).unwrap_or(usize::MAX);
        let len = buf.len().min(room);
        match self.inner.read(&mut buf[..len]) {
            Ok(n) => {
                self.count.set(used + n as u64);
                Ok(n)
            }
            Err(e) => Err(self.gzip_error(e)),
        }
    }
}

impl<R> Capped<'_, R> {
    fn gzip_error(&self, e: io::Error) -> io::Error {
        self.stop.set(Stop::Gzip(e.kind(), e.to_string()));
        e
    }
}

/// Read an archive: gzip, then tar, every limit enforced while reading.
pub fn read_archive(bytes: &[u8], limits: &Limits) -> Result<Unpacked, ArchiveError> {
    let compressed = bytes.len() as u64;
    if compressed > limits.max_compressed_bytes {
        return Err(ArchiveError::CompressedTooLarge {
            size: compressed,
            limit: limits.max_compressed_bytes,
        });
    }
    if !bytes.starts_with(&[0x1f, 0x8b]) {
        return Err(ArchiveError::NotGzip);
    }
    let count = Cell::new(0u64);
    let stop = Cell::new(Stop::None);
    let cap = limits.inflate_cap(compressed);
    let reader = Capped {
        inner: GzDecoder::new(bytes),
        count: &count,
        cap,
        stop: &stop,
    };
    let mut archive = tar::Archive::new(reader);
    let ctx = ErrCtx {
        stop: &stop,
        limits,
        compressed,
        cap,
    };

    let files = read_entries(&mut archive, limits, &ctx)?;

    // tar stops at the first zero block. The rest of the stream must be the second zero
    // block and padding (zeros), then the gzip stream must end (which checks its CRC and
    // length) with nothing after it.
    let mut reader = archive.into_inner();
    let (zeros, nonzero) =
        drain_zeros(&mut reader).map_err(|e| ctx.io_error(e, "after the last entry"))?;
    if nonzero {
        return Err(ArchiveError::TrailingData {
            detail: "non-zero bytes after the tar end-of-archive marker".into(),
        });
    }
    if zeros < BLOCK {
        return Err(ArchiveError::Truncated {
            detail: "the tar end-of-archive marker (two zero blocks) is missing".into(),
        });
    }
    let rest = reader.inner.into_inner();
    if !rest.is_empty() {
        return Err(ArchiveError::TrailingData {
            detail: format!("{} bytes after the end of the gzip stream", rest.len()),
        });
    }
    let (root, files) = files.ok_or(ArchiveError::Empty)?;
    if files.is_empty() {
        return Err(ArchiveError::Empty);
    }
    check_conflicts(&root, &files)?;
    Ok(Unpacked { root, files })
}

/// What the error mapping needs to know.
struct ErrCtx<'a> {
    stop: &'a Cell<Stop>,
    limits: &'a Limits,
    compressed: u64,
    cap: u64,
}

impl ErrCtx<'_> {
    /// Turn an I/O error from the gzip/tar stack into the reason, preferring what the
    /// inflating reader recorded (the tar reader rewraps errors).
    fn io_error(&self, e: io::Error, at: &str) -> ArchiveError {
        match self.stop.take() {
            Stop::Cap => self.cap_error(at),
            Stop::Gzip(io::ErrorKind::UnexpectedEof, _) => ArchiveError::Truncated {
                detail: format!("the gzip stream ends early, {at}"),
            },
            Stop::Gzip(_, detail) => ArchiveError::CorruptGzip { detail },
            Stop::None if e.kind() == io::ErrorKind::UnexpectedEof => ArchiveError::Truncated {
                detail: format!("the tar data ends early, {at}"),
            },
            Stop::None => ArchiveError::NotTar {
                detail: format!("{at}: {}", shorten(&e.to_string())),
            },
        }
    }

    fn cap_error(&self, at: &str) -> ArchiveError {
        let limits = self.limits;
        if self.cap < limits.stream_cap() {
            ArchiveError::CompressionBomb {
                compressed: self.compressed,
                limit: self.cap,
                ratio: limits.max_compression_ratio,
            }
        } else {
            ArchiveError::UnpackedTooLarge {
                path: at.to_string(),
                limit: limits.max_unpacked_bytes,
            }
        }
    }
}

type Files = Option<(String, BTreeMap<String, Vec<u8>>)>;

fn read_entries<R: Read>(
    archive: &mut tar::Archive<R>,
    limits: &Limits,
    ctx: &ErrCtx<'_>,
) -> Result<Files, ArchiveError> {
    let mut entries = archive
        .entries()
        .map_err(|e| ctx.io_error(e, "at the start"))?;
    let mut root: Option<String> = None;
    let mut files = BTreeMap::new();
    // Lower-cased path → the path as first seen, for duplicate and case-collision checks.
    let mut seen: HashMap<String, String> = HashMap::new();
    // Directory entries (relative to the root), to find a file that is also a directory.
    let mut dirs: Vec<String> = Vec::new();
    let mut n_entries = 0usize;
    let mut unpacked = 0u64;
    let mut last = String::from("at the start");
    loop {
        let mut entry = match entries.next() {
            None => break,
            Some(Ok(e)) => e,
            Some(Err(e)) => return Err(ctx.io_error(e, &last)),
        };
        n_entries += 1;
        if n_entries > limits.max_entries {
            return Err(ArchiveError::TooManyEntries {
                limit: limits.max_entries,
            });
        }
        let path_bytes = entry.path_bytes().into_owned();
        let path = check_path(&path_bytes, limits)?;
        last = format!("after \"{}\"", shorten(&path));

        let kind = entry.header().entry_type();
        let is_dir = match kind {
            EntryType::Regular | EntryType::Continuous => false,
            EntryType::Directory => true,
            EntryType::Symlink | EntryType::Link => {
                let target = entry
                    .link_name_bytes()
                    .map(|t| shorten(&String::from_utf8_lossy(&t)))
                    .unwrap_or_default();
                let path = shorten(&path);
                return Err(if kind == EntryType::Symlink {
                    ArchiveError::Symlink { path, target }
                } else {
                    ArchiveError::Hardlink { path, target }
                });
            }
            EntryType::Char | EntryType::Block => {
                return Err(ArchiveError::Device {
                    path: shorten(&path),
                })
            }
            EntryType::Fifo => {
                return Err(ArchiveError::Fifo {
                    path: shorten(&path),
                })
            }
            other => {
                return Err(ArchiveError::UnsupportedEntry {
                    path: shorten(&path),
                    kind: char::from(other.as_byte()),
                })
            }
        };

        check_extensions(&mut entry, &path).map_err(|e| match e {
            Ext::Refused(err) => err,
            Ext::Io(io) => ctx.io_error(io, &last),
        })?;

        // A directory may be written `dir/`; a file may not end in `/`.
        let trimmed = if is_dir {
            path.strip_suffix('/').unwrap_or(&path)
        } else {
            path.as_str()
        };
        let (first, rel) = match trimmed.split_once('/') {
            Some((first, rel)) => (first, Some(rel)),
            None => (trimmed, None),
        };
        check_components(trimmed, &path)?;
        match &root {
            None if rel.is_none() && !is_dir => {
                return Err(ArchiveError::TopLevelFile {
                    path: shorten(&path),
                })
            }
            None => root = Some(first.to_string()),
            Some(r) if r != first || (rel.is_none() && !is_dir) => {
                return Err(if rel.is_none() && !is_dir {
                    ArchiveError::TopLevelFile {
                        path: shorten(&path),
                    }
                } else {
                    ArchiveError::OutsideRoot {
                        path: shorten(&path),
                        root: shorten(r),
                    }
                });
            }
            Some(_) => {}
        }

        let size = entry.size();
        if is_dir {
            if size != 0 {
                return Err(ArchiveError::AmbiguousEntry {
                    path: shorten(&path),
                    detail: format!("a directory entry with {size} bytes of data"),
                });
            }
            if let Some(rel) = rel {
                dirs.push(rel.to_string());
            }
            continue;
        }
        let Some(rel) = rel else {
            // Unreachable: a top-level file was refused above.
            return Err(ArchiveError::TopLevelFile {
                path: shorten(&path),
            });
        };
        let folded = rel.to_lowercase();
        if let Some(other) = seen.get(&folded) {
            return Err(ArchiveError::DuplicatePath {
                path: shorten(&path),
                other: shorten(&format!("{first}/{other}")),
            });
        }
        if size > limits.max_file_bytes {
            return Err(ArchiveError::FileTooLarge {
                path: shorten(&path),
                size,
                limit: limits.max_file_bytes,
            });
        }
        unpacked = unpacked.saturating_add(size);
        if unpacked > limits.max_unpacked_bytes {
            return Err(ArchiveError::UnpackedTooLarge {
                path: shorten(&path),
                limit: limits.max_unpacked_bytes,
            });
        }
        // `size` is within the limits; grow as data actually arrives rather than trusting
        // the header with one big allocation.
        let mut data = Vec::with_capacity(usize::try_from(size.min(MIB)).unwrap_or(0));
        (&mut entry)
            .take(size)
            .read_to_end(&mut data)
            .map_err(|e| ctx.io_error(e, &format!("inside \"{}\"", shorten(&path))))?;
        if (data.len() as u64) < size {
            return Err(ArchiveError::Truncated {
                detail: format!(
                    "\"{}\" declares {size} bytes but only {} follow",
                    shorten(&path),
                    data.len()
                ),
            });
        }
        seen.insert(folded, rel.to_string());
        files.insert(rel.to_string(), data);
    }
    if let Some(r) = &root {
        if let Some(file) = dirs.iter().find(|d| files.contains_key(*d)) {
            return Err(ArchiveError::FileDirConflict {
                path: shorten(&format!("{r}/{file}")),
                other: shorten(&format!("{r}/{file}/")),
            });
        }
    }
    Ok(root.map(|r| (r, files)))
}

/// The checks on a whole path (after extensions were applied); returns it as a string.
fn check_path(bytes: &[u8], limits: &Limits) -> Result<String, ArchiveError> {
    let Ok(path) = std::str::from_utf8(bytes) else {
        return Err(ArchiveError::NonUtf8Path {
            path: shorten(&String::from_utf8_lossy(bytes)),
        });
    };
    if path.len() > limits.max_path_bytes {
        return Err(ArchiveError::PathTooLong {
            path: shorten(path),
            len: path.len(),
            limit: limits.max_path_bytes,
        });
    }
    if path.contains('\0') {
        return Err(ArchiveError::NulInPath {
            path: shorten(path),
        });
    }
    if path.chars().any(char::is_control) {
        return Err(ArchiveError::ControlCharacter {
            path: shorten(path),
        });
    }
    if path.contains('\\') {
        return Err(ArchiveError::Backslash {
            path: shorten(path),
        });
    }
    let b = path.as_bytes();
    if path.starts_with('/') || (b.len() >= 2 && b[0].is_ascii_alphabetic() && b[1] == b':') {
        return Err(ArchiveError::AbsolutePath {
            path: shorten(path),
        });
    }
    if path.split('/').any(|c| c == "..") {
        return Err(ArchiveError::ParentDir {
            path: shorten(path),
        });
    }
    let depth = path.trim_end_matches('/').split('/').count();
    if depth > limits.max_depth {
        return Err(ArchiveError::TooDeep {
            path: shorten(path),
            depth,
            limit: limits.max_depth,
        });
    }
    Ok(path.to_string())
}

/// No empty or `.` components (`trimmed` is the path without a directory's trailing `/`).
fn check_components(trimmed: &str, path: &str) -> Result<(), ArchiveError> {
    if trimmed.split('/').any(|c| c.is_empty() || c == ".") {
        return Err(ArchiveError::NonNormalPath {
            path: shorten(path),
        });
    }
    Ok(())
}

enum Ext {
    Refused(ArchiveError),
    Io(io::Error),
}

/// Refuse entries whose PAX extensions disagree with what the tar reader used: a PAX
/// `path` that a GNU long name overrode, a PAX `size` different from the header's (older
/// readers ignore PAX sizes), or PAX link paths.
fn check_extensions<R: Read>(entry: &mut tar::Entry<'_, R>, path: &str) -> Result<(), Ext> {
    let header_size = entry.header().entry_size().map_err(Ext::Io)?;
    let Some(exts) = entry.pax_extensions().map_err(Ext::Io)? else {
        return Ok(());
    };
    let refuse = |detail: String| {
        Err(Ext::Refused(ArchiveError::AmbiguousEntry {
            path: shorten(path),
            detail,
        }))
    };
    for ext in exts {
        let ext = match ext {
            Ok(e) => e,
            Err(_) => return refuse("a malformed PAX extension record".into()),
        };
        let value = ext.value_bytes();
        match ext.key_bytes() {
            b"path" if value != path.as_bytes() => {
                return refuse("its PAX path and its GNU long name differ".into());
            }
            b"size" if parse_u64(value) != Some(header_size) => {
                return refuse("its PAX size differs from its header's size".into());
            }
            b"linkpath" => return refuse("a PAX link path".into()),
            _ => {}
        }
    }
    Ok(())
}

fn parse_u64(bytes: &[u8]) -> Option<u64> {
    std::str::from_utf8(bytes).ok()?.parse().ok()
}

/// Read to the end; returns how many bytes and whether any was not zero.
fn drain_zeros<R: Read>(r: &mut R) -> io::Result<(u64, bool)> {
    let mut buf = [0u8; 8192];
    let mut total = 0u64;
    loop {
        let n = r.read(&mut buf)?;
        if n == 0 {
            return Ok((total, false));
        }
        total += n as u64;
        if buf[..n].iter().any(|&b| b != 0) {
            return Ok((total, true));
        }
    }
}

/// Refuse a file that is also a directory of another file (`a` and `a/b`).
fn check_conflicts(root: &str, files: &BTreeMap<String, Vec<u8>>) -> Result<(), ArchiveError> {
    for path in files.keys() {
        let dir = format!("{path}/");
        if let Some((other, _)) = files.range(dir.clone()..).next() {
            if other.starts_with(&dir) {
                return Err(ArchiveError::FileDirConflict {
                    path: shorten(&format!("{root}/{path}")),
                    other: shorten(&format!("{root}/{other}")),
                });
            }
        }
    }
    Ok(())
}

/// Cut a value for quoting in a message (at most 120 characters, control characters
/// escaped), so a hostile path does not become a huge or terminal-forging message.
pub(crate) fn shorten(s: &str) -> String {
    const MAX: usize = 120;
    let escaped: String = s.chars().flat_map(char::escape_debug).collect();
    if escaped.chars().count() <= MAX {
        escaped
    } else {
        let cut: String = escaped.chars().take(MAX).collect();
        format!("{cut}…")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path_error(p: &[u8]) -> Option<ArchiveError> {
        check_path(p, &Limits::default()).err()
    }

    #[test]
    fn path_checks_refuse_each_bad_form() {
        assert_eq!(path_error(b"package/dist/guard.wasm"), None);
        assert_eq!(path_error(b"package/"), None);
        assert!(matches!(
            path_error(b"/etc/x"),
            Some(ArchiveError::AbsolutePath { .. })
        ));
        assert!(matches!(
            path_error(b"C:/x"),
            Some(ArchiveError::AbsolutePath { .. })
        ));
        assert!(matches!(
            path_error(b"package/../x"),
            Some(ArchiveError::ParentDir { .. })
        ));
        assert!(matches!(
            path_error(b"package/a\\b"),
            Some(ArchiveError::Backslash { .. })
        ));
        assert!(matches!(
            path_error(b"package/a\0b"),
            Some(ArchiveError::NulInPath { .. })
        ));
        assert!(matches!(
            path_error(b"package/a\x1bb"),
            Some(ArchiveError::ControlCharacter { .. })
        ));
        assert!(matches!(
            path_error(b"package/a\x7fb"),
            Some(ArchiveError::ControlCharacter { .. })
        ));
        assert!(matches!(
            path_error(b"package/\xc0"),
            Some(ArchiveError::NonUtf8Path { .. })
        ));
        assert!(matches!(
            check_components("package//x", "package//x"),
            Err(ArchiveError::NonNormalPath { .. })
        ));
        assert!(matches!(
            check_components("package/./x", "package/./x"),
            Err(ArchiveError::NonNormalPath { .. })
        ));
        assert!(check_components("package/x", "package/x").is_ok());
    }

    #[test]
    fn the_inflate_cap_is_the_ratio_with_a_floor_and_a_ceiling() {
        let l = Limits::default();
        assert_eq!(l.inflate_cap(100), MIB);
        assert_eq!(l.inflate_cap(100_000), 10_000_000);
        assert_eq!(l.inflate_cap(16 * MIB), l.stream_cap());
        assert!(l.stream_cap() > l.max_unpacked_bytes);
        assert_eq!(l.inflate_cap(u64::MAX), l.stream_cap());
    }

    #[test]
    fn quoted_values_are_escaped_and_cut() {
        assert_eq!(shorten("a\nb"), "a\\nb");
        let long = shorten(&"x".repeat(1000));
        assert_eq!(long.chars().count(), 121);
        assert!(long.ends_with('…'));
    }
}
