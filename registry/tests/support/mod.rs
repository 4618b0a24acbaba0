//! Test support: a registry on a real database (SQLite file or a fresh PostgreSQL database)
//! and a real blob store (local directory or s3s-fs), driven through its real router.
#![allow(dead_code)]

pub mod app;
pub mod pg;
pub mod s3;
