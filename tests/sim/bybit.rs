//! Simulated Bybit v5 spot: subscribe acks, the 10-args limit, ticker snapshots, pongs, idle cut,
//! REST tickers.

use super::*;

const WS: &str = "/bybit/v5/public/spot";

fn topics(symbols: &[&str]) -> String {
    let args: Vec<String> = symbols.iter().map(|s| format!("tickers.{s}")).collect();
    serde_json::to_string(&args).unwrap()
}

#[tokio::test]
async fn bybit_ack_then_string_snapshots_for_each_topic() {
    let sim = start().await;
    let mut ws = connect(&sim, WS).await;
    let request = format!(
        r#"{{"req_id":"t1","op":"subscribe","args":{}}}"#,
        topics(&["BTCUSDT", "BTCUSDC", "MNTUSDT"])
    );
    send_text(&mut ws, &request).await;
    let text = next_data(&mut ws).await.into_text().unwrap();
    let conn_id = json(&Message::Text(text.clone()))["conn_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(!conn_id.is_empty());
    assert_eq!(
        text.as_str(),
        format!(
            r#"{{"success":true,"ret_msg":"subscribe","conn_id":"{conn_id}","req_id":"t1","op":"subscribe"}}"#
        )
    );
    let mut seen: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    while seen.len() < 3 || seen["BTCUSDT"].len() < 3 {
        let v = next_text_json(&mut ws).await;
        assert_eq!(v["type"], "snapshot", "spot pushes full snapshots: {v}");
        assert!(v["ts"].is_u64() && v["cs"].is_u64(), "{v}");
        let data = v["data"].as_object().unwrap();
        let symbol = data["symbol"].as_str().unwrap().to_owned();
        assert_eq!(v["topic"], format!("tickers.{symbol}"));
        for key in [
            "lastPrice",
            "highPrice24h",
            "lowPrice24h",
            "prevPrice24h",
            "volume24h",
            "turnover24h",
            "price24hPcnt",
        ] {
            let s = data[key].as_str().unwrap_or_else(|| panic!("{key}: {v}"));
            s.parse::<f64>()
                .unwrap_or_else(|e| panic!("{key}={s}: {e}"));
        }
        let pcnt: f64 = data["price24hPcnt"].as_str().unwrap().parse().unwrap();
        assert!(pcnt.abs() < 0.3, "a fraction: {pcnt}");
        seen.entry(symbol).or_default().push(v.clone());
    }
    let btc = &seen["BTCUSDT"][0]["data"];
    let last: f64 = btc["lastPrice"].as_str().unwrap().parse().unwrap();
    assert!((85_000.0..120_000.0).contains(&last), "{last}");
    let index: f64 = btc["usdIndexPrice"].as_str().unwrap().parse().unwrap();
    assert!((index / last - 1.0).abs() < 0.001);
    // A USDC pair has no USD index: the empty string parsers must survive.
    assert_eq!(seen["BTCUSDC"][0]["data"]["usdIndexPrice"], "");
    sim.shutdown().await;
}

#[tokio::test]
async fn bybit_refuses_eleven_args_unknown_symbols_and_duplicates_whole() {
    let sim = start().await;
    let mut ws = connect(&sim, WS).await;
    let eleven = [
        "BTCUSDT", "ETHUSDT", "XRPUSDT", "SOLUSDT", "DOGEUSDT", "ADAUSDT", "TRXUSDT", "LINKUSDT",
        "AVAXUSDT", "DOTUSDT", "BCHUSDT",
    ];
    send_text(
        &mut ws,
        &format!(
            r#"{{"req_id":"2000001","op":"subscribe","args":{}}}"#,
            topics(&eleven)
        ),
    )
    .await;
    let msg = next_data(&mut ws).await;
    let text = msg.to_text().unwrap().to_owned();
    assert!(text.contains(r#""ret_msg":"args size \u003e10""#), "{text}");
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        (
            v["success"].as_bool(),
            v["ret_msg"].as_str(),
            v["req_id"].as_str()
        ),
        (Some(false), Some("args size >10"), Some("2000001"))
    );
    // Refused whole: nothing streams.
    assert!(
        next_any(&mut ws, Duration::from_millis(400))
            .await
            .is_none()
    );

    let cases = [
        // STX trades on Binance but not on Bybit.
        (
            topics(&["BTCUSDT", "STXUSDT"]),
            "Invalid symbol :[tickers.STXUSDT]",
        ),
        (
            r#"["ticker.BTCUSDT"]"#.to_owned(),
            "error:handler not found,topic:ticker.BTCUSDT",
        ),
    ];
    for (args, ret_msg) in cases {
        send_text(&mut ws, &format!(r#"{{"op":"subscribe","args":{args}}}"#)).await;
        let v = next_text_json(&mut ws).await;
        assert_eq!(
            (v["success"].as_bool(), v["ret_msg"].as_str()),
            (Some(false), Some(ret_msg))
        );
        assert!(
            v.get("req_id").is_none(),
            "no req_id sent, none echoed: {v}"
        );
    }
    assert!(
        next_any(&mut ws, Duration::from_millis(300))
            .await
            .is_none()
    );
    // Ten is fine; asking again for one of them is refused.
    send_text(
        &mut ws,
        &format!(r#"{{"op":"subscribe","args":{}}}"#, topics(&eleven[..10])),
    )
    .await;
    assert_eq!(next_text_json(&mut ws).await["success"], true);
    send_text(
        &mut ws,
        &format!(r#"{{"op":"subscribe","args":{}}}"#, topics(&["ETHUSDT"])),
    )
    .await;
    loop {
        let v = next_text_json(&mut ws).await;
        if v.get("topic").is_none() {
            assert_eq!(
                v["ret_msg"],
                "error:already subscribed,topic:tickers.ETHUSDT"
            );
            break;
        }
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn bybit_pong_and_idle_cut() {
    let sim = start_with(SimOptions {
        bybit_idle_close: Duration::from_millis(400),
        ..options()
    })
    .await;
    let mut alive = connect(&sim, WS).await;
    send_text(&mut alive, r#"{"req_id":"100001","op":"ping"}"#).await;
    let pong = next_data(&mut alive).await.into_text().unwrap();
    let conn_id = json(&Message::Text(pong.clone()))["conn_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        pong.as_str(),
        format!(r#"{{"success":true,"ret_msg":"pong","conn_id":"{conn_id}","op":"ping"}}"#),
        "the spot pong carries no req_id"
    );
    let mut idle = connect(&sim, WS).await;
    let started = Instant::now();
    let pinger = tokio::spawn(async move {
        for _ in 0..8 {
            tokio::time::sleep(Duration::from_millis(150)).await;
            send_text(&mut alive, r#"{"op":"ping"}"#).await;
            assert_eq!(next_text_json(&mut alive).await["ret_msg"], "pong");
        }
        alive
    });
    assert!(
        ends_abruptly(&mut idle, Duration::from_secs(3)).await,
        "no close frame"
    );
    assert!(started.elapsed() >= Duration::from_millis(350));
    let mut alive = pinger.await.unwrap();
    send_text(&mut alive, r#"{"op":"ping"}"#).await;
    assert_eq!(
        next_text_json(&mut alive).await["ret_msg"],
        "pong",
        "pinging keeps it"
    );
    assert!(sim.stats().bybit_pings >= 10, "{:?}", sim.stats());
    sim.shutdown().await;
}

#[tokio::test]
async fn bybit_rest_tickers_list_every_spot_symbol() {
    let sim = start().await;
    let (status, body) = get(&sim, "/bybit/v5/market/tickers?category=spot").await;
    assert_eq!(status, 200);
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        (v["retCode"].as_u64(), v["retMsg"].as_str()),
        (Some(0), Some("OK"))
    );
    assert!(v["retExtInfo"].as_object().unwrap().is_empty());
    assert!(v["time"].as_u64().unwrap() > 1_700_000_000_000);
    assert_eq!(v["result"]["category"], "spot");
    let list = v["result"]["list"].as_array().unwrap();
    let symbols: BTreeSet<&str> = list.iter().map(|r| r["symbol"].as_str().unwrap()).collect();
    for s in [
        "BTCUSDT", "MNTUSDT", "APEXUSDT", "ALTUSDT", "BTCUSDC", "ETHBTC",
    ] {
        assert!(symbols.contains(s), "{s}");
    }
    assert!(!symbols.contains("STXUSDT") && !symbols.contains("MEDUSDT"));
    assert_eq!(symbols.len(), list.len());
    for row in list {
        for (key, value) in row.as_object().unwrap() {
            assert!(value.is_string(), "{key}: {row}");
        }
        let bid: f64 = row["bid1Price"].as_str().unwrap().parse().unwrap();
        let ask: f64 = row["ask1Price"].as_str().unwrap().parse().unwrap();
        assert!(bid < ask, "{row}");
    }
    let (status, body) = get(&sim, "/bybit/v5/market/tickers?category=nope").await;
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(status, 200);
    assert_ne!(v["retCode"].as_u64(), Some(0));
    sim.shutdown().await;
}
