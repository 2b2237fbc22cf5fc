//! Bithumb's wire formats as the simulator writes them: the v1 WebSocket `ticker` (Upbit's fields
//! and SIMPLE keys with Bithumb's quirks), `/v1/market/all`, `/v1/market/virtual_asset_warning`
//! and the legacy `/public/ticker/ALL_KRW`.
//!
//! Shapes follow `exchanges.md` §2 and the recordings in `fixtures/bithumb/`: ticker keys in the
//! recorded order, plain decimal numbers, `trade_date`/`trade_time` in **KST** wall clock while
//! `trade_timestamp`/`timestamp` are true epoch ms, `delisting_date` `null`, `""` or absent
//! depending on the market; `ALL_KRW` with every value a string and `date` among the coins.

use serde_json::{Value, json};

use super::clock::{kst_compact, kst_date_time_spaced};
use super::ticker::{UpbitMarket, UpbitQuote};
use super::upbit_wire::Format;
use super::wire::{JsonObject, Num, mix64, round_decimals};

/// How a market's ticker spells `delisting_date` (the recordings show all three).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Delisting {
    Null,
    Empty,
    Absent,
}

/// A stable choice per market, so one code always spells it the same way.
fn delisting(code: &str) -> Delisting {
    let h = code
        .bytes()
        .fold(0_u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b)));
    match mix64(u64::from(h)) % 3 {
        0 => Delisting::Null,
        1 => Delisting::Empty,
        _ => Delisting::Absent,
    }
}

fn ms(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// One v1 `ticker` message for `m` (Bithumb key order); `now_ms` is the message's `timestamp`.
pub(crate) fn ticker_frame(m: &UpbitMarket, format: Format, snapshot: bool, now_ms: u64) -> String {
    let t = &m.t;
    let simple = format.simple();
    let k = |default: &'static str, short: &'static str| if simple { short } else { default };
    let diff = round_decimals(t.last - t.prev_close, 8);
    let change = if diff > 0.0 {
        "RISE"
    } else if diff < 0.0 {
        "FALL"
    } else {
        "EVEN"
    };
    let rate = if t.prev_close > 0.0 {
        round_decimals(diff.abs() / t.prev_close, 8)
    } else {
        0.0
    };
    let sign = if diff < 0.0 { -1.0 } else { 1.0 };
    let (date, time) = kst_compact(t.trade_ms);
    let plain = Num::Plain;
    let mut o = JsonObject::with_capacity(1024);
    o.str(k("type", "ty"), "ticker")
        .str(k("code", "cd"), &m.code)
        .num(k("opening_price", "op"), t.opening, plain)
        .num(k("high_price", "hp"), t.high, plain)
        .num(k("low_price", "lp"), t.low, plain)
        .num(k("trade_price", "tp"), t.last, plain)
        .num(k("prev_closing_price", "pcp"), t.prev_close, plain)
        .str(k("change", "c"), change)
        .num(k("change_price", "cp"), diff.abs(), plain)
        .num(k("signed_change_price", "scp"), diff, plain)
        .num(k("change_rate", "cr"), rate, plain)
        .num(k("signed_change_rate", "scr"), sign * rate, plain)
        .num(k("trade_volume", "tv"), t.trade_volume, plain)
        .num(
            k("acc_trade_volume", "atv"),
            round_decimals(t.acc_volume, 8),
            plain,
        )
        .num(
            k("acc_trade_volume_24h", "atv24h"),
            round_decimals(t.acc_volume_24h, 8),
            plain,
        )
        .num(
            k("acc_trade_price", "atp"),
            round_decimals(t.acc_price, 6),
            plain,
        )
        .num(
            k("acc_trade_price_24h", "atp24h"),
            round_decimals(t.acc_price_24h, 6),
            plain,
        )
        .str(k("trade_date", "tdt"), &date)
        .str(k("trade_time", "ttm"), &time)
        .int(k("trade_timestamp", "ttms"), ms(t.trade_ms))
        .str(k("ask_bid", "ab"), if t.ask { "ASK" } else { "BID" })
        .num(
            k("acc_ask_volume", "aav"),
            round_decimals(t.acc_ask_volume, 8),
            plain,
        )
        .num(
            k("acc_bid_volume", "abv"),
            round_decimals(t.acc_bid_volume, 8),
            plain,
        )
        .num(k("highest_52_week_price", "h52wp"), t.high_52w, plain)
        .str(k("highest_52_week_date", "h52wdt"), &t.high_52w_date)
        .num(k("lowest_52_week_price", "l52wp"), t.low_52w, plain)
        .str(k("lowest_52_week_date", "l52wdt"), &t.low_52w_date)
        .str(k("market_state", "ms"), "ACTIVE")
        .bool(k("is_trading_suspended", "its"), false);
    match delisting(&m.code) {
        Delisting::Null => {
            o.null(k("delisting_date", "dd"));
        }
        Delisting::Empty => {
            o.str(k("delisting_date", "dd"), "");
        }
        Delisting::Absent => {}
    }
    o.str(k("market_warning", "mw"), market_warning(m))
        .int(k("timestamp", "tms"), ms(now_ms.max(t.trade_ms)))
        .str(
            k("stream_type", "st"),
            if snapshot { "SNAPSHOT" } else { "REALTIME" },
        );
    let object = o.finish();
    if format.list() {
        format!("[{object}]")
    } else {
        object
    }
}

fn market_warning(m: &UpbitMarket) -> &'static str {
    if m.warning { "CAUTION" } else { "NONE" }
}

