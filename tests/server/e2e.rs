//! The built binary: `kimp --demo --serve --headless` serves all three services on the ports of a
//! config file (0 = free ports, announced on stderr), answers HTTP, and stops cleanly on SIGTERM;
//! the three-process split (`--role market`, `--role liquidation`, `--role gateway`) works, each
//! process serving only its own service and logging to its own file.

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
    // One process, all roles: events are routed to each role's file.
    for file in ["market.log", "liquidation.log", "gateway.log", "kimp.log"] {
        assert!(log_bytes(dir.path(), file) > 0, "{file} empty");
    }
}

/// Files in `dir/logs` whose name starts with `prefix`, with their total size.
fn log_bytes(dir: &Path, prefix: &str) -> u64 {
    std::fs::read_dir(dir.join("logs"))
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.file_name().to_string_lossy().starts_with(prefix))
        .map(|e| e.metadata().unwrap().len())
        .sum()
}

/// The README's three-process split: `--role market`, `--role liquidation`, and a gateway that
/// takes `--market-url`/`--liquidation-url`; each role runs only its service and logs to its
/// own file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_processes_split_deployment() {
    let dirs: Vec<_> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let common = ["--demo", "--serve", "--headless", "--no-persist"];
    let (market, market_lines) = spawn_kimp(
        &[&common[..], &["--role", "market"]].concat(),
        dirs[0].path(),
    );
    let (liquidation, liquidation_lines) = spawn_kimp(
        &[&common[..], &["--role", "liquidation"]].concat(),
        dirs[1].path(),
    );
    let wait = Duration::from_secs(60);
    let (service, market_url) = market_lines.recv_timeout(wait).unwrap();
    assert_eq!(service, "market");
    let (service, liquidation_url) = liquidation_lines.recv_timeout(wait).unwrap();
    assert_eq!(service, "liquidation");
    let upstreams = [
        "--role",
        "gateway",
        "--market-url",
        &market_url,
        "--liquidation-url",
        &liquidation_url,
    ];
    let (gateway, gateway_lines) = spawn_kimp(&[&common[..], &upstreams].concat(), dirs[2].path());
    let (service, gateway_url) = gateway_lines.recv_timeout(wait).unwrap();
    assert_eq!(service, "gateway");

    let http = reqwest::Client::new();
    let get = |url: String| {
        let http = http.clone();
        async move {
            let response = http.get(url).send().await.unwrap();
            let status = response.status().as_u16();
            (
                status,
                response.json::<Value>().await.unwrap_or(Value::Null),
            )
        }
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let (_, doc) = get(format!("{gateway_url}/api/coins/latest")).await;
        let priced = doc["coins"]
            .as_array()
            .is_some_and(|c| c.iter().any(|c| c["premium_percent"].is_f64()));
        let liquidations = doc["liquidations"]["total"]["24h"].is_object();
        if priced && liquidations && doc["fear_greed"]["value"].is_number() {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "gateway never complete: {doc}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Each role serves only its own API.
    assert_eq!(
        get(format!("{liquidation_url}/api/market/prices")).await.0,
        404
    );
    assert_eq!(
        get(format!("{market_url}/api/liquidations/summary"))
            .await
            .0,
        404
    );
    assert_eq!(get(format!("{gateway_url}/api/market/prices")).await.0, 404);
    assert_eq!(get(format!("{gateway_url}/health")).await.0, 200);

    for child in [gateway, market, liquidation] {
        let status = terminate(child).await;
        assert!(status.success(), "exit after SIGTERM: {status:?}");
    }
    for lines in [market_lines, liquidation_lines, gateway_lines] {
        assert!(lines.try_recv().is_err(), "one service per process");
    }
    for (dir, file) in dirs
        .iter()
        .zip(["market.log", "liquidation.log", "gateway.log"])
    {
        assert!(log_bytes(dir.path(), file) > 0, "{file} empty");
        for other in ["market.log", "liquidation.log", "gateway.log", "kimp.log"] {
            if other != file {
                assert_eq!(log_bytes(dir.path(), other), 0, "{other} next to {file}");
            }
        }
    }
}
