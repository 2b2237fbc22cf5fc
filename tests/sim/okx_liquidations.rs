//! OKX `liquidation-orders` (SWAP) on the public socket: the ack, sizes in contracts, late
//! re-deliveries, and the SWAP instrument list with contract values.

use super::*;

const WS: &str = "/okx/ws/v5/public";
const SUBSCRIBE: &str =
    r#"{"op":"subscribe","args":[{"channel":"liquidation-orders","instType":"SWAP"}]}"#;

#[tokio::test]
async fn swap_instruments_carry_contract_values() {
    let sim = start().await;
    let (status, body) = get(&sim, "/okx/api/v5/public/instruments?instType=SWAP").await;
    assert_eq!(status, 200);
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["code"], "0");
    let rows = v["data"].as_array().unwrap();
    let row = |id: &str| rows.iter().find(|r| r["instId"] == id).unwrap();
    let btc = row("BTC-USDT-SWAP");
    assert_eq!(
        (
            btc["ctType"].as_str(),
            btc["ctVal"].as_str(),
            btc["ctValCcy"].as_str(),
            btc["settleCcy"].as_str()
        ),
        (Some("linear"), Some("0.01"), Some("BTC"), Some("USDT"))
    );
    assert_eq!(row("PEPE-USDT-SWAP")["ctVal"], "10000000");
    let inverse = row("BTC-USD-SWAP");
    assert_eq!(
        (
            inverse["ctType"].as_str(),
            inverse["ctVal"].as_str(),
            inverse["ctValCcy"].as_str()
        ),
        (Some("inverse"), Some("100"), Some("USD"))
    );
    assert_eq!(row("ETH-USD-SWAP")["ctVal"], "10");
    assert!(
        rows.iter()
            .all(|r| r["instType"] == "SWAP" && r["state"] == "live")
    );
    assert!(
        !rows.iter().any(|r| r["instId"] == "HBAR-USDT-SWAP"),
        "OKX does not list HBAR"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn liquidation_orders_ack_push_and_redeliver() {
    let sim = start_with(quiet_options()).await;
    let mut ws = connect(&sim, WS).await;
    send_text(&mut ws, SUBSCRIBE).await;
    let ack = next_text_json(&mut ws).await;
    assert_eq!(ack["event"], "subscribe");
    assert_eq!(
        ack["arg"],
        serde_json::json!({"channel": "liquidation-orders", "instType": "SWAP"})
    );
    assert!(ack["connId"].is_string());
    send_text(
        &mut ws,
        r#"{"op":"subscribe","args":[{"channel":"liquidation-orders","instType":"SPOTS"}]}"#,
    )
    .await;
    assert_eq!(next_text_json(&mut ws).await["code"], "60018");

    sim.faults().set_liquidation_rate(400.0);
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let (mut details, mut repeats, mut frames) = (0_u64, 0_u64, 0_usize);
    let mut pos_sides = BTreeSet::new();
    let deadline = Instant::now() + Duration::from_millis(800);
    while Instant::now() < deadline {
        let v = next_text_json(&mut ws).await;
        frames += 1;
        assert_eq!(v["arg"]["channel"], "liquidation-orders");
        let data = v["data"].as_array().unwrap();
        assert_eq!(data.len(), 1);
        let row = &data[0];
        let inst = row["instId"].as_str().unwrap();
        assert!(inst.ends_with("-SWAP"), "{inst}");
        assert_eq!(row["instType"], "SWAP");
        assert_eq!(row["uly"].as_str(), inst.strip_suffix("-SWAP"));
        assert_eq!(row["instFamily"], row["uly"]);
        for d in row["details"].as_array().unwrap() {
            let keys: Vec<&str> = d.as_object().unwrap().keys().map(String::as_str).collect();
            assert_eq!(
                keys,
                ["bkLoss", "bkPx", "ccy", "posSide", "side", "sz", "ts"]
            );
            assert!(d.as_object().unwrap().values().all(Value::is_string), "{d}");
            let pos = d["posSide"].as_str().unwrap();
            let side = d["side"].as_str().unwrap();
            match pos {
                "long" => assert_eq!(side, "sell"),
                "short" => assert_eq!(side, "buy"),
                _ => assert_eq!(pos, "net"),
            }
            pos_sides.insert(pos.to_owned());
            let sz: f64 = d["sz"].as_str().unwrap().parse().unwrap();
            assert!(sz > 0.0);
            if inst == "BTC-USD-SWAP" {
                assert!(sz.fract().abs() < 1e-12, "whole contracts of 100 USD");
            }
            let key = format!("{inst}|{d}");
            let n = seen.entry(key).or_default();
            *n += 1;
            if *n > 1 {
                repeats += 1;
            } else {
                details += 1;
            }
        }
    }
    sim.faults().set_liquidation_rate(0.0);
    while let Some(msg) = next_any(&mut ws, Duration::from_millis(600)).await {
        // Pending re-deliveries still arrive (up to 6 s of market time: 0.5 s here).
        if let Message::Text(t) = msg {
            let v: Value = serde_json::from_str(t.as_str()).unwrap();
            for d in v["data"][0]["details"].as_array().unwrap() {
                let key = format!("{}|{d}", v["data"][0]["instId"].as_str().unwrap());
                let n = seen.entry(key).or_default();
                *n += 1;
                if *n > 1 {
                    repeats += 1;
                } else {
                    details += 1;
                }
            }
        }
    }
    assert!(frames > 20 && details > 80, "{frames} {details}");
    assert!(repeats > 0, "late re-deliveries");
    assert_eq!(pos_sides.len(), 3, "{pos_sides:?}");
    // Two different liquidations with identical details would look like a re-delivery here; the
    // totals cannot be fooled.
    let stats = sim.stats();
    let sent = stats.okx_liquidations_sent;
    assert_eq!(
        sent + stats.okx_liquidations_redelivered,
        details + repeats,
        "{stats:?}"
    );
    assert!(
        stats.okx_liquidations_redelivered > 0 && repeats >= stats.okx_liquidations_redelivered
    );
    assert_eq!(
        stats.okx_liquidations_generated, sent,
        "every one shown: {stats:?}"
    );
    sim.shutdown().await;
}
