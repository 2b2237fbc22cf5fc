//! Simulated Bithumb: Upbit's protocol with Bithumb's quirks, and its REST endpoints.

use super::*;

const WS: &str = "/bithumb/websocket/v1";

async fn subscribe(ws: &mut Ws, codes: &[&str], options: &str) {
    let request = format!(
        r#"[{{"ticket":"t"}},{{"type":"ticker","codes":{}{options}}},{{"format":"DEFAULT"}}]"#,
        serde_json::to_string(codes).unwrap()
    );
    ws.send(Message::text(request)).await.unwrap();
}

/// KST `(yyyymmdd, hhmmss)` of epoch ms.
fn kst(ms: u64) -> (String, String) {
    let t = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap()
        .to_offset(time::UtcOffset::from_hms(9, 0, 0).unwrap());
    (
        format!("{:04}{:02}{:02}", t.year(), u8::from(t.month()), t.day()),
        format!("{:02}{:02}{:02}", t.hour(), t.minute(), t.second()),
    )
}

#[tokio::test]
async fn bithumb_binary_tickers_with_kst_dates_and_delisting_spellings() {
    let sim = start().await;
    let mut ws = connect(&sim, WS).await;
    // KRW-SEI is Upbit's, not Bithumb's: silently ignored like any unknown code.
    let codes = ["KRW-BTC", "KRW-USDT", "KRW-SOL", "KRW-ALT", "KRW-SEI"];
    subscribe(&mut ws, &codes, "").await;
    let mut seen: BTreeMap<String, Value> = BTreeMap::new();
    while seen.len() < 4 {
        let msg = next_data(&mut ws).await;
        assert!(msg.is_binary(), "Bithumb frames are binary: {msg:?}");
        let v = json(&msg);
        let code = v["code"].as_str().unwrap().to_owned();
        assert_ne!(code, "KRW-SEI");
        let trade_ms = v["trade_timestamp"].as_u64().unwrap();
        let (date, time) = kst(trade_ms);
        assert_eq!(v["trade_date"], date.as_str(), "{v}");
        assert_eq!(v["trade_time"], time.as_str(), "{v}");
        let sent_ms = v["timestamp"].as_u64().unwrap();
        let wall = u64::try_from(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_millis(),
        )
        .unwrap();
        assert!(
            sent_ms.abs_diff(wall) < 60_000,
            "true epoch ms: {sent_ms} vs {wall}"
        );
        assert!(["NONE", "CAUTION"].contains(&v["market_warning"].as_str().unwrap()));
        seen.entry(code).or_insert(v);
    }
    assert!(seen["KRW-BTC"].get("delisting_date").is_none(), "absent");
    assert_eq!(seen["KRW-USDT"]["delisting_date"], "");
    assert!(seen["KRW-SOL"]["delisting_date"].is_null());
    let btc = seen["KRW-BTC"]["trade_price"].as_f64().unwrap();
    assert!((1.1e8..1.8e8).contains(&btc), "{btc}");
    let alt = seen["KRW-ALT"]["trade_price"].as_f64().unwrap();
    assert!(alt < 100.0, "ArchLoot trades at tens of won: {alt}");
    assert_eq!(seen["KRW-BTC"]["stream_type"], "SNAPSHOT");
    sim.shutdown().await;
}

