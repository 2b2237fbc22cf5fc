//! Liquidation parsers against the third-party recordings in `../shared/fixtures` (each test skips
//! with a message when that folder is absent) and kimp's own `tests/fixtures/liq-*` files: side
//! conventions per venue, contract sizes, de-duplication, held events, heartbeats, subscriptions.
#![allow(
    clippy::float_cmp,
    reason = "a parsed decimal is exact: the test compares what the venue sent"
)]

#[path = "support/fixtures.rs"]
mod fixtures;
use fixtures::{lines, own, shared};

// A test crate root resolves `mod` next to itself (`tests/`), so the venue files name their folder.
#[path = "liquidations_parse/bitmex.rs"]
mod bitmex;
#[path = "liquidations_parse/okx.rs"]
mod okx;

use kimp::feed::liq::binance::{self, BinanceLiqParser};
use kimp::feed::liq::bitmex::BitmexLiqParser;
use kimp::feed::liq::bybit::{self, BybitLiqParser};
use kimp::feed::liq::okx::{OkxInstruments, OkxLiqParser};
use kimp::feed::liq::{LiqParsed, LiqParser};
use kimp::feed::{ParseError, Parsed};
use kimp::model::{LiqVenue, Liquidation, MarketEvent, Side};

const RECEIVED: i64 = 1_800_000_000_000;

/// The events of a liquidation frame (panics on heartbeat/nothing/control/error).
fn events(parser: &mut dyn LiqParser, frame: &[u8]) -> Vec<Liquidation> {
    match parser.parse_frame(frame, RECEIVED) {
        Ok(LiqParsed::Liquidations(events)) => events,
        other => panic!("expected liquidations, got {other:?}"),
    }
}

fn one(parser: &mut dyn LiqParser, frame: &[u8]) -> Liquidation {
    let mut all = events(parser, frame);
    assert_eq!(all.len(), 1, "{all:?}");
    all.remove(0)
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * b.abs().max(1.0)
}

fn assert_values(e: &Liquidation, price: f64, quantity: f64, notional: f64) {
    assert!(close(e.price, price), "price {} vs {price}", e.price);
    assert!(
        close(e.quantity, quantity),
        "quantity {} vs {quantity}",
        e.quantity
    );
    assert!(
        close(e.notional_usd, notional),
        "notional {} vs {notional}",
        e.notional_usd
    );
}

// ---------------------------------------------------------------- Binance

#[test]
fn binance_doc_sell_is_a_long() {
    let Some(frame) = shared("binance/usdm-forceorder-doc.json") else {
        return;
    };
    let e = one(&mut BinanceLiqParser::new(), &frame);
    assert_eq!(e.id, "binance:BTCUSDT:1568014460893");
    assert_eq!(
        (e.exchange, e.symbol.as_str(), e.base.as_str()),
        (LiqVenue::Binance, "BTCUSDT", "BTC")
    );
    assert_eq!(e.side, Side::Long);
    assert_values(&e, 9910.0, 0.014, 138.74);
    assert_eq!((e.time_ms, e.received_ms), (1_568_014_460_893, RECEIVED));
}

#[test]
fn binance_combined_buy_is_a_short_and_coin_m_is_skipped() {
    let Some(bytes) = shared("binance/forceorder-combined-recorded.jsonl") else {
        return;
    };
    let lines = lines(&bytes);
    assert_eq!(lines.len(), 2);
    let mut parser = BinanceLiqParser::new();
    let e = one(&mut parser, lines[0]);
    assert_eq!(e.side, Side::Short);
    // `ap` (4706.04), not `p`; `z` (0.014), not `l` (0.015).
    assert_values(&e, 4706.04, 0.014, 4706.04 * 0.014);
    assert_eq!(e.time_ms, 1_584_059_031_421);
    assert!(
        events(&mut parser, lines[1]).is_empty(),
        "COIN-M BTCUSD_200925 must be skipped"
    );
}

