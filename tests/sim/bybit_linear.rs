//! Bybit linear: the paged instrument list, `allLiquidation` subscriptions within the args cap,
//! batched multi-entry pushes with the position side, linear acks and pongs.

use super::*;
use kimp::sim::LiqExchange;

const WS: &str = "/bybit/v5/public/linear";
const INFO: &str = "/bybit/v5/market/instruments-info?category=linear";

/// Every row of the linear list, following `nextPageCursor`; also the page sizes.
async fn all_rows(sim: &Simulator, limit: Option<usize>) -> (Vec<Value>, Vec<usize>) {
    let mut rows = Vec::new();
    let mut pages = Vec::new();
    let mut cursor = String::new();
    loop {
        let mut path = INFO.to_owned();
        if let Some(l) = limit {
            path = format!("{path}&limit={l}");
        }
        if !cursor.is_empty() {
            // Passed on as received (already percent-encoded).
            path = format!("{path}&cursor={cursor}");
        }
        let (status, body) = get(sim, &path).await;
        assert_eq!(status, 200);
        let v: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(
            (v["retCode"].as_i64(), v["retMsg"].as_str()),
            (Some(0), Some("OK"))
        );
        assert_eq!(v["result"]["category"], "linear");
        let list = v["result"]["list"].as_array().unwrap();
        pages.push(list.len());
        rows.extend(list.iter().cloned());
        v["result"]["nextPageCursor"]
            .as_str()
            .unwrap()
            .clone_into(&mut cursor);
        if cursor.is_empty() {
            return (rows, pages);
        }
        assert!(cursor.starts_with("first%3D"), "{cursor}");
        assert!(pages.len() < 10, "cursor loop");
    }
}

#[tokio::test]
async fn instruments_info_pages_by_cursor() {
    let sim = start_with(SimOptions {
        bybit_instruments_page_max: 300,
        ..options()
    })
    .await;
    let (rows, pages) = all_rows(&sim, None).await;
    assert_eq!(
        pages,
        [300, 300, 240],
        "page max below the default limit of 500"
    );
    let (again, pages) = all_rows(&sim, Some(1_000)).await;
    assert_eq!(pages, [300, 300, 240]);
    assert_eq!(rows, again);
    let symbols: BTreeSet<&str> = rows.iter().map(|r| r["symbol"].as_str().unwrap()).collect();
    assert_eq!(symbols.len(), 840, "no duplicates across pages");
    let sorted: Vec<&str> = rows.iter().map(|r| r["symbol"].as_str().unwrap()).collect();
    assert!(sorted.windows(2).all(|w| w[0] < w[1]), "sorted by symbol");
    for s in [
        "BTCUSDT",
        "1000PEPEUSDT",
        "SHIB1000USDT",
        "MNTUSDT",
        "BTCPERP",
        "BTCUSDT-25DEC26",
    ] {
        assert!(symbols.contains(s), "{s}");
    }
    assert!(!symbols.contains("STXUSDT"), "Bybit does not list STX");
    let btc = rows.iter().find(|r| r["symbol"] == "BTCUSDT").unwrap();
    assert_eq!(
        (
            btc["contractType"].as_str(),
            btc["status"].as_str(),
            btc["baseCoin"].as_str(),
            btc["quoteCoin"].as_str()
        ),
        (
            Some("LinearPerpetual"),
            Some("Trading"),
            Some("BTC"),
            Some("USDT")
        )
    );
    assert_eq!(btc["priceFilter"]["tickSize"], "0.10");
    assert_eq!(btc["lotSizeFilter"]["qtyStep"], "0.001");
    assert!(rows.iter().any(|r| r["status"] == "PreLaunch"));
    assert!(rows.iter().any(|r| r["quoteCoin"] == "USDC"));

    // The real default and cap: 500 per page without `limit`.
    let real = start().await;
    let (_, pages) = all_rows(&real, None).await;
    assert_eq!(pages, [500, 340]);
    let (_, pages) = all_rows(&real, Some(1_000)).await;
    assert_eq!(pages, [840]);
    let (_, body) = get(&real, &format!("{INFO}&cursor=bogus")).await;
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["retCode"],
        10001
    );
    let (_, body) = get(&real, "/bybit/v5/market/instruments-info?category=nope").await;
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["retCode"],
        10001
    );
    sim.shutdown().await;
    real.shutdown().await;
}

