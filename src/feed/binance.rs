//! Binance spot tickers (exchanges.md §3): `!ticker_1d@arr`, fallback `!miniTicker@arr`.
//!
//! A frame is a combined-stream wrapper `{"stream":…,"data":…}` or a raw event, and the payload is
//! an object or an array of objects; every object is routed by its `e` field. Only `…USDT` symbols
//! become quotes; everything else in an array is skipped without converting a single number.
//!
//! **Array elements failing**: a bad element (empty or unparsable price, …) is skipped and logged at
//! `debug`; the frame still delivers its good quotes and counts as one good message. Only when
//! elements failed and *none* produced a quote is the frame an error (the first element's error,
//! with the count), so the feed's parse-error counter moves once per useless frame, not per element.

use std::borrow::Cow;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};

use crate::feed::num::{self, Num};
use crate::feed::{Control, ParseError, Parsed};
use crate::model::{Currency, FeedId, MarketEvent, Millis, Quote, Venue};

/// Spot ticker socket (primary and fallback stream alike).
pub const FEED_ID: FeedId = "binance.ticker";
/// Event type of the planned-close notice; also the `Control::Reconnect` reason.
const SERVER_SHUTDOWN: &str = "serverShutdown";
/// Event type of `!miniTicker@arr`; every other `…Ticker` type is a window ticker with `P`.
const MINI_TICKER: &str = "24hrMiniTicker";

/// Any JSON object of a frame: a ticker element, the combined-stream wrapper, a control event or a
/// reply. binance/binance-spot-api-docs `web-socket-streams.md`:
/// `{"stream":"!ticker_1d@arr","data":[{"e":"1dTicker","E":1672515782136,"s":"BNBBTC","p":"0.0015",
/// "P":"250.00","o":"0.0010","h":"0.0025","l":"0.0010","c":"0.0025","w":"0.0018","v":"10000","q":"18",
/// "O":0,"C":1675216573749,"F":0,"L":18150,"n":18151}]}`;
/// mini ticker `{"e":"24hrMiniTicker","E":1672515782136,"s":"BNBBTC","c":"0.0025","o":"0.0010",
/// "h":"0.0025","l":"0.0010","v":"10000","q":"18"}`; `{"e":"serverShutdown","E":1770123456789}`;
/// subscribe reply `{"result":null,"id":1}`; error `{"error":{"code":2,"msg":"Invalid request"},"id":1}`.
/// Numbers stay [`Num`] until the element is known to be a `…USDT` ticker (`o` is an object in
/// `forceOrder` events, for example).
#[derive(Deserialize)]
struct BinanceObject<'a> {
    #[serde(borrow)]
    stream: Option<Cow<'a, str>>,
    #[serde(borrow)]
    data: Option<BinancePayload<'a>>,
    #[serde(rename = "e", borrow)]
    event: Option<Cow<'a, str>>,
    #[serde(rename = "E", borrow)]
    event_ms: Option<Num<'a>>,
    #[serde(rename = "s", borrow)]
    symbol: Option<Cow<'a, str>>,
    #[serde(rename = "c", borrow)]
    close: Option<Num<'a>>,
    #[serde(rename = "o", borrow)]
    open: Option<Num<'a>>,
    #[serde(rename = "P", borrow)]
    change_percent: Option<Num<'a>>,
    #[serde(rename = "q", borrow)]
    quote_volume: Option<Num<'a>>,
    #[serde(borrow)]
    id: Option<Num<'a>>,
    #[serde(borrow)]
    error: Option<BinanceError<'a>>,
    #[serde(borrow)]
    msg: Option<Cow<'a, str>>,
}

/// `{"code":2,"msg":"Invalid request: …"}`, inside `error` or at the top level.
#[derive(Deserialize)]
struct BinanceError<'a> {
    #[serde(borrow)]
    code: Option<Num<'a>>,
    #[serde(borrow)]
    msg: Option<Cow<'a, str>>,
}

