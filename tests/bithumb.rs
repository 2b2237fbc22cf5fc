//! Bithumb parsers against the third-party recordings in `../shared/fixtures/bithumb` (each test
//! skips with a message when that folder is absent) and kimp's own `tests/fixtures/bithumb-*`; the
//! WS → REST fallback → WS flow against loopback servers is in `bithumb/flow.rs`.
#![allow(
    clippy::unwrap_used,
    reason = "test code: a failed unwrap is a failed test"
)]
#![allow(
    clippy::float_cmp,
    reason = "a parsed decimal is exact: the test compares what the venue sent"
)]

#[path = "bithumb/flow.rs"]
mod flow;

#[path = "support/fixtures.rs"]
mod fixtures;
use fixtures::{lines, own, shared};

use std::collections::BTreeMap;

use kimp::feed::{ParseError, Parsed, bithumb};
use kimp::model::{Currency, MarketEvent, MarketInfo, Quote, Venue};

const RECEIVED: i64 = 1_800_000_000_000;
const DAY_MS: i64 = 86_400_000;

fn quotes(parsed: Parsed) -> Vec<Quote> {
    let Parsed::Events(events) = parsed else {
        panic!("expected events, got {parsed:?}")
    };
    events.into_iter().map(quote).collect()
}

fn quote(event: MarketEvent) -> Quote {
    match event {
        MarketEvent::Quote(quote) => quote,
        other => panic!("expected a quote, got {other:?}"),
    }
}

/// The single quote of a frame.
fn one(frame: &[u8]) -> Quote {
    let mut all = quotes(bithumb::parse(frame, RECEIVED).unwrap());
    assert_eq!(all.len(), 1, "{all:?}");
    all.remove(0)
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * b.abs().max(1.0)
}

fn by_base(markets: &[MarketInfo]) -> BTreeMap<&str, &MarketInfo> {
    markets.iter().map(|m| (m.base.as_str(), m)).collect()
}

#[test]
fn ws_default_recorded_without_delisting_date_reads_epoch_not_kst_wall_clock() {
    let Some(frame) = shared("bithumb/ws-ticker-default-recorded.json") else {
        return;
    };
    let q = one(&frame);
    assert_eq!(
        (q.venue, q.base.as_str(), q.currency),
        (Venue::Bithumb, "BTC", Currency::Krw)
    );
    assert_eq!(q.price, 91_196_000.0);
    assert!(close(q.change_percent.unwrap(), -1.028_824), "{q:?}");
    assert_eq!(q.volume, Some(27_002_534_842.659_72));
    assert_eq!(q.exchange_ms, Some(1_785_397_735_004));
    // `trade_time` says 16:48:55 (KST); the epoch field is 07:48:55.004 UTC.
    assert_eq!(
        q.exchange_ms.unwrap() % DAY_MS,
        ((7 * 60 + 48) * 60 + 55) * 1000 + 4
    );
    assert_eq!(q.received_ms, RECEIVED);
}

#[test]
fn ws_trimmed_with_empty_delisting_date() {
    let Some(frame) = shared("bithumb/ws-ticker-trimmed-recorded.json") else {
        return;
    };
    let q = one(&frame);
    assert_eq!((q.base.as_str(), q.price), ("BTC", 116_208_000.0));
    assert_eq!((q.change_percent, q.volume), (None, None));
    assert_eq!(q.exchange_ms, Some(1_790_133_513_858));
}

#[test]
fn ws_doc_default_and_simple_lines() {
    let Some(file) = shared("bithumb/ws-ticker-default-and-simple-doc.jsonl") else {
        return;
    };
    let lines = lines(&file);
    assert_eq!(lines.len(), 6);
    let parsed: Vec<Vec<Quote>> = lines
        .iter()
        .map(|l| quotes(bithumb::parse(l, RECEIVED).unwrap()))
        .collect();
    let got: Vec<Option<(f64, i64)>> = parsed
        .iter()
        .map(|qs| qs.first().map(|q| (q.price, q.exchange_ms.unwrap())))
        .collect();
    assert_eq!(
        got,
        vec![
            Some((493_100.0, 1_725_927_377_174)),
            Some((493_100.0, 1_725_927_377_820)),
            Some((493_100.0, 1_725_927_582_096)),
            None, // BTC-ETH: not a KRW market
            Some((489_100.0, 1_725_927_608_215)),
            None,
        ]
    );
    let simple = &parsed[2][0];
    assert!(close(simple.change_percent.unwrap(), 1.775_026));
    assert_eq!(simple.volume, Some(8_286_175_646.064_881));
    assert!(close(parsed[0][0].volume.unwrap(), 8_227_950_466.316_009));
}