#[test]
fn binance_canary_frames_are_heartbeats() {
    let bytes = own("liq-binance-markprice-canary.jsonl");
    let lines = lines(&bytes);
    let mut parser = BinanceLiqParser::new();
    for canary in &lines[..2] {
        assert!(binance::is_canary(canary));
        assert_eq!(
            parser.parse_frame(canary, RECEIVED).unwrap(),
            LiqParsed::Heartbeat
        );
        assert_eq!(binance::parse(canary, RECEIVED).unwrap(), Parsed::nothing());
    }
    let dated = one(&mut parser, lines[2]);
    assert!(!binance::is_canary(lines[2]));
    assert_eq!(
        (dated.symbol.as_str(), dated.base.as_str(), dated.side),
        ("BTCUSDT_260925", "BTC", Side::Long)
    );
    assert_values(&dated, 81010.2, 0.5, 40505.1);
    assert_eq!(
        parser.parse_frame(lines[3], RECEIVED).unwrap(),
        LiqParsed::Nothing
    );
    // The same event again (an overlapping replacement connection) is dropped.
    assert!(events(&mut parser, lines[2]).is_empty());
    assert_eq!(parser.stats().duplicates, 1);
}

#[test]
fn binance_plain_parse_wraps_events() {
    let Some(frame) = shared("binance/usdm-forceorder-doc.json") else {
        return;
    };
    let Parsed::Events(events) = binance::parse(&frame, RECEIVED).unwrap() else {
        panic!("control")
    };
    assert!(matches!(events.as_slice(), [MarketEvent::Liquidation(l)] if l.side == Side::Long));
}

// ---------------------------------------------------------------- Bybit

#[test]
fn bybit_doc_and_recorded_sell_is_a_short() {
    let Some(doc) = shared("bybit/ws-all-liquidation-doc.json") else {
        return;
    };
    let mut parser = BybitLiqParser::new();
    let e = one(&mut parser, &doc);
    assert_eq!(e.id, "bybit:ROSEUSDT:1739502302929:0");
    assert_eq!(
        (e.base.as_str(), e.side, e.time_ms),
        ("ROSE", Side::Short, 1_739_502_302_929)
    );
    assert_values(&e, 0.04499, 20_000.0, 899.8);
    let Some(rec) = shared("bybit/ws-all-liquidation-recorded.jsonl") else {
        return;
    };
    let lines = lines(&rec);
    let e = one(&mut parser, lines[0]);
    assert_eq!(
        (e.symbol.as_str(), e.base.as_str(), e.side),
        ("PIPPINUSDT", "PIPPIN", Side::Short)
    );
    assert_values(&e, 0.02456, 2846.0, 2846.0 * 0.02456);
}

#[test]
fn bybit_buy_is_a_long_multi_event_and_deduped() {
    let bytes = own("liq-bybit-all-liquidation-multi.jsonl");
    let lines = lines(&bytes);
    let mut parser = BybitLiqParser::new();
    let batch = events(&mut parser, lines[0]);
    assert_eq!(batch.len(), 2);
    assert!(
        batch.iter().all(|e| e.side == Side::Long),
        "Bybit S=Buy is the long position"
    );
    assert_eq!(batch[1].id, "bybit:BTCUSDT:1791565601058:1");
    assert_values(&batch[0], 82396.9, 0.006, 0.006 * 82396.9);
    assert_values(&batch[1], 82394.3, 0.038, 0.038 * 82394.3);
    // The same message again (a resend after reconnect): nothing new.
    assert_eq!(
        parser.parse_frame(lines[0], RECEIVED).unwrap(),
        LiqParsed::Liquidations(vec![])
    );
    assert_eq!(parser.stats().duplicates, 2);
    // 1000PEPE: coin PEPE, quantity × 1000, notional unchanged; the bad second row is skipped.
    let pepe = one(&mut parser, lines[1]);
    assert_eq!((pepe.base.as_str(), pepe.side), ("PEPE", Side::Short));
    assert_values(&pepe, 0.000_012_345, 120_000_000.0, 120_000.0 * 0.012_345);
}

#[test]
fn bybit_deprecated_topic() {
    let Some(doc) = shared("bybit/ws-liquidation-deprecated-topic-doc.json") else {
        return;
    };
    let mut parser = BybitLiqParser::new();
    let e = one(&mut parser, &doc);
    assert_eq!(
        (e.id.as_str(), e.side),
        ("bybit:BTCUSDT:1703485237953:0", Side::Short)
    );
    assert_values(&e, 43511.7, 0.003, 0.003 * 43511.7);
    let Some(rec) = shared("bybit/ws-liquidation-deprecated-topic-recorded.jsonl") else {
        return;
    };
    let lines = lines(&rec);
    let gala = one(&mut parser, lines[0]);
    assert_eq!(
        (gala.base.as_str(), gala.side, gala.time_ms),
        ("GALA", Side::Long, 1_673_251_091_822)
    );
    assert_values(&gala, 0.03803, 1637.0, 1637.0 * 0.03803);
    // Inverse XRPUSD sizes in USD contracts.
    let xrp = one(&mut parser, lines[1]);
    assert_eq!((xrp.base.as_str(), xrp.side), ("XRP", Side::Short));
    assert_values(&xrp, 0.5149, 6949.0 / 0.5149, 6949.0);
}

