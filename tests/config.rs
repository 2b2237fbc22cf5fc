//! Configuration: the example file, layering (defaults → file → env → flags), validation, and
//! error messages that name the file, line and dotted key.
//!
//! `config/env.rs` tests env vars (in child processes), `config/invalid.rs` the bad-file fixtures.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use clap::Parser;
use kimp::cli::{Cli, Command, GlobalArgs};
use kimp::config::{self, Config, ConfigError, Origin};

fn manifest_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn example_path() -> PathBuf {
    manifest_dir().join("config.example.toml")
}

/// `GlobalArgs` with an explicit config file and data dir, so nothing depends on `$HOME`.
fn args(config: &Path, data_dir: &Path) -> GlobalArgs {
    GlobalArgs {
        config: Some(config.to_path_buf()),
        data_dir: Some(data_dir.to_path_buf()),
        ..GlobalArgs::default()
    }
}

fn write_config(dir: &Path, text: &str) -> PathBuf {
    let path = dir.join("kimp.toml");
    std::fs::write(&path, text).expect("write the config file");
    path
}

/// Every dotted leaf key of a TOML table (`upbit.ws_url`, `symbols.aliases.1000PEPE.coin`).
fn leaf_keys(table: &toml::Table, prefix: &str, out: &mut BTreeSet<String>) {
    for (key, value) in table {
        let path = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        match value {
            toml::Value::Table(inner) => leaf_keys(inner, &path, out),
            _ => {
                out.insert(path);
            }
        }
    }
}

#[test]
fn example_parses_to_the_defaults_and_validates() {
    let path = example_path();
    let text = std::fs::read_to_string(&path).unwrap();
    let config = Config::from_toml(&text, &path).unwrap();
    assert_eq!(config, Config::default());
    config.validate().unwrap();
}

#[test]
fn example_documents_every_key() {
    let default = toml::Table::try_from(Config::default()).unwrap();
    let mut expected = BTreeSet::new();
    leaf_keys(&default, "", &mut expected);
    assert!(expected.len() > 40, "{expected:?}");
    assert!(expected.contains("symbols.aliases.1000PEPE.multiplier"));

    let text = std::fs::read_to_string(example_path()).unwrap();
    let mut documented = BTreeSet::new();
    leaf_keys(&text.parse::<toml::Table>().unwrap(), "", &mut documented);
    let missing: Vec<_> = expected.difference(&documented).collect();
    assert!(
        missing.is_empty(),
        "undocumented in config.example.toml: {missing:?}"
    );
}

#[test]
fn to_toml_round_trips() {
    let mut config = Config::default();
    config.general.log_level = "kimp=debug,warn".into();
    config.symbols.no_global.push("김치".into());
    let text = config.to_toml();
    assert!(text.contains("[upbit]"), "{text}");
    let back = Config::from_toml(&text, Path::new("printed.toml")).unwrap();
    assert_eq!(back, config);
}

#[test]
fn empty_file_means_defaults() {
    let tmp = tempfile::tempdir().unwrap();
    let file = write_config(tmp.path(), "");
    let loaded = config::load(&args(&file, tmp.path())).unwrap();
    assert_eq!(loaded.file.as_deref(), Some(file.as_path()));
    assert_eq!(loaded.data_dir, tmp.path());
    let mut expected = Config::default();
    expected.general.data_dir = tmp.path().display().to_string();
    assert_eq!(loaded.config, expected);
}

#[test]
fn explicit_missing_config_names_the_path() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("nope").join("kimp.toml");
    let err = config::load(&args(&missing, tmp.path())).unwrap_err();
    assert!(matches!(err, ConfigError::NotFound { .. }), "{err:?}");
    let text = err.to_string();
    assert!(text.contains(&missing.display().to_string()), "{text}");
    assert!(text.contains("--config"), "{text}");
}

const LAYERED: &str = r#"
[general]
domestic = "binance"
log_level = "error"
data_dir = "state"

[simulator]
seed = 5
"#;

