//! OKX: contract sizes (linear and inverse), side rules, late re-deliveries, held events.

use kimp::feed::liq::okx::{self, OkxInstruments, OkxLiqParser};
use kimp::feed::liq::{LiqParsed, LiqParser};
use kimp::feed::{Control, ParseError};
use kimp::model::Side;

use super::{RECEIVED, assert_values, events, lines, one, own, shared};

fn okx_parser() -> OkxLiqParser {
    let table = okx::parse_instruments(&own("liq-okx-instruments-swap.json"))
        .expect("own OKX instruments fixture parses");
    assert_eq!(table.len(), 3);
    OkxLiqParser::new(table.shared())
}

#[test]
fn okx_recorded_and_doc_are_one_event() {
    let Some(rec) = shared("okx/ws-liquidation-orders-swap-recorded.jsonl") else {
        return;
    };
    let Some(doc) = shared("okx/ws-liquidation-orders-doc.json") else {
        return;
    };
    let mut parser = okx_parser();
    let e = one(&mut parser, lines(&rec)[0]);
    assert_eq!(e.id, "okx:IOST-USDT-SWAP:1692266434010:0");
    assert_eq!(
        (e.symbol.as_str(), e.base.as_str(), e.side),
        ("IOST-USDT-SWAP", "IOST", Side::Short)
    );
    // 13 contracts × ctVal 1000 IOST at bankruptcy price 0.007831.
    assert_values(&e, 0.007_831, 13_000.0, 101.803);
    assert_eq!(e.time_ms, 1_692_266_434_010);
    // The doc push is the same liquidation (plus an `id`): a late re-delivery, dropped.
    assert_eq!(
        parser.parse_frame(&doc, RECEIVED).unwrap(),
        LiqParsed::Liquidations(vec![])
    );
    assert_eq!(parser.stats().duplicates, 1);
}

#[test]
fn okx_inverse_net_mode_and_linear() {
    let bytes = own("liq-okx-liquidation-orders-constructed.jsonl");
    let lines = lines(&bytes);
    let mut parser = okx_parser();
    let batch = events(&mut parser, lines[0]);
    assert_eq!(batch.len(), 3);
    // Inverse BTC-USD-SWAP: 3 × 100 USD; net + buy → short.
    assert_eq!(
        (batch[0].base.as_str(), batch[0].side),
        ("BTC", Side::Short)
    );
    assert_values(&batch[0], 50_000.0, 300.0 / 50_000.0, 300.0);
    // net + sell → long; 20 × 100 USD.
    assert_eq!(batch[1].side, Side::Long);
    assert_values(&batch[1], 50_010.5, 2000.0 / 50_010.5, 2000.0);
    // Linear BTC-USDT-SWAP (exchanges.md §6 example): 8.55 × 0.01 BTC, posSide long.
    assert_eq!(
        (batch[2].id.as_str(), batch[2].side),
        ("okx:BTC-USDT-SWAP:1791565600771:0", Side::Long)
    );
    assert_values(&batch[2], 82655.7, 0.0855, 0.0855 * 82655.7);
}

#[test]
fn okx_recorded_instrument_row_and_unknown_instruments_are_held() {
    let Some(row) = shared("okx/rest-instrument-swap-linear-row-fixture.json") else {
        return;
    };
    let body = [
        br#"{"code":"0","msg":"","data":["#.as_slice(),
        row.trim_ascii(),
        b"]}",
    ]
    .concat();
    let recorded = okx::parse_instruments(&body).unwrap();
    assert_eq!(
        recorded.get("BTC-USDC-SWAP").map(|c| (c.inverse, c.ct_val)),
        Some((false, 0.0001))
    );
    // BTC-USDC-SWAP is not in the starting table: held, reported, never guessed.
    let frame = lines(&own("liq-okx-liquidation-orders-constructed.jsonl"))[1].to_vec();
    let mut parser = okx_parser();
    assert!(events(&mut parser, &frame).is_empty());
    assert_eq!(parser.stats().held, 1);
    assert_eq!(parser.take_unknown_instruments(), ["BTC-USDC-SWAP"]);
    assert!(parser.take_unknown_instruments().is_empty());
    parser.instruments().write().unwrap().extend(recorded);
    let released = parser.release_held(RECEIVED + 5);
    assert_eq!(released.len(), 1);
    // 100 contracts × 0.0001 BTC at 60000; net + sell → long; stamped with the first receipt.
    assert_eq!(
        (released[0].side, released[0].received_ms),
        (Side::Long, RECEIVED)
    );
    assert_values(&released[0], 60_000.0, 0.01, 600.0);
    assert_eq!(parser.stats().held, 0);
    // Re-delivered after release: still a duplicate.
    assert!(events(&mut parser, &frame).is_empty());
}

