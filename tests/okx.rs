//! OKX spot: the socket and instrument-list parsers against the real recordings in
//! `../shared/fixtures/okx` and kimp's own fixtures, subscribe batching and instrument
//! intersection, and (in [`session`]) the feed against a scripted loopback venue.
#![allow(
    clippy::unwrap_used,
    reason = "test code: a failed unwrap is a failed test"
)]
#![allow(
    clippy::float_cmp,
    reason = "prices parsed from fixed decimal strings are compared exactly"
)]

#[path = "okx/session.rs"]
mod session;

#[path = "support/fixtures.rs"]
mod fixtures;
use fixtures::{own_text as own, text_lines as lines};

use kimp::feed::okx::{self, parse, parse_instruments};
use kimp::feed::{Control, ParseError, Parsed};
use kimp::model::{Currency, MarketEvent, Quote, Venue};

const RECEIVED: i64 = 1_800_000_000_000;

fn quotes(frame: &str) -> Vec<Quote> {
    match parse(frame.as_bytes(), RECEIVED) {
        Ok(Parsed::Events(events)) => events
            .into_iter()
            .map(|e| match e {
                MarketEvent::Quote(q) => q,
                other => panic!("not a quote: {other:?}"),
            })
            .collect(),
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
fn doc_ticker_is_one_exact_quote_with_change_from_open24h() {
    let Some(frame) = shared("ws-tickers-doc.json") else {
        return;
    };
    let q = quotes(&frame);
    assert_eq!(q.len(), 1);
    let q = &q[0];
    assert_eq!(
        (q.venue, q.base.as_str(), q.currency, q.price),
        (Venue::Okx, "BTC", Currency::Usdt, 9_999.99)
    );
    assert!(close(
        q.change_percent,
        (9_999.99 - 9_000.0) / 9_000.0 * 100.0
    ));
    assert!(close(q.change_percent, 11.111));
    assert_eq!(q.volume, Some(2_222.0));
    assert_eq!(
        (q.exchange_ms, q.received_ms),
        (Some(1_597_026_383_085), RECEIVED)
    );
}

#[test]
fn recorded_stream_gives_a_quote_per_spot_line_only() {
    let Some(text) = shared("ws-tickers-recorded.jsonl") else {
        return;
    };
    let lines = lines(&text);
    assert_eq!(lines.len(), 28);
    let per_line: Vec<Vec<Quote>> = lines.iter().map(|l| quotes(l)).collect();
    let spot: Vec<&Quote> = per_line.iter().flatten().collect();
    assert_eq!(
        spot.len(),
        25,
        "25 SPOT lines; FUTURES and SWAP lines give nothing"
    );
    assert!(per_line[0].is_empty() && per_line[1].is_empty());
    let first = spot[0];
    assert_eq!((first.base.as_str(), first.price), ("BTC", 30_236.0));
    assert!(close(
        first.change_percent,
        (30_236.0 - 29_700.4) / 29_700.4 * 100.0
    ));
    assert_eq!(first.volume, Some(525_802_090.627_166_1));
    assert_eq!(first.exchange_ms, Some(1_652_459_224_956));
    let last = spot[24];
    assert_eq!(
        (last.price, last.exchange_ms),
        (30_227.6, Some(1_652_459_235_637))
    );
    assert_eq!(last.volume, Some(525_907_477.723_799_18));
}

#[test]
fn all_instrument_types_only_spot_quotes_and_empty_strings_survive() {
    let Some(text) = shared("ws-tickers-all-inst-types-recorded.jsonl") else {
        return;
    };
    let lines = lines(&text);
    assert_eq!(lines.len(), 6);
    let counts: Vec<usize> = lines.iter().map(|l| quotes(l).len()).collect();
    // SPOT, FUTURES ×2, SWAP ×2, OPTION (with `bidPx:""`).
    assert_eq!(counts, [1, 0, 0, 0, 0, 0]);
    let q = &quotes(lines[0])[0];
    assert_eq!((q.base.as_str(), q.price), ("BTC", 29_934.0));
    assert!(close(
        q.change_percent,
        (29_934.0 - 31_588.3) / 31_588.3 * 100.0
    ));
    assert_eq!(q.volume, Some(302_140_058.012_158_3));
    assert_eq!(q.exchange_ms, Some(1_654_166_073_135));
}

#[test]
fn liquidation_pushes_on_the_same_socket_are_nothing() {
    for name in [
        "ws-liquidation-orders-doc.json",
        "ws-liquidation-orders-swap-recorded.jsonl",
        "ws-liquidation-orders-futures-recorded.jsonl",
    ] {
        let Some(text) = shared(name) else { return };
        for line in lines(&text) {
            assert!(quotes(line).is_empty(), "{name}");
        }
    }
}

#[test]
fn pong_acks_and_unknown_events_are_nothing_errors_are_venue_errors() {
    assert_eq!(
        parse(own("okx-ws-pong.txt").as_bytes(), 0).unwrap(),
        Parsed::nothing()
    );
    for line in lines(&own("okx-ws-events.jsonl")) {
        assert_eq!(
            parse(line.as_bytes(), 0).unwrap(),
            Parsed::nothing(),
            "{line}"
        );
    }
    match parse(own("okx-ws-error-event.json").as_bytes(), 0) {
        Err(ParseError::Venue(msg)) => {
            assert!(
                msg.starts_with("60018: Wrong URL or channel:tickers,instId:NOPE-USDT"),
                "{msg}"
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        parse(own("okx-ws-notice-service-upgrade.json").as_bytes(), 0),
        Ok(Parsed::Control(Control::Reconnect(_)))
    ));
}

#[test]
fn quirks_exponents_empty_and_zero_open_missing_and_extra_fields() {
    let text = own("okx-ws-tickers-quirks.jsonl");
    let lines = lines(&text);
    assert_eq!(lines.len(), 7);
    let pepe = &quotes(lines[0])[0];
    assert_eq!((pepe.base.as_str(), pepe.price), ("PEPE", 1.2e-5));
    assert!(close(pepe.change_percent, 20.0));
    assert_eq!(
        (pepe.volume, pepe.exchange_ms),
        (Some(3.5e6), Some(1_790_000_000_001))
    );
    assert!(quotes(lines[1]).is_empty(), "empty `last`: no trade yet");
    let eth = &quotes(lines[2])[0];
    assert_eq!(
        (eth.price, eth.change_percent, eth.volume),
        (2_450.1, None, None)
    );
    let sol = &quotes(lines[3])[0];
    assert_eq!(
        (sol.base.as_str(), sol.change_percent, sol.exchange_ms),
        ("SOL", None, None)
    );
    assert_eq!(sol.volume, Some(1_500_000.0));
    assert!(quotes(lines[4]).is_empty(), "USDC pair");
    let mixed = quotes(lines[5]);
    assert_eq!(mixed.len(), 1, "the bad row is skipped, the good one kept");
    assert_eq!((mixed[0].base.as_str(), mixed[0].price), ("XRP", 0.5));
    assert!(matches!(
        parse(lines[6].as_bytes(), 0),
        Err(ParseError::Field { field: "last", .. })
    ));
    assert!(matches!(parse(b"PONG", 0), Err(ParseError::Json(_))));
}

#[test]
fn instrument_list_is_live_usdt_spot_only() {
    let body = own("okx-rest-instruments-spot.json");
    assert_eq!(
        parse_instruments(body.as_bytes()).unwrap(),
        strings(&["BTC", "ETH", "XRP"])
    );
    match parse_instruments(own("okx-rest-error.json").as_bytes()) {
        Err(ParseError::Venue(msg)) => assert_eq!(msg, "50011: Too Many Requests"),
        other => panic!("{other:?}"),
    }
    assert!(parse_instruments(b"[]").is_err());
}

#[test]
fn subscriptions_are_intersected_and_batched_by_a_hundred() {
    let listed: Vec<String> = (0..250).map(|i| format!("C{i:03}")).collect();
    let mut coins = listed.clone();
    coins.extend(strings(&["NOTONOKX"]));
    let ids = okx::inst_ids(&coins, &listed);
    assert_eq!(ids.len(), 250);
    assert!(!ids.iter().any(|id| id.contains("NOTONOKX")));
    let frames = okx::subscribe_frames(&ids);
    assert_eq!(frames.len(), 3);
    let counts: Vec<usize> = frames
        .iter()
        .map(|f| f.matches("\"channel\"").count())
        .collect();
    assert_eq!(counts, [100, 100, 50]);
    assert!(frames.iter().all(|f| f.len() < 64 * 1024));
    let small = okx::subscribe_frames(&strings(&["BTC-USDT", "ETH-USDT"]));
    assert_eq!(
        small,
        [
            r#"{"op":"subscribe","args":[{"channel":"tickers","instId":"BTC-USDT"},{"channel":"tickers","instId":"ETH-USDT"}]}"#
        ]
    );
    assert_eq!(okx::FEEDS, &["okx.instruments", "okx.ticker"]);
}

/// A shared `okx/` recording, or `None` with a skip note.
fn shared(name: &str) -> Option<String> {
    fixtures::shared_text(&format!("okx/{name}"))
}
