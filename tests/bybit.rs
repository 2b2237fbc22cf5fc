//! Bybit spot: the socket and REST parsers against the real recordings in `../shared/fixtures/bybit`
//! and kimp's own fixtures, subscribe batching and symbol intersection, and (in [`flow`]) the whole
//! feed against loopback servers: WS live → REST standby, WS down → REST polls after the grace
//! period, WS back → standby; a changed symbol list subscribes on a fresh connection.
#![allow(
    clippy::unwrap_used,
    reason = "test code: a failed unwrap is a failed test"
)]
#![allow(
    clippy::float_cmp,
    reason = "prices parsed from fixed decimal strings are compared exactly"
)]

#[path = "bybit/flow.rs"]
mod flow;

#[path = "support/fixtures.rs"]
mod fixtures;
use fixtures::{own_text as own, text_lines as lines};

use kimp::feed::bybit::{self, parse, parse_rest_tickers, parse_symbols};
use kimp::feed::{ParseError, Parsed};
use kimp::model::{Currency, MarketEvent, Quote, Venue};

const RECEIVED: i64 = 1_800_000_000_000;

fn quotes_of(events: Vec<MarketEvent>) -> Vec<Quote> {
    events
        .into_iter()
        .map(|e| match e {
            MarketEvent::Quote(q) => q,
            other => panic!("not a quote: {other:?}"),
        })
        .collect()
}

fn ws_quotes(frame: &str) -> Vec<Quote> {
    match parse(frame.as_bytes(), RECEIVED) {
        Ok(Parsed::Events(events)) => quotes_of(events),
        other => panic!("{other:?} for {frame}"),
    }
}

