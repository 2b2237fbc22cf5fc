//! Env vars, through the real binary: env vars are process-global (and setting them in-process
//! needs `unsafe`), so each case runs `kimp` with a cleared environment, a temporary `HOME`, and
//! reads what `kimp config --print` / `--path` report.

use std::path::Path;
use std::process::Command;

use super::{LAYERED, write_config};

/// Runs `kimp <args>` with only `HOME`, `PATH` and `env` set; returns (exit code, stdout, stderr).
fn kimp(home: &Path, args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_kimp"))
        .args(args)
        .env_clear()
        .env("HOME", home)
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .envs(env.iter().copied())
        .output()
        .expect("run kimp");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The effective config as `kimp config --print` shows it.
fn effective(home: &Path, flags: &[&str], env: &[(&str, &str)]) -> toml::Table {
    let args: Vec<&str> = flags.iter().copied().chain(["config", "--print"]).collect();
    let (code, stdout, stderr) = kimp(home, &args, env);
    assert_eq!(code, Some(0), "{stderr}");
    toml::from_str(&stdout).expect("config --print is TOML")
}

fn get<'a>(t: &'a toml::Table, section: &str, key: &str) -> &'a toml::Value {
    &t[section][key]
}

#[cfg(unix)]
#[test]
fn env_vars_sit_between_flags_and_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let file = write_config(tmp.path(), LAYERED);
    let file_s = file.to_str().unwrap();
    let home = tmp.path();
    let env = [
        ("KIMP_CONFIG", file_s),
        ("KIMP_DOMESTIC", "upbit"),
        ("KIMP_LOG_LEVEL", "warn"),
        ("KIMP_SEED", "7"),
        ("KIMP_DATA_DIR", "/from/env"),
    ];
    let t = effective(home, &[], &env);
    assert_eq!(get(&t, "general", "domestic").as_str(), Some("upbit"));
    assert_eq!(get(&t, "general", "log_level").as_str(), Some("warn"));
    assert_eq!(get(&t, "general", "data_dir").as_str(), Some("/from/env"));
    assert_eq!(get(&t, "simulator", "seed").as_integer(), Some(7));
    let flags = [
        "--log-level",
        "debug",
        "--seed",
        "9",
        "--data-dir",
        "/from/flag",
    ];
    let t = effective(home, &flags, &env);
    assert_eq!(get(&t, "general", "log_level").as_str(), Some("debug"));
    assert_eq!(get(&t, "general", "data_dir").as_str(), Some("/from/flag"));
    assert_eq!(get(&t, "simulator", "seed").as_integer(), Some(9));
    // The file's own values show when neither env nor flags set them.
    let (code, stdout, _) = kimp(
        home,
        &["config", "--path"],
        &[("KIMP_CONFIG", file_s), ("KIMP_DOMESTIC", "upbit")],
    );
    assert_eq!(code, Some(0));
    assert!(stdout.contains(file_s), "{stdout}");
    // Without KIMP_DOMESTIC the file's wrong venue is reported with its line.
    let (code, _, stderr) = kimp(home, &["config", "--print"], &[("KIMP_CONFIG", file_s)]);
    assert_eq!(code, Some(2));
    assert!(
        stderr.contains(&format!(
            "config file {file_s} line 3: general.domestic: `binance` is a global venue, expected one of: upbit, bithumb"
        )),
        "{stderr}"
    );
}

#[cfg(unix)]
#[test]
fn env_bools_and_bad_env_values() {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path();
    // KIMP_DEMO decides whether `snapshot` talks to the built-in simulator.
    let snapshot = |value: &str| {
        kimp(
            home,
            &[
                "snapshot",
                "--json",
                "--wait",
                "3",
                "--data-dir",
                tmp.path().to_str().unwrap(),
            ],
            &[("KIMP_DEMO", value)],
        )
    };
    let (code, stdout, stderr) = snapshot("yes");
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.contains("\"exchange_rate\""));
    let (code, _, stderr) = snapshot("banana");
    assert_eq!(code, Some(2));
    assert!(stderr.contains("banana"), "{stderr}");
    let (code, _, stderr) = kimp(
        home,
        &["config", "--print"],
        &[("KIMP_DOMESTIC", "binance")],
    );
    assert_eq!(code, Some(2));
    assert!(stderr.contains("binance"), "{stderr}");
    let (code, _, stderr) = kimp(home, &["simulate"], &[("KIMP_SIM_BIND", "not-an-address")]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("not-an-address"), "{stderr}");
}

#[cfg(unix)]
#[test]
fn default_config_file_missing_means_defaults_and_invalid_is_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path();
    // In the child, $HOME is the temp dir and no XDG_* is set.
    let t = effective(home, &[], &[]);
    assert_eq!(get(&t, "general", "domestic").as_str(), Some("upbit"));
    assert_eq!(get(&t, "simulator", "seed").as_integer(), Some(1));
    let data_dir = get(&t, "general", "data_dir").as_str().unwrap().to_string();
    assert!(
        data_dir.starts_with(&home.display().to_string()),
        "{data_dir}"
    );
    let (_, stdout, _) = kimp(home, &["config", "--path"], &[]);
    assert!(stdout.contains("built-in defaults"), "{stdout}");

    let default_file = if cfg!(target_os = "macos") {
        home.join("Library/Application Support/kimp/config.toml")
    } else {
        home.join(".config/kimp/config.toml")
    };
    std::fs::create_dir_all(default_file.parent().unwrap()).unwrap();
    std::fs::write(&default_file, "[general]\nlog_level = 3\n").unwrap();
    let (code, _, stderr) = kimp(home, &["config", "--print"], &[]);
    assert_eq!(code, Some(2));
    assert!(
        stderr.contains(&format!(
            "config file {} line 2, column 13: general.log_level: invalid type: integer `3`, expected a string",
            default_file.display()
        )),
        "{stderr}"
    );
}