/// A payload of one object or an array of them, read in one pass (no buffering).
struct BinancePayload<'a>(Vec<BinanceObject<'a>>);

impl<'de: 'a, 'a> Deserialize<'de> for BinancePayload<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(PayloadVisitor(std::marker::PhantomData))
    }
}

struct PayloadVisitor<'a>(std::marker::PhantomData<&'a ()>);

impl<'de: 'a, 'a> Visitor<'de> for PayloadVisitor<'a> {
    type Value = BinancePayload<'a>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object or an array of objects")
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        let one = BinanceObject::deserialize(de::value::MapAccessDeserializer::new(map))?;
        Ok(BinancePayload(vec![one]))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut all = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(one) = seq.next_element()? {
            all.push(one);
        }
        Ok(BinancePayload(all))
    }
}

/// What one object turned out to be.
enum Element {
    Quote(Quote),
    /// Not a USDT ticker, an ack, an unknown event type: nothing to do.
    Skip,
    Shutdown,
}

/// Parses one frame (see the module docs for how failing array elements count).
pub fn parse(frame: &[u8], received_ms: Millis) -> Result<Parsed, ParseError> {
    let BinancePayload(objects) = serde_json::from_slice(frame)?;
    let mut events = Vec::new();
    let mut failed: Option<(ParseError, usize)> = None;
    for object in objects {
        if object.stream.as_deref() == Some("!serverShutdown") {
            return Ok(Parsed::Control(Control::Reconnect(SERVER_SHUTDOWN)));
        }
        let elements = match object.data {
            Some(BinancePayload(inner)) => inner,
            None => vec![object],
        };
        for element in elements {
            match classify(element, received_ms) {
                Ok(Element::Quote(quote)) => events.push(MarketEvent::Quote(quote)),
                Ok(Element::Skip) => {}
                Ok(Element::Shutdown) => {
                    return Ok(Parsed::Control(Control::Reconnect(SERVER_SHUTDOWN)));
                }
                Err(error) => {
                    tracing::debug!(feed = FEED_ID, %error, "skipping ticker element");
                    failed = Some(failed.map_or((error, 1), |(first, n)| (first, n + 1)));
                }
            }
        }
    }
    match failed {
        Some((first, count)) if events.is_empty() => Err(match first {
            ParseError::Field { field, reason } if count > 1 => ParseError::Field {
                field,
                reason: format!("{reason} (and {} more failed elements)", count - 1),
            },
            other => other,
        }),
        _ => Ok(Parsed::Events(events)),
    }
}

/// Routes one object by its `e` field.
fn classify(object: BinanceObject<'_>, received_ms: Millis) -> Result<Element, ParseError> {
    if let Some(error) = object.error {
        let code = error.code.map_or_else(String::new, |c| c.describe());
        return Err(ParseError::Venue(format!(
            "{code}: {}",
            error.msg.as_deref().unwrap_or("")
        )));
    }
    let Some(event) = object.event.as_deref() else {
        return match (&object.msg, &object.id) {
            (Some(msg), _) => Err(ParseError::Venue(msg.to_string())),
            // `{"result":null,"id":1}`: the subscribe acknowledgement.
            (None, Some(_)) => Ok(Element::Skip),
            (None, None) => Err(ParseError::field("e", "missing: not a stream event")),
        };
    };
    if event == SERVER_SHUTDOWN {
        return Ok(Element::Shutdown);
    }
    // `24hrTicker`, `1hTicker`, `4hTicker`, `1dTicker` (the 1-day name is unconfirmed), mini.
    if !event.ends_with("Ticker") {
        return Ok(Element::Skip);
    }
    let Some(base) = object.symbol.as_deref().and_then(usdt_base) else {
        return Ok(Element::Skip);
    };
    let price = num::required_f64("c", object.close.as_ref())?;
    if price <= 0.0 {
        return Err(ParseError::field("c", format!("not positive: {price}")));
    }
    let change_percent = if event == MINI_TICKER {
        let open = num::optional_f64("o", object.open.as_ref())?;
        open.filter(|o| *o > 0.0).map(|o| (price - o) / o * 100.0)
    } else {
        num::optional_f64("P", object.change_percent.as_ref())?
    };
    Ok(Element::Quote(Quote {
        venue: Venue::Binance,
        base: base.to_owned(),
        currency: Currency::Usdt,
        price,
        change_percent,
        volume: num::optional_f64("q", object.quote_volume.as_ref())?,
        exchange_ms: num::optional_ms("E", object.event_ms.as_ref())?,
        received_ms,
    }))
}

