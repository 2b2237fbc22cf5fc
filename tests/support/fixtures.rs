//! Fixture loading shared by the parser tests: the third-party recordings in `../shared/fixtures`
//! (absent in some checkouts: callers get `None` and a skip note) and kimp's own `tests/fixtures`.
#![allow(dead_code, reason = "each test crate uses a different subset")]

use std::path::PathBuf;

const SHARED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/fixtures");
const OWN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");

/// A shared recording (`venue/file`), or `None` with a skip note when the folder is absent.
pub fn shared(rel: &str) -> Option<Vec<u8>> {
    let dir = PathBuf::from(SHARED);
    if !dir.is_dir() {
        eprintln!("skipped: shared fixtures not found at {}", dir.display());
        return None;
    }
    let path = dir.join(rel);
    Some(std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
}

/// One of kimp's own fixtures.
pub fn own(rel: &str) -> Vec<u8> {
    let path = PathBuf::from(OWN).join(rel);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// [`shared`] as UTF-8 text.
pub fn shared_text(rel: &str) -> Option<String> {
    shared(rel).map(|b| String::from_utf8(b).unwrap_or_else(|e| panic!("{rel}: {e}")))
}

/// [`own`] as UTF-8 text.
pub fn own_text(rel: &str) -> String {
    String::from_utf8(own(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// Non-empty lines of a `.jsonl` file; asserts there is at least one.
pub fn lines(bytes: &[u8]) -> Vec<&[u8]> {
    let lines: Vec<&[u8]> = bytes
        .split(|b| *b == b'\n')
        .filter(|l| !l.trim_ascii().is_empty())
        .collect();
    assert!(!lines.is_empty(), "fixture has no lines");
    lines
}

/// Non-empty lines of a text fixture; asserts there is at least one.
pub fn text_lines(text: &str) -> Vec<&str> {
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(!lines.is_empty(), "fixture has no lines");
    lines
}
