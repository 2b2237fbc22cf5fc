//! OKX v5's wire formats as the simulator writes them (`exchanges.md` §6, `fixtures/okx/`): the
//! `tickers` push, subscribe events and errors, and the REST instruments list.
//!
//! Every value is a string, `ts` included; keys keep the recorded order (`sodUtc0`, `sodUtc8`
//! before `volCcy24h`). Thin cross pairs now and then have no bid (`"bidPx":"","bidSz":""`), as
//! recorded. Errors put `msg` before `code` like the live captures:
//! `{"event":"error","msg":"Wrong URL or channel:tickers,instId:NOPE-USDT doesn't exist. Please use
//! the correct URL, channel and parameters referring to API document.","code":"60018","connId":..}`.

use serde_json::{Value, json};

use super::market::OkxInst;
use super::ticker::BinancePair;
use super::wire::{JsonObject, round_decimals};

/// A decimal string without exponent or trailing zeros.
fn dec(value: f64, decimals: i32) -> String {
    let v = round_decimals(value, decimals);
    let v = if v == 0.0 { 0.0 } else { v };
    format!("{v}")
}

/// `{"channel":"tickers","instId":..}`
pub(crate) fn arg(inst_id: &str) -> String {
    let mut o = JsonObject::with_capacity(64);
    o.str("channel", "tickers").str("instId", inst_id);
    o.finish()
}

/// One `tickers` push for `inst`.
pub(crate) fn ticker_frame(inst: &OkxInst, now_ms: u64) -> String {
    let s = &inst.s;
    let t = &s.t;
    let d = s.decimals;
    let unit = 10f64.powi(-d);
    // A thin cross pair sometimes has an empty bid side.
    let no_bid = matches!(s.pair, BinancePair::Btc(_)) && t.last_id.is_multiple_of(5);
    let (bid_px, bid_sz) = if no_bid {
        (String::new(), String::new())
    } else {
        (dec(t.last - unit, d), dec(t.last_qty * 1.7, 8))
    };
    let mut row = JsonObject::with_capacity(512);
    row.str("instType", "SPOT")
        .str("instId", &s.symbol)
        .str("last", &dec(t.last, d))
        .str("lastSz", &dec(t.last_qty, 8))
        .str("askPx", &dec(t.last + unit, d))
        .str("askSz", &dec(t.last_qty * 2.9, 8))
        .str("bidPx", &bid_px)
        .str("bidSz", &bid_sz)
        .str("open24h", &dec(t.open, d))
        .str("high24h", &dec(t.high, d))
        .str("low24h", &dec(t.low, d))
        .str("sodUtc0", &dec(inst.sod_utc0, d))
        .str("sodUtc8", &dec(inst.sod_utc8, d))
        .str("volCcy24h", &dec(t.quote_volume, 8))
        .str("vol24h", &dec(t.base_volume, 8))
        .str("ts", &now_ms.to_string());
    format!("{{\"arg\":{},\"data\":[{}]}}", arg(&s.symbol), row.finish())
}

/// `{"event":"subscribe"|"unsubscribe","arg":{..},"connId":..}`
pub(crate) fn event(kind: &str, arg_json: &str, conn_id: &str) -> String {
    let mut o = JsonObject::with_capacity(128);
    o.str("event", kind)
        .raw("arg", arg_json)
        .str("connId", conn_id);
    o.finish()
}

/// `{"event":"error","msg":..,"code":..,"connId":..}`
pub(crate) fn error(code: &str, message: &str, conn_id: &str) -> String {
    let mut o = JsonObject::with_capacity(256);
    o.str("event", "error")
        .str("msg", message)
        .str("code", code)
        .str("connId", conn_id);
    o.finish()
}

/// 60018: the channel or instrument does not exist.
pub(crate) fn missing(channel: &str, inst_id: &str, conn_id: &str) -> String {
    let message = format!(
        "Wrong URL or channel:{channel},instId:{inst_id} doesn't exist. Please use the correct \
         URL, channel and parameters referring to API document."
    );
    error("60018", &message, conn_id)
}

/// When the simulated instruments were listed (epoch ms, as OKX's `listTime`).
const LIST_TIME_MS: u64 = 1_606_468_572_000;

fn instrument(inst: &OkxInst) -> Value {
    let s = &inst.s;
    let (base, quote) = s.pair.base_quote();
    let tick = dec(10f64.powi(-s.decimals), s.decimals);
    // Lot size: about 6 significant digits of the base amount a dollar buys.
    let lot_decimals = (8 - s.decimals).clamp(0, 8);
    let lot = dec(10f64.powi(-lot_decimals), lot_decimals);
    json!({
        "alias": "", "auctionEndTime": "", "baseCcy": base, "category": "1", "ctMult": "",
        "ctType": "", "ctVal": "", "ctValCcy": "", "expTime": "", "instFamily": "",
        "instId": s.symbol, "instType": "SPOT", "lever": "10",
        "listTime": LIST_TIME_MS.to_string(), "lotSz": lot,
        "maxIcebergSz": "9999999999", "maxLmtAmt": "20000000", "maxLmtSz": "9999999999",
        "maxMktAmt": "1000000", "maxMktSz": "", "maxStopSz": "", "maxTriggerSz": "9999999999",
        "maxTwapSz": "9999999999", "minSz": lot, "optType": "", "quoteCcy": quote,
        "ruleType": "normal", "settleCcy": "", "state": "live", "stk": "", "tickSz": tick,
        "uly": "",
    })
}

/// `GET /api/v5/public/instruments?instType=SPOT`: `{"code":"0","msg":"","data":[..]}`.
pub(crate) fn instruments_body(insts: &[OkxInst]) -> String {
    let data: Vec<Value> = insts.iter().map(instrument).collect();
    json!({"code": "0", "msg": "", "data": data}).to_string()
}

/// A REST error: `{"code":..,"msg":..,"data":[]}`.
pub(crate) fn rest_error(code: &str, message: &str) -> String {
    json!({"code": code, "msg": message, "data": []}).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_and_errors_have_the_recorded_shape() {
        assert_eq!(
            event("subscribe", &arg("BTC-USDT"), "a4d3ae55"),
            r#"{"event":"subscribe","arg":{"channel":"tickers","instId":"BTC-USDT"},"connId":"a4d3ae55"}"#
        );
        let e: Value = serde_json::from_str(&missing("tickers", "NOPE-USDT", "x")).unwrap();
        assert_eq!(e["code"], "60018");
        assert!(
            e["msg"]
                .as_str()
                .unwrap()
                .starts_with("Wrong URL or channel:tickers,instId:NOPE-USDT doesn't exist.")
        );
    }
}
