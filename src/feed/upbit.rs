//! Upbit (exchanges.md §1): the ticker subscription and frame parser, and the market-list poller.
//!
//! Ticker frames come in DEFAULT or SIMPLE format (short keys); one wire struct reads both through
//! serde aliases and converts only after the `type` says it is a ticker. Bithumb's v1 socket speaks
//! the same protocol, so `parse_ticker` takes the venue and `bithumb` reuses it. The market list
//! (`markets`) gives names and Upbit's own warning flags (`market_event`) and decides which codes
//! the socket subscribes to.

mod markets;

use std::borrow::Cow;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::feed::num::{self, Num};
use crate::feed::{ParseError, Parsed};
use crate::model::{Currency, FeedId, MarketEvent, Millis, Quote, Venue};

pub(crate) use markets::{MARKETS_TIMEOUT, MarketSchedule, publish_codes};
pub use markets::{parse_markets, run_markets};

/// Ticker socket.
pub const FEED_ID: FeedId = "upbit.ticker";
/// Market list poller.
pub const MARKETS_FEED_ID: FeedId = "upbit.markets";
/// First retry delay while the market list has never loaded; doubles up to [`MARKETS_RETRY_MAX`].
pub const MARKETS_RETRY_MIN: Duration = Duration::from_secs(5);
pub const MARKETS_RETRY_MAX: Duration = Duration::from_secs(60);

/// A WS frame: ticker (DEFAULT or SIMPLE), another subscribed type, `{"status":"UP"}` or an error.
///
/// DEFAULT (global-docs.upbit.com `reference/websocket-ticker`, abridged):
/// `{"type":"ticker","code":"KRW-BTC","trade_price":36929,"signed_change_rate":-0.0082180744,
/// "trade_timestamp":1693383665811,"timestamp":1693383690031,"acc_trade_price_24h":8320.40577449,…}`
/// SIMPLE: `{"ty":"ticker","cd":"KRW-BTC","tp":493100,"scr":0.01775026,"atp24h":8286175646.064881,
/// "ttms":1725927582096,"tms":1725927582208,"st":"SNAPSHOT",…}`
#[derive(Deserialize)]
struct UpbitFrame<'a> {
    #[serde(rename = "type", alias = "ty", borrow)]
    kind: Option<Cow<'a, str>>,
    #[serde(alias = "cd", borrow)]
    code: Option<Cow<'a, str>>,
    #[serde(alias = "tp", borrow)]
    trade_price: Option<Num<'a>>,
    #[serde(alias = "scr", borrow)]
    signed_change_rate: Option<Num<'a>>,
    #[serde(alias = "atp24h", borrow)]
    acc_trade_price_24h: Option<Num<'a>>,
    #[serde(alias = "ttms", borrow)]
    trade_timestamp: Option<Num<'a>>,
    #[serde(alias = "tms", borrow)]
    timestamp: Option<Num<'a>>,
    #[serde(borrow)]
    status: Option<Cow<'a, str>>,
    #[serde(borrow)]
    error: Option<UpbitError<'a>>,
}

/// WS `{"error":{"name":"NO_TICKET","message":"…"}}`; REST `{"error":{"name":404,"message":"Code not found"}}`
/// (`name` an integer for quotation errors, a string for unknown paths).
#[derive(Deserialize)]
struct UpbitError<'a> {
    #[serde(borrow)]
    name: Option<Num<'a>>,
    #[serde(borrow)]
    message: Option<Cow<'a, str>>,
}

impl UpbitError<'_> {
    fn into_parse_error(self) -> ParseError {
        let name = self
            .name
            .map_or_else(|| "unknown".to_owned(), |n| n.describe());
        ParseError::Venue(format!("{name}: {}", self.message.as_deref().unwrap_or("")))
    }
}

/// The subscribe request: `[{"ticket":…},{"type":"ticker","codes":[…]},{"format":"DEFAULT"}]`.
///
/// # Panics
///
/// Never: serialising structs of strings cannot fail.
#[must_use]
pub fn subscribe_frame(ticket: &str, codes: &[String]) -> String {
    #[derive(Serialize)]
    struct Ticket<'a> {
        ticket: &'a str,
    }
    #[derive(Serialize)]
    struct Kind<'a> {
        #[serde(rename = "type")]
        kind: &'a str,
        codes: &'a [String],
    }
    #[derive(Serialize)]
    struct Format<'a> {
        format: &'a str,
    }
    let request = (
        Ticket { ticket },
        Kind {
            kind: "ticker",
            codes,
        },
        Format { format: "DEFAULT" },
    );
    serde_json::to_string(&request).expect("plain structs of strings always serialise")
}

/// Parses one WS frame. KRW tickers become quotes (`KRW-USDT` too: it is the USDT/KRW rate);
/// other markets, other types and `{"status":"UP"}` are nothing; an error frame is `Venue`.
pub fn parse(frame: &[u8], received_ms: Millis) -> Result<Parsed, ParseError> {
    parse_ticker(frame, received_ms, Venue::Upbit)
}