/// `BTCUSDT` → `BTC`; anything not quoted in USDT → `None`.
fn usdt_base(symbol: &str) -> Option<&str> {
    symbol.strip_suffix("USDT").filter(|base| !base.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quotes(frame: &str) -> Vec<Quote> {
        let Parsed::Events(events) = parse(frame.as_bytes(), 1).unwrap() else {
            panic!("control")
        };
        events
            .into_iter()
            .map(|e| match e {
                MarketEvent::Quote(q) => q,
                other => panic!("{other:?}"),
            })
            .collect()
    }

    #[test]
    fn raw_object_and_ack() {
        let q =
            quotes(r#"{"e":"24hrTicker","E":5,"s":"BTCUSDT","c":"100.5","P":"-1.25","q":"1E3"}"#);
        assert_eq!(q.len(), 1);
        assert_eq!(
            (q[0].base.as_str(), q[0].price, q[0].change_percent),
            ("BTC", 100.5, Some(-1.25))
        );
        assert_eq!(
            (q[0].volume, q[0].exchange_ms, q[0].received_ms),
            (Some(1000.0), Some(5), 1)
        );
        assert!(quotes(r#"{"result":null,"id":1}"#).is_empty());
    }

    #[test]
    fn mixed_array_keeps_good_elements() {
        let frame = r#"[{"e":"1dTicker","s":"AUSDT","c":""},{"e":"1dTicker","s":"BUSDT","c":"2"}]"#;
        assert_eq!(quotes(frame).len(), 1);
        let all_bad =
            r#"[{"e":"1dTicker","s":"AUSDT","c":""},{"e":"1dTicker","s":"BUSDT","c":"x"}]"#;
        let err = parse(all_bad.as_bytes(), 0).unwrap_err().to_string();
        assert!(err.contains("field `c`") && err.contains("1 more"), "{err}");
    }

    #[test]
    fn errors_and_unknown() {
        let err = parse(br#"{"error":{"code":2,"msg":"Invalid request"},"id":1}"#, 0);
        assert!(matches!(err, Err(ParseError::Venue(m)) if m == "2: Invalid request"));
        assert!(matches!(
            parse(br#"{"code":1,"msg":"bad"}"#, 0),
            Err(ParseError::Venue(_))
        ));
        assert!(quotes(r#"{"e":"forceOrder","E":1,"o":{"s":"BTCUSDT"}}"#).is_empty());
        assert!(quotes(r#"{"e":"1dTicker","s":"USDT","c":"1"}"#).is_empty());
        assert!(matches!(
            parse(b"{}", 0),
            Err(ParseError::Field { field: "e", .. })
        ));
        assert!(matches!(parse(b"not json", 0), Err(ParseError::Json(_))));
    }

    #[test]
    fn shutdown_raw_and_combined() {
        let control = Parsed::Control(Control::Reconnect("serverShutdown"));
        assert_eq!(
            parse(br#"{"e":"serverShutdown","E":1}"#, 0).unwrap(),
            control
        );
        let combined = br#"{"stream":"!serverShutdown","data":{"e":"serverShutdown","E":1}}"#;
        assert_eq!(parse(combined, 0).unwrap(), control);
    }
}
