//! `tests/invalid_configs/*.toml`: each bad file's error names the file, the line and the key
//! that its `# expect-…` header lines announce.

use std::fmt::Write as _;
use std::path::PathBuf;

use kimp::config;

use super::{args, manifest_dir};

/// One `tests/invalid_configs/*.toml` fixture and what its header says the error must contain.
struct Fixture {
    name: String,
    path: PathBuf,
    line: usize,
    key: String,
    text: String,
}

fn header<'a>(source: &'a str, field: &str) -> &'a str {
    let prefix = format!("# expect-{field}:");
    source
        .lines()
        .find_map(|line| line.strip_prefix(prefix.as_str()))
        .unwrap_or_else(|| panic!("fixture lacks `{prefix}`"))
        .trim()
}

fn fixtures() -> Vec<Fixture> {
    let dir = manifest_dir().join("tests/invalid_configs");
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .expect("tests/invalid_configs exists")
        .map(|entry| entry.expect("readable dir entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "toml"))
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|path| {
            let source = std::fs::read_to_string(&path).expect("readable fixture");
            let name = path.file_stem().unwrap_or_default().to_string_lossy();
            Fixture {
                name: name.into_owned(),
                line: header(&source, "line")
                    .parse()
                    .expect("expect-line is a number"),
                key: header(&source, "key").to_owned(),
                text: header(&source, "text").to_owned(),
                path,
            }
        })
        .collect()
}

#[test]
fn invalid_configs_name_file_line_and_key() {
    let fixtures = fixtures();
    assert!(fixtures.len() >= 15, "only {} fixtures", fixtures.len());
    let tmp = tempfile::tempdir().unwrap();
    let mut report = String::new();
    for fixture in &fixtures {
        let name = &fixture.name;
        let err = match config::load(&args(&fixture.path, tmp.path())) {
            Ok(loaded) => panic!("{name}: loaded without error: {loaded:?}"),
            Err(err) => err,
        };
        let message = err.to_string();
        let file = fixture.path.display().to_string();
        assert!(
            message.starts_with(&format!("config file {file} line {} ", fixture.line))
                || message.starts_with(&format!("config file {file} line {}:", fixture.line))
                || message.starts_with(&format!("config file {file} line {},", fixture.line)),
            "{name}: expected line {}: {message}",
            fixture.line
        );
        if !fixture.key.is_empty() {
            assert!(
                message.contains(&fixture.key),
                "{name}: expected key {}: {message}",
                fixture.key
            );
        }
        assert!(
            message.contains(&fixture.text),
            "{name}: expected {:?}: {message}",
            fixture.text
        );
        let shown = message.replace(&file, &format!("<{name}.toml>"));
        writeln!(report, "{name}:\n  {shown}").unwrap();
    }
    // Keep every snapshot of this test binary in tests/snapshots, under the name it had at top level.
    insta::with_settings!({ snapshot_path => "../snapshots", prepend_module_to_snapshot => false }, {
        insta::assert_snapshot!("config__invalid_config_errors", report);
    });
}