#[test]
fn bybit_replies() {
    let mut parser = BybitLiqParser::new();
    for rel in [
        "bybit/ws-pong-linear-doc.json",
        "bybit/ws-pong-spot-doc.json",
    ] {
        let Some(pong) = shared(rel) else { return };
        assert_eq!(
            parser.parse_frame(&pong, RECEIVED).unwrap(),
            LiqParsed::Heartbeat,
            "{rel}"
        );
    }
    let Some(ack) = shared("bybit/ws-subscribe-ack-linear-doc.json") else {
        return;
    };
    assert_eq!(
        parser.parse_frame(&ack, RECEIVED).unwrap(),
        LiqParsed::Nothing
    );
    let refused = br#"{"success":false,"ret_msg":"args size >10","conn_id":"5c5b","req_id":"liq1","op":"subscribe"}"#;
    assert!(
        matches!(parser.parse_frame(refused, RECEIVED), Err(ParseError::Venue(m)) if m.contains("args size"))
    );
}

#[test]
fn bybit_instruments_doc() {
    let Some(body) = shared("bybit/rest-instruments-info-linear-doc.json") else {
        return;
    };
    let (symbols, next) = bybit::parse_instruments(&body).unwrap();
    assert_eq!(symbols, ["BTCUSDT"]);
    assert_eq!(next, None, "an empty nextPageCursor is the last page");
}

#[test]
fn bybit_subscriptions_for_1200_symbols_stay_under_the_limits() {
    let symbols: Vec<String> = (0..1200).map(|i| format!("COIN{i:04}XYZUSDT")).collect();
    let connections = bybit::split_connections(&symbols);
    assert!(
        connections.len() >= 2,
        "1,200 topics do not fit one connection"
    );
    assert_eq!(connections.iter().map(Vec::len).sum::<usize>(), 1200);
    assert_eq!(connections.concat(), symbols, "order and membership kept");
    for connection in &connections {
        let frames = bybit::subscribe_frames(connection);
        assert_eq!(
            frames.len(),
            connection.len().div_ceil(bybit::ARGS_PER_REQUEST)
        );
        let mut chars = 0;
        for frame in &frames {
            let value: serde_json::Value = serde_json::from_str(frame).unwrap();
            assert_eq!(value["op"], "subscribe");
            let args = value["args"].as_array().unwrap();
            assert!(!args.is_empty() && args.len() <= bybit::ARGS_PER_REQUEST);
            chars += serde_json::to_string(args).unwrap().len();
        }
        assert!(chars < 21_000, "{chars} args characters on one connection");
    }
}

// ---------------------------------------------------------------- all venues

#[test]
fn garbage_is_a_parse_error_everywhere() {
    let mut parsers: Vec<Box<dyn LiqParser>> = vec![
        Box::new(BinanceLiqParser::new()),
        Box::new(BybitLiqParser::new()),
        Box::new(OkxLiqParser::new(OkxInstruments::default().shared())),
        Box::new(BitmexLiqParser::new()),
    ];
    let garbage: [&[u8]; 4] = [b"not json", b"{}", b"[1,2]", b"\xff\xfe"];
    for parser in &mut parsers {
        for frame in garbage {
            assert!(
                parser.parse_frame(frame, RECEIVED).is_err(),
                "{:?}",
                String::from_utf8_lossy(frame)
            );
            assert!(parser.parse(frame, RECEIVED).is_err());
        }
    }
    let bad_price = br#"{"topic":"allLiquidation.XUSDT","data":[{"T":1,"s":"XUSDT","S":"Buy","v":"1","p":"abc"}]}"#;
    assert!(matches!(
        parsers[1].parse_frame(bad_price, RECEIVED),
        Err(ParseError::Field { field: "p", .. })
    ));
    let bad_side = br#"{"table":"liquidation","action":"insert","data":[{"orderID":"x","symbol":"XBTUSD","side":"Hold","price":1,"leavesQty":1}]}"#;
    assert!(matches!(
        parsers[3].parse_frame(bad_side, RECEIVED),
        Err(ParseError::Field { field: "side", .. })
    ));
}