#[test]
fn ws_doc_number_beyond_f64_digits_parses_when_the_market_is_krw() {
    let Some(file) = shared("bithumb/ws-ticker-default-and-simple-doc.jsonl") else {
        return;
    };
    let line = String::from_utf8(lines(&file)[3].to_vec()).unwrap();
    assert!(line.contains(r#""atp24h":728107452.06423197609921044"#));
    assert!(line.contains(r#""mw":"CAUTION""#));
    let krw = line.replace(r#""cd":"BTC-ETH""#, r#""cd":"KRW-ETH""#);
    let q = one(krw.as_bytes());
    assert_eq!((q.base.as_str(), q.price), ("ETH", 47_820.0));
    assert!(close(q.volume.unwrap(), 728_107_452.064_232));
    assert!(close(q.change_percent.unwrap(), -0.146_168));
}

#[test]
fn ws_status_up_is_nothing_and_error_frames_are_venue_errors() {
    let Some(up) = shared("bithumb/ws-status-up-recorded.json") else {
        return;
    };
    assert_eq!(bithumb::parse(&up, RECEIVED).unwrap(), Parsed::nothing());
    let errors = shared("bithumb/ws-errors-recorded.jsonl").unwrap();
    let names: Vec<String> = lines(&errors)
        .into_iter()
        .map(|l| match bithumb::parse(l, RECEIVED) {
            Err(ParseError::Venue(m)) => m.split(':').next().unwrap().to_owned(),
            other => panic!("expected a venue error, got {other:?}"),
        })
        .collect();
    assert_eq!(names, ["NO_TICKET", "INVALID_PARAM", "WRONG_FORMAT"]);
}

#[test]
fn ws_own_usdt_simple_and_default_with_delisting_date() {
    let file = own("bithumb-ws-ticker-usdt.jsonl");
    let lines = lines(&file);
    let usdt = one(lines[0]);
    assert_eq!((usdt.venue, usdt.base.as_str()), (Venue::Bithumb, "USDT"));
    assert_eq!(usdt.price, 1391.0);
    assert!(close(usdt.change_percent.unwrap(), 0.071_94));
    assert_eq!(usdt.volume, Some(19_811_502_911.240_2));
    let eth = one(lines[1]);
    assert_eq!((eth.base.as_str(), eth.price), ("ETH", 6_054_000.0));
    assert_eq!(eth.exchange_ms, Some(1_790_133_513_901));
    assert_eq!(
        bithumb::parse(lines[2], RECEIVED).unwrap(),
        Parsed::nothing()
    );
}

#[test]
fn rest_v1_ticker_with_kst_epoch_is_never_a_quote() {
    // `/v1/ticker` writes KST wall time as epoch ms (+9 h); kimp never calls it (the flow test
    // counts hits on it) and its array body is not a WS frame.
    let Some(body) = shared("bithumb/rest-v1-ticker-kst-epoch-recorded.json") else {
        return;
    };
    assert!(matches!(
        bithumb::parse(&body, RECEIVED),
        Err(ParseError::Json(_))
    ));
}

#[test]
fn all_krw_recorded_167_coins_date_skipped_percent_kept() {
    let Some(body) = shared("bithumb/rest-public-ticker-all-krw-recorded.json") else {
        return;
    };
    let all: Vec<Quote> = bithumb::parse_all_krw(&body, RECEIVED)
        .unwrap()
        .into_iter()
        .map(quote)
        .collect();
    assert_eq!(all.len(), 167);
    assert!(all.iter().all(|q| q.base != "date"));
    assert!(all.iter().all(|q| q.venue == Venue::Bithumb
        && q.currency == Currency::Krw
        && q.exchange_ms == Some(1_622_591_001_555)));
    let btc = all.iter().find(|q| q.base == "BTC").unwrap();
    assert_eq!(btc.price, 43_232_000.0);
    assert_eq!(btc.change_percent, Some(-1.63));
    assert_eq!(btc.volume, Some(169_853_829_676.038_9));
    assert_eq!(btc.received_ms, RECEIVED);
}

#[test]
fn all_krw_own_usdt_and_broken_coins_skipped() {
    let all: Vec<Quote> = bithumb::parse_all_krw(&own("bithumb-all-krw.json"), RECEIVED)
        .unwrap()
        .into_iter()
        .map(quote)
        .collect();
    let bases: Vec<&str> = all.iter().map(|q| q.base.as_str()).collect();
    assert_eq!(bases, ["BTC", "PEPE", "USDT"]);
    let usdt = &all[2];
    assert_eq!(
        (usdt.price, usdt.change_percent, usdt.volume),
        (1391.0, Some(-0.14), Some(19_811_502_911.240_2))
    );
    assert_eq!(all[1].price, 0.014_98);
    assert_eq!(usdt.exchange_ms, Some(1_790_133_514_044));
}

#[test]
fn rest_errors_with_http_200_are_venue_errors() {
    let Some(file) = shared("bithumb/rest-errors-recorded.jsonl") else {
        return;
    };
    let lines = lines(&file);
    let venue = |r: Result<_, ParseError>| match r {
        Err(ParseError::Venue(m)) => m,
        Ok(v) => panic!("expected a venue error, got Ok({v:?})"),
        Err(e) => panic!("expected a venue error, got {e:?}"),
    };
    assert_eq!(
        venue(bithumb::parse_markets(lines[0]).map(|m| m.len())),
        "404: Code not found"
    );
    assert!(venue(bithumb::parse_warnings(lines[1]).map(|w| w.len())).starts_with("400: Missing"));
    assert_eq!(
        venue(bithumb::parse_markets(lines[2]).map(|m| m.len())),
        "not_found: No Route matched with those values"
    );
    assert_eq!(
        venue(bithumb::parse_all_krw(lines[3], RECEIVED).map(|e| e.len())),
        "status 5500: 상장 코인 아님"
    );
    assert_eq!(
        venue(bithumb::parse_all_krw(lines[4], RECEIVED).map(|e| e.len())),
        "status 5500: 입력값을 확인해 주세요."
    );
    assert_eq!(
        venue(bithumb::parse_all_krw(lines[0], RECEIVED).map(|e| e.len())),
        "404: Code not found"
    );
}

#[test]
fn market_list_and_alerts_recorded() {
    let Some(list) = shared("bithumb/rest-market-all-details-recorded.json") else {
        return;
    };
    let mut markets = bithumb::parse_markets(&list).unwrap();
    let alerts = shared("bithumb/rest-virtual-asset-warning-recorded.json").unwrap();
    let warnings = bithumb::parse_warnings(&alerts).unwrap();
    assert_eq!(
        warnings["OBSR"],
        [
            "caution:DEPOSIT_AMOUNT_SUDDEN_FLUCTUATION",
            "caution:TRADING_VOLUME_SUDDEN_FLUCTUATION"
        ]
    );
    assert_eq!(warnings.len(), 4);
    bithumb::merge_warnings(&mut markets, &warnings);
    let m = by_base(&markets);
    assert_eq!(m.keys().copied().collect::<Vec<_>>(), ["ACS", "BTC", "ZIL"]);
    assert_eq!(
        (
            m["BTC"].venue,
            m["BTC"].name_ko.as_deref(),
            m["BTC"].name_en.as_deref()
        ),
        (Venue::Bithumb, Some("비트코인"), Some("Bitcoin"))
    );
    assert!(m["BTC"].flags.is_empty());
    assert_eq!(
        m["ZIL"].flags,
        ["warning", "caution:TRADING_VOLUME_SUDDEN_FLUCTUATION"]
    );
    assert_eq!(
        m["ACS"].flags,
        ["caution:DEPOSIT_AMOUNT_SUDDEN_FLUCTUATION"]
    );
}

#[test]
fn own_market_list_krw_only_and_duplicate_alerts_deduped() {
    let mut markets = bithumb::parse_markets(&own("bithumb-market-all.json")).unwrap();
    let warnings = bithumb::parse_warnings(&own("bithumb-virtual-asset-warning.json")).unwrap();
    assert_eq!(
        warnings.keys().map(String::as_str).collect::<Vec<_>>(),
        ["BTC", "OBSR", "ZIL"]
    );
    bithumb::merge_warnings(&mut markets, &warnings);
    let m = by_base(&markets);
    assert_eq!(
        m.keys().copied().collect::<Vec<_>>(),
        ["BTC", "USDT", "ZIL"]
    );
    assert_eq!(
        m["ZIL"].flags,
        [
            "warning",
            "caution:PRICE_DIFFERENCE_HIGH",
            "caution:TRADING_VOLUME_SUDDEN_FLUCTUATION"
        ]
    );
    assert_eq!(m["BTC"].flags, ["caution:PRICE_DIFFERENCE_HIGH"]);
    assert!(m["USDT"].flags.is_empty());
    // Merging twice adds nothing.
    bithumb::merge_warnings(&mut markets, &warnings);
    assert_eq!(by_base(&markets)["ZIL"].flags.len(), 3);
}

#[test]
fn subscribe_frame_is_upbits_shape() {
    let codes = vec!["KRW-BTC".to_owned(), "KRW-USDT".to_owned()];
    assert_eq!(
        bithumb::subscribe_frame("t", &codes),
        r#"[{"ticket":"t"},{"type":"ticker","codes":["KRW-BTC","KRW-USDT"]},{"format":"DEFAULT"}]"#
    );
    assert_eq!(
        bithumb::FEEDS,
        ["bithumb.markets", "bithumb.ticker", "bithumb.rest"]
    );
}
