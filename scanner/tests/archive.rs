//! Archive limits, checked with archives made here (the hostile corpus covers malformed
//! archives; these need tightened limits or sizes at the edge).

mod common;

use clawdstrike_scanner::{read_archive, ArchiveError, Limits};
use common::{gzip, tar, tgz};
use flate2::Compression;

fn files(n: usize, size: usize) -> Vec<(String, Vec<u8>)> {
    (0..n)
        .map(|i| (format!("package/f{i}"), vec![b'x'; size]))
        .collect()
}

#[test]
fn a_good_archive_yields_its_files_relative_to_the_root() {
    let bytes = tgz(
        "package",
        &[
            ("package.json", b"{}"),
            ("dist/guard.wasm", b"\0asm"),
            ("a/b/c.txt", b"c"),
        ],
    );
    let got = read_archive(&bytes, &Limits::default()).expect("a good archive");
    assert_eq!(got.root, "package");
    let paths: Vec<&str> = got.files.keys().map(String::as_str).collect();
    assert_eq!(paths, ["a/b/c.txt", "dist/guard.wasm", "package.json"]);
    assert_eq!(got.files["dist/guard.wasm"], b"\0asm");
}

#[test]
fn directory_entries_are_accepted_and_not_listed() {
    let mut builder = tar::Builder::new(Vec::new());
    let mut dir = tar::Header::new_gnu();
    dir.set_entry_type(tar::EntryType::Directory);
    dir.set_size(0);
    dir.set_mode(0o755);
    builder
        .append_data(&mut dir, "package/dist/", std::io::empty())
        .expect("a directory entry");
    let mut file = tar::Header::new_gnu();
    file.set_size(2);
    file.set_mode(0o644);
    builder
        .append_data(&mut file, "package/dist/x", &b"hi"[..])
        .expect("a file entry");
    let bytes = gzip(
        &builder.into_inner().expect("a tar"),
        Compression::default(),
    );
    let got = read_archive(&bytes, &Limits::default()).expect("directories are fine");
    assert_eq!(got.files.len(), 1);
    assert_eq!(got.files["dist/x"], b"hi");
}

#[test]
fn a_compressed_archive_over_the_limit_is_refused_before_inflating() {
    let bytes = tgz("package", &[("a", b"a")]);
    let limits = Limits {
        max_compressed_bytes: 10,
        ..Limits::default()
    };
    match read_archive(&bytes, &limits) {
        Err(ArchiveError::CompressedTooLarge { size, limit: 10 }) => {
            assert_eq!(size, bytes.len() as u64)
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn files_adding_up_past_the_unpacked_limit_are_refused_naming_the_entry() {
    let bytes = gzip(&tar(&files(3, 600)), Compression::default());
    let limits = Limits {
        max_unpacked_bytes: 1000,
        ..Limits::default()
    };
    match read_archive(&bytes, &limits) {
        Err(e @ ArchiveError::UnpackedTooLarge { .. }) => {
            assert!(e.to_string().contains("package/f1"), "{e}");
            assert!(e.to_string().contains("1000 bytes"), "{e}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn one_file_over_the_file_limit_is_refused_from_its_header() {
    let bytes = gzip(&tar(&files(1, 2000)), Compression::default());
    let limits = Limits {
        max_file_bytes: 1999,
        ..Limits::default()
    };
    assert!(matches!(
        read_archive(&bytes, &limits),
        Err(ArchiveError::FileTooLarge {
            size: 2000,
            limit: 1999,
            ..
        })
    ));
    let limits = Limits {
        max_file_bytes: 2000,
        ..Limits::default()
    };
    assert!(read_archive(&bytes, &limits).is_ok());
}

#[test]
fn entries_up_to_the_limit_pass_and_one_more_is_refused() {
    let limits = Limits {
        max_entries: 50,
        ..Limits::default()
    };
    let ok = gzip(&tar(&files(50, 1)), Compression::default());
    assert!(read_archive(&ok, &limits).is_ok());
    let over = gzip(&tar(&files(51, 1)), Compression::default());
    assert!(matches!(
        read_archive(&over, &limits),
        Err(ArchiveError::TooManyEntries { limit: 50 })
    ));
}

#[test]
fn paths_at_the_length_and_depth_limits_pass_and_beyond_are_refused() {
    let limits = Limits::default();
    // 256 bytes exactly.
    let name = format!("package/{}", "a".repeat(256 - "package/".len()));
    let ok = gzip(
        &tar(&[(name.clone(), b"x".to_vec())]),
        Compression::default(),
    );
    assert!(read_archive(&ok, &limits).is_ok());
    let long = gzip(
        &tar(&[(format!("{name}b"), b"x".to_vec())]),
        Compression::default(),
    );
    assert!(matches!(
        read_archive(&long, &limits),
        Err(ArchiveError::PathTooLong {
            len: 257,
            limit: 256,
            ..
        })
    ));
    // 16 components exactly.
    let deep = format!("package/{}x", "d/".repeat(14));
    let ok = gzip(
        &tar(&[(deep.clone(), b"x".to_vec())]),
        Compression::default(),
    );
    assert!(read_archive(&ok, &limits).is_ok());
    let deeper = format!("package/{}x", "d/".repeat(15));
    let too_deep = gzip(&tar(&[(deeper, b"x".to_vec())]), Compression::default());
    assert!(matches!(
        read_archive(&too_deep, &limits),
        Err(ArchiveError::TooDeep {
            depth: 17,
            limit: 16,
            ..
        })
    ));
}

#[test]
fn a_bomb_is_refused_once_the_ratio_cap_is_crossed_not_after_inflating_it_all() {
    // 16 MiB of zeros in one file (under every size limit) compress to ~16 KB.
    let big = vec![0u8; 16 << 20];
    let bytes = gzip(
        &tar(&[("package/zeros".to_string(), big)]),
        Compression::best(),
    );
    let limits = Limits {
        max_compression_ratio: 20,
        min_inflate_allowance: 64 * 1024,
        ..Limits::default()
    };
    let cap = limits.inflate_cap(bytes.len() as u64);
    assert!(cap < 1 << 20, "cap {cap}");
    match read_archive(&bytes, &limits) {
        Err(ArchiveError::CompressionBomb {
            limit, ratio: 20, ..
        }) => assert_eq!(limit, cap),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_well_compressed_real_file_under_the_ratio_passes() {
    // Repetitive text (about 30:1) stays under the default 100:1.
    let text = "fn main() { println!(\"hello\"); }\n"
        .repeat(20_000)
        .into_bytes();
    let bytes = gzip(
        &tar(&[("package/src/main.rs".to_string(), text)]),
        Compression::best(),
    );
    assert!(read_archive(&bytes, &Limits::default()).is_ok());
}