#[tokio::test]
async fn bithumb_reads_camel_case_options_and_ignores_snake_case() {
    let sim = start().await;
    let mut camel = connect(&sim, WS).await;
    subscribe(
        &mut camel,
        &["KRW-BTC", "KRW-ETH"],
        r#","isOnlyRealtime":true"#,
    )
    .await;
    let mut snake = connect(&sim, WS).await;
    subscribe(&mut snake, &["KRW-BTC"], r#","is_only_realtime":true"#).await;
    assert_eq!(
        json(&next_data(&mut camel).await)["stream_type"],
        "REALTIME"
    );
    assert_eq!(
        json(&next_data(&mut snake).await)["stream_type"],
        "SNAPSHOT",
        "snake_case is ignored, not an error"
    );
    // SIMPLE keys, and a re-subscribe replaces the list.
    let request = r#"[{"ticket":"t"},{"type":"ticker","codes":["KRW-XRP"]},{"format":"SIMPLE"}]"#;
    snake.send(Message::text(request)).await.unwrap();
    loop {
        let v = json(&next_data(&mut snake).await);
        if v["cd"] == "KRW-XRP" {
            assert_eq!(
                (v["ty"].as_str(), v["st"].as_str()),
                (Some("ticker"), Some("SNAPSHOT"))
            );
            assert!(v["tdt"].is_string() && v["ttms"].is_u64());
            break;
        }
    }
    for _ in 0..3 {
        assert_eq!(json(&next_data(&mut snake).await)["cd"], "KRW-XRP");
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn bithumb_ping_errors_and_idle_close() {
    let sim = start_with(SimOptions {
        bithumb_idle_close: Duration::from_millis(300),
        ..options()
    })
    .await;
    let mut ws = connect(&sim, WS).await;
    ws.send(Message::text("PING")).await.unwrap();
    let msg = next_data(&mut ws).await;
    assert!(msg.is_binary());
    assert_eq!(msg.into_data().as_ref(), br#"{"status":"UP"}"#);
    // Bithumb writes `name` first (ws-errors-recorded.jsonl), then closes with 1000.
    ws.send(Message::text(
        r#"[{"ticket":"t"},{"type":"nope","codes":["KRW-BTC"]}]"#,
    ))
    .await
    .unwrap();
    let msg = next_data(&mut ws).await;
    assert_eq!(
        msg.into_data().as_ref(),
        r#"{"error":{"name":"INVALID_PARAM","message":"nope 은 지원하지 않는 타입입니다."}}"#
            .as_bytes()
    );
    assert!(
        matches!(next_data(&mut ws).await, Message::Close(Some(f)) if u16::from(f.code) == 1000)
    );
    let mut idle = connect(&sim, WS).await;
    subscribe(&mut idle, &["KRW-BTC"], "").await;
    let started = Instant::now();
    assert!(ends_abruptly(&mut idle, Duration::from_secs(3)).await);
    assert!(started.elapsed() >= Duration::from_millis(250));
    assert_eq!(sim.stats().bithumb_connections, 2);
    sim.shutdown().await;
}

#[tokio::test]
async fn bithumb_all_krw_has_string_values_and_a_date_among_coins() {
    let sim = start().await;
    let (status, body) = get(&sim, "/bithumb/public/ticker/ALL_KRW").await;
    assert_eq!(status, 200);
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["status"], "0000");
    let data = v["data"].as_object().unwrap();
    let stamp = data["date"].as_str().unwrap();
    assert!(
        stamp.len() == 13 && stamp.bytes().all(|b| b.is_ascii_digit()),
        "{stamp}"
    );
    assert!(
        body.ends_with(&format!(r#""date":"{stamp}"}}}}"#)),
        "date last"
    );
    let keys = [
        "opening_price",
        "closing_price",
        "min_price",
        "max_price",
        "units_traded",
        "acc_trade_value",
        "prev_closing_price",
        "units_traded_24H",
        "acc_trade_value_24H",
        "fluctate_24H",
        "fluctate_rate_24H",
    ];
    let coins: Vec<&String> = data.keys().filter(|k| *k != "date").collect();
    assert!(coins.len() >= 38, "{}", coins.len());
    for coin in &coins {
        let row = data[coin.as_str()].as_object().unwrap();
        assert_eq!(row.len(), keys.len(), "{coin}");
        for key in keys {
            let s = row[key]
                .as_str()
                .unwrap_or_else(|| panic!("{coin}.{key} is a string"));
            assert!(!s.contains(['e', 'E']), "{coin}.{key}: {s}");
            s.parse::<f64>().unwrap();
        }
    }
    for listed in ["BTC", "USDT", "ALT", "ACS", "MNT", "MED"] {
        assert!(data.contains_key(listed), "{listed}");
    }
    assert!(!data.contains_key("SEI") && !data.contains_key("BNB"));
    let rate: f64 = data["BTC"]["fluctate_rate_24H"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(rate.abs() < 20.0, "a percent: {rate}");

    let (status, one) = get(&sim, "/bithumb/public/ticker/BTC_KRW").await;
    let one: Value = serde_json::from_str(&one).unwrap();
    assert_eq!((status, one["status"].as_str()), (200, Some("0000")));
    assert!(one["data"]["closing_price"].is_string() && one["data"]["date"].is_string());
    for bad in [
        "/bithumb/public/ticker/SEI_KRW",
        "/bithumb/public/ticker/BTC_USD",
    ] {
        let (status, body) = get(&sim, bad).await;
        let v: Value = serde_json::from_str(&body).unwrap();
        assert_eq!((status, v["status"].as_str()), (200, Some("5500")), "{bad}");
        assert!(v["message"].is_string());
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn bithumb_market_list_and_asset_warnings() {
    let sim = start().await;
    let (status, body) = get(&sim, "/bithumb/v1/market/all?isDetails=true").await;
    assert_eq!(status, 200);
    let rows: Vec<Value> = serde_json::from_str(&body).unwrap();
    let by_market: BTreeMap<&str, &Value> = rows
        .iter()
        .map(|r| (r["market"].as_str().unwrap(), r))
        .collect();
    assert_eq!(by_market["KRW-ALT"]["korean_name"], "아치루트");
    assert_eq!(by_market["KRW-ALT"]["english_name"], "ArchLoot");
    assert_eq!(by_market["KRW-BTC"]["korean_name"], "비트코인");
    assert!(by_market.contains_key("KRW-USDT") && by_market.contains_key("BTC-ETH"));
    assert!(!by_market.contains_key("KRW-SEI"));
    assert!(
        rows.iter()
            .all(|r| ["NONE", "CAUTION"].contains(&r["market_warning"].as_str().unwrap()))
    );
    assert_eq!(by_market["KRW-MLK"]["market_warning"], "CAUTION");
    // Upbit's spelling is not Bithumb's: no flags then.
    for path in [
        "/bithumb/v1/market/all",
        "/bithumb/v1/market/all?is_details=true",
    ] {
        let plain: Vec<Value> = serde_json::from_str(&get(&sim, path).await.1).unwrap();
        assert_eq!(plain.len(), rows.len());
        assert!(
            plain.iter().all(|r| r.get("market_warning").is_none()),
            "{path}"
        );
    }

    let (status, body) = get(&sim, "/bithumb/v1/market/virtual_asset_warning").await;
    assert_eq!(status, 200);
    let alerts: Vec<Value> = serde_json::from_str(&body).unwrap();
    let gap: Vec<&Value> = alerts
        .iter()
        .filter(|a| a["warning_type"] == "PRICE_DIFFERENCE_HIGH")
        .collect();
    assert_eq!(gap.len(), 1);
    assert_eq!(gap[0]["market"], "KRW-AXS");
    let mlk = alerts.iter().filter(|a| a["market"] == "KRW-MLK").count();
    assert_eq!(mlk, 2, "one market listed twice");
    for a in &alerts {
        assert!(["CAUTION", "WARNING", "DANGER"].contains(&a["warning_step"].as_str().unwrap()));
        let end = a["end_date"].as_str().unwrap();
        assert!(
            end.len() == 19 && end.as_bytes()[10] == b' ' && end.ends_with(":59"),
            "{end}"
        );
    }
    let (status, body) = get(&sim, "/bithumb/v1/nope").await;
    assert_eq!(status, 404);
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["name"],
        "not_found"
    );
    sim.shutdown().await;
}