#[tokio::test]
async fn subscriptions_acks_pongs_and_the_args_cap() {
    let sim = start().await;
    let (rows, _) = all_rows(&sim, Some(1_000)).await;
    let topics: Vec<String> = rows
        .iter()
        .filter(|r| r["status"] == "Trading")
        .map(|r| format!("allLiquidation.{}", r["symbol"].as_str().unwrap()))
        .collect();
    let mut ws = connect(&sim, WS).await;
    // Linear has no per-request limit: 100 topics in one request.
    let (mut accepted, mut refused, mut chars) = (0, 0, 1);
    for (n, chunk) in topics.chunks(100).enumerate() {
        let request =
            serde_json::json!({"req_id": format!("s{n}"), "op": "subscribe", "args": chunk});
        send_text(&mut ws, &request.to_string()).await;
        let ack = next_text_json(&mut ws).await;
        assert_eq!(ack["req_id"], format!("s{n}"));
        assert_eq!(ack["op"], "subscribe");
        let cost: usize = chunk.iter().map(|t| t.len() + 3).sum();
        if ack["success"] == true {
            assert_eq!(ack["ret_msg"], "");
            accepted += chunk.len();
            chars += cost;
        } else {
            assert!(chars + cost > 21_000, "refused below the cap: {ack}");
            refused += chunk.len();
        }
    }
    assert!(accepted >= 700 && refused > 0, "{accepted} {refused}");

    send_text(&mut ws, r#"{"op":"ping"}"#).await;
    let pong = next_text_json(&mut ws).await;
    let keys: Vec<&str> = pong
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        (
            pong["success"].as_bool(),
            pong["ret_msg"].as_str(),
            pong["req_id"].as_str(),
            pong["op"].as_str()
        ),
        (Some(true), Some("pong"), Some(""), Some("ping")),
        "{keys:?}"
    );
    assert!(pong["conn_id"].is_string());

    let mut other = connect(&sim, WS).await;
    for (request, why) in [
        (
            r#"{"op":"subscribe","args":["allLiquidation.NOPEUSDT"]}"#,
            "Invalid symbol",
        ),
        (
            r#"{"op":"subscribe","args":["liquidation.BTCUSDT"]}"#,
            "handler not found",
        ),
    ] {
        send_text(&mut other, request).await;
        let v = next_text_json(&mut other).await;
        assert_eq!(
            (v["success"].as_bool(), v["req_id"].as_str()),
            (Some(false), Some(""))
        );
        assert!(v["ret_msg"].as_str().unwrap().contains(why), "{v}");
    }
    send_text(
        &mut other,
        r#"{"op":"subscribe","args":["allLiquidation.BTCUSDT"]}"#,
    )
    .await;
    let ack = next_text_json(&mut other).await;
    assert_eq!(
        (ack["success"].as_bool(), ack["ret_msg"].as_str()),
        (Some(true), Some(""))
    );
    send_text(
        &mut other,
        r#"{"op":"subscribe","args":["allLiquidation.BTCUSDT"]}"#,
    )
    .await;
    let again = next_text_json(&mut other).await;
    assert!(
        again["ret_msg"]
            .as_str()
            .unwrap()
            .contains("already subscribed")
    );
    assert_eq!(sim.stats().bybit_linear_pings, 1);
    sim.shutdown().await;
}

#[tokio::test]
async fn batches_carry_several_position_side_entries() {
    let sim = start_with(quiet_options()).await;
    let model = MarketModel::new(1, 0);
    let symbols: Vec<String> = model
        .liquidation_contracts(LiqExchange::Bybit)
        .iter()
        .map(|c| format!("allLiquidation.{}", c.symbol))
        .collect();
    let mut ws = connect(&sim, WS).await;
    let request = serde_json::json!({"op": "subscribe", "args": symbols});
    send_text(&mut ws, &request.to_string()).await;
    assert_eq!(next_text_json(&mut ws).await["success"], true);
    sim.faults().set_liquidation_rate(300.0);
    let mut entries = 0_u64;
    let mut multi = false;
    let mut sides = BTreeSet::new();
    let deadline = Instant::now() + Duration::from_secs(1);
    while Instant::now() < deadline {
        let v = next_text_json(&mut ws).await;
        let topic = v["topic"].as_str().unwrap();
        let symbol = topic.strip_prefix("allLiquidation.").unwrap();
        assert_eq!(v["type"], "snapshot");
        let ts = v["ts"].as_u64().unwrap();
        let data = v["data"].as_array().unwrap();
        multi |= data.len() > 1;
        for d in data {
            let keys: Vec<&str> = d.as_object().unwrap().keys().map(String::as_str).collect();
            assert_eq!(keys.len(), 5, "{d}");
            assert_eq!(d["s"], symbol);
            assert!(d["T"].as_u64().unwrap() <= ts);
            sides.insert(d["S"].as_str().unwrap().to_owned());
            let (v, p): (f64, f64) = (
                d["v"].as_str().unwrap().parse().unwrap(),
                d["p"].as_str().unwrap().parse().unwrap(),
            );
            assert!(v > 0.0 && p > 0.0);
            if symbol == "BTCUSDT" {
                assert_eq!(
                    d["p"].as_str().unwrap().split('.').nth(1).map(str::len),
                    Some(2)
                );
            }
        }
        entries += data.len() as u64;
    }
    sim.faults().set_liquidation_rate(0.0);
    // The last batch leaves within 500 ms.
    while let Some(msg) = next_any(&mut ws, Duration::from_millis(600)).await {
        if let Message::Text(t) = msg {
            entries += serde_json::from_str::<Value>(t.as_str()).unwrap()["data"]
                .as_array()
                .unwrap()
                .len() as u64;
        }
    }
    assert!(multi, "several entries per message");
    assert_eq!(sides, BTreeSet::from(["Buy".to_owned(), "Sell".to_owned()]));
    let stats = sim.stats();
    assert_eq!(
        stats.bybit_liquidations_sent, entries,
        "nothing lost: {stats:?}"
    );
    assert_eq!(stats.bybit_liquidations_generated, entries, "{stats:?}");
    sim.shutdown().await;
}
