//! Fault knobs of Bithumb, Bybit, OKX and fear & greed have an observable effect.

use super::*;

async fn bithumb(sim: &Simulator) -> Ws {
    let mut ws = connect(sim, "/bithumb/websocket/v1").await;
    upbit_subscribe(&mut ws, &["KRW-BTC", "KRW-ETH", "KRW-XRP"], "DEFAULT").await;
    ws
}

async fn bybit(sim: &Simulator) -> Ws {
    let mut ws = connect(sim, "/bybit/v5/public/spot").await;
    let request =
        r#"{"op":"subscribe","args":["tickers.BTCUSDT","tickers.ETHUSDT","tickers.XRPUSDT"]}"#;
    send_text(&mut ws, request).await;
    ws
}

async fn okx(sim: &Simulator) -> Ws {
    let mut ws = connect(sim, "/okx/ws/v5/public").await;
    let request = r#"{"op":"subscribe","args":[{"channel":"tickers","instId":"BTC-USDT"},{"channel":"tickers","instId":"ETH-USDT"}]}"#;
    send_text(&mut ws, request).await;
    ws
}

#[tokio::test]
async fn drop_and_silent_on_the_new_venues() {
    let sim = start().await;
    let (mut bh, mut by, mut ok) = (bithumb(&sim).await, bybit(&sim).await, okx(&sim).await);
    assert!(next_data(&mut bh).await.is_binary());
    assert_eq!(next_text_json(&mut by).await["success"], true);
    assert_eq!(next_text_json(&mut ok).await["event"], "subscribe");
    sim.faults().drop_connections(SimVenue::Bybit);
    assert!(ends_abruptly(&mut by, Duration::from_secs(2)).await);
    assert!(
        next_any(&mut ok, Duration::from_secs(1)).await.is_some(),
        "OKX unaffected"
    );
    assert!(
        next_any(&mut bh, Duration::from_secs(1)).await.is_some(),
        "Bithumb unaffected"
    );

    sim.faults().set_silent(SimVenue::Okx, true);
    while next_any(&mut ok, Duration::from_millis(200))
        .await
        .is_some()
    {}
    send_text(&mut ok, "ping").await;
    assert!(
        next_any(&mut ok, Duration::from_millis(600))
            .await
            .is_none(),
        "silent: no data, no pong"
    );
    sim.faults().set_silent(SimVenue::Okx, false);
    let msg = next_data(&mut ok).await;
    assert!(msg.is_text(), "the same socket resumes: {msg:?}");

    sim.faults().drop_connections(SimVenue::Bithumb);
    sim.faults().drop_connections(SimVenue::Okx);
    assert!(ends_abruptly(&mut bh, Duration::from_secs(2)).await);
    assert!(ends_abruptly(&mut ok, Duration::from_secs(2)).await);
    let mut again = bybit(&sim).await;
    assert_eq!(
        next_text_json(&mut again).await["success"],
        true,
        "new connections work"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn malformed_data_frames_on_the_new_venues() {
    let sim = start().await;
    sim.faults().set_malformed_every(SimVenue::Bybit, 2);
    sim.faults().set_malformed_every(SimVenue::Okx, 1);
    sim.faults().set_malformed_every(SimVenue::Bithumb, 1);
    let mut by = bybit(&sim).await;
    assert_eq!(
        next_text_json(&mut by).await["success"],
        true,
        "acks stay intact"
    );
    let mut bad = 0;
    for _ in 0..6 {
        let msg = next_data(&mut by).await;
        assert!(msg.is_text());
        if serde_json::from_slice::<Value>(&msg.into_data()).is_err() {
            bad += 1;
        }
    }
    assert_eq!(bad, 3, "every 2nd Bybit push is garbage");
    let mut ok = okx(&sim).await;
    assert_eq!(next_text_json(&mut ok).await["event"], "subscribe");
    assert_eq!(next_text_json(&mut ok).await["event"], "subscribe");
    let msg = next_data(&mut ok).await;
    assert!(serde_json::from_slice::<Value>(&msg.into_data()).is_err());
    let mut bh = bithumb(&sim).await;
    let msg = next_data(&mut bh).await;
    assert!(msg.is_binary());
    assert!(serde_json::from_slice::<Value>(&msg.into_data()).is_err());
    sim.shutdown().await;
}

#[tokio::test]
async fn rest_faults_on_the_new_venues() {
    let sim = start().await;
    let f = sim.faults();
    f.set_rest_status(SimVenue::Bithumb, Some(503));
    let (status, body) = get(&sim, "/bithumb/public/ticker/ALL_KRW").await;
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        (status, v["status"].as_str()),
        (200, Some("5500")),
        "Bithumb errors come with 200"
    );
    let (status, body) = get(&sim, "/bithumb/v1/market/all?isDetails=true").await;
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!((status, v["error"]["name"].as_u64()), (200, Some(503)));

    f.set_rest_status(SimVenue::Bybit, Some(503));
    let (status, body) = get(&sim, "/bybit/v5/market/tickers?category=spot").await;
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!((status, v["retCode"].as_u64()), (200, Some(10016)));
    f.set_rest_status(SimVenue::Bybit, Some(429));
    let v: Value =
        serde_json::from_str(&get(&sim, "/bybit/v5/market/tickers?category=spot").await.1).unwrap();
    assert_eq!(v["retCode"].as_u64(), Some(10006));
    f.set_rest_status(SimVenue::Bybit, None);

    f.set_rest_status(SimVenue::Okx, Some(503));
    let (status, body) = get(&sim, "/okx/api/v5/public/instruments?instType=SPOT").await;
    assert_eq!(status, 503);
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["code"],
        "50001"
    );

    f.set_rest_status(SimVenue::FearGreed, Some(500));
    let (status, body) = get(&sim, "/fng/?limit=2").await;
    assert_eq!(status, 500);
    assert!(serde_json::from_str::<Value>(&body).unwrap()["metadata"]["error"].is_string());
    f.set_rest_status(SimVenue::FearGreed, None);
    f.set_malformed_every(SimVenue::FearGreed, 1);
    assert!(serde_json::from_str::<Value>(&get(&sim, "/fng/?limit=2").await.1).is_err());

    f.set_rest_delay(SimVenue::Bybit, Duration::from_millis(300));
    let started = Instant::now();
    assert_eq!(
        get(&sim, "/bybit/v5/market/tickers?category=spot").await.0,
        200
    );
    assert!(started.elapsed() >= Duration::from_millis(300));
    sim.shutdown().await;
}

