//! Upbit's wire formats as the simulator writes and reads them: the subscribe request, error
//! frames, `ticker` messages (DEFAULT and SIMPLE keys) and the `/v1/market/all` list.
//!
//! Shapes follow docs.upbit.com and the recordings described in `exchanges.md` §1:
//! `{"error":{"name":"NO_TICKET","message":"티켓이 존재하지 않거나, 유효하지 않습니다."}}` (key order
//! varies in the recording and here), tickers with JSON numbers, tiny values in capital-E form.

use serde_json::{Value, json};

use super::ticker::UpbitMarket;
use super::wire::{JsonObject, Num, round_decimals};

/// Message format requested by the `{"format": ...}` object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    Default,
    Simple,
    JsonList,
    SimpleList,
}

impl Format {
    pub(crate) fn simple(self) -> bool {
        matches!(self, Format::Simple | Format::SimpleList)
    }

    pub(crate) fn list(self) -> bool {
        matches!(self, Format::JsonList | Format::SimpleList)
    }
}

/// A valid subscribe request, reduced to what the simulator streams (`ticker`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Subscribe {
    /// Codes of `ticker` type objects, as sent (unknown and lower-case ones included; the session
    /// ignores them silently, as Upbit does).
    pub codes: Vec<String>,
    pub format: Format,
    pub snapshot: bool,
    pub realtime: bool,
}

/// Why a request was refused; each becomes an error frame followed by close 1000.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SubscribeError {
    NoTicket,
    NoType,
    NoCodes,
    WrongFormat,
    InvalidParam(String),
}

impl SubscribeError {
    /// The error frame's JSON text, Upbit's key order.
    pub(crate) fn frame(&self) -> String {
        self.frame_ordered(*self == SubscribeError::NoTicket)
    }

    /// The error frame as Bithumb writes it: `name` always first.
    pub(crate) fn frame_name_first(&self) -> String {
        self.frame_ordered(true)
    }

    fn frame_ordered(&self, name_first: bool) -> String {
        let (name, message) = match self {
            SubscribeError::NoTicket => (
                "NO_TICKET",
                "티켓이 존재하지 않거나, 유효하지 않습니다.".to_owned(),
            ),
            SubscribeError::NoType => (
                "NO_TYPE",
                "타입이 존재하지 않거나, 유효하지 않습니다.".to_owned(),
            ),
            SubscribeError::NoCodes => (
                "NO_CODES",
                "코드가 존재하지 않거나, 유효하지 않습니다.".to_owned(),
            ),
            SubscribeError::WrongFormat => ("WRONG_FORMAT", "Format 이 맞지 않습니다.".to_owned()),
            SubscribeError::InvalidParam(kind) => (
                "INVALID_PARAM",
                format!("{kind} 은 지원하지 않는 타입입니다."),
            ),
        };
        let mut inner = JsonObject::with_capacity(128);
        // Upbit's recording puts `name` first for NO_TICKET and `message` first for the others.
        if name_first {
            inner.str("name", name).str("message", &message);
        } else {
            inner.str("message", &message).str("name", name);
        }
        format!("{{\"error\":{}}}", inner.finish())
    }
}

const STREAMABLE_TYPES: &[&str] = &["ticker", "trade", "orderbook"];

/// Parses a subscribe request (text or binary frame payload) as Upbit does.
pub(crate) fn parse_subscribe(payload: &[u8]) -> Result<Subscribe, SubscribeError> {
    parse_with(payload, true)
}

/// Parses a subscribe request as Bithumb does: options only in camelCase (`isOnlySnapshot`);
/// `snake_case` ones are ignored without an error.
pub(crate) fn parse_subscribe_camel(payload: &[u8]) -> Result<Subscribe, SubscribeError> {
    parse_with(payload, false)
}