/// [`parse`] for any venue speaking Upbit's WS ticker protocol (Bithumb v1, exchanges.md §2a): the
/// quote is `venue`'s. Only the epoch fields are read, never the `trade_date`/`trade_time` wall
/// clock (UTC on Upbit, KST on Bithumb); fields kimp does not use (`delisting_date` as `null`, `""`
/// or absent) cannot fail a frame.
pub(crate) fn parse_ticker(
    frame: &[u8],
    received_ms: Millis,
    venue: Venue,
) -> Result<Parsed, ParseError> {
    let frame: UpbitFrame<'_> = serde_json::from_slice(frame)?;
    if let Some(error) = frame.error {
        return Err(error.into_parse_error());
    }
    match (frame.kind.as_deref(), frame.status.as_deref()) {
        (Some("ticker"), _) => {}
        (Some(_), _) | (None, Some("UP")) => return Ok(Parsed::nothing()),
        (None, Some(status)) => return Err(ParseError::Venue(format!("status {status}"))),
        (None, None) => return Err(ParseError::field("type", "missing")),
    }
    let code = frame
        .code
        .ok_or_else(|| ParseError::field("code", "missing"))?;
    let Some(base) = krw_base(&code) else {
        return Ok(Parsed::nothing());
    };
    let price = num::required_f64("trade_price", frame.trade_price.as_ref())?;
    if price <= 0.0 {
        return Err(ParseError::field(
            "trade_price",
            format!("not positive: {price}"),
        ));
    }
    let change = num::optional_f64("signed_change_rate", frame.signed_change_rate.as_ref())?;
    let volume = num::optional_f64("acc_trade_price_24h", frame.acc_trade_price_24h.as_ref())?;
    let trade_ms = num::optional_ms("trade_timestamp", frame.trade_timestamp.as_ref())?;
    let exchange_ms = match trade_ms {
        Some(ms) => Some(ms),
        None => num::optional_ms("timestamp", frame.timestamp.as_ref())?,
    };
    Ok(Parsed::Events(vec![MarketEvent::Quote(Quote {
        venue,
        base: base.to_owned(),
        currency: Currency::Krw,
        price,
        change_percent: change.map(|fraction| fraction * 100.0),
        volume,
        exchange_ms,
        received_ms,
    })]))
}

/// `KRW-BTC` → `BTC`; any other quote currency → `None`.
pub(crate) fn krw_base(code: &str) -> Option<&str> {
    code.strip_prefix("KRW-").filter(|base| !base.is_empty())
}

/// For REST endpoints that answer a JSON array: an object body is the venue's error, which Upbit and
/// Bithumb v1 send as `{"error":{"name":404,"message":"Code not found"}}` (Bithumb with HTTP 200)
/// or, for an unrouted path, `{"name":"not_found","message":"No Route matched with those values"}`.
pub(crate) fn reject_object(body: &[u8]) -> Result<(), ParseError> {
    #[derive(Deserialize)]
    struct ErrorBody<'a> {
        #[serde(borrow)]
        error: Option<UpbitError<'a>>,
        #[serde(borrow)]
        name: Option<Num<'a>>,
        #[serde(borrow)]
        message: Option<Cow<'a, str>>,
    }
    if body.trim_ascii_start().first() != Some(&b'{') {
        return Ok(());
    }
    let body: ErrorBody<'_> = serde_json::from_slice(body)?;
    Err(match body {
        ErrorBody {
            error: Some(error), ..
        } => error.into_parse_error(),
        ErrorBody {
            name,
            message: Some(message),
            ..
        } => UpbitError {
            name,
            message: Some(message),
        }
        .into_parse_error(),
        _ => ParseError::field("error", "an object body without `error`"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subscribe_frame_shape() {
        let codes = vec!["KRW-BTC".to_owned(), "KRW-USDT".to_owned()];
        assert_eq!(
            subscribe_frame("kimp-1", &codes),
            r#"[{"ticket":"kimp-1"},{"type":"ticker","codes":["KRW-BTC","KRW-USDT"]},{"format":"DEFAULT"}]"#
        );
    }

    #[test]
    fn status_error_and_garbage() {
        assert_eq!(parse(br#"{"status":"UP"}"#, 0).unwrap(), Parsed::nothing());
        assert!(matches!(
            parse(br#"{"status":"DOWN"}"#, 0),
            Err(ParseError::Venue(_))
        ));
        assert!(matches!(
            parse(b"{}", 0),
            Err(ParseError::Field { field: "type", .. })
        ));
        assert!(matches!(parse(b"PONG", 0), Err(ParseError::Json(_))));
        assert!(parse(b"[1,2]", 0).is_err());
    }

    #[test]
    fn non_krw_and_bad_price() {
        let btc_eth = br#"{"ty":"ticker","cd":"BTC-ETH","tp":47820}"#;
        assert_eq!(parse(btc_eth, 0).unwrap(), Parsed::nothing());
        let zero = br#"{"ty":"ticker","cd":"KRW-BTC","tp":0}"#;
        assert!(matches!(
            parse(zero, 0),
            Err(ParseError::Field {
                field: "trade_price",
                ..
            })
        ));
        let missing = br#"{"type":"ticker","code":"KRW-BTC"}"#;
        assert!(matches!(
            parse(missing, 0),
            Err(ParseError::Field {
                field: "trade_price",
                ..
            })
        ));
    }

    #[test]
    fn timestamp_fallback() {
        let frame = br#"{"ty":"ticker","cd":"KRW-ETH","tp":1,"tms":1725927582208}"#;
        let Parsed::Events(events) = parse(frame, 5).unwrap() else {
            panic!()
        };
        let [MarketEvent::Quote(q)] = events.as_slice() else {
            panic!("{events:?}")
        };
        assert_eq!(
            (q.exchange_ms, q.change_percent, q.volume),
            (Some(1_725_927_582_208), None, None)
        );
    }
}
