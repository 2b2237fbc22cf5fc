//! `BitMEX`: welcome and acks, the instrument table, insert counted once, contract values.

use kimp::feed::ParseError;
use kimp::feed::liq::bitmex::BitmexLiqParser;
use kimp::feed::liq::{LiqParsed, LiqParser};
use kimp::model::Side;

use super::{RECEIVED, assert_values, events, lines, one, own, shared};

#[test]
fn bitmex_welcome_ack_and_instrument_stream() {
    let Some(acks) = shared("bitmex/ws-welcome-and-subscribe-ack-recorded.jsonl") else {
        return;
    };
    let Some(instr) = shared("bitmex/ws-instrument-partial-and-updates-recorded.jsonl") else {
        return;
    };
    let mut parser = BitmexLiqParser::new();
    for line in lines(&acks) {
        assert_eq!(
            parser.parse_frame(line, RECEIVED).unwrap(),
            LiqParsed::Nothing
        );
    }
    let instr = lines(&instr);
    assert_eq!(instr.len(), 4);
    for line in &instr {
        assert_eq!(
            parser.parse_frame(line, RECEIVED).unwrap(),
            LiqParsed::Heartbeat
        );
    }
    // The partial's ETHM19 and LTCM19; updates for symbols without a row are ignored.
    assert_eq!(parser.instruments(), 2);
    assert_eq!(
        parser.parse_frame(b"pong", RECEIVED).unwrap(),
        LiqParsed::Heartbeat
    );
    let error = br#"{"status":400,"error":"Unknown table: nope","meta":{},"request":{"op":"subscribe","args":"nope"}}"#;
    assert!(
        matches!(parser.parse_frame(error, RECEIVED), Err(ParseError::Venue(m)) if m == "400 Unknown table: nope")
    );
}

#[test]
fn bitmex_insert_counted_once_inverse_math_and_held_until_instrument() {
    let Some(liq) = shared("bitmex/ws-liquidation-insert-delete-recorded.jsonl") else {
        return;
    };
    let liq = lines(&liq);
    let mut parser = BitmexLiqParser::new();
    // Insert before the instrument row: held, not guessed.
    assert!(events(&mut parser, liq[0]).is_empty());
    assert_eq!(parser.stats().held, 1);
    assert!(
        events(&mut parser, liq[1]).is_empty(),
        "delete adds nothing"
    );
    let later = RECEIVED + 250;
    let released = match parser
        .parse_frame(&own("liq-bitmex-instrument-insert.json"), later)
        .unwrap()
    {
        LiqParsed::Liquidations(events) => events,
        other => panic!("{other:?}"),
    };
    assert_eq!(released.len(), 1);
    let e = &released[0];
    assert_eq!(e.id, "bitmex:dd9cea25-207c-0dab-15b5-b88da776f500");
    assert_eq!(
        (e.symbol.as_str(), e.base.as_str(), e.side),
        ("XBTUSD", "BTC", Side::Short)
    );
    // Inverse: 9214 contracts × 1 USD; base = 9214 / 10106.
    assert_values(e, 10_106.0, 9214.0 / 10_106.0, 9214.0);
    assert_eq!(
        (e.time_ms, e.received_ms),
        (RECEIVED, RECEIVED),
        "stamped at the insert's receipt"
    );
    // A reconnect clears the table but remembers the order: the replayed insert is not recounted.
    parser.reset_connection();
    assert_eq!(parser.instruments(), 0);
    assert!(events(&mut parser, liq[0]).is_empty());
    assert_eq!(parser.stats().held, 0);
    assert_eq!(parser.stats().duplicates, 1);
}

#[test]
fn bitmex_quanto_linear_and_xbt_quoted() {
    let Some(instr) = shared("bitmex/ws-instrument-partial-and-updates-recorded.jsonl") else {
        return;
    };
    let mut parser = BitmexLiqParser::new();
    for line in lines(&instr) {
        parser.parse_frame(line, RECEIVED).unwrap();
    }
    parser
        .parse_frame(&own("liq-bitmex-instrument-insert.json"), RECEIVED)
        .unwrap();
    assert_eq!(parser.instruments(), 5);
    let bytes = own("liq-bitmex-liquidations-constructed.jsonl");
    let lines = lines(&bytes);
    assert!(events(&mut parser, lines[0]).is_empty(), "empty partial");
    let inserted = events(&mut parser, lines[1]);
    assert_eq!(inserted.len(), 2);
    // Quanto ETHUSD: 1000 × 250 × 100 / 1e8 = 0.25 XBT × 10000 USD (XBTUSD mark) = 2500 USD.
    let eth = &inserted[0];
    assert_eq!((eth.base.as_str(), eth.side), ("ETH", Side::Long));
    assert_values(eth, 250.0, 10.0, 2500.0);
    // Linear XBTUSDT: 2,500,000 / 1e6 = 2.5 BTC × 60000.
    let btc = &inserted[1];
    assert_eq!((btc.base.as_str(), btc.side), ("BTC", Side::Long));
    assert_values(btc, 60_000.0, 2.5, 150_000.0);
    assert!(
        events(&mut parser, lines[2]).is_empty(),
        "update adds nothing"
    );
    assert!(
        events(&mut parser, lines[3]).is_empty(),
        "re-insert of a seen orderID is ignored"
    );
    // ETHM19 (recorded partial, quoted in XBT): 10 ETH × 0.0316 XBT × 10000 USD.
    let ethm = one(&mut parser, lines[4]);
    assert_eq!((ethm.base.as_str(), ethm.side), ("ETH", Side::Short));
    assert_values(&ethm, 0.0316, 10.0, 3160.0);
    assert!(
        events(&mut parser, lines[5]).is_empty(),
        "delete adds nothing"
    );
    assert_eq!(parser.stats().duplicates, 1);
}

#[test]
fn bitmex_quanto_waits_for_the_xbt_price() {
    let mut parser = BitmexLiqParser::new();
    let eth_only = br#"{"table":"instrument","action":"partial","data":[{"symbol":"ETHUSD","rootSymbol":"ETH","quoteCurrency":"USD","isQuanto":true,"isInverse":false,"multiplier":100,"settlCurrency":"XBt"}]}"#;
    assert_eq!(
        parser.parse_frame(eth_only, RECEIVED).unwrap(),
        LiqParsed::Heartbeat
    );
    let insert = br#"{"table":"liquidation","action":"insert","data":[{"orderID":"q1","symbol":"ETHUSD","side":"Buy","price":200,"leavesQty":50}]}"#;
    assert!(events(&mut parser, insert).is_empty());
    assert_eq!(parser.stats().held, 1);
    let xbt = br#"{"table":"instrument","action":"insert","data":[{"symbol":"XBTUSD","rootSymbol":"XBT","quoteCurrency":"USD","isInverse":true,"isQuanto":false,"multiplier":-100000000,"underlyingToSettleMultiplier":-100000000,"settlCurrency":"XBt","markPrice":40000}]}"#;
    let e = one(&mut parser, xbt);
    // 50 × 200 × 100 / 1e8 = 0.01 XBT × 40000 = 400 USD = 2 ETH at 200.
    assert_eq!(e.side, Side::Short);
    assert_values(&e, 200.0, 2.0, 400.0);
}
