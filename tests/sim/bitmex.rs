//! `BitMEX` realtime: welcome, acks, the `instrument` and `liquidation` partials, then each order's
//! insert → (update) → delete, sparse instrument updates, text ping, request errors.

use super::*;

const URL: &str = "/bitmex/realtime?subscribe=liquidation,instrument";

/// Checks a `liquidation` frame and records its actions per `orderID`; returns its inserts.
fn drain(v: &Value, orders: &mut BTreeMap<String, Vec<String>>) -> u64 {
    let action = v["action"].as_str().unwrap();
    let mut new = 0;
    for row in v["data"].as_array().unwrap() {
        let id = row["orderID"].as_str().unwrap().to_owned();
        assert_eq!(id.len(), 36);
        let keys: BTreeSet<&str> = row
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        if action == "delete" {
            assert_eq!(keys, BTreeSet::from(["orderID", "symbol"]));
        } else {
            assert_eq!(
                keys,
                BTreeSet::from(["orderID", "symbol", "side", "price", "leavesQty"])
            );
            assert!(["Buy", "Sell"].contains(&row["side"].as_str().unwrap()));
            assert!(row["price"].as_f64().unwrap() > 0.0);
            let leaves = row["leavesQty"].as_u64().unwrap();
            match row["symbol"].as_str().unwrap() {
                "XBTUSD" => assert_eq!(leaves % 100, 0),
                "XBTUSDT" => assert_eq!(leaves % 1_000, 0),
                _ => assert!(leaves >= 1),
            }
        }
        if action == "insert" {
            new += 1;
        }
        orders.entry(id).or_default().push(action.to_owned());
    }
    new
}

/// Welcome, both acks, the `liquidation` partial (empty) and the `instrument` partial.
async fn handshake(ws: &mut Ws) {
    let welcome = next_text_json(ws).await;
    assert_eq!(welcome["info"], "Welcome to the BitMEX Realtime API.");
    assert!(welcome["version"].is_string() && welcome["docs"].is_string());
    assert!(welcome["timestamp"].as_str().unwrap().ends_with('Z'));
    assert!(welcome["limit"]["remaining"].is_u64());
    for table in ["liquidation", "instrument"] {
        let ack = next_text_json(ws).await;
        assert_eq!(
            (ack["success"].as_bool(), ack["subscribe"].as_str()),
            (Some(true), Some(table))
        );
        assert_eq!(ack["request"]["op"], "subscribe");
    }
    let liq = next_text_json(ws).await;
    assert_eq!(
        (liq["table"].as_str(), liq["action"].as_str()),
        (Some("liquidation"), Some("partial"))
    );
    assert_eq!(liq["keys"], serde_json::json!(["orderID"]));
    assert!(liq["types"].is_object() && liq["filter"].is_object());
    assert_eq!(
        liq["data"],
        serde_json::json!([]),
        "nothing working at the start"
    );
    let inst = next_text_json(ws).await;
    assert_eq!(
        (inst["table"].as_str(), inst["action"].as_str()),
        (Some("instrument"), Some("partial"))
    );
    assert_eq!(inst["keys"], serde_json::json!(["symbol"]));
    let rows = inst["data"].as_array().unwrap();
    let row = |s: &str| rows.iter().find(|r| r["symbol"] == s).unwrap();
    let xbtusd = row("XBTUSD");
    assert_eq!(
        (
            &xbtusd["isInverse"],
            &xbtusd["multiplier"],
            &xbtusd["underlyingToSettleMultiplier"],
            &xbtusd["quoteCurrency"]
        ),
        (
            &serde_json::json!(true),
            &serde_json::json!(-100_000_000),
            &serde_json::json!(-100_000_000),
            &serde_json::json!("USD")
        )
    );
    let ethusd = row("ETHUSD");
    assert_eq!(
        (
            &ethusd["isQuanto"],
            &ethusd["multiplier"],
            &ethusd["settlCurrency"]
        ),
        (
            &serde_json::json!(true),
            &serde_json::json!(100),
            &serde_json::json!("XBt")
        )
    );
    let xbtusdt = row("XBTUSDT");
    assert_eq!(
        (
            &xbtusdt["underlyingToPositionMultiplier"],
            &xbtusdt["quoteCurrency"],
            &xbtusdt["isInverse"]
        ),
        (
            &serde_json::json!(1_000_000),
            &serde_json::json!("USDT"),
            &serde_json::json!(false)
        )
    );
    for r in rows {
        for k in ["lastPrice", "markPrice", "lastChangePcnt"] {
            assert!(r[k].is_number(), "{k}: {r}");
        }
    }
}

