//! The command line: shape, global flags anywhere, value checks, conflicts, and `--help` text.
//!
//! Env var handling is tested in `tests/config.rs` (in a child process, since env vars are
//! process-global); these tests only pass arguments.

use clap::error::ErrorKind;
use clap::{CommandFactory, Parser};
use kimp::cli::{Cli, Command};

fn parse(args: &[&str]) -> Cli {
    match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => panic!("{args:?} should parse: {e}"),
    }
}

fn reject(args: &[&str]) -> clap::Error {
    match Cli::try_parse_from(args) {
        Ok(cli) => panic!("{args:?} should be rejected, parsed as {cli:?}"),
        Err(e) => e,
    }
}

/// What the user sees for `args`: help, version or an error.
fn rendered(args: &[&str]) -> String {
    reject(args).render().to_string()
}

#[test]
fn clap_definition_is_consistent() {
    Cli::command().debug_assert();
}

#[test]
fn no_arguments_is_the_dashboard_with_defaults() {
    let cli = parse(&["kimp"]);
    assert!(cli.command.is_none());
    let g = cli.global;
    assert!(!g.demo);
    assert_eq!(g.seed, None);
    assert_eq!(g.config, None);
    assert_eq!(g.data_dir, None);
    assert_eq!(g.domestic, None);
    assert_eq!(g.overseas, None);
    assert_eq!(g.log_level, None);
    assert_eq!(g.verbose, 0);
}

#[test]
fn every_global_flag_parses() {
    let cli = parse(&[
        "kimp",
        "--demo",
        "--seed",
        "42",
        "--config",
        "/tmp/k.toml",
        "--data-dir",
        "/tmp/kd",
        "--domestic",
        "upbit",
        "--overseas",
        "binance",
        "--log-level",
        "kimp=debug,warn",
    ]);
    let g = cli.global;
    assert!(g.demo);
    assert_eq!(g.seed, Some(42));
    assert_eq!(
        g.config.as_deref(),
        Some(std::path::Path::new("/tmp/k.toml"))
    );
    assert_eq!(g.data_dir.as_deref(), Some(std::path::Path::new("/tmp/kd")));
    assert_eq!(g.domestic.as_deref(), Some("upbit"));
    assert_eq!(g.overseas.as_deref(), Some("binance"));
    assert_eq!(g.log_level.as_deref(), Some("kimp=debug,warn"));
}

#[test]
fn global_flags_work_after_the_subcommand() {
    let cli = parse(&["kimp", "snapshot", "--demo", "--json", "--seed", "3", "-vv"]);
    let Some(Command::Snapshot(args)) = cli.command else {
        panic!("expected snapshot, got {:?}", cli.command);
    };
    assert!(args.json);
    assert_eq!(args.wait, None);
    assert!(cli.global.demo);
    assert_eq!(cli.global.seed, Some(3));
    assert_eq!(cli.global.verbose, 2);
}

#[test]
fn snapshot_wait_takes_positive_seconds() {
    let cli = parse(&["kimp", "snapshot", "--wait", "10"]);
    let Some(Command::Snapshot(args)) = cli.command else {
        panic!("expected snapshot, got {:?}", cli.command);
    };
    assert!(!args.json);
    assert_eq!(args.wait, Some(10));
    assert_eq!(
        reject(&["kimp", "snapshot", "--wait", "0"]).kind(),
        ErrorKind::ValueValidation
    );
    assert_eq!(
        reject(&["kimp", "snapshot", "--wait", "soon"]).kind(),
        ErrorKind::ValueValidation
    );
}

#[test]
fn simulate_takes_a_bind_address() {
    let cli = parse(&["kimp", "simulate", "--bind", "127.0.0.1:0"]);
    let Some(Command::Simulate(args)) = cli.command else {
        panic!("expected simulate, got {:?}", cli.command);
    };
    assert_eq!(args.bind.as_deref(), Some("127.0.0.1:0"));
    let cli = parse(&["kimp", "simulate"]);
    let Some(Command::Simulate(args)) = cli.command else {
        panic!("expected simulate, got {:?}", cli.command);
    };
    assert_eq!(args.bind, None);
    let err = reject(&["kimp", "simulate", "--bind", "localhost"]);
    assert_eq!(err.kind(), ErrorKind::ValueValidation);
    assert!(err.to_string().contains("expected host:port"), "{err}");
}

