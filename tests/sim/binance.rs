//! Simulated Binance spot: changed-only arrays, raw and combined streams, pings, live requests.

use super::*;

#[tokio::test]
async fn binance_combined_stream_sends_changed_symbols_with_string_prices() {
    // Real pace (4 model steps per push), four times faster: not every symbol trades per push.
    let sim = start_with(SimOptions {
        tick: Duration::from_millis(250),
        ..options()
    })
    .await;
    sim.faults().set_rate_multiplier(4.0);
    let mut ws = connect(&sim, "/binance/stream?streams=!ticker_1d@arr").await;
    let frames = binance_frames(&mut ws, 6).await;
    let total = sim.model_state().binance.len();
    let mut last_trade_id: BTreeMap<String, u64> = BTreeMap::new();
    let mut sizes = BTreeSet::new();
    let mut symbols = BTreeSet::new();
    for frame in &frames {
        assert_eq!(frame["stream"], "!ticker_1d@arr");
        let data = frame["data"].as_array().unwrap();
        assert!(
            !data.is_empty() && data.len() < total,
            "{} of {total}",
            data.len()
        );
        sizes.insert(data.len());
        for t in data {
            assert_eq!(t["e"], "1dTicker");
            for key in ["p", "P", "o", "h", "l", "c", "w", "v", "q"] {
                let s = t[key]
                    .as_str()
                    .unwrap_or_else(|| panic!("{key} must be a string: {t}"));
                s.parse::<f64>().unwrap();
            }
            for key in ["E", "O", "C", "F", "L", "n"] {
                assert!(t[key].is_u64(), "{key}: {t}");
            }
            let symbol = t["s"].as_str().unwrap().to_owned();
            // A symbol appears only when it traded: its last trade id moved.
            let id = t["L"].as_u64().unwrap();
            if let Some(prev) = last_trade_id.insert(symbol.clone(), id) {
                assert!(id > prev, "{symbol} repeated without a trade");
            }
            if symbol == "BTCUSDT" {
                let c: f64 = t["c"].as_str().unwrap().parse().unwrap();
                assert!((85_000.0..120_000.0).contains(&c), "{c}");
            }
            symbols.insert(symbol);
        }
    }
    assert!(sizes.len() > 1, "arrays vary with what traded: {sizes:?}");
    assert!(
        symbols.iter().any(|s| !s.ends_with("USDT")),
        "non-USDT symbols too: {symbols:?}"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn binance_raw_stream_server_pings_and_pongs_are_tracked() {
    let sim = start().await;
    let mut ws = connect(&sim, "/binance/ws/!miniTicker@arr").await;
    let mut pinged = false;
    let mut data = None;
    let deadline = Instant::now() + WAIT;
    while !(pinged && data.is_some()) && Instant::now() < deadline {
        match next_any(&mut ws, Duration::from_millis(500)).await {
            Some(Message::Ping(payload)) => pinged |= !payload.is_empty(),
            Some(m @ Message::Text(_)) => data = Some(json(&m)),
            _ => {}
        }
    }
    assert!(pinged, "server ping with a payload");
    let data = data.expect("a raw data frame");
    let first = &data.as_array().expect("raw stream: bare array")[0];
    assert_eq!(first["e"], "24hrMiniTicker");
    assert!(first["c"].is_string() && first.get("P").is_none());
    // tungstenite answers the ping on the next read; give it one.
    let _ = next_any(&mut ws, Duration::from_millis(400)).await;
    assert!(sim.stats().binance_pongs >= 1, "{:?}", sim.stats());
    sim.shutdown().await;
}

#[tokio::test]
async fn binance_live_subscribe_and_retired_stream() {
    let sim = start().await;
    sim.faults().set_rate_multiplier(4.0);
    let mut ws = connect(&sim, "/binance/ws").await;
    ws.send(Message::text(
        r#"{"method":"SUBSCRIBE","params":["!ticker_1d@arr"],"id":1}"#,
    ))
    .await
    .unwrap();
    assert_eq!(
        next_data(&mut ws).await.into_text().unwrap().as_str(),
        r#"{"result":null,"id":1}"#
    );
    assert!(json(&next_data(&mut ws).await).is_array());

    let mut dead = connect(&sim, "/binance/stream?streams=!ticker@arr").await;
    let until = Instant::now() + Duration::from_millis(1200);
    while Instant::now() < until {
        if let Some(m) = next_any(&mut dead, Duration::from_millis(200)).await {
            assert!(
                m.is_ping() || m.is_pong(),
                "the retired stream sends no data: {m:?}"
            );
        }
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn binance_drops_a_client_that_never_pongs() {
    let sim = start_with(SimOptions {
        binance_ping_interval: Duration::from_millis(100),
        ..options()
    })
    .await;
    let mut ws = connect(&sim, "/binance/stream?streams=!ticker_1d@arr").await;
    // Not reading means tungstenite never answers the pings.
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(sim.stats().binance_open, 0, "{:?}", sim.stats());
    assert!(sim.stats().binance_pings >= 3);
    assert_eq!(sim.stats().binance_pongs, 0);
    assert!(ends_abruptly(&mut ws, Duration::from_secs(2)).await);
    sim.shutdown().await;
}