#[tokio::test]
async fn welcome_acks_partials_then_order_lifecycles() {
    let sim = start_with(quiet_options()).await;
    let mut ws = connect(&sim, URL).await;
    handshake(&mut ws).await;

    sim.faults().set_liquidation_rate(400.0);
    // orderID → actions seen, in order.
    let mut orders: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let (mut inserts, mut instrument_updates) = (0_u64, 0);
    let deadline = Instant::now() + Duration::from_secs(1);
    while Instant::now() < deadline {
        let v = next_text_json(&mut ws).await;
        match v["table"].as_str().unwrap() {
            "liquidation" => inserts += drain(&v, &mut orders),
            "instrument" => {
                assert_eq!(v["action"], "update");
                let r = &v["data"][0];
                assert!(
                    r["symbol"].is_string()
                        && r["markPrice"].is_number()
                        && r["timestamp"].is_string()
                );
                instrument_updates += 1;
            }
            other => panic!("{other}"),
        }
    }
    sim.faults().set_liquidation_rate(0.0);
    // Orders still working are deleted within a few steps.
    let deadline = Instant::now() + Duration::from_millis(400);
    while Instant::now() < deadline {
        let Some(Message::Text(t)) = next_any(&mut ws, Duration::from_millis(200)).await else {
            continue;
        };
        let v: Value = serde_json::from_str(t.as_str()).unwrap();
        if v["table"] == "liquidation" {
            inserts += drain(&v, &mut orders);
        }
    }
    assert!(inserts > 50, "{inserts}");
    assert!(instrument_updates >= 4, "{instrument_updates}");
    let mut updated = 0;
    for (id, actions) in &orders {
        assert_eq!(
            actions.first().map(String::as_str),
            Some("insert"),
            "{id}: {actions:?}"
        );
        assert_eq!(
            actions.last().map(String::as_str),
            Some("delete"),
            "{id}: {actions:?}"
        );
        assert!(actions.len() <= 3, "{id}: {actions:?}");
        updated += usize::from(actions.len() == 3);
    }
    assert!(updated > 0, "some orders are updated before their delete");
    let stats = sim.stats();
    assert_eq!(stats.bitmex_liquidations_sent, inserts, "{stats:?}");
    assert_eq!(stats.bitmex_liquidations_generated, inserts, "{stats:?}");

    send_text(&mut ws, "ping").await;
    loop {
        let msg = next_data(&mut ws).await;
        if msg.to_text().unwrap() == "pong" {
            break;
        }
    }
    assert_eq!(sim.stats().bitmex_pings, 1);
    sim.shutdown().await;
}

#[tokio::test]
async fn op_subscribe_and_request_errors() {
    let sim = start_with(quiet_options()).await;
    let mut ws = connect(&sim, "/bitmex/realtime").await;
    assert!(next_text_json(&mut ws).await["info"].is_string());
    assert!(
        next_any(&mut ws, Duration::from_millis(300))
            .await
            .is_none(),
        "nothing unasked after the welcome"
    );
    send_text(&mut ws, r#"{"op":"subscribe","args":["liquidation"]}"#).await;
    let ack = next_text_json(&mut ws).await;
    assert_eq!(
        ack,
        serde_json::json!({"success": true, "subscribe": "liquidation", "request": {"op": "subscribe", "args": ["liquidation"]}})
    );
    assert_eq!(next_text_json(&mut ws).await["action"], "partial");
    for (request, why) in [
        (
            r#"{"op":"subscribe","args":"liquidation"}"#,
            "already subscribed",
        ),
        (
            r#"{"op":"subscribe","args":["orderBookL2"]}"#,
            "Unknown table",
        ),
        (r#"{"op":"nope"}"#, "op"),
        ("{garbage", "parse"),
    ] {
        send_text(&mut ws, request).await;
        let v = next_text_json(&mut ws).await;
        assert_eq!(v["status"], 400, "{v}");
        assert!(v["error"].as_str().unwrap().contains(why), "{v}");
    }
    // Instrument updates only after subscribing to the instrument table.
    send_text(&mut ws, r#"{"op":"subscribe","args":["instrument"]}"#).await;
    assert_eq!(next_text_json(&mut ws).await["subscribe"], "instrument");
    assert_eq!(next_text_json(&mut ws).await["table"], "instrument");
    assert_eq!(next_text_json(&mut ws).await["action"], "update");
    sim.shutdown().await;
}
