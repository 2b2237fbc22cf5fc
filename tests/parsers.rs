//! Parsers against the third-party recordings in `../shared/fixtures` (each test skips with a
//! message when that folder is absent) and kimp's own fixtures in `tests/fixtures`.
#![allow(
    clippy::float_cmp,
    reason = "a parsed decimal is exact: the test compares what the venue sent"
)]

#[path = "support/fixtures.rs"]
mod fixtures;
use fixtures::{lines, own, shared};

use kimp::feed::{Control, ParseError, Parsed, binance, fx, upbit};
use kimp::model::{Currency, FxSource, MarketEvent, MarketInfo, Quote, Venue};

const RECEIVED: i64 = 1_800_000_000_000;

fn quotes(parsed: Parsed) -> Vec<Quote> {
    let Parsed::Events(events) = parsed else {
        panic!("expected events, got {parsed:?}")
    };
    events
        .into_iter()
        .map(|event| match event {
            MarketEvent::Quote(quote) => quote,
            other => panic!("expected a quote, got {other:?}"),
        })
        .collect()
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * b.abs().max(1.0)
}

fn flags(markets: &[MarketInfo], base: &str) -> Vec<String> {
    markets
        .iter()
        .find(|m| m.base == base)
        .unwrap_or_else(|| panic!("no {base}"))
        .flags
        .clone()
}

// ---- Upbit ----

#[test]
fn upbit_default_ticker_doc() {
    let Some(frame) = shared("upbit/ws-ticker-default-doc.json") else {
        return;
    };
    let q = quotes(upbit::parse(&frame, RECEIVED).unwrap());
    assert_eq!(q.len(), 1);
    let q = &q[0];
    assert_eq!(
        (q.venue, q.base.as_str(), q.currency),
        (Venue::Upbit, "BTC", Currency::Krw)
    );
    assert_eq!(q.price, 36929.0);
    assert!(
        close(q.change_percent.unwrap(), -0.821_807_44),
        "{:?}",
        q.change_percent
    );
    assert!(close(q.volume.unwrap(), 8_320.405_774_49));
    assert_eq!(
        (q.exchange_ms, q.received_ms),
        (Some(1_693_383_665_811), RECEIVED)
    );
}

#[test]
fn upbit_simple_trade_and_orderbook_lines_are_skipped_by_type() {
    let Some(file) = shared("upbit/ws-simple-trade-orderbook-recorded.jsonl") else {
        return;
    };
    let lines = lines(&file);
    assert_eq!(lines.len(), 50);
    for line in lines {
        assert_eq!(upbit::parse(line, RECEIVED).unwrap(), Parsed::nothing());
    }
}

#[test]
fn upbit_exponent_and_default_non_ticker_frames_are_nothing_not_errors() {
    for rel in [
        "upbit/ws-orderbook-exponent-numbers-recorded.jsonl",
        "upbit/ws-default-trade-orderbook-recorded.jsonl",
    ] {
        let Some(file) = shared(rel) else { return };
        for line in lines(&file) {
            assert_eq!(
                upbit::parse(line, RECEIVED).unwrap(),
                Parsed::nothing(),
                "{rel}"
            );
        }
    }
}

#[test]
fn upbit_status_up_is_nothing() {
    let Some(frame) = shared("upbit/ws-status-up-recorded.json") else {
        return;
    };
    assert_eq!(upbit::parse(&frame, RECEIVED).unwrap(), Parsed::nothing());
}

#[test]
fn upbit_error_frames_are_venue_errors() {
    let Some(file) = shared("upbit/ws-errors-recorded.jsonl") else {
        return;
    };
    let names: Vec<String> = lines(&file)
        .into_iter()
        .map(|line| match upbit::parse(line, RECEIVED) {
            Err(ParseError::Venue(message)) => message,
            other => panic!("expected a venue error, got {other:?}"),
        })
        .collect();
    assert!(names[0].starts_with("NO_TICKET: 티켓이"), "{names:?}");
    assert!(names[1].starts_with("INVALID_PARAM: nope"), "{names:?}");
    assert!(names[2].starts_with("WRONG_FORMAT: Format"), "{names:?}");
}

