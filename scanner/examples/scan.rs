//! Read and scan a package archive, or check one component, and print what was found with
//! timings.
//!
//! ```sh
//! cargo run --release -p clawdstrike-scanner --example scan -- PATH.tgz|PATH.crate|PATH.wasm
//! ```

use std::time::Instant;

use clawdstrike_scanner::{check_component, read_package, scan, Limits};

fn main() {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: scan PATH.tgz|PATH.crate|PATH.wasm");
        std::process::exit(2);
    };
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("{path}: {e}");
            std::process::exit(2);
        }
    };
    if path.ends_with(".wasm") {
        let t = Instant::now();
        let result = check_component(&bytes);
        let took = t.elapsed();
        match result {
            Ok(info) => println!("{info:#?}"),
            Err(e) => println!("refused: {e}"),
        }
        println!("check_component: {took:?} for {} bytes", bytes.len());
        return;
    }
    let t = Instant::now();
    let package = match read_package(&bytes, &Limits::default()) {
        Ok(p) => p,
        Err(e) => {
            println!("refused: {e}");
            std::process::exit(1);
        }
    };
    let read = t.elapsed();
    let t = Instant::now();
    let report = scan(&package);
    let scanned = t.elapsed();
    println!(
        "{} {} ({}, {} bytes, {} files)",
        package.name,
        package.version,
        package.archive.file_name,
        package.archive.size,
        package.files.len()
    );
    for c in &package.components {
        println!(
            "  guard {}: {} ({} bytes, sha256 {}), host functions {:?}",
            c.guard,
            c.path,
            c.size,
            c.sha256,
            c.info.host_functions()
        );
    }
    match serde_json::to_string_pretty(&report) {
        Ok(json) => println!("{json}"),
        Err(e) => println!("cannot print the report: {e}"),
    }
    println!("read_package: {read:?}, scan: {scanned:?}");
}