/// `GET /v1/market/all` (with `market_warning` when `details`).
pub(crate) fn market_list(markets: &[UpbitMarket], details: bool) -> String {
    let rows: Vec<Value> = markets
        .iter()
        .map(|m| {
            let mut row = json!({
                "market": m.code,
                "korean_name": m.name_ko,
                "english_name": m.name_en,
            });
            if details {
                row["market_warning"] = json!(market_warning(m));
            }
            row
        })
        .collect();
    Value::Array(rows).to_string()
}

/// `GET /v1/market/virtual_asset_warning`: the warned market gets two rows (same market twice,
/// as recorded), the global-price-gap market one `PRICE_DIFFERENCE_HIGH` row. `end_date` is a
/// KST wall-clock string a few hours after `start_ms`, ending in `:59`.
pub(crate) fn asset_warnings(markets: &[UpbitMarket], start_ms: u64) -> String {
    let end = |hours: u64, minutes: u64| {
        let at = start_ms + hours * 3_600_000;
        kst_date_time_spaced(at - at % 3_600_000 + minutes * 60_000 + 59_000)
    };
    let mut rows = Vec::new();
    for m in markets {
        if m.warning {
            rows.push(json!({"market": m.code, "warning_type": "TRADING_VOLUME_SUDDEN_FLUCTUATION", "warning_step": "DANGER", "end_date": end(20, 59)}));
            rows.push(json!({"market": m.code, "warning_type": "DEPOSIT_AMOUNT_SUDDEN_FLUCTUATION", "warning_step": "WARNING", "end_date": end(21, 4)}));
        }
        if m.global_price_differences {
            rows.push(json!({"market": m.code, "warning_type": "PRICE_DIFFERENCE_HIGH", "warning_step": "CAUTION", "end_date": end(21, 9)}));
        }
    }
    Value::Array(rows).to_string()
}

/// A decimal string without exponent or trailing zeros (`"43462000"`, `"0.0046"`).
fn dec(value: f64, decimals: i32) -> String {
    let v = round_decimals(value, decimals);
    let v = if v == 0.0 { 0.0 } else { v };
    format!("{v}")
}

/// One coin object of `ALL_KRW` (every value a string).
fn legacy_ticker(m: &UpbitMarket) -> String {
    let t = &m.t;
    let change_24h = round_decimals(t.last - t.open_24h, 8);
    let rate_24h = if t.open_24h > 0.0 {
        change_24h / t.open_24h * 100.0
    } else {
        0.0
    };
    let mut o = JsonObject::with_capacity(512);
    o.str("opening_price", &dec(t.opening, 8))
        .str("closing_price", &dec(t.last, 8))
        .str("min_price", &dec(t.low, 8))
        .str("max_price", &dec(t.high, 8))
        .str("units_traded", &dec(t.acc_volume, 8))
        .str("acc_trade_value", &dec(t.acc_price, 4))
        .str("prev_closing_price", &dec(t.prev_close, 8))
        .str("units_traded_24H", &dec(t.acc_volume_24h, 8))
        .str("acc_trade_value_24H", &dec(t.acc_price_24h, 4))
        .str("fluctate_24H", &dec(change_24h, 8))
        .str("fluctate_rate_24H", &dec(rate_24h, 2));
    o.finish()
}