fn parse_with(payload: &[u8], snake_case: bool) -> Result<Subscribe, SubscribeError> {
    let Ok(Value::Array(items)) = serde_json::from_slice::<Value>(payload) else {
        return Err(SubscribeError::WrongFormat);
    };
    let mut ticket = false;
    let mut typed = false;
    let mut sub = Subscribe {
        codes: Vec::new(),
        format: Format::Default,
        snapshot: true,
        realtime: true,
    };
    for item in &items {
        let Value::Object(obj) = item else {
            return Err(SubscribeError::WrongFormat);
        };
        if let Some(t) = obj.get("ticket") {
            if t.as_str().is_none_or(|s| s.trim().is_empty()) {
                return Err(SubscribeError::NoTicket);
            }
            ticket = true;
        }
        if let Some(f) = obj.get("format") {
            sub.format = match f.as_str() {
                Some("DEFAULT") => Format::Default,
                Some("SIMPLE") => Format::Simple,
                Some("JSON_LIST") => Format::JsonList,
                Some("SIMPLE_LIST") => Format::SimpleList,
                _ => return Err(SubscribeError::WrongFormat),
            };
        }
        if let Some(t) = obj.get("type") {
            let Some(kind) = t.as_str() else {
                return Err(SubscribeError::NoType);
            };
            if !STREAMABLE_TYPES.contains(&kind) && !kind.starts_with("candle.") {
                return Err(SubscribeError::InvalidParam(kind.to_owned()));
            }
            let codes: Vec<String> = match obj.get("codes") {
                Some(Value::Array(codes)) if !codes.is_empty() => codes
                    .iter()
                    .map(|c| c.as_str().map(str::to_owned).ok_or(SubscribeError::NoCodes))
                    .collect::<Result<_, _>>()?,
                _ => return Err(SubscribeError::NoCodes),
            };
            typed = true;
            if kind == "ticker" {
                sub.codes.extend(codes);
                // Upbit reads snake_case; the 2021 recording shows camelCase being sent too.
                // Bithumb reads camelCase only.
                let flag = |snake: &str, camel: &str| {
                    snake_case
                        .then(|| obj.get(snake))
                        .flatten()
                        .or_else(|| obj.get(camel))
                        .and_then(Value::as_bool)
                        .unwrap_or(false)
                };
                if flag("is_only_snapshot", "isOnlySnapshot") {
                    sub.realtime = false;
                }
                if flag("is_only_realtime", "isOnlyRealtime") {
                    sub.snapshot = false;
                }
            }
        }
    }
    if !ticket {
        return Err(SubscribeError::NoTicket);
    }
    if !typed {
        return Err(SubscribeError::NoType);
    }
    Ok(sub)
}

const PRICE: Num = Num::JavaSmall;
const VOLUME: Num = Num::JavaSmall;