#[tokio::test]
async fn new_venue_faults_over_http() {
    let sim = start().await;
    let mut ok = okx(&sim).await;
    assert_eq!(next_text_json(&mut ok).await["event"], "subscribe");
    let client = reqwest::Client::new();
    let url = format!("http://{}/sim/faults", sim.addr());
    let patch = r#"{"bithumb":{"silent":true},"bybit":{"malformed_every":4},"okx":{"rest_status":503},"fear_greed":{"rest_delay_ms":50},"drop":["okx"]}"#;
    let response = client.post(&url).body(patch).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let s = sim.faults().settings();
    assert!(s.bithumb.silent);
    assert_eq!(s.bybit.malformed_every, 4);
    assert_eq!(s.okx.rest_status, Some(503));
    assert_eq!(s.fear_greed.rest_delay_ms, 50);
    assert!(
        ends_abruptly(&mut ok, Duration::from_secs(2)).await,
        "dropped over HTTP"
    );
    let body: Value = client.get(&url).send().await.unwrap().json().await.unwrap();
    for venue in ["bithumb", "bybit", "okx", "fear_greed"] {
        assert!(body[venue].is_object(), "{venue}: {body}");
    }
    let bad = r#"{"drop":["feargreed"]}"#;
    assert_eq!(
        client.post(&url).body(bad).send().await.unwrap().status(),
        400
    );
    sim.shutdown().await;
}
