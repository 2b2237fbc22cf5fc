//! Simulated OKX v5 public: per-arg events, 60018 errors, string tickers, text ping/pong, the
//! 30 s idle cut (shortened), the SPOT instruments list.

use super::*;

const WS: &str = "/okx/ws/v5/public";

fn subscribe_request(op: &str, inst_ids: &[&str]) -> String {
    let args: Vec<Value> = inst_ids
        .iter()
        .map(|id| serde_json::json!({"channel": "tickers", "instId": id}))
        .collect();
    serde_json::json!({"op": op, "args": args}).to_string()
}

#[tokio::test]
async fn okx_events_per_arg_then_string_tickers() {
    let sim = start().await;
    let mut ws = connect(&sim, WS).await;
    // HBAR trades on Binance but not on OKX; OKB only on OKX.
    let ids = ["BTC-USDT", "NOPE-USDT", "HBAR-USDT", "OKB-USDT"];
    send_text(&mut ws, &subscribe_request("subscribe", &ids)).await;
    let mut events = Vec::new();
    let mut pushes: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    while events.len() < 4 || pushes.len() < 2 || pushes["BTC-USDT"].len() < 3 {
        let v = next_text_json(&mut ws).await;
        if v.get("event").is_some() {
            events.push(v);
            continue;
        }
        assert_eq!(v["arg"]["channel"], "tickers");
        let data = v["data"].as_array().unwrap();
        assert_eq!(data.len(), 1);
        let row = data[0].as_object().unwrap();
        assert_eq!(row["instType"], "SPOT");
        assert_eq!(row["instId"], v["arg"]["instId"]);
        for key in [
            "last",
            "lastSz",
            "askPx",
            "askSz",
            "open24h",
            "high24h",
            "low24h",
            "volCcy24h",
            "vol24h",
            "sodUtc0",
            "sodUtc8",
            "ts",
        ] {
            let s = row[key].as_str().unwrap_or_else(|| panic!("{key}: {v}"));
            s.parse::<f64>()
                .unwrap_or_else(|e| panic!("{key}={s}: {e}"));
        }
        assert!(row["bidPx"].is_string() && row["bidSz"].is_string());
        assert_eq!(row["ts"].as_str().unwrap().len(), 13);
        let id = row["instId"].as_str().unwrap().to_owned();
        assert!(id == "BTC-USDT" || id == "OKB-USDT", "unsubscribed {id}");
        pushes.entry(id).or_default().push(v.clone());
    }
    let conn_id = events[0]["connId"].as_str().unwrap();
    assert_eq!(conn_id.len(), 8);
    assert_eq!(
        events[0],
        serde_json::json!({"event": "subscribe", "arg": {"channel": "tickers", "instId": "BTC-USDT"}, "connId": conn_id})
    );
    for (e, id) in [(&events[1], "NOPE-USDT"), (&events[2], "HBAR-USDT")] {
        assert_eq!(
            (e["event"].as_str(), e["code"].as_str()),
            (Some("error"), Some("60018"))
        );
        let msg = e["msg"].as_str().unwrap();
        assert!(
            msg.contains(&format!("channel:tickers,instId:{id} doesn't exist")),
            "{msg}"
        );
        assert_eq!(e["connId"], conn_id);
    }
    assert_eq!(events[3]["event"], "subscribe");
    assert_eq!(events[3]["arg"]["instId"], "OKB-USDT");
    let last: f64 = pushes["BTC-USDT"][0]["data"][0]["last"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((85_000.0..120_000.0).contains(&last), "{last}");

    send_text(&mut ws, &subscribe_request("unsubscribe", &["BTC-USDT"])).await;
    loop {
        let v = next_text_json(&mut ws).await;
        if v["event"] == "unsubscribe" {
            assert_eq!(v["arg"]["instId"], "BTC-USDT");
            break;
        }
    }
    for _ in 0..2 {
        let v = next_text_json(&mut ws).await;
        assert_eq!(v["arg"]["instId"], "OKB-USDT", "BTC is gone: {v}");
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn okx_bad_requests_get_error_events() {
    let sim = start().await;
    let mut ws = connect(&sim, WS).await;
    for (request, code) in [
        ("{not json", "60012"),
        (r#"{"op":"nope","args":[]}"#, "60019"),
        (r#"{"op":"subscribe"}"#, "60013"),
    ] {
        send_text(&mut ws, request).await;
        let v = next_text_json(&mut ws).await;
        assert_eq!(
            (v["event"].as_str(), v["code"].as_str()),
            (Some("error"), Some(code)),
            "{request}"
        );
        assert!(v["msg"].is_string() && v["connId"].is_string());
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn okx_text_ping_pong_and_idle_cut() {
    let sim = start_with(SimOptions {
        okx_idle_close: Duration::from_millis(400),
        ..options()
    })
    .await;
    let mut alive = connect(&sim, WS).await;
    let mut idle = connect(&sim, WS).await;
    let started = Instant::now();
    let pinger = tokio::spawn(async move {
        for _ in 0..8 {
            tokio::time::sleep(Duration::from_millis(150)).await;
            send_text(&mut alive, "ping").await;
            let msg = next_data(&mut alive).await;
            assert_eq!(msg.to_text().unwrap(), "pong", "text pong");
        }
        alive
    });
    // Connected, never subscribed, never pinged: cut without a close frame.
    assert!(ends_abruptly(&mut idle, Duration::from_secs(3)).await);
    assert!(started.elapsed() >= Duration::from_millis(350));
    let mut alive = pinger.await.unwrap();
    send_text(&mut alive, "ping").await;
    assert_eq!(next_data(&mut alive).await.to_text().unwrap(), "pong");
    assert!(sim.stats().okx_pings >= 9, "{:?}", sim.stats());
    sim.shutdown().await;
}

#[tokio::test]
async fn okx_spot_instruments_list() {
    let sim = start().await;
    let (status, body) = get(&sim, "/okx/api/v5/public/instruments?instType=SPOT").await;
    assert_eq!(status, 200);
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        (v["code"].as_str(), v["msg"].as_str()),
        (Some("0"), Some(""))
    );
    let rows = v["data"].as_array().unwrap();
    let ids: BTreeSet<&str> = rows.iter().map(|r| r["instId"].as_str().unwrap()).collect();
    for id in [
        "BTC-USDT", "OKB-USDT", "MNT-USDT", "ALT-USDT", "BTC-USDC", "ETH-BTC",
    ] {
        assert!(ids.contains(id), "{id}");
    }
    assert!(!ids.contains("HBAR-USDT"));
    for row in rows {
        assert_eq!(
            (row["instType"].as_str(), row["state"].as_str()),
            (Some("SPOT"), Some("live"))
        );
        let id = row["instId"].as_str().unwrap();
        let expected = format!(
            "{}-{}",
            row["baseCcy"].as_str().unwrap(),
            row["quoteCcy"].as_str().unwrap()
        );
        assert_eq!(id, expected);
        for key in ["tickSz", "lotSz", "minSz", "listTime"] {
            row[key].as_str().unwrap().parse::<f64>().unwrap();
        }
    }
    let (status, body) = get(&sim, "/okx/api/v5/public/instruments").await;
    assert_eq!(status, 400);
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["code"],
        "51000"
    );
    sim.shutdown().await;
}
