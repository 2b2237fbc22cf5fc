//! Binance USD-M: `forceOrder` sampled to one per symbol per second, the mark-price canary every
//! second, server pings, and the legacy route that connects and stays silent.

use super::*;

const MARKET: &str = "/binance-futures/market/stream?streams=!forceOrder@arr/!markPrice@arr@1s";

/// Reads every text frame for `span`, answering pings (tungstenite does while reading).
async fn collect(ws: &mut Ws, span: Duration) -> Vec<Value> {
    let deadline = Instant::now() + span;
    let mut out = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return out;
        }
        match next_any(ws, left).await {
            Some(Message::Text(text)) => out.push(serde_json::from_str(text.as_str()).unwrap()),
            Some(_) => {}
            None => return out,
        }
    }
}

#[tokio::test]
async fn force_orders_are_sampled_and_the_canary_ticks_every_second() {
    let sim = start().await;
    let mut ws = connect(&sim, MARKET).await;
    sim.faults().set_liquidation_rate(300.0);
    let frames = collect(&mut ws, Duration::from_millis(1_800)).await;
    sim.faults().set_liquidation_rate(0.0);

    let mut last_push: BTreeMap<String, u64> = BTreeMap::new();
    let mut per_push: BTreeMap<u64, BTreeSet<String>> = BTreeMap::new();
    let (mut orders, mut canaries) = (0, Vec::new());
    for f in &frames {
        let data = &f["data"];
        match f["stream"].as_str().unwrap() {
            "!forceOrder@arr" => {
                orders += 1;
                assert_eq!(data["e"], "forceOrder");
                let o = &data["o"];
                let keys: BTreeSet<&str> =
                    o.as_object().unwrap().keys().map(String::as_str).collect();
                let expected: BTreeSet<&str> =
                    ["s", "S", "o", "f", "q", "p", "ap", "X", "l", "z", "T"].into();
                assert_eq!(keys, expected, "{o}");
                assert_eq!(
                    (o["o"].as_str(), o["f"].as_str(), o["X"].as_str()),
                    (Some("LIMIT"), Some("IOC"), Some("FILLED"))
                );
                assert!(["SELL", "BUY"].contains(&o["S"].as_str().unwrap()));
                for k in ["q", "p", "ap", "l", "z"] {
                    let n: f64 = o[k].as_str().unwrap().parse().unwrap();
                    assert!(n > 0.0, "{k}: {o}");
                }
                // SELL closes a long: the order price sits below the fill.
                let (p, ap): (f64, f64) = (
                    o["p"].as_str().unwrap().parse().unwrap(),
                    o["ap"].as_str().unwrap().parse().unwrap(),
                );
                if o["S"] == "SELL" {
                    assert!(p <= ap, "{o}");
                } else {
                    assert!(p >= ap, "{o}");
                }
                let (e, t) = (data["E"].as_u64().unwrap(), o["T"].as_u64().unwrap());
                assert!(e >= t);
                let symbol = o["s"].as_str().unwrap().to_owned();
                assert!(symbol.ends_with("USDT"), "{symbol}");
                assert!(
                    per_push.entry(e).or_default().insert(symbol.clone()),
                    "one per symbol per push"
                );
                if let Some(prev) = last_push.insert(symbol.clone(), e) {
                    assert!(
                        e >= prev + 950,
                        "{symbol}: pushes {prev} and {e} under a second apart"
                    );
                }
            }
            "!markPrice@arr@1s" => {
                let list = data.as_array().unwrap();
                let all = MarketModel::new(1, 0)
                    .liquidation_contracts(kimp::sim::LiqExchange::Binance)
                    .len();
                assert_eq!(list.len(), all, "every symbol");
                let names: BTreeSet<&str> = list.iter().map(|m| m["s"].as_str().unwrap()).collect();
                for s in ["BTCUSDT", "ETHUSDT", "1000PEPEUSDT", "1000SHIBUSDT"] {
                    assert!(names.contains(s), "{s}");
                }
                assert!(!names.contains("PEPEUSDT"));
                let btc = list.iter().find(|m| m["s"] == "BTCUSDT").unwrap();
                assert_eq!(btc["e"], "markPriceUpdate");
                let mark: f64 = btc["p"].as_str().unwrap().parse().unwrap();
                assert!((50_000.0..200_000.0).contains(&mark), "{mark}");
                assert_eq!(
                    btc["p"].as_str().unwrap().split('.').nth(1).unwrap().len(),
                    8
                );
                canaries.push(list[0]["E"].as_u64().unwrap());
            }
            other => panic!("unexpected stream {other}"),
        }
    }
    assert!(canaries.len() >= 2, "a canary every second: {canaries:?}");
    assert!(
        canaries.windows(2).all(|w| w[1] >= w[0] + 950),
        "{canaries:?}"
    );
    assert!(orders >= 20, "{orders}");
    let stats = sim.stats();
    assert!(
        stats.binance_liquidations_generated > 3 * stats.binance_liquidations_published,
        "sampling drops most of a burst: {stats:?}"
    );
    assert_eq!(stats.binance_liquidations_sent, orders);
    assert!(
        stats.binance_futures_pings >= 2 && stats.binance_futures_pongs >= 2,
        "{stats:?}"
    );

    // The raw route sends the bare event.
    let mut raw = connect(&sim, "/binance-futures/market/ws/!markPrice@arr@1s").await;
    let v = json(&next_data(&mut raw).await);
    assert_eq!(v[0]["e"], "markPriceUpdate");
    sim.shutdown().await;
}

#[tokio::test]
async fn the_legacy_route_connects_and_sends_nothing() {
    // Pings slow enough that the /market client below, not reading, is not dropped for it.
    let sim = start_with(SimOptions {
        binance_futures_ping_interval: Duration::from_secs(60),
        ..options()
    })
    .await;
    sim.faults().set_liquidation_rate(300.0);
    let mut legacy = connect(&sim, "/binance-futures/ws/!forceOrder@arr").await;
    let mut market = connect(&sim, "/binance-futures/market/ws/!forceOrder@arr").await;
    let v = json(&next_data(&mut market).await);
    assert_eq!(v["e"], "forceOrder", "the /market route delivers");
    assert!(
        next_any(&mut legacy, Duration::from_millis(300))
            .await
            .is_none(),
        "legacy: no data, no ping"
    );
    assert_eq!(sim.stats().binance_futures_open, 2, "still connected");
    send_text(
        &mut legacy,
        r#"{"method":"SUBSCRIBE","params":["!forceOrder@arr"],"id":1}"#,
    )
    .await;
    assert_eq!(
        next_data(&mut legacy).await.to_text().unwrap(),
        r#"{"result":null,"id":1}"#
    );
    let mut combined = connect(&sim, "/binance-futures/stream?streams=!forceOrder@arr").await;
    // A second `forceOrder` push goes by on /market meanwhile.
    assert!(
        next_any(&mut legacy, Duration::from_millis(800))
            .await
            .is_none()
    );
    assert!(
        next_any(&mut combined, Duration::from_millis(10))
            .await
            .is_none()
    );
    sim.shutdown().await;
}
