//! The built binary end to end: `kimp snapshot --demo --json` starts the in-process simulator,
//! runs the real collectors against it and prints the SPEC §6.0 document.
#![allow(
    clippy::unwrap_used,
    reason = "test code: a failed unwrap is a failed test"
)]

use std::process::Command;

use serde_json::Value;

fn kimp(args: &[&str]) -> std::process::Output {
    let data = tempfile::tempdir().unwrap();
    let home = tempfile::tempdir().unwrap();
    Command::new(env!("CARGO_BIN_EXE_kimp"))
        .args(args)
        .arg("--data-dir")
        .arg(data.path())
        // No user config file leaks in: HOME points at an empty dir.
        .env_clear()
        .env("HOME", home.path())
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .output()
        .unwrap()
}

#[test]
fn snapshot_demo_json_prints_the_document() {
    let out = kimp(&["snapshot", "--demo", "--json", "--seed", "7"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "exit {:?}: {stderr}", out.status);
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    for key in [
        "timestamp",
        "pair",
        "exchange_rate",
        "usdt_krw_rate",
        "tether_premium_percent",
        "fx",
        "fear_greed",
        "coins",
        "liquidations",
        "feeds",
    ] {
        assert!(doc.get(key).is_some(), "missing {key}");
    }
    assert_eq!(doc["pair"]["domestic"], "upbit");
    assert_eq!(doc["pair"]["global"], "binance");
    assert!(doc["timestamp"].as_str().unwrap().ends_with('Z'));
    let fx = doc["exchange_rate"].as_f64().unwrap();
    assert!((1_000.0..2_000.0).contains(&fx), "USD/KRW {fx}");
    assert_eq!(doc["fx"]["source"], "dunamu");
    assert!(doc["fx"]["age_ms"].as_i64().unwrap() >= 0);
    let coins = doc["coins"].as_array().unwrap();
    let priced: Vec<&Value> = coins
        .iter()
        .filter(|c| c["premium_percent"].is_f64() && c["premium_usdt_percent"].is_f64())
        .collect();
    assert!(
        priced.len() >= 20,
        "only {} coins with both premiums",
        priced.len()
    );
    let btc = coins.iter().find(|c| c["symbol"] == "BTC").unwrap();
    assert_eq!(btc["name_ko"], "비트코인");
    assert_eq!(btc["prices"]["upbit"]["currency"], "KRW");
    assert_eq!(btc["prices"]["binance"]["currency"], "USDT");
    // The premium in the document is the one its own legs give.
    let k = btc["prices"]["upbit"]["price"].as_f64().unwrap();
    let g = btc["prices"]["binance"]["price"].as_f64().unwrap();
    let expected = (k / (g * fx) - 1.0) * 100.0;
    assert!((btc["premium_percent"].as_f64().unwrap() - expected).abs() < 1e-9);
    // Upbit-only coins are marked, not compared.
    let med = coins.iter().find(|c| c["symbol"] == "MED").unwrap();
    assert!(med["premium_percent"].is_null());
    for feed in doc["feeds"].as_array().unwrap() {
        if feed["feed"].as_str().unwrap().split('.').nth(1) == Some("rest") {
            // REST fallbacks stand by while their WebSocket is live.
            assert_eq!(feed["state"], "disabled", "{feed}");
            continue;
        }
        if feed["feed"].as_str().unwrap().split('.').nth(1) == Some("liquidations") {
            continue;
        }
        assert_eq!(feed["state"], "live", "{feed}");
        assert!(feed["messages"].as_u64().unwrap() > 0);
    }
    // Every venue quotes the majors, whatever the pair.
    for symbol in ["BTC", "ETH", "XRP"] {
        let coin = coins.iter().find(|c| c["symbol"] == symbol).unwrap();
        for venue in ["upbit", "bithumb", "binance", "bybit", "okx"] {
            assert!(
                coin["prices"][venue]["price"].as_f64().unwrap() > 0.0,
                "{symbol} on {venue}"
            );
        }
    }
    let fng = doc["fear_greed"]["value"].as_u64().unwrap();
    assert!(fng <= 100);
    assert!(doc["fear_greed"]["class"].is_string());
}

#[test]
fn pair_selection_changes_the_premium_columns() {
    let out = kimp(&[
        "snapshot",
        "--demo",
        "--json",
        "--domestic",
        "bithumb",
        "--overseas",
        "bybit",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["pair"]["domestic"], "bithumb");
    assert_eq!(doc["pair"]["global"], "bybit");
    let fx = doc["exchange_rate"].as_f64().unwrap();
    let u = doc["usdt_krw_rate"].as_f64().unwrap();
    let btc = doc["coins"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["symbol"] == "BTC")
        .unwrap();
    let k = btc["prices"]["bithumb"]["price"].as_f64().unwrap();
    let g = btc["prices"]["bybit"]["price"].as_f64().unwrap();
    assert!((btc["premium_percent"].as_f64().unwrap() - (k / (g * fx) - 1.0) * 100.0).abs() < 1e-9);
    assert!(
        (btc["premium_usdt_percent"].as_f64().unwrap() - (k / (g * u) - 1.0) * 100.0).abs() < 1e-9
    );
    // Bithumb's ALT (ArchLoot) is not Binance's or Bybit's ALT (AltLayer): never compared.
    let alt = doc["coins"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["symbol"] == "ALT")
        .unwrap();
    assert!(alt["premium_percent"].is_null());
    assert!(
        alt["flags"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f == "ticker_clash")
    );
}

#[test]
fn snapshot_table_is_human_readable() {
    let out = kimp(&["snapshot", "--demo"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("USD/KRW "), "{text}");
    assert!(text.contains("비트코인"));
    assert!(text.contains("김프"));
    assert!(text.lines().count() > 20);
}

#[test]
fn snapshot_with_nothing_reachable_fails_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("kimp.toml");
    // Every endpoint points at a closed local port.
    std::fs::write(
        &cfg,
        r#"
[upbit]
ws_url = "ws://127.0.0.1:9/ws"
rest_url = "http://127.0.0.1:9"
[binance]
ws_url = "ws://127.0.0.1:9/a"
fallback_ws_url = "ws://127.0.0.1:9/b"
[fx]
dunamu_url = "http://127.0.0.1:9/d"
open_er_api_url = "http://127.0.0.1:9/o"
frankfurter_url = "http://127.0.0.1:9/f"
"#,
    )
    .unwrap();
    let out = kimp(&[
        "snapshot",
        "--json",
        "--wait",
        "2",
        "--config",
        cfg.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    assert!(out.stdout.is_empty(), "nothing to print");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("no feed delivered anything"), "{stderr}");
}

#[test]
fn bad_config_names_file_line_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("kimp.toml");
    std::fs::write(&cfg, "[upbit]\nping_interval_secs = \"soon\"\n").unwrap();
    let out = kimp(&["snapshot", "--config", cfg.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("line 2"), "{stderr}");
    assert!(stderr.contains("upbit.ping_interval_secs"), "{stderr}");
}