#[test]
fn config_print_and_path_parse_and_conflict() {
    for (flag, print, path) in [("--print", true, false), ("--path", false, true)] {
        let cli = parse(&["kimp", "config", flag]);
        let Some(Command::Config(args)) = cli.command else {
            panic!("expected config, got {:?}", cli.command);
        };
        assert_eq!((args.print, args.path), (print, path), "{flag}");
    }
    let cli = parse(&["kimp", "config"]);
    let Some(Command::Config(args)) = cli.command else {
        panic!("expected config, got {:?}", cli.command);
    };
    assert!(!args.print && !args.path);
    let err = reject(&["kimp", "config", "--print", "--path"]);
    assert_eq!(err.kind(), ErrorKind::ArgumentConflict);
}

#[test]
fn venues_are_restricted_to_implemented_ones() {
    let err = reject(&["kimp", "--domestic", "nasdaq"]);
    assert_eq!(err.kind(), ErrorKind::InvalidValue);
    let text = err.to_string();
    assert!(
        text.contains("nasdaq") && text.contains("possible values: upbit, bithumb"),
        "{text}"
    );
    assert_eq!(
        parse(&["kimp", "--domestic", "bithumb"])
            .global
            .domestic
            .as_deref(),
        Some("bithumb")
    );
    // A global venue is not a domestic one and the other way round.
    assert_eq!(
        reject(&["kimp", "--domestic", "binance"]).kind(),
        ErrorKind::InvalidValue
    );
    assert_eq!(
        reject(&["kimp", "--overseas", "upbit"]).kind(),
        ErrorKind::InvalidValue
    );
    insta::assert_snapshot!(
        "error_bad_domestic",
        rendered(&["kimp", "--domestic", "nasdaq"])
    );
}

#[test]
fn log_level_and_verbosity() {
    let cli = parse(&["kimp", "-v", "--log-level", "warn"]);
    assert_eq!(cli.global.verbose, 1);
    assert_eq!(cli.global.log_level.as_deref(), Some("warn"));
    assert_eq!(parse(&["kimp", "--verbose", "-vv"]).global.verbose, 3);
    let err = reject(&["kimp", "--log-level", "kimp=loud"]);
    assert_eq!(err.kind(), ErrorKind::ValueValidation);
    assert!(
        err.to_string().contains("invalid log level `kimp=loud`"),
        "{err}"
    );
    assert_eq!(
        reject(&["kimp", "--log-level", ""]).kind(),
        ErrorKind::ValueValidation
    );
}

#[test]
fn doctor_takes_json_and_a_window() {
    let cli = parse(&["kimp", "doctor", "--demo", "--json", "--window", "3"]);
    let Some(Command::Doctor(args)) = cli.command else {
        panic!("expected doctor, got {:?}", cli.command);
    };
    assert!(args.json && cli.global.demo);
    assert_eq!(args.window, Some(3));
    for bad in ["0", "61", "x"] {
        let err = reject(&["kimp", "doctor", "--window", bad]);
        assert_eq!(err.kind(), ErrorKind::ValueValidation, "{bad}");
    }
}

#[test]
fn bad_numbers_and_unknown_things_are_rejected() {
    assert_eq!(
        reject(&["kimp", "--seed", "abc"]).kind(),
        ErrorKind::ValueValidation
    );
    reject(&["kimp", "--seed", "-1"]);
    reject(&["kimp", "--seed", "18446744073709551616"]);
    assert_eq!(
        reject(&["kimp", "--remote", "h:8000"]).kind(),
        ErrorKind::ValueValidation
    );
    assert_eq!(
        reject(&["kimp", "doctr"]).kind(),
        ErrorKind::InvalidSubcommand
    );
    assert_eq!(
        reject(&["kimp", "snapshot", "--bind", "127.0.0.1:1"]).kind(),
        ErrorKind::UnknownArgument
    );
}

