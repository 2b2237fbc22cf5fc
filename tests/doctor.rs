//! `kimp doctor --demo`: a healthy simulator passes every check; each simulator fault gets its
//! diagnosis, and a non-zero exit when it hits a required feed. Windows are shortened through
//! [`DoctorOptions`], not by sleeping.
#![allow(
    clippy::unwrap_used,
    reason = "test code: a failed unwrap is a failed test"
)]

use std::process::Command;
use std::time::Duration;

use kimp::commands::doctor::{self, DoctorOptions, Report, Status};
use kimp::config::Config;
use kimp::sim::SimOptions;
use tokio_util::sync::CancellationToken;

fn fast() -> DoctorOptions {
    DoctorOptions {
        window: Duration::from_secs(3),
        min_observe: Duration::from_millis(1_500),
        probe_timeout: Duration::from_secs(2),
        tolerance_percent: 1.0,
    }
}

async fn doctor_with(cfg: Config, faults: &[&str]) -> Report {
    let sim = SimOptions {
        faults: faults.iter().map(|f| f.parse().unwrap()).collect(),
        ..SimOptions::default()
    };
    doctor::run(cfg, Some(sim), &fast(), &CancellationToken::new())
        .await
        .unwrap()
}

async fn doctor(faults: &[&str]) -> Report {
    doctor_with(Config::default(), faults).await
}

fn row<'a>(report: &'a Report, name: &str) -> &'a doctor::Check {
    report
        .check(name)
        .unwrap_or_else(|| panic!("no row {name} in\n{}", report.render()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthy_simulator_passes_every_check() {
    let report = doctor(&[]).await;
    let table = report.render();
    assert!(report.passed(), "{table}");
    for check in &report.checks {
        assert_eq!(check.status, Status::Ok, "{}: {table}", check.name);
    }
    for name in [
        "upbit.ticker",
        "binance.ticker",
        "fx.usdkrw",
        "binance.liquidations",
        "cross-check bithumb BTC",
        "fx dunamu",
    ] {
        row(&report, name);
    }
    assert!(row(&report, "upbit.ticker").required);
    assert!(!row(&report, "bybit.ticker").required, "not in the pair");
    assert!(
        report.elapsed_ms < 5_000,
        "ends once everything delivered: {} ms",
        report.elapsed_ms
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_venue_is_connected_but_no_data() {
    let report = doctor(&["binance:silent"]).await;
    let r = row(&report, "binance.ticker");
    assert_eq!(r.status, Status::Fail, "{}", report.render());
    assert!(
        r.detail.starts_with("connected but no data"),
        "{}",
        r.detail
    );
    assert!(r.hint.as_deref().unwrap().contains("`binance.ws_url`"));
    assert!(!report.passed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moved_endpoint_answers_but_sends_nothing() {
    // A required feed (OKX is the overseas venue): fails, with acks counted.
    let mut cfg = Config::default();
    cfg.general.overseas = "okx".into();
    let report = doctor_with(cfg, &["okx:moved"]).await;
    let r = row(&report, "okx.ticker");
    assert_eq!(r.status, Status::Fail, "{}", report.render());
    assert!(r.detail.contains("the venue answers"), "{}", r.detail);
    assert!(
        r.hint
            .as_deref()
            .unwrap()
            .contains("moved; see `okx.ws_url`"),
        "{:?}",
        r.hint
    );
    assert!(!report.passed());

    // A liquidation stream: the same diagnosis, a warning only.
    let report = doctor(&["binance_futures:moved"]).await;
    let r = row(&report, "binance.liquidations");
    assert_eq!(r.status, Status::Warn, "{}", report.render());
    assert!(
        r.detail.starts_with("connected but no data"),
        "{}",
        r.detail
    );
    assert!(
        r.hint
            .as_deref()
            .unwrap()
            .contains("`liquidations.binance_ws_url`")
    );
    assert!(report.passed(), "{}", report.render());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_frames_are_parse_errors() {
    let report = doctor(&["upbit:malformed=3"]).await;
    let r = row(&report, "upbit.ticker");
    assert_eq!(r.status, Status::Fail, "{}", report.render());
    assert!(r.detail.contains("did not parse"), "{}", r.detail);
    assert!(
        r.hint
            .as_deref()
            .unwrap()
            .contains("protocol may have changed")
    );
    assert!(!report.passed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rest_5xx_names_the_status() {
    let report = doctor(&["upbit:rest_status=503"]).await;
    let markets = row(&report, "upbit.markets");
    assert_eq!(markets.status, Status::Fail, "{}", report.render());
    assert!(markets.detail.contains("503"), "{}", markets.detail);
    assert!(markets.hint.as_deref().unwrap().contains("HTTP 503"));
    let ticker = row(&report, "upbit.ticker");
    assert!(
        ticker.detail.contains("waits for upbit.markets"),
        "{}",
        ticker.detail
    );
    assert!(!report.passed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scheduled_drops_are_reported() {
    let report = doctor(&["upbit:drop_every=1"]).await;
    let r = row(&report, "upbit.ticker");
    assert_eq!(r.status, Status::Fail, "{}", report.render());
    assert!(r.detail.contains("connection dropped"), "{}", r.detail);
    assert!(!report.passed());
}

fn kimp(args: &[&str], config: Option<&str>) -> std::process::Output {
    let data = tempfile::tempdir().unwrap();
    let home = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_kimp"));
    cmd.args(args)
        .arg("--data-dir")
        .arg(data.path())
        .env_clear()
        .env("HOME", home.path())
        .env("PATH", std::env::var_os("PATH").unwrap_or_default());
    if let Some(text) = config {
        let path = data.path().join("kimp.toml");
        std::fs::write(&path, text).unwrap();
        cmd.arg("--config").arg(path);
    }
    cmd.output().unwrap()
}

#[test]
fn binary_exit_status_follows_the_report() {
    let out = kimp(&["doctor", "--demo", "--json", "--window", "5"], None);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["demo"], true);
    let checks = report["checks"].as_array().unwrap();
    assert!(checks.iter().all(|c| c["status"] == "ok"), "{stdout}");

    let config = "[simulator]\nfaults = [\"binance:silent\"]\n";
    let out = kimp(&["doctor", "--demo", "--window", "2"], Some(config));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    let line = stdout
        .lines()
        .find(|l| l.starts_with("binance.ticker"))
        .unwrap();
    assert!(
        line.contains("FAIL") && line.contains("connected but no data"),
        "{line}"
    );
    assert!(stdout.contains("see `binance.ws_url`"), "{stdout}");

    let config = "[simulator]\nfaults = [\"binance:whisper\"]\n";
    let out = kimp(&["doctor", "--demo"], Some(config));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr.contains("line 2: simulator.faults[0]"), "{stderr}");
}
