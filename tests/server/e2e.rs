//! The built binary: `kimp --demo --serve --headless` serves all three services on the ports of a
//! config file (0 = free ports, announced on stderr), answers HTTP, and stops cleanly on SIGTERM;
//! `--role liquidation` binds only its own service.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::Value;

/// Reads stderr to the end on a thread, sending each `kimp: SERVICE listening on http://ADDR`
/// announcement as it appears (the pipe is drained so the child never blocks on it).
fn announcements(stderr: impl BufRead + Send + 'static) -> mpsc::Receiver<(String, String)> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in stderr.lines().map_while(Result::ok) {
            let found = line
                .strip_prefix("kimp: ")
                .and_then(|rest| rest.split_once(" listening on "));
            if let Some((service, url)) = found {
                let _ = tx.send((service.to_string(), url.to_string()));
            }
        }
    });
    rx
}

/// Starts the binary with `args` on free ports (a temp config) and a temp home and data dir.
fn spawn_kimp(args: &[&str], dir: &Path) -> (Child, mpsc::Receiver<(String, String)>) {
    let config = dir.join("config.toml");
    std::fs::write(
        &config,
        "[server]\ngateway_port = 0\nmarket_port = 0\nliquidation_port = 0\n",
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_kimp"))
        .args(args)
        .arg("--config")
        .arg(&config)
        .arg("--data-dir")
        .arg(dir)
        .env_clear()
        .env("HOME", dir)
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let lines = announcements(BufReader::new(child.stderr.take().unwrap()));
    (child, lines)
}

/// SIGTERM, then the exit status (the process must stop by itself).
async fn terminate(mut child: Child) -> std::process::ExitStatus {
    let pid = child.id().to_string();
    let killed = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(killed.success());
    tokio::task::spawn_blocking(move || child.wait())
        .await
        .unwrap()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_serve_headless_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    let args = [
        "--demo",
        "--serve",
        "--headless",
        "--no-persist",
        "--seed",
        "5",
    ];
    let (child, lines) = spawn_kimp(&args, dir.path());
    let urls: Vec<(String, String)> = (0..3)
        .map(|_| {
            lines
                .recv_timeout(Duration::from_secs(60))
                .expect("listening lines")
        })
        .collect();
    let url = |service: &str| {
        urls.iter().find(|(s, _)| s == service).map_or_else(
            || panic!("{service} not announced: {urls:?}"),
            |(_, u)| u.clone(),
        )
    };
    let http = reqwest::Client::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let doc: Value = loop {
        let doc: Value = http
            .get(format!("{}/api/coins/latest", url("gateway")))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let priced = doc["coins"]
            .as_array()
            .is_some_and(|c| c.iter().any(|c| c["premium_percent"].is_f64()));
        if priced {
            break doc;
        }
        assert!(tokio::time::Instant::now() < deadline, "no premiums: {doc}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(doc["pair"]["domestic"], "upbit");
    let rate = http
        .get(format!("{}/api/market/exchange-rate", url("market")))
        .send()
        .await
        .unwrap();
    assert_eq!(rate.status(), 200);
    let summary = http
        .get(format!("{}/api/liquidations/summary", url("liquidation")))
        .send()
        .await
        .unwrap();
    assert_eq!(summary.status(), 200);
    let status = terminate(child).await;
    assert!(status.success(), "exit after SIGTERM: {status:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_role_runs_only_its_service() {
    let dir = tempfile::tempdir().unwrap();
    let args = ["--demo", "--serve", "--role", "liquidation", "--no-persist"];
    let (child, lines) = spawn_kimp(&args, dir.path());
    let (service, url) = lines.recv_timeout(Duration::from_secs(60)).unwrap();
    assert_eq!(service, "liquidation");
    let http = reqwest::Client::new();
    let summary = http
        .get(format!("{url}/api/liquidations/summary"))
        .send()
        .await
        .unwrap();
    assert_eq!(summary.status(), 200);
    let prices = http
        .get(format!("{url}/api/market/prices"))
        .send()
        .await
        .unwrap();
    assert_eq!(prices.status(), 404);
    let status = terminate(child).await;
    assert!(status.success(), "exit after SIGTERM: {status:?}");
    assert!(lines.try_recv().is_err(), "only one service announced");
}