fn close(got: Option<f64>, want: f64) -> bool {
    got.is_some_and(|g| (g - want).abs() <= want.abs() * 1e-12)
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

#[test]
fn doc_spot_ticker_is_one_exact_quote() {
    let Some(frame) = shared("ws-tickers-spot-doc.json") else {
        return;
    };
    let q = ws_quotes(&frame);
    assert_eq!(q.len(), 1);
    let q = &q[0];
    assert_eq!(
        (q.venue, q.base.as_str(), q.currency, q.price),
        (Venue::Bybit, "BTC", Currency::Usdt, 21_109.77)
    );
    assert!(close(q.change_percent, 1.96), "{:?}", q.change_percent);
    assert_eq!(q.volume, Some(141_946_527.229_071_18));
    assert_eq!(
        (q.exchange_ms, q.received_ms),
        (Some(1_673_853_746_003), RECEIVED)
    );
}

#[test]
fn doc_rest_tickers_are_quotes_stamped_with_the_body_time() {
    let Some(body) = shared("rest-tickers-spot-doc.json") else {
        return;
    };
    let q = quotes_of(parse_rest_tickers(body.as_bytes(), RECEIVED).unwrap());
    assert_eq!(q.len(), 1);
    assert_eq!((q[0].base.as_str(), q[0].price), ("BTC", 20_533.13));
    assert!(close(q[0].change_percent, 0.68));
    assert_eq!(q[0].volume, Some(243_765_620.658_998_66));
    assert_eq!(q[0].exchange_ms, Some(1_673_859_087_947));
    assert_eq!(parse_symbols(body.as_bytes()).unwrap(), strings(&["BTC"]));
}

#[test]
fn pongs_and_acks_are_nothing() {
    for name in [
        "ws-pong-spot-doc.json",
        "ws-pong-linear-doc.json",
        "ws-subscribe-ack-linear-doc.json",
    ] {
        let Some(frame) = shared(name) else { return };
        assert_eq!(
            parse(frame.as_bytes(), 0).unwrap(),
            Parsed::nothing(),
            "{name}"
        );
    }
}

#[test]
fn mixed_recording_yields_only_the_spot_line() {
    let Some(text) = shared("ws-tickers-mixed-edited-recorded.jsonl") else {
        return;
    };
    let lines = lines(&text);
    assert_eq!(lines.len(), 8);
    let per_line: Vec<Vec<Quote>> = lines.iter().map(|l| ws_quotes(l)).collect();
    // Line 1 is spot (topic edited to `tickers.BTC-USDT`; `data.symbol` names it). Option,
    // linear, USDC-perp and inverse snapshots carry `markPrice`; deltas are never spot.
    assert_eq!(
        per_line.iter().map(Vec::len).collect::<Vec<_>>(),
        [1, 0, 0, 0, 0, 0, 0, 0]
    );
    let q = &per_line[0][0];
    assert_eq!((q.base.as_str(), q.price), ("BTC", 21_109.77));
    assert_eq!(q.exchange_ms, Some(1_715_742_949_283));
}

#[test]
fn derivatives_snapshots_and_deltas_never_become_spot_quotes() {
    for name in [
        "ws-tickers-linear-inverse-snapshot-delta-recorded.jsonl",
        "ws-tickers-linear-doc.json",
        "ws-all-liquidation-recorded.jsonl",
        "ws-liquidation-deprecated-topic-recorded.jsonl",
    ] {
        let Some(text) = shared(name) else { return };
        for line in lines(&text) {
            assert!(ws_quotes(line).is_empty(), "{name}: {line}");
        }
    }
}

#[test]
fn failed_subscribe_is_a_venue_error_with_its_message() {
    let frame = own("bybit-ws-subscribe-args-limit-failed.json");
    match parse(frame.as_bytes(), 0) {
        Err(ParseError::Venue(msg)) => assert_eq!(msg, "subscribe failed: args size >10"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn ws_quirks_exponents_empty_strings_missing_and_extra_fields() {
    let text = own("bybit-ws-tickers-spot-quirks.jsonl");
    let lines = lines(&text);
    assert_eq!(lines.len(), 6);
    let pepe = ws_quotes(lines[0]);
    assert_eq!((pepe[0].base.as_str(), pepe[0].price), ("PEPE", 1.234e-5));
    assert!(close(pepe[0].change_percent, -2.5));
    assert_eq!(
        (pepe[0].volume, pepe[0].exchange_ms),
        (Some(1.5e7), Some(1_790_000_000_001))
    );
    assert!(
        ws_quotes(lines[1]).is_empty(),
        "empty lastPrice: no trade yet"
    );
    let eth = ws_quotes(lines[2]);
    assert_eq!((eth[0].base.as_str(), eth[0].price), ("ETH", 2450.1));
    assert_eq!(
        (eth[0].change_percent, eth[0].volume, eth[0].exchange_ms),
        (None, None, None)
    );
    assert!(ws_quotes(lines[3]).is_empty(), "USDC pair");
    assert!(ws_quotes(lines[4]).is_empty(), "other topic");
    assert!(matches!(
        parse(lines[5].as_bytes(), 0),
        Err(ParseError::Field {
            field: "lastPrice",
            ..
        })
    ));
    assert!(matches!(parse(b"[1,2]", 0), Err(ParseError::Json(_))));
    assert!(matches!(parse(b"", 0), Err(ParseError::Json(_))));
}

#[test]
fn rest_rows_skip_empty_and_bad_prices_and_the_list_keeps_every_usdt_pair() {
    let body = own("bybit-rest-tickers-spot-mixed.json");
    let q = quotes_of(parse_rest_tickers(body.as_bytes(), RECEIVED).unwrap());
    let got: Vec<(&str, f64)> = q.iter().map(|q| (q.base.as_str(), q.price)).collect();
    assert_eq!(got, [("BTC", 61_000.2), ("PEPE", 1.0e-5)]);
    assert_eq!(q[0].volume, Some(1.234_567_8e9));
    assert!(close(q[1].change_percent, 5.0));
    assert!(q.iter().all(|q| q.exchange_ms == Some(1_790_000_000_123)));
    let mut listed = parse_symbols(body.as_bytes()).unwrap();
    listed.sort();
    assert_eq!(listed, strings(&["BAD", "BTC", "NEW", "PEPE"]));
}

#[test]
fn rest_errors() {
    let err = own("bybit-rest-error.json");
    for result in [
        parse_rest_tickers(err.as_bytes(), 0).map(|_| ()),
        parse_symbols(err.as_bytes()).map(|_| ()),
    ] {
        match result {
            Err(ParseError::Venue(msg)) => assert_eq!(msg, "retCode 10001: Illegal category"),
            other => panic!("{other:?}"),
        }
    }
    let linear = r#"{"retCode":0,"result":{"category":"linear","list":[]}}"#;
    assert!(matches!(
        parse_rest_tickers(linear.as_bytes(), 0),
        Err(ParseError::Field {
            field: "result.category",
            ..
        })
    ));
    let all_bad = r#"{"retCode":0,"result":{"list":[{"symbol":"AUSDT","lastPrice":"-1"}]}}"#;
    assert!(parse_rest_tickers(all_bad.as_bytes(), 0).is_err());
    assert!(parse_rest_tickers(b"{}", 0).is_err());
    assert!(parse_rest_tickers(b"<html>", 0).is_err());
}

#[test]
fn twenty_five_coins_make_three_requests_of_at_most_ten_and_unknown_coins_are_dropped() {
    let bases: Vec<String> = (b'A'..=b'Y').map(|c| format!("C{}", c as char)).collect();
    assert_eq!(bases.len(), 25);
    let mut coins = bases.clone();
    coins.extend(strings(&["NOTLISTED", "ALSONOT"]));
    coins.sort();
    let mut listed = bases.clone();
    listed.push("ONLYONBYBIT".into());
    let topics = bybit::topics(&coins, &listed);
    assert_eq!(topics.len(), 25);
    assert!(
        topics
            .iter()
            .all(|t| !t.contains("NOT") && !t.contains("ONLY"))
    );
    let frames = bybit::subscribe_frames(&topics);
    assert_eq!(frames.len(), 3);
    let args = |range: std::ops::Range<usize>| {
        bases[range]
            .iter()
            .map(|b| format!("\"tickers.{b}USDT\""))
            .collect::<Vec<_>>()
            .join(",")
    };
    for (i, range) in [0..10, 10..20, 20..25].into_iter().enumerate() {
        let want = format!(
            r#"{{"req_id":"sub-{}","op":"subscribe","args":[{}]}}"#,
            i + 1,
            args(range)
        );
        assert_eq!(frames[i], want);
    }
    assert!(
        frames[0].contains("\"tickers.CAUSDT\"") && frames[2].ends_with("\"tickers.CYUSDT\"]}")
    );
}

#[test]
fn feeds_are_named_venue_stream() {
    assert_eq!(
        bybit::FEEDS,
        &["bybit.symbols", "bybit.ticker", "bybit.rest"]
    );
    assert_eq!(bybit::PING_FRAME, r#"{"req_id":"ping","op":"ping"}"#);
}

/// A shared `bybit/` recording, or `None` with a skip note.
fn shared(name: &str) -> Option<String> {
    fixtures::shared_text(&format!("bybit/{name}"))
}