#[test]
fn okx_futures_are_skipped_and_events_answered() {
    let Some(fut) = shared("okx/ws-liquidation-orders-futures-recorded.jsonl") else {
        return;
    };
    let mut parser = OkxLiqParser::new(OkxInstruments::default().shared());
    assert!(events(&mut parser, lines(&fut)[0]).is_empty());
    assert_eq!(
        parser.stats().held,
        0,
        "a FUTURES row is not held for a SWAP table"
    );
    assert!(parser.take_unknown_instruments().is_empty());
    assert_eq!(
        parser.parse_frame(b"pong", RECEIVED).unwrap(),
        LiqParsed::Heartbeat
    );
    let notice = br#"{"event":"notice","code":"64008","msg":"The connection will soon be closed for a service upgrade. Please reconnect.","connId":"a4d3ae55"}"#;
    assert!(matches!(
        parser.parse_frame(notice, RECEIVED).unwrap(),
        LiqParsed::Control(Control::Reconnect(_))
    ));
    let error =
        br#"{"event":"error","code":"60018","msg":"Wrong URL or channel","connId":"a4d3ae55"}"#;
    assert!(
        matches!(parser.parse_frame(error, RECEIVED), Err(ParseError::Venue(m)) if m.starts_with("60018:"))
    );
    let ack = br#"{"event":"subscribe","arg":{"channel":"liquidation-orders","instType":"SWAP"},"connId":"a4d3ae55"}"#;
    assert_eq!(
        parser.parse_frame(ack, RECEIVED).unwrap(),
        LiqParsed::Nothing
    );
    let candle = br#"{"arg":{"channel":"candle1m","instId":"BTC-USDT"},"data":[["1790000000000","61000","61010","60990","61005","12.5","762500","762500","0"]]}"#;
    assert_eq!(
        parser.parse_frame(candle, RECEIVED).unwrap(),
        LiqParsed::Heartbeat
    );
}

#[test]
fn okx_late_redelivery_after_a_burst_is_still_a_duplicate() {
    // OKX re-sends a report seconds later; in a burst more than 10,000 other events can come in
    // between, and the re-send must still not count twice.
    let frame = |ts: u64| {
        format!(
            r#"{{"arg":{{"channel":"liquidation-orders","instType":"SWAP"}},"data":[{{"details":[{{"bkLoss":"0","bkPx":"82655.7","ccy":"","posSide":"long","side":"sell","sz":"8.55","ts":"{ts}"}}],"instFamily":"BTC-USDT","instId":"BTC-USDT-SWAP","instType":"SWAP","uly":"BTC-USDT"}}]}}"#
        )
    };
    let mut parser = okx_parser();
    let first = frame(1_791_565_600_000);
    assert_eq!(events(&mut parser, first.as_bytes()).len(), 1);
    for i in 1..=15_000_u64 {
        let other = frame(1_791_565_600_000 + i);
        let parsed = parser.parse_frame(other.as_bytes(), RECEIVED + i64::try_from(i / 3).unwrap());
        assert!(matches!(parsed, Ok(LiqParsed::Liquidations(v)) if v.len() == 1));
    }
    let late = parser
        .parse_frame(first.as_bytes(), RECEIVED + 6_000)
        .unwrap();
    assert_eq!(late, LiqParsed::Liquidations(vec![]), "re-sent 6 s later");
    assert_eq!(parser.stats().duplicates, 1);
}
