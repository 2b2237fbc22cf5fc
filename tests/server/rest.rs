//! Every REST endpoint of the three services over a real socket, against the §6.0 shapes.

use kimp::model::{FeedState, LiqVenue};
use kimp::server::Service;
use serde_json::Value;

use super::{Env, liquidation, metric};

fn keys(v: &Value) -> Vec<&str> {
    let mut keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    keys
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(1.0)
}

/// The window object of the summary: `{long_usd, short_usd, count, largest}`.
fn assert_window(w: &Value) {
    assert_eq!(
        keys(w),
        ["count", "largest", "long_usd", "short_usd"],
        "{w}"
    );
    assert!(w["long_usd"].is_number() && w["short_usd"].is_number() && w["count"].is_u64());
}

fn assert_summary(s: &Value) {
    for window in ["1m", "5m", "1h", "4h", "24h"] {
        assert_window(&s["total"][window]);
    }
    let exchanges = s["exchanges"].as_object().unwrap();
    assert_eq!(exchanges.len(), 4);
    assert_eq!(s["exchanges"]["binance"]["coverage"], "sampled");
    assert_eq!(s["exchanges"]["okx"]["coverage"], "partial");
    assert_eq!(s["exchanges"]["bybit"]["coverage"], "complete");
    assert_window(&s["exchanges"]["bybit"]["24h"]);
}