#[test]
fn flags_override_the_file_and_validation_runs_after_merging() {
    let tmp = tempfile::tempdir().unwrap();
    let file = write_config(tmp.path(), LAYERED);
    let only_file = GlobalArgs {
        config: Some(file.clone()),
        ..GlobalArgs::default()
    };

    // The file alone names a global venue as the domestic one: the error points at its line.
    let err = config::load(&only_file).unwrap_err();
    let ConfigError::Invalid { key, origin, .. } = &err else {
        panic!("expected Invalid, got {err:?}");
    };
    assert_eq!(key, "general.domestic");
    assert_eq!(
        origin,
        &Some(Origin::File {
            path: file.clone(),
            line: 3
        })
    );
    assert_eq!(
        err.to_string(),
        format!(
            "config file {} line 3: general.domestic: `binance` is a global venue, \
             expected one of: upbit, bithumb",
            file.display()
        )
    );

    // --domestic overrides it; the rest comes from the file; data_dir is relative to the file.
    let fixed = GlobalArgs {
        domestic: Some("upbit".into()),
        ..only_file
    };
    let loaded = config::load(&fixed).unwrap();
    assert_eq!(loaded.config.general.domestic, "upbit");
    assert_eq!(loaded.config.general.log_level, "error");
    assert_eq!(loaded.config.simulator.seed, 5);
    assert_eq!(loaded.data_dir, tmp.path().join("state"));
    assert_eq!(
        loaded.config.general.data_dir,
        loaded.data_dir.display().to_string()
    );

    let over = |global: GlobalArgs| config::load(&global).unwrap().config;
    let level = |global: GlobalArgs| over(global).general.log_level;
    let base = || GlobalArgs {
        config: Some(file.clone()),
        domestic: Some("upbit".into()),
        ..GlobalArgs::default()
    };
    let with_level = || GlobalArgs {
        log_level: Some("warn".into()),
        ..base()
    };
    assert_eq!(level(with_level()), "warn");
    assert_eq!(
        level(GlobalArgs {
            verbose: 1,
            ..with_level()
        }),
        "debug"
    );
    assert_eq!(
        level(GlobalArgs {
            verbose: 2,
            ..with_level()
        }),
        "trace"
    );
    assert_eq!(
        level(GlobalArgs {
            verbose: 5,
            ..base()
        }),
        "trace"
    );
    assert_eq!(
        over(GlobalArgs {
            seed: Some(9),
            ..base()
        })
        .simulator
        .seed,
        9
    );
    let elsewhere = tmp.path().join("elsewhere");
    let loaded = config::load(&GlobalArgs {
        data_dir: Some(elsewhere.clone()),
        ..base()
    })
    .unwrap();
    assert_eq!(loaded.data_dir, elsewhere);
}

#[test]
fn flags_parsed_by_clap_layer_the_same_way() {
    let tmp = tempfile::tempdir().unwrap();
    let file = write_config(tmp.path(), LAYERED);
    let cli = Cli::try_parse_from([
        "kimp".as_ref(),
        "snapshot".as_ref(),
        "--config".as_ref(),
        file.as_os_str(),
        "--domestic".as_ref(),
        "upbit".as_ref(),
        "--seed".as_ref(),
        "11".as_ref(),
        "-v".as_ref(),
    ])
    .unwrap();
    assert!(matches!(cli.command, Some(Command::Snapshot(_))));
    let loaded = config::load(&cli.global).unwrap();
    assert_eq!(loaded.file.as_deref(), Some(file.as_path()));
    assert_eq!(loaded.config.general.domestic, "upbit");
    assert_eq!(loaded.config.general.log_level, "debug");
    assert_eq!(loaded.config.simulator.seed, 11);
}

#[test]
fn invalid_values_from_flags_name_the_flag() {
    let tmp = tempfile::tempdir().unwrap();
    let file = write_config(tmp.path(), "");
    let global = GlobalArgs {
        log_level: Some("kimp=loud".into()),
        ..args(&file, tmp.path())
    };
    let err = config::load(&global).unwrap_err().to_string();
    assert!(
        err.starts_with(
            "--log-level (or env KIMP_LOG_LEVEL): general.log_level: invalid log level"
        ),
        "{err}"
    );
    let global = GlobalArgs {
        seed: Some(u64::MAX),
        ..args(&file, tmp.path())
    };
    let err = config::load(&global).unwrap_err().to_string();
    assert!(
        err.starts_with("--seed (or env KIMP_SEED): simulator.seed: "),
        "{err}"
    );
}

// A test crate root resolves `mod` next to itself (tests/), hence the explicit paths.
#[path = "config/env.rs"]
mod env;
#[path = "config/invalid.rs"]
mod invalid;

#[test]
fn printed_default_config() {
    insta::assert_snapshot!("config_print_default", Config::default().to_toml());
}

#[test]
fn simulator_faults_are_validated_with_key_and_line() {
    let tmp = tempfile::tempdir().unwrap();
    let good = write_config(
        tmp.path(),
        "[simulator]\nrate_multiplier = 3.0\nfaults = [\"binance_futures:moved\", \"all:drop_every=30\"]\n",
    );
    let loaded = config::load(&args(&good, tmp.path())).unwrap();
    assert_eq!(
        loaded.config.simulator.faults,
        ["binance_futures:moved", "all:drop_every=30"]
    );
    assert!((loaded.config.simulator.rate_multiplier - 3.0).abs() < f64::EPSILON);

    let bad = write_config(
        tmp.path(),
        "[simulator]\nfaults = [\n  \"upbit:silent\",\n  \"upbit:rest_status=200\",\n]\n",
    );
    let err = config::load(&args(&bad, tmp.path())).unwrap_err();
    let ConfigError::Invalid { key, origin, .. } = &err else {
        panic!("expected Invalid, got {err:?}");
    };
    assert_eq!(key, "simulator.faults[1]");
    assert_eq!(
        origin,
        &Some(Origin::File {
            path: bad.clone(),
            line: 4
        })
    );
    assert!(
        err.to_string().contains("rest_status=200 is out of range"),
        "{err}"
    );

    let bad_rate = write_config(tmp.path(), "[simulator]\nrate_multiplier = 0.0\n");
    let err = config::load(&args(&bad_rate, tmp.path())).unwrap_err();
    assert!(
        err.to_string()
            .contains("line 2: simulator.rate_multiplier: 0 is out of range"),
        "{err}"
    );
}