/// The base asset of a KRW market (`KRW-BTC` → `BTC`), `None` for other quotes.
fn krw_base(m: &UpbitMarket) -> Option<&str> {
    match m.quote {
        UpbitQuote::Krw(_) | UpbitQuote::KrwUsdt => m.code.strip_prefix("KRW-"),
        UpbitQuote::Btc(_) | UpbitQuote::Usdt(_) => None,
    }
}

/// `GET /public/ticker/ALL_KRW`: `{"status":"0000","data":{"BTC":{…},…,"date":"<ms>"}}`.
pub(crate) fn all_krw(markets: &[UpbitMarket], now_ms: u64) -> String {
    let mut data = JsonObject::with_capacity(markets.len() * 512);
    for m in markets {
        if let Some(base) = krw_base(m) {
            data.raw(base, &legacy_ticker(m));
        }
    }
    data.str("date", &now_ms.to_string());
    format!("{{\"status\":\"0000\",\"data\":{}}}", data.finish())
}

/// `GET /public/ticker/{COIN}_KRW`: one coin, `date` inside its object; `None` if not listed.
pub(crate) fn one_krw(markets: &[UpbitMarket], coin: &str, now_ms: u64) -> Option<String> {
    let m = markets.iter().find(|m| krw_base(m) == Some(coin))?;
    let object = legacy_ticker(m);
    let inner = object.strip_suffix('}').unwrap_or(&object);
    Some(format!(
        "{{\"status\":\"0000\",\"data\":{inner},\"date\":\"{now_ms}\"}}}}"
    ))
}

/// A legacy error body (served with HTTP 200, like every Bithumb error).
pub(crate) fn legacy_error(status: &str, message: &str) -> String {
    json!({"status": status, "message": message}).to_string()
}

#[cfg(test)]
mod tests {
    use super::super::upbit_wire::{SubscribeError, parse_subscribe, parse_subscribe_camel};
    use super::*;

    #[test]
    fn delisting_spellings_cover_all_three() {
        let codes = [
            "KRW-BTC", "KRW-ETH", "KRW-XRP", "KRW-SOL", "KRW-DOGE", "KRW-ADA",
        ];
        let kinds: std::collections::BTreeSet<_> = codes
            .iter()
            .map(|c| format!("{:?}", delisting(c)))
            .collect();
        assert_eq!(kinds.len(), 3, "{kinds:?}");
    }

    #[test]
    fn decimals_have_no_exponent() {
        assert_eq!(dec(43_462_000.0, 8), "43462000");
        assert_eq!(dec(0.000_062_1, 8), "0.0000621");
        assert_eq!(dec(-1.634, 2), "-1.63");
        assert_eq!(dec(-0.0, 2), "0");
    }

    #[test]
    fn bithumb_ignores_snake_case_options() {
        let snake =
            br#"[{"ticket":"x"},{"type":"ticker","codes":["KRW-BTC"],"is_only_snapshot":true}]"#;
        let upbit = parse_subscribe(snake).unwrap();
        assert!(upbit.snapshot && !upbit.realtime, "Upbit reads snake_case");
        let sub = parse_subscribe_camel(snake).unwrap();
        assert!(sub.snapshot && sub.realtime, "ignored, not an error");
        let camel =
            br#"[{"ticket":"x"},{"type":"ticker","codes":["KRW-BTC"],"isOnlyRealtime":true}]"#;
        assert!(!parse_subscribe_camel(camel).unwrap().snapshot);
        assert_eq!(
            SubscribeError::InvalidParam("nope".into()).frame_name_first(),
            r#"{"error":{"name":"INVALID_PARAM","message":"nope 은 지원하지 않는 타입입니다."}}"#
        );
    }
}
