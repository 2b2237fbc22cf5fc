//! Every fault knob has an observable effect on a client.

use super::*;

#[tokio::test]
async fn drop_fault_closes_sockets_without_a_close_frame() {
    let sim = start().await;
    let mut upbit = connect(&sim, "/upbit/websocket/v1").await;
    upbit_subscribe(&mut upbit, &["KRW-BTC"], "DEFAULT").await;
    next_data(&mut upbit).await;
    let mut binance = connect(&sim, "/binance/stream?streams=!miniTicker@arr").await;
    sim.faults().drop_connections(SimVenue::Upbit);
    assert!(ends_abruptly(&mut upbit, Duration::from_secs(2)).await);
    assert!(
        next_any(&mut binance, Duration::from_millis(400))
            .await
            .is_some(),
        "other venues unaffected"
    );
    sim.faults().drop_connections(SimVenue::Binance);
    assert!(ends_abruptly(&mut binance, Duration::from_secs(2)).await);
    // New connections work again.
    let mut again = connect(&sim, "/upbit/websocket/v1").await;
    upbit_subscribe(&mut again, &["KRW-BTC"], "DEFAULT").await;
    assert_eq!(
        json(&next_data(&mut again).await)["stream_type"],
        "SNAPSHOT"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn silent_fault_keeps_the_socket_open_and_sends_nothing() {
    let sim = start().await;
    let mut ws = connect(&sim, "/upbit/websocket/v1").await;
    upbit_subscribe(&mut ws, &["KRW-BTC", "KRW-ETH", "KRW-XRP"], "DEFAULT").await;
    next_data(&mut ws).await;
    sim.faults().set_silent(SimVenue::Upbit, true);
    // Drain what was in flight, then silence: not even PING is answered.
    while next_any(&mut ws, Duration::from_millis(200))
        .await
        .is_some()
    {}
    ws.send(Message::text("PING")).await.unwrap();
    assert!(
        next_any(&mut ws, Duration::from_millis(700))
            .await
            .is_none(),
        "silent means silent"
    );
    sim.faults().set_silent(SimVenue::Upbit, false);
    let v = json(&next_data(&mut ws).await);
    assert!(
        v["status"] == "UP" || v["type"] == "ticker",
        "the same socket resumes: {v}"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn malformed_fault_sends_garbage_frames() {
    let sim = start().await;
    sim.faults().set_malformed_every(SimVenue::Upbit, 2);
    sim.faults().set_malformed_every(SimVenue::Binance, 1);
    sim.faults().set_rate_multiplier(4.0);
    let mut upbit = connect(&sim, "/upbit/websocket/v1").await;
    upbit_subscribe(&mut upbit, &["KRW-BTC", "KRW-ETH", "KRW-XRP"], "DEFAULT").await;
    let mut bad = 0;
    for _ in 0..10 {
        let msg = next_data(&mut upbit).await;
        if serde_json::from_slice::<Value>(&msg.into_data()).is_err() {
            bad += 1;
        }
    }
    assert_eq!(bad, 5, "every 2nd Upbit frame is garbage");
    let mut binance = connect(&sim, "/binance/stream?streams=!ticker_1d@arr").await;
    let msg = next_data(&mut binance).await;
    assert!(msg.is_text());
    assert!(serde_json::from_slice::<Value>(&msg.into_data()).is_err());
    assert!(sim.stats().malformed_frames >= 6);
    sim.shutdown().await;
}

#[tokio::test]
async fn binance_server_shutdown_event_then_close() {
    let sim = start().await;
    let mut ws = connect(&sim, "/binance/stream?streams=!ticker_1d@arr").await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    sim.faults().binance_server_shutdown();
    let v = json(&next_data(&mut ws).await);
    assert_eq!(v["stream"], "!serverShutdown");
    assert_eq!(v["data"]["e"], "serverShutdown");
    assert!(v["data"]["E"].is_u64());
    assert!(
        matches!(next_data(&mut ws).await, Message::Close(Some(f)) if u16::from(f.code) == 1000)
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn rest_faults_delay_and_fail_requests() {
    let sim = start().await;
    sim.faults()
        .set_rest_delay(SimVenue::Fx, Duration::from_millis(300));
    let started = Instant::now();
    assert_eq!(get(&sim, "/fx/open-er-api/v6/latest/USD").await.0, 200);
    assert!(started.elapsed() >= Duration::from_millis(300));
    sim.faults().set_rest_status(SimVenue::Upbit, Some(503));
    let (status, body) = get(&sim, "/upbit/v1/market/all?is_details=true").await;
    assert_eq!(status, 503);
    assert!(serde_json::from_str::<Value>(&body).unwrap()["error"].is_object());
    sim.faults().set_rest_status(SimVenue::Upbit, None);
    assert_eq!(get(&sim, "/upbit/v1/market/all").await.0, 200);
    sim.faults().set_malformed_every(SimVenue::Fx, 1);
    let (_, body) = get(&sim, "/fx/frankfurter/v2/rate/USD/KRW").await;
    assert!(serde_json::from_str::<Value>(&body).is_err(), "{body}");
    sim.shutdown().await;
}

#[tokio::test]
async fn rate_multiplier_speeds_up_binance_pushes() {
    let sim = start().await;
    sim.faults().set_rate_multiplier(10.0);
    let mut ws = connect(&sim, "/binance/stream?streams=!miniTicker@arr").await;
    let started = Instant::now();
    binance_frames(&mut ws, 8).await;
    assert!(
        started.elapsed() < Duration::from_millis(1500),
        "{:?}",
        started.elapsed()
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn faults_over_http() {
    let sim = start().await;
    let client = reqwest::Client::new();
    let url = format!("http://{}/sim/faults", sim.addr());
    let patch = r#"{"upbit":{"silent":true,"malformed_every":3},"fx":{"rest_status":503},"rate_multiplier":2}"#;
    let response = client.post(&url).body(patch).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let settings = sim.faults().settings();
    assert!(settings.upbit.silent && settings.upbit.malformed_every == 3);
    assert_eq!(settings.fx.rest_status, Some(503));
    let body: Value = client.get(&url).send().await.unwrap().json().await.unwrap();
    assert_eq!(body["upbit"]["silent"], true);
    assert_eq!(body["rate_multiplier"], 2.0);
    for bad in [
        "{",
        r#"{"upbit":{"loud":true}}"#,
        r#"{"rate_multiplier":-1}"#,
    ] {
        let response = client.post(&url).body(bad).send().await.unwrap();
        assert_eq!(response.status(), 400, "{bad}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["code"], "bad_request");
        assert!(body["error"]["message"].is_string());
    }
    assert_eq!(get(&sim, "/fx/frankfurter/v2/rate/USD/KRW").await.0, 503);
    sim.shutdown().await;
}

#[tokio::test]
async fn moved_fault_answers_pings_but_sends_no_data() {
    let sim = start_with(SimOptions {
        faults: vec!["upbit:moved".parse().unwrap()],
        ..options()
    })
    .await;
    let mut ws = connect(&sim, "/upbit/websocket/v1").await;
    upbit_subscribe(&mut ws, &["KRW-BTC", "KRW-ETH"], "DEFAULT").await;
    ws.send(Message::text("PING")).await.unwrap();
    let pong = json(&next_data(&mut ws).await);
    assert_eq!(pong["status"], "UP", "the moved path still answers: {pong}");
    assert!(
        next_any(&mut ws, Duration::from_millis(500))
            .await
            .is_none(),
        "but never sends data"
    );
    sim.faults().set_moved(SimVenue::Upbit, false);
    let v = json(&next_data(&mut ws).await);
    assert_eq!(v["type"], "ticker", "data resumes on the same socket: {v}");
    sim.shutdown().await;
}

#[tokio::test]
async fn drop_schedule_cuts_sockets_every_period() {
    let sim = start().await;
    sim.faults()
        .set_drop_every(SimVenue::Binance, Duration::from_secs(1));
    let started = std::time::Instant::now();
    let mut first = connect(&sim, "/binance/stream?streams=!miniTicker@arr").await;
    assert!(ends_abruptly(&mut first, Duration::from_secs(3)).await);
    let mut second = connect(&sim, "/binance/stream?streams=!miniTicker@arr").await;
    assert!(ends_abruptly(&mut second, Duration::from_secs(3)).await);
    let elapsed = started.elapsed();
    assert!(
        elapsed >= Duration::from_millis(1_500) && elapsed < Duration::from_secs(4),
        "two drops one second apart: {elapsed:?}"
    );
    sim.faults()
        .set_drop_every(SimVenue::Binance, Duration::ZERO);
    let mut third = connect(&sim, "/binance/stream?streams=!miniTicker@arr").await;
    let deadline = Instant::now() + Duration::from_millis(1_500);
    while let Ok(frame) = timeout(
        deadline.saturating_duration_since(Instant::now()),
        third.next(),
    )
    .await
    {
        assert!(
            matches!(frame, Some(Ok(_))),
            "no more drops once the knob is off"
        );
    }
    sim.shutdown().await;
}