#[test]
fn upbit_own_simple_tickers() {
    let file = own("upbit-ws-ticker-simple.jsonl");
    let lines = lines(&file);
    let btc = quotes(upbit::parse(lines[0], RECEIVED).unwrap());
    assert_eq!(btc.len(), 1);
    assert_eq!((btc[0].base.as_str(), btc[0].price), ("BTC", 143_210_000.0));
    assert!(close(btc[0].change_percent.unwrap(), -0.202_090_59));
    assert!(close(btc[0].volume.unwrap(), 331_004_718_822.502_3));
    assert_eq!(btc[0].exchange_ms, Some(1_790_134_742_106));
    let usdt = quotes(upbit::parse(lines[1], RECEIVED).unwrap());
    assert_eq!((usdt[0].base.as_str(), usdt[0].price), ("USDT", 1402.0));
    assert!(close(usdt[0].change_percent.unwrap(), 0.071_38));
    assert_eq!(
        upbit::parse(lines[2], RECEIVED).unwrap(),
        Parsed::nothing(),
        "BTC-ETH is not KRW"
    );
}

#[test]
fn upbit_own_empty_price_is_an_error() {
    let err = upbit::parse(&own("upbit-ws-ticker-empty-price.json"), RECEIVED).unwrap_err();
    assert!(
        matches!(
            err,
            ParseError::Field {
                field: "trade_price",
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn upbit_own_microsecond_timestamp_becomes_ms() {
    let q =
        quotes(upbit::parse(&own("upbit-ws-ticker-microsecond-timestamp.json"), RECEIVED).unwrap());
    assert_eq!(
        (q[0].base.as_str(), q[0].exchange_ms),
        ("ETH", Some(1_790_134_742_106))
    );
    assert!(close(q[0].change_percent.unwrap(), 1.25));
}

#[test]
fn upbit_market_list_flags() {
    let Some(body) = shared("upbit/rest-market-all-details-recorded.json") else {
        return;
    };
    let markets = upbit::parse_markets(&body).unwrap();
    let bases: Vec<&str> = markets.iter().map(|m| m.base.as_str()).collect();
    assert_eq!(
        bases,
        ["BTC", "AERGO", "ZIL"],
        "BTC-SIGN is not a KRW market"
    );
    let zil = &markets[2];
    assert_eq!(
        (zil.venue, zil.name_ko.as_deref(), zil.name_en.as_deref()),
        (Venue::Upbit, Some("질리카"), Some("Zilliqa"))
    );
    // The same rows as KRW markets, so the fourth (caution-only) combination is checked too.
    let krw = String::from_utf8(body)
        .unwrap()
        .replace("BTC-SIGN", "KRW-SIGN");
    let markets = upbit::parse_markets(krw.as_bytes()).unwrap();
    assert_eq!(markets.len(), 4);
    assert_eq!(flags(&markets, "BTC"), Vec::<String>::new());
    assert_eq!(flags(&markets, "AERGO"), ["warning"]);
    assert_eq!(
        flags(&markets, "ZIL"),
        ["warning", "caution:GLOBAL_PRICE_DIFFERENCES"]
    );
    assert_eq!(
        flags(&markets, "SIGN"),
        ["caution:GLOBAL_PRICE_DIFFERENCES"]
    );
}

#[test]
fn upbit_market_list_2021_without_market_event() {
    let Some(body) = shared("upbit/rest-market-all-2021-recorded.json") else {
        return;
    };
    let markets = upbit::parse_markets(&body).unwrap();
    assert_eq!(markets.len(), 117, "KRW rows of 294");
    assert!(
        markets
            .iter()
            .all(|m| m.flags.is_empty() && m.name_ko.is_some() && m.name_en.is_some())
    );
    assert_eq!(
        (markets[0].base.as_str(), markets[0].name_ko.as_deref()),
        ("BTC", Some("비트코인"))
    );
    assert!(markets.iter().all(|m| !m.base.contains('-')));
}

#[test]
fn upbit_market_list_indonesia_is_all_btc_markets() {
    let Some(body) = shared("upbit/rest-market-all-indonesia-legacy-field-recorded.json") else {
        return;
    };
    assert_eq!(
        upbit::parse_markets(&body).unwrap(),
        Vec::new(),
        "both rows are BTC markets"
    );
}

#[test]
fn upbit_own_market_list_missing_korean_name_with_legacy_warning() {
    let markets = upbit::parse_markets(&own("upbit-market-all-krw-legacy-field.json")).unwrap();
    assert_eq!(markets.len(), 2);
    let zil = &markets[0];
    assert_eq!(
        (
            zil.base.as_str(),
            zil.name_ko.as_deref(),
            zil.name_en.as_deref()
        ),
        ("ZIL", None, Some("Zilliqa"))
    );
    assert_eq!(
        (flags(&markets, "ZIL"), flags(&markets, "SIGN")),
        (vec!["warning".to_owned()], vec![])
    );
}

#[test]
fn upbit_rest_error_bodies() {
    let Some(file) = shared("upbit/rest-errors-recorded.jsonl") else {
        return;
    };
    let messages: Vec<String> = lines(&file)
        .into_iter()
        .map(|line| match upbit::parse_markets(line) {
            Err(ParseError::Venue(message)) => message,
            other => panic!("expected a venue error, got {other:?}"),
        })
        .collect();
    assert_eq!(messages[0], "404: Code not found");
    assert!(messages[1].starts_with("400: Missing request parameter"));
    assert_eq!(messages[3], "not_found: no Route matched with those values");
    assert!(matches!(
        upbit::parse_markets(b"<html>"),
        Err(ParseError::Json(_))
    ));
}

// ---- Binance ----

#[test]
fn binance_ticker_1d_adapted_doc_is_not_usdt() {
    let Some(frame) = shared("binance/spot-ticker-1d-arr-adapted-doc.json") else {
        return;
    };
    assert_eq!(binance::parse(&frame, RECEIVED).unwrap(), Parsed::nothing());
    for rel in [
        "binance/spot-ticker-symbol-doc.json",
        "binance/spot-ticker-window-1h-doc.json",
        "binance/spot-miniticker-doc.json",
    ] {
        let frame = shared(rel).unwrap();
        assert_eq!(
            binance::parse(&frame, RECEIVED).unwrap(),
            Parsed::nothing(),
            "{rel}: BNBBTC"
        );
    }
}

#[test]
fn binance_own_usdt_variant_of_the_doc() {
    let q =
        quotes(binance::parse(&own("binance-ticker-1d-arr-usdt-variant.json"), RECEIVED).unwrap());
    assert_eq!(q.len(), 1);
    let q = &q[0];
    assert_eq!(
        (q.venue, q.base.as_str(), q.currency),
        (Venue::Binance, "BNB", Currency::Usdt)
    );
    assert_eq!(
        (q.price, q.change_percent, q.volume),
        (0.0025, Some(250.0), Some(18.0))
    );
    assert_eq!(
        (q.exchange_ms, q.received_ms),
        (Some(1_672_515_782_136), RECEIVED)
    );
}

#[test]
fn binance_mini_ticker_array_doc_computes_change() {
    let Some(frame) = shared("binance/miniticker-arr-doc.json") else {
        return;
    };
    let q = quotes(binance::parse(&frame, RECEIVED).unwrap());
    assert_eq!(q.len(), 1);
    assert_eq!(
        (q[0].base.as_str(), q[0].price, q[0].volume),
        ("BTC", 0.0025, Some(18.0))
    );
    assert!(
        close(q[0].change_percent.unwrap(), 150.0),
        "(0.0025 − 0.0010) / 0.0010"
    );
    assert_eq!(q[0].exchange_ms, Some(123_456_789));
}

#[test]
fn binance_combined_24hr_recorded() {
    let Some(file) = shared("binance/ticker-24hr-single-and-arr-recorded.jsonl") else {
        return;
    };
    let bases: Vec<Vec<String>> = lines(&file)
        .into_iter()
        .map(|line| {
            quotes(binance::parse(line, RECEIVED).unwrap())
                .into_iter()
                .map(|q| q.base)
                .collect()
        })
        .collect();
    let expected: [&[&str]; 11] = [
        &["ETH"],
        &[],
        &[],
        &[],
        &[],
        &["BTC"],
        &[],
        &[],
        &["ETH"],
        &["IOTX"],
        &[],
    ];
    assert_eq!(
        bases,
        expected.map(|b| b.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>())
    );
    let first = quotes(binance::parse(lines(&file)[0], RECEIVED).unwrap()).remove(0);
    assert_eq!((first.price, first.change_percent), (1792.84, Some(1.6)));
    assert!(close(first.volume.unwrap(), 840_180_761.513_581));
    assert_eq!(first.exchange_ms, Some(1_653_812_650_349));
}

#[test]
fn binance_own_combined_1d_array_keeps_good_elements() {
    let q = quotes(binance::parse(&own("binance-ticker-1d-arr-combined.json"), RECEIVED).unwrap());
    let bases: Vec<&str> = q.iter().map(|q| q.base.as_str()).collect();
    assert_eq!(
        bases,
        ["BTC", "PEPE", "1000SATS"],
        "ETHBTC is not USDT, NEWUSDT has empty fields"
    );
    assert_eq!(
        (q[0].price, q[0].change_percent, q[0].volume),
        (101_234.56, Some(1.234), Some(1_249_876_543.21))
    );
    assert_eq!(
        (q[1].price, q[1].change_percent, q[1].volume),
        (1.234e-5, Some(-2.5), Some(8.5e7))
    );
    assert_eq!(
        (q[2].price, q[2].change_percent, q[2].exchange_ms),
        (0.000_421, None, Some(1_790_134_742_109))
    );
}

#[test]
fn binance_server_shutdown_doc_is_control() {
    let Some(frame) = shared("binance/spot-server-shutdown-doc.json") else {
        return;
    };
    let reconnect = Parsed::Control(Control::Reconnect("serverShutdown"));
    assert_eq!(binance::parse(&frame, RECEIVED).unwrap(), reconnect);
    let combined = format!(
        r#"{{"stream":"!serverShutdown","data":{}}}"#,
        String::from_utf8(frame).unwrap().trim()
    );
    assert_eq!(
        binance::parse(combined.as_bytes(), RECEIVED).unwrap(),
        reconnect
    );
}

#[test]
fn binance_rest_body_force_orders_and_garbage() {
    let Some(rest) = shared("binance/spot-rest-ticker-24hr-all-keys-sorted-recorded.json") else {
        return;
    };
    let err = binance::parse(&rest, RECEIVED).unwrap_err();
    assert!(
        matches!(err, ParseError::Field { field: "e", .. }),
        "REST rows have no `e`: {err}"
    );
    let force = shared("binance/forceorder-combined-recorded.jsonl").unwrap();
    for line in lines(&force) {
        assert_eq!(
            binance::parse(line, RECEIVED).unwrap(),
            Parsed::nothing(),
            "not a ticker"
        );
    }
    assert!(matches!(
        binance::parse(b"\x00\xff garbage", RECEIVED),
        Err(ParseError::Json(_))
    ));
    assert!(binance::parse(b"", RECEIVED).is_err());
}

// ---- USD/KRW ----

#[test]
fn fx_frankfurter_doc_is_another_pair() {
    let Some(body) = shared("fx/frankfurter-v2-rate-doc.json") else {
        return;
    };
    let err = fx::parse_frankfurter(&body, RECEIVED).unwrap_err();
    assert!(err.to_string().contains("USD/EUR"), "{err}");
}

#[test]
fn fx_own_frankfurter_usd_krw() {
    let fx = fx::parse_frankfurter(&own("fx-frankfurter-usd-krw.json"), RECEIVED).unwrap();
    assert_eq!(
        (fx.source, fx.krw_per_usd),
        (FxSource::Frankfurter, 1383.95)
    );
    assert_eq!(
        (fx.quoted_ms, fx.received_ms),
        (1_789_603_200_000, RECEIVED),
        "2026-09-17 00:00 UTC"
    );
}

#[test]
fn fx_own_dunamu_and_open_er_api() {
    let dunamu = fx::parse_dunamu(&own("fx-dunamu.json"), RECEIVED).unwrap();
    assert_eq!(
        (dunamu.source, dunamu.krw_per_usd, dunamu.quoted_ms),
        (FxSource::Dunamu, 1384.2, 1_789_713_130_000)
    );
    let er = fx::parse_open_er_api(&own("fx-open-er-api.json"), RECEIVED).unwrap();
    assert_eq!(
        (er.rate.source, er.rate.krw_per_usd),
        (FxSource::OpenErApi, 1384.83)
    );
    assert_eq!(
        (er.rate.quoted_ms, er.next_update_ms),
        (1_789_689_601_000, Some(1_789_776_001_000))
    );
}