#[test]
fn remote_takes_a_url_and_conflicts_with_demo_and_serve() {
    let cli = parse(&["kimp", "--remote", "http://h:8000/"]);
    assert_eq!(cli.global.remote.as_deref(), Some("http://h:8000"));
    let cli = parse(&["kimp", "snapshot", "--json", "--remote", "https://h"]);
    assert_eq!(cli.global.remote.as_deref(), Some("https://h"));
    for args in [
        &["kimp", "--remote", "http://h:8000", "--demo"][..],
        &["kimp", "--remote", "http://h:8000", "--serve"],
        &["kimp", "snapshot", "--remote", "http://h:8000", "--demo"],
    ] {
        assert_eq!(reject(args).kind(), ErrorKind::ArgumentConflict, "{args:?}");
    }
}

#[test]
fn simulate_takes_fault_specs_and_a_rate_multiplier() {
    let cli = parse(&[
        "kimp",
        "simulate",
        "--fault",
        "binance_futures:moved",
        "--fault",
        "okx:malformed=5,fx:rest_status=503",
        "--rate-multiplier",
        "2.5",
    ]);
    let Some(Command::Simulate(args)) = cli.command else {
        panic!("expected simulate, got {:?}", cli.command);
    };
    assert_eq!(
        args.faults,
        [
            "binance_futures:moved",
            "okx:malformed=5",
            "fx:rest_status=503"
        ]
    );
    assert_eq!(args.rate_multiplier, Some(2.5));
    for (bad, needle) in [
        (["--fault", "kraken:silent"], "unknown venue `kraken`"),
        (["--fault", "upbit:drop_every=0"], "out of range"),
        (["--fault", "upbit"], "VENUE:KNOB"),
        (["--rate-multiplier", "0"], "out of range"),
        (["--rate-multiplier", "fast"], "not a number"),
    ] {
        let err = reject(&["kimp", "simulate", bad[0], bad[1]]);
        assert_eq!(err.kind(), ErrorKind::ValueValidation, "{bad:?}");
        assert!(err.to_string().contains(needle), "{bad:?}: {err}");
        assert!(err.to_string().contains(bad[0]), "names the flag: {err}");
    }
}

#[test]
fn record_and_replay_flags_parse_and_conflict() {
    let cli = parse(&["kimp", "--demo", "--record", "r.jsonl.zst"]);
    assert_eq!(
        cli.global.record.as_deref(),
        Some(std::path::Path::new("r.jsonl.zst"))
    );
    let cli = parse(&["kimp", "snapshot", "--replay", "r.jsonl", "--speed", "max"]);
    assert_eq!(cli.global.speed, Some(kimp::replay::Speed::Max));
    let cli = parse(&["kimp", "--replay", "r.jsonl", "--speed", "10"]);
    assert_eq!(cli.global.speed, Some(kimp::replay::Speed::Times(10.0)));
    for args in [
        &["kimp", "--replay", "r", "--demo"][..],
        &["kimp", "--replay", "r", "--remote", "http://h:8000"],
        &["kimp", "--record", "r", "--remote", "http://h:8000"],
        &["kimp", "--record", "r", "--replay", "q"],
    ] {
        assert_eq!(reject(args).kind(), ErrorKind::ArgumentConflict, "{args:?}");
    }
    assert_eq!(
        reject(&["kimp", "--speed", "2"]).kind(),
        ErrorKind::MissingRequiredArgument
    );
    let err = reject(&["kimp", "--replay", "r", "--speed", "0"]);
    assert_eq!(err.kind(), ErrorKind::ValueValidation);
    assert!(err.to_string().contains("--speed 0"), "{err}");
}

