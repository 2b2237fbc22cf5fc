//! Simulated Upbit: subscribe semantics, binary frames, keep-alive, errors, idle close, markets.

use super::*;

#[tokio::test]
async fn upbit_snapshot_first_binary_frames_and_unknown_codes_ignored() {
    let sim = start().await;
    let mut ws = connect(&sim, "/upbit/websocket/v1").await;
    upbit_subscribe(
        &mut ws,
        &["KRW-BTC", "KRW-USDT", "krw-eth", "KRW-NOPE"],
        "DEFAULT",
    )
    .await;
    let mut seen: BTreeMap<String, Vec<String>> = BTreeMap::new();
    while seen.values().map(Vec::len).min().unwrap_or(0) < 3 || seen.len() < 2 {
        let msg = next_data(&mut ws).await;
        assert!(msg.is_binary(), "Upbit frames are binary: {msg:?}");
        let v = json(&msg);
        assert_eq!(v["type"], "ticker");
        let code = v["code"].as_str().unwrap().to_owned();
        assert!(
            code == "KRW-BTC" || code == "KRW-USDT",
            "unsubscribed code {code}"
        );
        seen.entry(code.clone())
            .or_default()
            .push(v["stream_type"].as_str().unwrap().to_owned());
        if code == "KRW-BTC" {
            let price = v["trade_price"].as_f64().unwrap();
            assert!((1.1e8..1.8e8).contains(&price), "KRW-BTC {price}");
            let value = v["acc_trade_price_24h"].as_f64().unwrap();
            assert!((1e11..1e12).contains(&value), "24h value {value}");
            assert!(v["signed_change_rate"].as_f64().unwrap().abs() < 0.2);
            assert!(v["trade_timestamp"].as_u64().unwrap() > 1_700_000_000_000);
        }
    }
    for (code, kinds) in &seen {
        assert_eq!(kinds[0], "SNAPSHOT", "{code}: first frame");
        assert!(
            kinds[1..].iter().all(|k| k == "REALTIME"),
            "{code}: {kinds:?}"
        );
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn upbit_resubscribe_replaces_and_simple_format_uses_short_keys() {
    let sim = start().await;
    let mut ws = connect(&sim, "/upbit/websocket/v1").await;
    upbit_subscribe(&mut ws, &["KRW-BTC"], "DEFAULT").await;
    assert_eq!(json(&next_data(&mut ws).await)["code"], "KRW-BTC");
    upbit_subscribe(&mut ws, &["KRW-ETH"], "SIMPLE").await;
    // Frames already in flight may still be BTC; from the ETH snapshot on, only ETH.
    loop {
        let v = json(&next_data(&mut ws).await);
        if v["cd"] == "KRW-ETH" {
            assert_eq!(v["st"], "SNAPSHOT");
            assert_eq!(v["ty"], "ticker");
            assert!(v["tp"].as_f64().unwrap() > 3e6);
            break;
        }
    }
    for _ in 0..5 {
        let v = json(&next_data(&mut ws).await);
        assert_eq!(v["cd"], "KRW-ETH", "old subscription must be gone: {v}");
        assert_eq!(v["st"], "REALTIME");
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn upbit_ping_text_gets_status_up() {
    let sim = start().await;
    let mut ws = connect(&sim, "/upbit/websocket/v1").await;
    ws.send(Message::text("PING")).await.unwrap();
    let msg = next_data(&mut ws).await;
    assert!(msg.is_binary());
    assert_eq!(msg.into_data().as_ref(), br#"{"status":"UP"}"#);
    sim.shutdown().await;
}

#[tokio::test]
async fn upbit_bad_subscribe_gets_error_frame_then_close_1000() {
    let sim = start().await;
    let cases = [
        ("not json at all", "WRONG_FORMAT"),
        (r#"[{"type":"ticker","codes":["KRW-BTC"]}]"#, "NO_TICKET"),
        (r#"[{"ticket":"t"}]"#, "NO_TYPE"),
        (r#"[{"ticket":"t"},{"type":"ticker"}]"#, "NO_CODES"),
        (
            r#"[{"ticket":"t"},{"type":"nope","codes":["KRW-BTC"]}]"#,
            "INVALID_PARAM",
        ),
    ];
    for (request, name) in cases {
        let mut ws = connect(&sim, "/upbit/websocket/v1").await;
        ws.send(Message::text(request)).await.unwrap();
        let msg = next_data(&mut ws).await;
        assert!(msg.is_binary());
        let v = json(&msg);
        assert_eq!(v["error"]["name"], name, "{request}");
        assert!(!v["error"]["message"].as_str().unwrap().is_empty());
        match next_data(&mut ws).await {
            Message::Close(Some(frame)) => assert_eq!(u16::from(frame.code), 1000),
            other => panic!("expected close 1000, got {other:?}"),
        }
    }
    // Binary garbage: same treatment, no crash.
    let mut ws = connect(&sim, "/upbit/websocket/v1").await;
    ws.send(Message::binary(vec![0xff, 0x00, 0xfe]))
        .await
        .unwrap();
    assert_eq!(
        json(&next_data(&mut ws).await)["error"]["name"],
        "WRONG_FORMAT"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn upbit_idle_socket_is_dropped_but_a_pinging_one_lives() {
    let opts = SimOptions {
        upbit_idle_close: Duration::from_millis(400),
        ..options()
    };
    let sim = start_with(opts).await;
    let mut idle = connect(&sim, "/upbit/websocket/v1").await;
    upbit_subscribe(&mut idle, &["KRW-BTC"], "DEFAULT").await;
    let mut alive = connect(&sim, "/upbit/websocket/v1").await;
    // The second client keeps pinging (ping frames only) for three idle periods.
    let pinger = tokio::spawn(async move {
        for _ in 0..12 {
            alive
                .send(Message::Ping(b"k".to_vec().into()))
                .await
                .unwrap();
            let reply = next_any(&mut alive, Duration::from_millis(200)).await;
            assert!(matches!(reply, Some(Message::Pong(_))), "{reply:?}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        alive
    });
    let started = Instant::now();
    assert!(
        ends_abruptly(&mut idle, Duration::from_secs(3)).await,
        "no close frame on idle"
    );
    assert!(started.elapsed() >= Duration::from_millis(350));
    let mut alive = pinger.await.unwrap();
    alive.send(Message::text("PING")).await.unwrap();
    assert!(
        next_data(&mut alive).await.is_binary(),
        "still open after 2x the idle limit"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn upbit_market_list_has_names_flags_and_other_quotes() {
    let sim = start().await;
    let (status, body) = get(&sim, "/upbit/v1/market/all?is_details=true").await;
    assert_eq!(status, 200);
    let rows: Vec<Value> = serde_json::from_str(&body).unwrap();
    let by_market: BTreeMap<&str, &Value> = rows
        .iter()
        .map(|r| (r["market"].as_str().unwrap(), r))
        .collect();
    assert_eq!(by_market["KRW-BTC"]["korean_name"], "비트코인");
    assert_eq!(by_market["KRW-BTC"]["english_name"], "Bitcoin");
    assert_eq!(by_market["KRW-ETH"]["korean_name"], "이더리움");
    assert!(by_market.contains_key("KRW-USDT") && by_market.contains_key("KRW-MED"));
    assert!(
        rows.iter()
            .filter(|r| r["market"].as_str().unwrap().starts_with("KRW-"))
            .count()
            >= 38
    );
    assert!(
        by_market.keys().any(|m| m.starts_with("BTC-"))
            && by_market.keys().any(|m| m.starts_with("USDT-"))
    );
    let caution = rows
        .iter()
        .filter(|r| r["market_event"]["caution"]["GLOBAL_PRICE_DIFFERENCES"] == true)
        .count();
    let warning = rows
        .iter()
        .filter(|r| r["market_event"]["warning"] == true)
        .count();
    assert_eq!((caution, warning), (1, 1));
    assert_eq!(
        by_market["KRW-BTC"]["market_event"]["caution"]
            .as_object()
            .unwrap()
            .len(),
        5
    );
    let (_, plain) = get(&sim, "/upbit/v1/market/all").await;
    let plain: Vec<Value> = serde_json::from_str(&plain).unwrap();
    assert_eq!(plain.len(), rows.len());
    assert!(plain.iter().all(|r| r.get("market_event").is_none()));
    let (status, body) = get(&sim, "/upbit/v1/nope").await;
    assert_eq!(
        (
            status,
            serde_json::from_str::<Value>(&body).unwrap()["error"]["name"].clone()
        ),
        (404, "not_found".into())
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn oversized_messages_end_the_connection_not_the_server() {
    let sim = start().await;
    let huge = format!(
        r#"[{{"ticket":"t"}},{{"type":"ticker","codes":["{}"]}}]"#,
        "A".repeat(400_000)
    );
    for path in ["/upbit/websocket/v1", "/binance/ws"] {
        let mut ws = connect(&sim, path).await;
        // The server may cut the socket while the client is still writing.
        let _ = ws.send(Message::text(huge.clone())).await;
        let ended = timeout(WAIT, async {
            loop {
                match ws.next().await {
                    Some(Ok(Message::Close(_)) | Err(_)) | None => break,
                    Some(Ok(_)) => {}
                }
            }
        })
        .await;
        assert!(ended.is_ok(), "{path}: connection must end");
    }
    let mut ws = connect(&sim, "/upbit/websocket/v1").await;
    upbit_subscribe(&mut ws, &["KRW-BTC"], "DEFAULT").await;
    assert_eq!(
        json(&next_data(&mut ws).await)["code"],
        "KRW-BTC",
        "server still serves"
    );
    sim.shutdown().await;
}