/// One `ticker` message for `m`; `now_ms` is the message's `timestamp`.
pub(crate) fn ticker_frame(m: &UpbitMarket, format: Format, snapshot: bool, now_ms: u64) -> String {
    let t = &m.t;
    let simple = format.simple();
    let k = |default: &'static str, short: &'static str| if simple { short } else { default };
    let diff = t.last - t.prev_close;
    let change = if diff > 0.0 {
        "RISE"
    } else if diff < 0.0 {
        "FALL"
    } else {
        "EVEN"
    };
    let change_price = round_decimals(diff.abs(), 8);
    let change_rate = if t.prev_close > 0.0 {
        round_decimals(diff.abs() / t.prev_close, 10)
    } else {
        0.0
    };
    let sign = if diff < 0.0 { -1.0 } else { 1.0 };
    let (date, time) = super::clock::upbit_date_time(t.trade_ms);
    let mut o = JsonObject::with_capacity(1024);
    o.str(k("type", "ty"), "ticker")
        .str(k("code", "cd"), &m.code)
        .num(k("opening_price", "op"), t.opening, PRICE)
        .num(k("high_price", "hp"), t.high, PRICE)
        .num(k("low_price", "lp"), t.low, PRICE)
        .num(k("trade_price", "tp"), t.last, PRICE)
        .num(k("prev_closing_price", "pcp"), t.prev_close, PRICE)
        .num(
            k("acc_trade_price", "atp"),
            round_decimals(t.acc_price, 8),
            Num::Plain,
        )
        .str(k("change", "c"), change)
        .num(k("change_price", "cp"), change_price, PRICE)
        .num(k("signed_change_price", "scp"), sign * change_price, PRICE)
        .num(k("change_rate", "cr"), change_rate, Num::JavaSmall)
        .num(
            k("signed_change_rate", "scr"),
            sign * change_rate,
            Num::JavaSmall,
        )
        .str(k("ask_bid", "ab"), if t.ask { "ASK" } else { "BID" })
        .num(k("trade_volume", "tv"), t.trade_volume, VOLUME)
        .num(
            k("acc_trade_volume", "atv"),
            round_decimals(t.acc_volume, 8),
            VOLUME,
        )
        .str(k("trade_date", "tdt"), &date)
        .str(k("trade_time", "ttm"), &time)
        .int(k("trade_timestamp", "ttms"), ms(t.trade_ms))
        .num(
            k("acc_ask_volume", "aav"),
            round_decimals(t.acc_ask_volume, 8),
            VOLUME,
        )
        .num(
            k("acc_bid_volume", "abv"),
            round_decimals(t.acc_bid_volume, 8),
            VOLUME,
        )
        .num(k("highest_52_week_price", "h52wp"), t.high_52w, PRICE)
        .str(k("highest_52_week_date", "h52wdt"), &t.high_52w_date)
        .num(k("lowest_52_week_price", "l52wp"), t.low_52w, PRICE)
        .str(k("lowest_52_week_date", "l52wdt"), &t.low_52w_date)
        .str(k("market_state", "ms"), "ACTIVE")
        .bool(k("is_trading_suspended", "its"), false)
        .null(k("delisting_date", "dd"))
        .str(
            k("market_warning", "mw"),
            if m.warning { "CAUTION" } else { "NONE" },
        )
        .int(k("timestamp", "tms"), ms(now_ms.max(t.trade_ms)))
        .num(
            k("acc_trade_price_24h", "atp24h"),
            round_decimals(t.acc_price_24h, 8),
            Num::Plain,
        )
        .num(
            k("acc_trade_volume_24h", "atv24h"),
            round_decimals(t.acc_volume_24h, 8),
            VOLUME,
        )
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

fn ms(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// `GET /v1/market/all` (with `market_event` when `details`).
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
                row["market_event"] = json!({
                    "warning": m.warning,
                    "caution": {
                        "PRICE_FLUCTUATIONS": false,
                        "TRADING_VOLUME_SOARING": false,
                        "DEPOSIT_AMOUNT_SOARING": false,
                        "GLOBAL_PRICE_DIFFERENCES": m.global_price_differences,
                        "CONCENTRATION_OF_SMALL_ACCOUNTS": false,
                    }
                });
            }
            row
        })
        .collect();
    Value::Array(rows).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<Subscribe, SubscribeError> {
        parse_subscribe(s.as_bytes())
    }

    #[test]
    fn accepts_the_documented_and_recorded_shapes() {
        let sub = parse(r#"[{"ticket":"kimp-1"},{"type":"ticker","codes":["KRW-BTC","KRW-ETH"]},{"format":"DEFAULT"}]"#).unwrap();
        assert_eq!(sub.codes, ["KRW-BTC", "KRW-ETH"]);
        assert_eq!(sub.format, Format::Default);
        assert!(sub.snapshot && sub.realtime);
        // Format object before the type, camelCase option, as in the 2021 recording.
        let sub = parse(r#"[{"ticket":"x"},{"format":"SIMPLE"},{"type":"ticker","codes":["KRW-XRP"],"isOnlyRealtime":true}]"#).unwrap();
        assert_eq!(sub.format, Format::Simple);
        assert!(!sub.snapshot);
        // Types the simulator does not stream are valid but contribute no ticker codes.
        let sub = parse(r#"[{"ticket":"x"},{"type":"trade","codes":["KRW-BTC"]}]"#).unwrap();
        assert!(sub.codes.is_empty());
    }

    #[test]
    fn refuses_bad_requests_with_upbits_error_names() {
        let cases = [
            ("not json", SubscribeError::WrongFormat),
            (r#"{"ticket":"x"}"#, SubscribeError::WrongFormat),
            (
                r#"[{"type":"ticker","codes":["KRW-BTC"]}]"#,
                SubscribeError::NoTicket,
            ),
            (
                r#"[{"ticket":""},{"type":"ticker","codes":["KRW-BTC"]}]"#,
                SubscribeError::NoTicket,
            ),
            (r#"[{"ticket":"x"}]"#, SubscribeError::NoType),
            (
                r#"[{"ticket":"x"},{"type":"ticker"}]"#,
                SubscribeError::NoCodes,
            ),
            (
                r#"[{"ticket":"x"},{"type":"ticker","codes":[]}]"#,
                SubscribeError::NoCodes,
            ),
            (
                r#"[{"ticket":"x"},{"type":"ticker","codes":[1]}]"#,
                SubscribeError::NoCodes,
            ),
            (
                r#"[{"ticket":"x"},{"type":"nope","codes":["KRW-BTC"]}]"#,
                SubscribeError::InvalidParam("nope".into()),
            ),
            (
                r#"[{"ticket":"x"},{"type":"ticker","codes":["KRW-BTC"]},{"format":"XML"}]"#,
                SubscribeError::WrongFormat,
            ),
        ];
        for (request, expected) in cases {
            assert_eq!(parse(request), Err(expected), "{request}");
        }
        assert!(parse_subscribe(&[0xff, 0x00, 0x7b]).is_err());
    }

    #[test]
    fn error_frames_match_the_recording() {
        assert_eq!(
            SubscribeError::NoTicket.frame(),
            r#"{"error":{"name":"NO_TICKET","message":"티켓이 존재하지 않거나, 유효하지 않습니다."}}"#
        );
        assert_eq!(
            SubscribeError::InvalidParam("nope".into()).frame(),
            r#"{"error":{"message":"nope 은 지원하지 않는 타입입니다.","name":"INVALID_PARAM"}}"#
        );
    }
}