fn assert_document(doc: &Value) {
    assert_eq!(
        keys(doc),
        [
            "coins",
            "exchange_rate",
            "fear_greed",
            "feeds",
            "fx",
            "liquidations",
            "pair",
            "tether_premium_percent",
            "timestamp",
            "usdt_krw_rate"
        ]
    );
    assert!(doc["timestamp"].as_str().unwrap().ends_with('Z'));
    assert_eq!(doc["pair"]["domestic"], "upbit");
    assert_eq!(keys(&doc["fx"]), ["age_ms", "source", "stale"]);
    assert_eq!(
        keys(&doc["fear_greed"]),
        ["class", "previous", "updated_ms", "value"]
    );
    let btc = doc["coins"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["symbol"] == "BTC")
        .unwrap();
    assert_eq!(btc["name_ko"], "비트코인");
    let upbit = &btc["prices"]["upbit"];
    assert_eq!(
        keys(upbit),
        [
            "age_ms",
            "change_percent",
            "currency",
            "price",
            "stale",
            "volume"
        ]
    );
    assert_eq!(upbit["currency"], "KRW");
    assert_eq!(btc["prices"]["binance"]["currency"], "USDT");
    let (k, g) = (
        upbit["price"].as_f64().unwrap(),
        btc["prices"]["binance"]["price"].as_f64().unwrap(),
    );
    let f = doc["exchange_rate"].as_f64().unwrap();
    assert!(close(
        btc["premium_percent"].as_f64().unwrap(),
        (k / (g * f) - 1.0) * 100.0
    ));
    let feed = &doc["feeds"][0];
    for key in [
        "feed",
        "state",
        "age_ms",
        "messages",
        "parse_errors",
        "reconnects",
    ] {
        assert!(feed.get(key).is_some(), "feeds[0] lacks {key}: {feed}");
    }
    assert_summary(&doc["liquidations"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_endpoint_serves_its_document() {
    let env = Env::start(|_| {}).await;
    env.wait_for_data().await;
    gateway(&env).await;
    market(&env).await;
    liquidations(&env).await;
    service_endpoints(&env).await;
    env.stop().await;
}

async fn gateway(env: &Env) {
    let (status, doc) = env.get(Service::Gateway, "/api/coins/latest").await;
    assert_eq!(status, 200);
    assert_document(&doc);
    // The bytes served are the snapshot's one serialisation.
    let body = env
        .http
        .get(env.url(Service::Gateway, "/api/coins/latest"))
        .send()
        .await
        .unwrap();
    assert_eq!(body.headers()["content-type"], "application/json");
    let (status, names) = env.get(Service::Gateway, "/api/coin-names").await;
    assert_eq!(status, 200);
    assert_eq!(names["BTC"]["ko"], "비트코인");
    assert_eq!(names["BTC"]["en"], "Bitcoin");
    let (status, fng) = env.get(Service::Gateway, "/api/fear_greed_index").await;
    assert_eq!(status, 200);
    let value = fng["value"].as_u64().unwrap();
    assert!(value <= 100);
    assert!(fng["class"].is_string() && fng["updated_ms"].is_i64());
}

async fn market(env: &Env) {
    let (status, prices) = env.get(Service::Market, "/api/market/prices").await;
    assert_eq!(status, 200);
    let btc = prices["coins"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["symbol"] == "BTC")
        .unwrap();
    assert!(btc["prices"]["upbit"]["price"].as_f64().unwrap() > 0.0);
    assert!(
        btc["prices"]["bithumb"]["price"].is_number(),
        "every venue: {btc}"
    );
    let (_, volumes) = env.get(Service::Market, "/api/market/volumes").await;
    let btc = volumes["coins"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["symbol"] == "BTC")
        .unwrap();
    assert_eq!(btc["volumes"]["upbit"]["currency"], "KRW");
    assert!(btc["volumes"]["upbit"]["volume"].as_f64().unwrap() > 0.0);
    let (status, rate) = env.get(Service::Market, "/api/market/exchange-rate").await;
    assert_eq!(status, 200);
    assert_eq!(rate["source"], "dunamu");
    assert!((1_000.0..2_000.0).contains(&rate["exchange_rate"].as_f64().unwrap()));
    assert!(rate["usdt_krw_rate"].is_number() && rate["tether_premium_percent"].is_number());
    premiums(env).await;
}

/// The default pair reproduces the document's premiums; another pair is computed from its legs.
async fn premiums(env: &Env) {
    let (status, doc) = env.get(Service::Market, "/api/market/premiums").await;
    assert_eq!(status, 200);
    assert_eq!(doc["pair"]["global"], "binance");
    let snap = env.api.latest().snap.clone();
    let expected = kimp::server::market::premium_doc(&snap, snap.pair);
    let rows = doc["coins"].as_array().unwrap();
    assert!(rows.len() >= 20, "{} rows", rows.len());
    for row in &expected.coins {
        let coin = snap.coin(&row.symbol).unwrap();
        assert_eq!(row.premium_percent, coin.premium_percent, "{}", row.symbol);
        assert_eq!(
            row.premium_usdt_percent, coin.premium_usdt_percent,
            "{}",
            row.symbol
        );
    }
    let (status, other) = env
        .get(
            Service::Market,
            "/api/market/premiums?domestic=bithumb&global=bybit",
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(other["pair"]["domestic"], "bithumb");
    assert_eq!(other["pair"]["global"], "bybit");
    let f = other["exchange_rate"].as_f64().unwrap();
    let u = other["usdt_krw_rate"].as_f64().unwrap();
    let btc = other["coins"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["symbol"] == "BTC")
        .unwrap();
    assert_eq!(btc["domestic"]["venue"], "bithumb");
    assert_eq!(btc["global"]["venue"], "bybit");
    let k = btc["domestic"]["price"].as_f64().unwrap();
    let g = btc["global"]["price"].as_f64().unwrap();
    assert!(close(
        btc["premium_percent"].as_f64().unwrap(),
        (k / (g * f) - 1.0) * 100.0
    ));
    assert!(close(
        btc["premium_usdt_percent"].as_f64().unwrap(),
        (k / (g * u) - 1.0) * 100.0
    ));
}

async fn liquidations(env: &Env) {
    env.set_feed("bybit.liquidations", FeedState::Live).await;
    let events: Vec<_> = (0..30)
        .map(|n| {
            liquidation(
                "rest",
                n,
                if n < 20 {
                    LiqVenue::Bybit
                } else {
                    LiqVenue::Okx
                },
                1_000.0 * (n + 1) as f64,
            )
        })
        .collect();
    let last = events.last().unwrap().id.clone();
    env.inject(events).await;
    env.wait_for_liquidation(&last).await;
    let (status, recent) = env
        .get(Service::Liquidation, "/api/liquidations/recent?limit=5")
        .await;
    assert_eq!(status, 200);
    let newest = recent["events"].as_array().unwrap();
    assert_eq!(newest.len(), 5);
    assert_eq!(newest[0]["id"], last.as_str(), "newest first");
    assert_eq!(
        keys(&newest[0]),
        [
            "base",
            "exchange",
            "id",
            "notional_usd",
            "price",
            "quantity",
            "side",
            "symbol",
            "time_ms"
        ]
    );
    let (_, big) = env
        .get(
            Service::Liquidation,
            "/api/liquidations/recent?limit=100&min_usd=15000&exchange=bybit",
        )
        .await;
    let big = big["events"].as_array().unwrap();
    assert_eq!(big.len(), 6, "bybit events of 15k..20k");
    assert!(
        big.iter()
            .all(|e| e["exchange"] == "bybit" && e["notional_usd"].as_f64().unwrap() >= 15_000.0)
    );
    let (status, agg) = env
        .get(
            Service::Liquidation,
            "/api/liquidations/aggregated?window=4h",
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(agg["window"], "4h");
    let rows = agg["rows"].as_array().unwrap();
    let bybit_btc = rows
        .iter()
        .find(|r| r["exchange"] == "bybit" && r["coin"] == "BTC")
        .unwrap();
    assert_eq!(bybit_btc["count"], 20);
    let total = bybit_btc["long_usd"].as_f64().unwrap() + bybit_btc["short_usd"].as_f64().unwrap();
    assert!(close(total, 210_000.0), "{total}");
    let (status, summary) = env
        .get(Service::Liquidation, "/api/liquidations/summary")
        .await;
    assert_eq!(status, 200);
    assert_summary(&summary);
    assert_eq!(summary["total"]["1h"]["count"], 30);
    assert_eq!(summary["exchanges"]["bybit"]["state"], "live");
    let (status, debug) = env
        .get(Service::Liquidation, "/api/liquidations/debug")
        .await;
    assert_eq!(status, 200);
    let feeds = debug["feeds"].as_array().unwrap();
    let bybit = feeds
        .iter()
        .find(|f| f["feed"] == "bybit.liquidations")
        .unwrap();
    for key in [
        "state",
        "messages",
        "parse_errors",
        "reconnects",
        "gaps",
        "last_error",
        "gap_ms",
    ] {
        assert!(bybit.get(key).is_some(), "{key} missing: {bybit}");
    }
    assert!(debug["tape_len"].as_u64().unwrap() >= 30);
    assert_eq!(debug["exchanges"]["binance"]["coverage"], "sampled");
}

async fn service_endpoints(env: &Env) {
    for service in [Service::Gateway, Service::Market, Service::Liquidation] {
        let (status, health) = env.get(service, "/health").await;
        assert_eq!(health["service"], service.as_str());
        let reasons = health["reasons"].as_array().unwrap();
        match health["status"].as_str().unwrap() {
            "ok" => assert!(status == 200 && reasons.is_empty(), "{health}"),
            "degraded" => assert!(status == 200 && !reasons.is_empty(), "{health}"),
            other => panic!("{} is {other}: {health}", service.as_str()),
        }
        let text = env
            .http
            .get(env.url(service, "/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            text.contains("# TYPE kimp_http_requests counter\n"),
            "{text}"
        );
        assert!(
            metric(&text, "kimp_ws_connections_open{stream=\"market\"}").is_some(),
            "{text}"
        );
        let (status, openapi) = env.get(service, "/openapi.json").await;
        assert_eq!(status, 200);
        assert!(openapi["openapi"].as_str().unwrap().starts_with("3."));
        assert!(openapi["paths"]["/health"]["get"].is_object());
    }
    let metrics = env
        .http
        .get(env.url(Service::Market, "/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let count = metric(&metrics, "kimp_feed_messages_total{feed=\"upbit.ticker\"}").unwrap();
    assert!(count > 0.0, "{metrics}");
    assert!(
        metric(
            &metrics,
            "kimp_feed_last_message_age_seconds{feed=\"binance.ticker\"}"
        )
        .is_some(),
        "{metrics}"
    );
    assert_eq!(
        metric(
            &metrics,
            "kimp_feed_up{feed=\"upbit.ticker\",state=\"live\"}"
        ),
        Some(1.0),
        "{metrics}"
    );
    assert!(metrics.contains("# UNIT kimp_feed_gap_seconds seconds\n"));
    assert!(
        !metrics.contains("bybit.liquidations"),
        "the market service lists market feeds"
    );
    let (_, doc) = env.get(Service::Liquidation, "/openapi.json").await;
    assert!(doc["paths"]["/api/liquidations/recent"]["get"]["parameters"].is_array());
    let schemas = &doc["components"]["schemas"];
    assert!(
        schemas["Liquidation"]["properties"]["notional_usd"].is_object(),
        "generated from the types"
    );
    let (_, doc) = env.get(Service::Gateway, "/openapi.json").await;
    assert!(doc["components"]["schemas"]["Snapshot"]["properties"]["coins"].is_object());
    assert!(doc["paths"]["/ws/prices"].is_object() && doc["paths"]["/ws/liquidations"].is_object());
}
