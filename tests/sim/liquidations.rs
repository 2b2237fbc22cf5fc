//! Liquidations across the four derivatives venues: the burst knob (≥ 10,000 a second, nothing
//! lost on the complete feeds), determinism per seed, and the liquidation venues' fault knobs.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use super::*;
use kimp::sim::LiqExchange;

fn generated(sim: &Simulator) -> u64 {
    let s = sim.stats();
    s.binance_liquidations_generated
        + s.bybit_liquidations_generated
        + s.okx_liquidations_generated
        + s.bitmex_liquidations_generated
}

/// Reads `ws` until it ends or `stop`, adding `count(text)` per text frame to `total`.
fn reader(
    mut ws: Ws,
    total: Arc<AtomicU64>,
    count: fn(&str) -> u64,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        while let Some(Ok(msg)) = ws.next().await {
            if let Message::Text(t) = msg {
                total.fetch_add(count(t.as_str()), Ordering::Relaxed);
            }
        }
    })
}

fn occurrences(text: &str, needle: &str) -> u64 {
    text.matches(needle).count() as u64
}

#[tokio::test]
async fn the_burst_knob_makes_ten_thousand_a_second_and_loses_nothing() {
    let sim = start_with(quiet_options()).await;
    let model = MarketModel::new(1, 0);
    let bybit_topics: Vec<String> = model
        .liquidation_contracts(LiqExchange::Bybit)
        .iter()
        .map(|c| format!("allLiquidation.{}", c.symbol))
        .collect();
    let mut bybit = connect(&sim, "/bybit/v5/public/linear").await;
    let request = serde_json::json!({"op": "subscribe", "args": bybit_topics});
    send_text(&mut bybit, &request.to_string()).await;
    assert_eq!(next_text_json(&mut bybit).await["success"], true);
    let mut okx = connect(&sim, "/okx/ws/v5/public").await;
    send_text(
        &mut okx,
        r#"{"op":"subscribe","args":[{"channel":"liquidation-orders","instType":"SWAP"}]}"#,
    )
    .await;
    assert_eq!(next_text_json(&mut okx).await["event"], "subscribe");
    let mut bitmex = connect(&sim, "/bitmex/realtime?subscribe=liquidation").await;
    for _ in 0..3 {
        next_text_json(&mut bitmex).await; // welcome, ack, partial
    }
    let binance = connect(&sim, "/binance-futures/market/ws/!forceOrder@arr").await;

    let counts: [Arc<AtomicU64>; 4] = std::array::from_fn(|_| Arc::new(AtomicU64::new(0)));
    let tasks = [
        reader(binance, Arc::clone(&counts[0]), |_| 1),
        reader(bybit, Arc::clone(&counts[1]), |t| occurrences(t, "\"T\":")),
        reader(okx, Arc::clone(&counts[2]), |t| occurrences(t, "\"ts\":")),
        reader(bitmex, Arc::clone(&counts[3]), |t| {
            if t.contains("\"action\":\"insert\"") {
                occurrences(t, "\"leavesQty\":")
            } else {
                0
            }
        }),
    ];

    // 0.92 a second × 12.5 (20 ms ticks) × 1,600 ≈ 18,000 a second.
    sim.faults().set_liquidation_rate(1_600.0);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let (before, started) = (generated(&sim), Instant::now());
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (after, elapsed) = (generated(&sim), started.elapsed());
    sim.faults().set_liquidation_rate(0.0);
    let rate = (after - before) as f64 / elapsed.as_secs_f64();
    assert!(rate >= 10_000.0, "{rate:.0} liquidations a second");

    // Let the last batches (Bybit 500 ms, Binance 1 s) and BitMEX deletes go out.
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    let stats = sim.stats();
    let got: Vec<u64> = counts.iter().map(|c| c.load(Ordering::Relaxed)).collect();
    assert_eq!(got[0], stats.binance_liquidations_sent, "{stats:?}");
    assert_eq!(got[0], stats.binance_liquidations_published, "{stats:?}");
    assert_eq!(
        got[1], stats.bybit_liquidations_generated,
        "bybit complete: {stats:?}"
    );
    assert_eq!(got[1], stats.bybit_liquidations_sent);
    assert_eq!(
        got[2],
        stats.okx_liquidations_sent + stats.okx_liquidations_redelivered,
        "{stats:?}"
    );
    assert_eq!(
        stats.okx_liquidations_sent,
        stats.okx_liquidations_generated
    );
    assert_eq!(
        got[3], stats.bitmex_liquidations_generated,
        "bitmex complete: {stats:?}"
    );
    // The complete feeds (Bybit, OKX, BitMEX: ~64 % of arrivals) delivered all of them.
    assert!(
        got[1] + got[2] + got[3] >= 5_000,
        "delivered during the burst: {got:?}"
    );
    for t in tasks {
        t.abort();
    }
    sim.shutdown().await;
}

