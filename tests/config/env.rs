//! Env vars, in child processes: env vars are process-global (and setting them needs `unsafe`),
//! so [`env_probe`] runs in a copy of this test binary with a controlled environment.

use std::path::Path;

use clap::Parser;
use kimp::cli::{Cli, Command};
use kimp::config;

use super::{LAYERED, write_config};

/// Not a test on its own: [`probe`] runs it in a child process with a controlled environment.
/// It parses `KIMP_PROBE_ARGS` (arguments separated by `|`) and prints what `load` made of them.
#[test]
#[ignore = "child process of the env tests; run through probe() with KIMP_PROBE_ARGS set"]
#[expect(
    clippy::print_stdout,
    reason = "the parent test reads the result from stdout"
)]
fn env_probe() {
    let args = std::env::var("KIMP_PROBE_ARGS").expect("run through probe()");
    let cli = match Cli::try_parse_from(args.split('|')) {
        Ok(cli) => cli,
        Err(e) => {
            println!(
                "PROBE clap-error {}",
                e.to_string().lines().next().unwrap_or_default()
            );
            return;
        }
    };
    if let Some(Command::Simulate(simulate)) = &cli.command {
        println!("PROBE bind={:?}", simulate.bind);
    }
    match config::load(&cli.global) {
        Ok(loaded) => println!(
            "PROBE demo={} domestic={} log_level={} seed={} file={:?} data_dir={}",
            cli.global.demo,
            loaded.config.general.domestic,
            loaded.config.general.log_level,
            loaded.config.simulator.seed,
            loaded.file,
            loaded.data_dir.display()
        ),
        Err(e) => println!("PROBE load-error {e}"),
    }
}

/// Runs [`env_probe`] with only `HOME` and `env` set, returning its `PROBE` lines.
fn probe(home: &Path, args: &[&str], env: &[(&str, &str)]) -> String {
    let exe = std::env::current_exe().expect("path of this test binary");
    let output = std::process::Command::new(exe)
        .args([
            "env::env_probe",
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env_clear()
        .env("HOME", home)
        .env(
            "KIMP_PROBE_ARGS",
            ["kimp"]
                .iter()
                .chain(args)
                .copied()
                .collect::<Vec<_>>()
                .join("|"),
        )
        .envs(env.iter().copied())
        .output()
        .expect("run the probe");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "probe failed: {stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // libtest prints `test env_probe ... ` on the same line as the first output.
    let lines: Vec<_> = stdout
        .lines()
        .filter_map(|l| l.split_once("PROBE ").map(|(_, rest)| rest))
        .collect();
    assert!(!lines.is_empty(), "no PROBE line in: {stdout}");
    lines.join("\n")
}

#[cfg(unix)]
#[test]
fn env_vars_sit_between_flags_and_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let file = write_config(tmp.path(), LAYERED);
    let file_s = file.to_str().unwrap();
    let env = [
        ("KIMP_CONFIG", file_s),
        ("KIMP_DOMESTIC", "upbit"),
        ("KIMP_LOG_LEVEL", "warn"),
        ("KIMP_SEED", "7"),
        ("KIMP_DATA_DIR", "/from/env"),
        ("KIMP_DEMO", "1"),
    ];
    let home = tmp.path();
    assert_eq!(
        probe(home, &[], &env),
        format!(
            "demo=true domestic=upbit log_level=warn seed=7 file=Some({file:?}) data_dir=/from/env"
        )
    );
    let flags = [
        "--log-level",
        "debug",
        "--seed",
        "9",
        "--data-dir",
        "/from/flag",
    ];
    assert_eq!(
        probe(home, &flags, &env),
        format!(
            "demo=true domestic=upbit log_level=debug seed=9 file=Some({file:?}) data_dir=/from/flag"
        )
    );
    // Without KIMP_DOMESTIC the file's unimplemented venue is reported with its line.
    let out = probe(home, &[], &[("KIMP_CONFIG", file_s)]);
    assert_eq!(
        out,
        format!(
            "load-error config file {file_s} line 3: general.domestic: venue `bithumb` is not \
             supported yet, expected one of: upbit"
        )
    );
}

#[cfg(unix)]
#[test]
fn env_bools_and_bad_env_values() {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path();
    let demo = |value: &str| probe(home, &["--data-dir", "/d"], &[("KIMP_DEMO", value)]);
    for value in ["1", "true", "yes", "on"] {
        assert!(demo(value).starts_with("demo=true "), "KIMP_DEMO={value}");
    }
    for value in ["0", "false", "no", "off"] {
        assert!(demo(value).starts_with("demo=false "), "KIMP_DEMO={value}");
    }
    assert!(
        demo("banana").starts_with("clap-error "),
        "{}",
        demo("banana")
    );
    let out = probe(home, &[], &[("KIMP_DOMESTIC", "bithumb")]);
    assert!(
        out.starts_with("clap-error ") && out.contains("bithumb"),
        "{out}"
    );
    let out = probe(
        home,
        &["simulate"],
        &[("KIMP_SIM_BIND", "0.0.0.0:9200"), ("KIMP_DATA_DIR", "/d")],
    );
    assert!(out.starts_with("bind=Some(\"0.0.0.0:9200\")\n"), "{out}");
}

#[cfg(unix)]
#[test]
fn default_config_file_missing_means_defaults_and_invalid_is_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path();
    let paths = config::default_paths().unwrap();
    assert!(paths.config_file.ends_with("config.toml"));
    // In the child, $HOME is the temp dir and no XDG_* is set.
    let out = probe(home, &[], &[]);
    assert!(
        out.starts_with("demo=false domestic=upbit log_level=info seed=1 file=None data_dir="),
        "{out}"
    );
    assert!(out.contains(&home.display().to_string()), "{out}");

    let default_file = if cfg!(target_os = "macos") {
        home.join("Library/Application Support/kimp/config.toml")
    } else {
        home.join(".config/kimp/config.toml")
    };
    std::fs::create_dir_all(default_file.parent().unwrap()).unwrap();
    std::fs::write(&default_file, "[general]\nlog_level = 3\n").unwrap();
    let out = probe(home, &[], &[]);
    assert_eq!(
        out,
        format!(
            "load-error config file {} line 2, column 13: general.log_level: invalid type: \
             integer `3`, expected a string",
            default_file.display()
        )
    );
}