#[test]
fn every_option_has_a_kimp_env_var() {
    let command = Cli::command();
    let mut checked = 0;
    for arg in command.get_arguments() {
        let id = arg.get_id().as_str();
        if matches!(id, "verbose" | "help" | "version") {
            continue;
        }
        let env = arg.get_env().map(|e| e.to_string_lossy().into_owned());
        let expected = format!("KIMP_{}", id.to_uppercase());
        assert_eq!(env.as_deref(), Some(expected.as_str()), "--{id}");
        checked += 1;
    }
    assert_eq!(checked, 19, "global options with an env var");
    for (command_name, id, env) in [
        ("simulate", "bind", "KIMP_SIM_BIND"),
        ("simulate", "faults", "KIMP_SIM_FAULTS"),
        ("simulate", "rate_multiplier", "KIMP_SIM_RATE_MULTIPLIER"),
    ] {
        let found = command
            .find_subcommand(command_name)
            .and_then(|s| s.get_arguments().find(|a| a.get_id() == id))
            .and_then(|a| a.get_env().map(|e| e.to_string_lossy().into_owned()));
        assert_eq!(found.as_deref(), Some(env), "{command_name} --{id}");
    }
}

#[test]
fn serve_flags_parse_and_check_their_values() {
    let g = parse(&[
        "kimp",
        "--serve",
        "--headless",
        "--bind",
        "0.0.0.0",
        "--api-token",
        "t0ken",
    ])
    .global;
    assert!(g.serve && g.headless);
    assert_eq!(g.bind.as_deref(), Some("0.0.0.0"));
    assert_eq!(g.api_token.as_deref(), Some("t0ken"));
    let g = parse(&["kimp", "--demo"]).global;
    assert!(!g.serve && !g.headless && g.bind.is_none() && g.api_token.is_none());
    assert_eq!(
        reject(&["kimp", "--headless"]).kind(),
        ErrorKind::MissingRequiredArgument
    );
    assert_eq!(
        parse(&["kimp", "--serve", "--role", "market"])
            .global
            .role
            .as_deref(),
        Some("market")
    );
    let gateway = parse(&[
        "kimp",
        "--serve",
        "--role",
        "gateway",
        "--market-url",
        "http://a:8001/",
        "--liquidation-url",
        "ws://b:8002",
    ]);
    assert_eq!(gateway.global.market_url.as_deref(), Some("http://a:8001"));
    assert_eq!(
        gateway.global.liquidation_url.as_deref(),
        Some("ws://b:8002")
    );
    assert_eq!(
        reject(&["kimp", "--serve", "--role", "cache"]).kind(),
        ErrorKind::InvalidValue
    );
    assert_eq!(
        reject(&["kimp", "--market-url", "a:8001"]).kind(),
        ErrorKind::ValueValidation
    );
    assert_eq!(
        reject(&["kimp", "--role", "market"]).kind(),
        ErrorKind::MissingRequiredArgument
    );
    assert_eq!(
        reject(&["kimp", "--serve", "--bind", "127.0.0.1:8000"]).kind(),
        ErrorKind::ValueValidation
    );
    // Server flags belong to the dashboard/headless run, not to subcommands.
    assert_eq!(
        reject(&["kimp", "snapshot", "--serve"]).kind(),
        ErrorKind::UnknownArgument
    );
}

#[test]
fn version_is_the_crate_version() {
    let err = reject(&["kimp", "--version"]);
    assert_eq!(err.kind(), ErrorKind::DisplayVersion);
    assert_eq!(
        err.to_string().trim(),
        format!("kimp {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn help_texts() {
    for (name, args) in [
        ("help_long", &["kimp", "--help"][..]),
        ("help_short", &["kimp", "-h"]),
        ("help_snapshot", &["kimp", "snapshot", "--help"]),
        ("help_simulate", &["kimp", "simulate", "--help"]),
        ("help_config", &["kimp", "config", "--help"]),
    ] {
        let err = reject(args);
        assert_eq!(err.kind(), ErrorKind::DisplayHelp, "{args:?}");
        insta::assert_snapshot!(name, rendered(args));
    }
}