#[test]
fn same_seed_same_liquidations() {
    let start = 1_795_000_000_000;
    let run = |seed| {
        let mut m = MarketModel::new(seed, start);
        m.set_liquidation_rate(50.0);
        (0..200)
            .map(|n| m.step(start + n * 250).liquidations)
            .collect::<Vec<_>>()
    };
    let (a, b, c) = (run(21), run(21), run(22));
    assert_eq!(a, b);
    assert_ne!(a, c);
    let events: usize = a.iter().map(|s| s.events.len()).sum();
    assert!(events > 1_000, "{events}");
    let venues: BTreeSet<_> = a
        .iter()
        .flat_map(|s| s.events.iter().map(|e| e.exchange))
        .collect();
    assert_eq!(venues.len(), 4);
}

#[tokio::test]
async fn liquidation_venue_faults_are_observable() {
    let sim = start_with(quiet_options()).await;
    sim.faults().set_liquidation_rate(100.0);
    // Binance USD-M garbles every frame (read further down, once a push went out).
    sim.faults()
        .set_malformed_every(SimVenue::BinanceFutures, 1);
    let mut futures = connect(&sim, "/binance-futures/market/ws/!markPrice@arr@1s").await;

    // Bybit linear silent: no data and no pong on the open socket, then it resumes.
    let mut linear = connect(&sim, "/bybit/v5/public/linear").await;
    send_text(
        &mut linear,
        r#"{"op":"subscribe","args":["allLiquidation.BTCUSDT"]}"#,
    )
    .await;
    assert_eq!(next_text_json(&mut linear).await["success"], true);
    assert!(next_text_json(&mut linear).await["topic"].is_string());
    sim.faults().set_silent(SimVenue::BybitLinear, true);
    while next_any(&mut linear, Duration::from_millis(150))
        .await
        .is_some()
    {}
    send_text(&mut linear, r#"{"op":"ping"}"#).await;
    assert!(
        next_any(&mut linear, Duration::from_millis(500))
            .await
            .is_none(),
        "silent: nothing at all"
    );
    assert_eq!(sim.stats().bybit_linear_open, 1, "still connected");
    sim.faults().set_silent(SimVenue::BybitLinear, false);
    assert!(
        next_text_json(&mut linear).await.is_object(),
        "the same socket resumes"
    );

    // BitMEX silent from the start: not even the welcome until it clears.
    sim.faults().set_silent(SimVenue::Bitmex, true);
    let mut bitmex = connect(&sim, "/bitmex/realtime").await;
    assert!(
        next_any(&mut bitmex, Duration::from_millis(300))
            .await
            .is_none()
    );
    sim.faults().set_silent(SimVenue::Bitmex, false);
    assert!(next_text_json(&mut bitmex).await["info"].is_string());

    // Binance USD-M: garbage frames, then an abrupt drop.
    let garbage = next_data(&mut futures).await;
    assert!(serde_json::from_slice::<Value>(&garbage.into_data()).is_err());
    assert!(sim.stats().malformed_frames >= 1);
    sim.faults().drop_connections(SimVenue::BinanceFutures);
    assert!(ends_abruptly(&mut futures, Duration::from_secs(2)).await);

    // REST: the linear list answers Bybit's in-body error; OKX's SWAP list the HTTP status.
    sim.faults()
        .set_rest_status(SimVenue::BybitLinear, Some(503));
    let (status, body) = get(&sim, "/bybit/v5/market/instruments-info?category=linear").await;
    assert_eq!(status, 200);
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["retCode"],
        10016
    );
    sim.faults().set_rest_status(SimVenue::Okx, Some(429));
    let (status, body) = get(&sim, "/okx/api/v5/public/instruments?instType=SWAP").await;
    assert_eq!(status, 429);
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["code"],
        "50011"
    );

    // Over HTTP: the new venues, the rate knob and a cascade.
    let client = reqwest::Client::new();
    let url = format!("http://{}/sim/faults", sim.addr());
    let patch = r#"{"reset":true,"bitmex":{"malformed_every":2},"liquidation_rate":7,"liquidation_cascade":true,"drop":["bybit_linear"]}"#;
    let v: Value = client
        .post(&url)
        .body(patch)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["bitmex"]["malformed_every"], 2);
    assert_eq!(v["liquidation_rate"], 7.0);
    assert_eq!(v["bybit_linear"]["rest_status"], Value::Null);
    assert!(ends_abruptly(&mut linear, Duration::from_secs(2)).await);
    let bad = client
        .post(&url)
        .body(r#"{"liquidation_rate":1e9}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status().as_u16(), 400);
    sim.shutdown().await;
}
