//! Bybit v5 spot's wire formats as the simulator writes them (`exchanges.md` §5,
//! `fixtures/bybit/`): `tickers.{symbol}` snapshots, request acknowledgements, pongs and the REST
//! `/v5/market/tickers?category=spot` envelope.
//!
//! Every number is a string, spelled without exponent or trailing zeros (`"21109.77"`, `"20575"`);
//! `price24hPcnt` is a fraction (`"0.0196"`). Non-USDT pairs and the Bybit-only `APEX` carry an
//! empty `usdIndexPrice` (`""`), the empty-string case parsers must survive. Keys keep Bybit's
//! order, which `serde_json` would sort.

use super::ticker::{BinancePair, BinanceSymbol};
use super::wire::{JsonObject, push_str, round_decimals};

/// More than this many `args` in one spot request is refused whole.
pub(crate) const MAX_ARGS: usize = 10;

/// A decimal string without exponent or trailing zeros.
fn dec(value: f64, decimals: i32) -> String {
    let v = round_decimals(value, decimals);
    let v = if v == 0.0 { 0.0 } else { v };
    format!("{v}")
}

/// `usdIndexPrice`: USDT pairs trade a hair under the USD index; others have none (`""`).
fn usd_index(s: &BinanceSymbol) -> String {
    match s.pair {
        BinancePair::Usdt(_) if !s.symbol.starts_with("APEX") => {
            dec(s.t.last * 1.000_35, s.decimals + 5)
        }
        _ => String::new(),
    }
}

fn pcnt(s: &BinanceSymbol) -> String {
    let open = round_decimals(s.t.open, s.decimals);
    let p = if open > 0.0 {
        (s.t.last - open) / open
    } else {
        0.0
    };
    dec(p, 4)
}

/// The spot ticker fields, as both the stream and REST carry them.
fn ticker_fields(o: &mut JsonObject, s: &BinanceSymbol) {
    let d = s.decimals;
    o.str("lastPrice", &dec(s.t.last, d))
        .str("highPrice24h", &dec(s.t.high, d))
        .str("lowPrice24h", &dec(s.t.low, d))
        .str("prevPrice24h", &dec(s.t.open, d))
        .str("volume24h", &dec(s.t.base_volume, 6))
        .str("turnover24h", &dec(s.t.quote_volume, 8))
        .str("price24hPcnt", &pcnt(s))
        .str("usdIndexPrice", &usd_index(s));
}

/// One `tickers.{symbol}` push: `{"topic","ts","type":"snapshot","cs","data":{…}}`.
pub(crate) fn ticker_frame(s: &BinanceSymbol, now_ms: u64) -> String {
    let mut data = JsonObject::with_capacity(384);
    data.str("symbol", &s.symbol);
    ticker_fields(&mut data, s);
    let mut o = JsonObject::with_capacity(448);
    o.str("topic", &format!("tickers.{}", s.symbol))
        .int("ts", i64::try_from(now_ms).unwrap_or(i64::MAX))
        .str("type", "snapshot")
        .int("cs", i64::try_from(s.t.last_id).unwrap_or(i64::MAX))
        .raw("data", &data.finish());
    o.finish()
}

/// One row of the REST list (adds best bid/ask around the last price).
fn rest_row(s: &BinanceSymbol) -> String {
    let d = s.decimals;
    let unit = 10f64.powi(-d);
    let mut o = JsonObject::with_capacity(512);
    o.str("symbol", &s.symbol)
        .str("bid1Price", &dec(s.t.last - unit, d))
        .str("bid1Size", &dec(s.t.last_qty * 3.1, 6))
        .str("ask1Price", &dec(s.t.last + unit, d))
        .str("ask1Size", &dec(s.t.last_qty * 2.3, 6))
        .str("lastPrice", &dec(s.t.last, d))
        .str("prevPrice24h", &dec(s.t.open, d))
        .str("price24hPcnt", &pcnt(s))
        .str("highPrice24h", &dec(s.t.high, d))
        .str("lowPrice24h", &dec(s.t.low, d))
        .str("turnover24h", &dec(s.t.quote_volume, 8))
        .str("volume24h", &dec(s.t.base_volume, 6))
        .str("usdIndexPrice", &usd_index(s));
    o.finish()
}

/// `GET /v5/market/tickers?category=spot`: every spot symbol in one reply.
pub(crate) fn tickers_body(symbols: &[BinanceSymbol], now_ms: u64) -> String {
    let rows: Vec<String> = symbols.iter().map(rest_row).collect();
    format!(
        "{{\"retCode\":0,\"retMsg\":\"OK\",\"result\":{{\"category\":\"spot\",\"list\":[{}]}},\"retExtInfo\":{{}},\"time\":{now_ms}}}",
        rows.join(",")
    )
}

/// A REST error envelope (`retCode ≠ 0`, HTTP 200).
pub(crate) fn rest_error(code: u32, message: &str, now_ms: u64) -> String {
    let mut msg = String::new();
    push_str(&mut msg, message);
    format!(
        "{{\"retCode\":{code},\"retMsg\":{msg},\"result\":{{}},\"retExtInfo\":{{}},\"time\":{now_ms}}}"
    )
}

/// An answer to a request: `{"success","ret_msg","conn_id"[,"req_id"],"op"}`. `req_id` is echoed
/// only when the request had one; `ret_msg` is written as given (already JSON-escaped text).
pub(crate) fn reply(
    success: bool,
    ret_msg_json: &str,
    conn_id: &str,
    req_id: Option<&str>,
    op: &str,
) -> String {
    let mut o = JsonObject::with_capacity(160);
    o.bool("success", success)
        .raw("ret_msg", ret_msg_json)
        .str("conn_id", conn_id);
    if let Some(id) = req_id {
        o.raw("req_id", id);
    }
    o.str("op", op);
    o.finish()
}

/// `ret_msg` of a refused over-long request, as the live venue escapes it (Go's HTML-safe `>`).
pub(crate) const ARGS_TOO_MANY: &str = r#""args size \u003e10""#;

/// A plain string as `ret_msg` JSON.
pub(crate) fn msg(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    push_str(&mut out, text);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_match_the_recorded_shapes() {
        assert_eq!(
            reply(true, &msg("pong"), "c1", None, "ping"),
            r#"{"success":true,"ret_msg":"pong","conn_id":"c1","op":"ping"}"#
        );
        assert_eq!(
            reply(false, ARGS_TOO_MANY, "c1", Some("\"2000001\""), "subscribe"),
            r#"{"success":false,"ret_msg":"args size \u003e10","conn_id":"c1","req_id":"2000001","op":"subscribe"}"#
        );
        let v: serde_json::Value =
            serde_json::from_str(&reply(false, ARGS_TOO_MANY, "c", None, "subscribe")).unwrap();
        assert_eq!(v["ret_msg"], "args size >10");
        let e: serde_json::Value = serde_json::from_str(&rest_error(10016, "x", 1)).unwrap();
        assert_eq!(
            (e["retCode"].as_u64(), e["time"].as_u64()),
            (Some(10016), Some(1))
        );
    }

    #[test]
    fn numbers_are_plain_strings() {
        assert_eq!(dec(20_575.0, 2), "20575");
        assert_eq!(dec(0.000_006_21, 8), "0.00000621");
        assert_eq!(dec(-0.009_77, 4), "-0.0098");
    }
}
