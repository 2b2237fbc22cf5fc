//! Binance USD-M liquidations (exchanges.md §4, §12): `forceOrder` on the `/market` route.
//!
//! A frame is a raw event (`…/market/ws/!forceOrder@arr`) or a combined-stream wrapper
//! `{"stream","data"}` (`…/market/stream?streams=!forceOrder@arr/!markPrice@arr@1s`); `data` is an
//! object or an array. `forceOrder` becomes a [`Liquidation`]; `markPriceUpdate` (the canary on the
//! same socket, every second — or any other stream event) makes the frame a
//! [`LiqParsed::Heartbeat`]; COIN-M orders (`st: 2`, or a symbol not quoted in USDT/USDC such as
//! `BTCUSD_200925`) add no event. The feed is *sampled*: at most the latest liquidation per symbol
//! per second. A combined frame that starts `{"stream":"!markPrice@arr` is a heartbeat without being
//! read (≈300 KB every second).
//!
//! Side: `o.S` is the liquidation **order** side — `SELL` closes a long. Multiplier tickers
//! (`1000PEPEUSDT`) become the coin (`PEPE`) with quantity × 1000 and price ÷ 1000, so the notional
//! is unchanged ([`split_multiplier`]).

use std::borrow::Cow;

use serde::Deserialize;

use super::common::{Batch, Dedupe, OneOrMany, positive};
use super::{LiqParsed, LiqParser, LiqStats, split_multiplier};
use crate::feed::num::{self, Num};
use crate::feed::{Control, ParseError, Parsed};
use crate::model::{FeedId, LiqVenue, Liquidation, Millis, Side};

pub const FEED_ID: FeedId = "binance.liquidations";
/// Sampled: at most one event per symbol per second, so a few thousand ids cover many minutes.
pub const DEDUPE_CAPACITY: usize = 4_096;
const SERVER_SHUTDOWN: &str = "serverShutdown";

/// Any object of a frame: the wrapper, a `forceOrder`, a `markPriceUpdate`, a reply.
/// developers.binance.com/docs/derivatives/usds-margined-futures/websocket-market-streams/Liquidation-Order-Streams:
/// `{"e":"forceOrder","E":1568014460893,"o":{"s":"BTCUSDT","S":"SELL","o":"LIMIT","f":"IOC",
/// "q":"0.014","p":"9910","ap":"9910","X":"FILLED","l":"0.014","z":"0.014","T":1568014460893}}`;
/// canary (`Mark-Price-Stream-for-All-market`) `[{"e":"markPriceUpdate","E":1562305380000,
/// "s":"BTCUSDT","p":"11794.15000000",…}]`; ack `{"result":null,"id":1}`;
/// error `{"error":{"code":2,"msg":"Invalid request"},"id":1}`.
#[derive(Deserialize)]
struct BinanceObject<'a> {
    #[serde(borrow)]
    stream: Option<Cow<'a, str>>,
    data: Option<OneOrMany<BinanceObject<'a>>>,
    #[serde(rename = "e", borrow)]
    event: Option<Cow<'a, str>>,
    #[serde(rename = "o", borrow)]
    order: Option<BinanceForceOrder<'a>>,
    #[serde(borrow)]
    id: Option<Num<'a>>,
    #[serde(borrow)]
    error: Option<BinanceError<'a>>,
    #[serde(borrow)]
    msg: Option<Cow<'a, str>>,
}

/// The `o` object of a `forceOrder` (see [`BinanceObject`]); live 2026 frames add `ps` and `st`.
#[derive(Deserialize)]
struct BinanceForceOrder<'a> {
    #[serde(rename = "s", borrow)]
    symbol: Cow<'a, str>,
    #[serde(rename = "S", borrow)]
    side: Cow<'a, str>,
    #[serde(rename = "q", borrow)]
    quantity: Option<Num<'a>>,
    #[serde(rename = "p", borrow)]
    price: Option<Num<'a>>,
    #[serde(rename = "ap", borrow)]
    average_price: Option<Num<'a>>,
    #[serde(rename = "z", borrow)]
    filled: Option<Num<'a>>,
    #[serde(rename = "T", borrow)]
    trade_ms: Option<Num<'a>>,
    #[serde(rename = "st", borrow)]
    margin_type: Option<Num<'a>>,
}

#[derive(Deserialize)]
struct BinanceError<'a> {
    #[serde(borrow)]
    code: Option<Num<'a>>,
    #[serde(borrow)]
    msg: Option<Cow<'a, str>>,
}

/// What one object turned out to be.
enum Element {
    /// A `forceOrder`: the event, or `None` for a COIN-M order (still liquidation data).
    Liquidation(Option<Liquidation>),
    Canary,
    Skip,
    Shutdown,
}

/// The Binance USD-M liquidation parser: stateless but for a de-duplication memory, which matters
/// when a replacement connection overlaps the old one before the 24 h lifetime ends.
#[derive(Debug)]
pub struct BinanceLiqParser {
    seen: Dedupe,
    duplicates: u64,
}

impl Default for BinanceLiqParser {
    fn default() -> Self {
        Self::new()
    }
}

impl BinanceLiqParser {
    #[must_use]
    pub fn new() -> Self {
        BinanceLiqParser {
            seen: Dedupe::new(DEDUPE_CAPACITY),
            duplicates: 0,
        }
    }
}

impl LiqParser for BinanceLiqParser {
    fn parse_frame(&mut self, frame: &[u8], received_ms: Millis) -> Result<LiqParsed, ParseError> {
        let parsed = parse_liq(frame, received_ms)?;
        let LiqParsed::Liquidations(events) = parsed else {
            return Ok(parsed);
        };
        let before = events.len();
        let fresh: Vec<Liquidation> = events
            .into_iter()
            .filter(|e| self.seen.insert(&[&e.id]))
            .collect();
        self.duplicates += (before - fresh.len()) as u64;
        Ok(LiqParsed::Liquidations(fresh))
    }

    fn stats(&self) -> LiqStats {
        LiqStats {
            duplicates: self.duplicates,
            ..LiqStats::default()
        }
    }
}

/// Stateless parse (no de-duplication) with the session's plain `fn` signature.
pub fn parse(frame: &[u8], received_ms: Millis) -> Result<Parsed, ParseError> {
    parse_liq(frame, received_ms).map(LiqParsed::into_parsed)
}

/// Whether the frame is mark-price canary data (connected and delivering, no liquidation).
#[must_use]
pub fn is_canary(frame: &[u8]) -> bool {
    matches!(parse_liq(frame, 0), Ok(LiqParsed::Heartbeat))
}

/// Stateless parse into [`LiqParsed`].
pub fn parse_liq(frame: &[u8], received_ms: Millis) -> Result<LiqParsed, ParseError> {
    // The combined stream names its stream first: skip reading ~300 KB of mark prices every second.
    if frame.starts_with(br#"{"stream":"!markPrice@arr"#) {
        return Ok(LiqParsed::Heartbeat);
    }
    let OneOrMany::<BinanceObject<'_>>(objects) = serde_json::from_slice(frame)?;
    let mut batch = Batch::default();
    let (mut canary, mut liquidation) = (false, false);
    for object in objects {
        let elements = match object.data {
            Some(OneOrMany(inner)) => inner,
            None => vec![object],
        };
        for element in elements {
            match classify(element, received_ms) {
                Ok(Element::Liquidation(event)) => {
                    liquidation = true;
                    batch.add(FEED_ID, Ok(event));
                }
                Ok(Element::Canary) => canary = true,
                Ok(Element::Skip) => {}
                Ok(Element::Shutdown) => {
                    return Ok(LiqParsed::Control(Control::Reconnect(SERVER_SHUTDOWN)));
                }
                Err(error) => {
                    liquidation = true;
                    batch.add(FEED_ID, Err(error));
                }
            }
        }
    }
    match (liquidation, canary) {
        (true, _) => batch.finish(),
        (false, true) => Ok(LiqParsed::Heartbeat),
        (false, false) => Ok(LiqParsed::Nothing),
    }
}

/// Routes one object by its `e` field.
fn classify(object: BinanceObject<'_>, received_ms: Millis) -> Result<Element, ParseError> {
    if let Some(error) = object.error {
        let code = error.code.map_or_else(String::new, |c| c.describe());
        let msg = error.msg.as_deref().unwrap_or("");
        return Err(ParseError::Venue(format!("{code}: {msg}")));
    }
    match object.event.as_deref() {
        Some("forceOrder") => {
            let order = object
                .order
                .ok_or_else(|| ParseError::field("o", "missing in forceOrder"))?;
            to_liquidation(&order, received_ms).map(Element::Liquidation)
        }
        Some(SERVER_SHUTDOWN) => Ok(Element::Shutdown),
        // `markPriceUpdate` (the canary) or any other stream event: the socket is delivering.
        Some(_) => Ok(Element::Canary),
        None => match (&object.msg, &object.id, &object.stream) {
            (Some(msg), _, _) => Err(ParseError::Venue(msg.to_string())),
            (None, Some(_), _) | (None, None, Some(_)) => Ok(Element::Skip),
            (None, None, None) => Err(ParseError::field("e", "missing: not a stream event")),
        },
    }
}

/// A USD-M `forceOrder` → a liquidation; `None` for COIN-M.
fn to_liquidation(
    order: &BinanceForceOrder<'_>,
    received_ms: Millis,
) -> Result<Option<Liquidation>, ParseError> {
    let coin_m = order
        .margin_type
        .as_ref()
        .is_some_and(|st| matches!(st.ms("st"), Ok(Some(2))));
    let Some(ticker) = usd_m_base(&order.symbol).filter(|_| !coin_m) else {
        return Ok(None);
    };
    let side = match order.side.as_ref() {
        "SELL" => Side::Long,
        "BUY" => Side::Short,
        other => return Err(ParseError::field("S", format!("unknown side {other}"))),
    };
    let price = first_positive(
        "ap",
        order.average_price.as_ref(),
        "p",
        order.price.as_ref(),
    )?;
    let quantity = first_positive("z", order.filled.as_ref(), "q", order.quantity.as_ref())?;
    let time_ms = num::optional_ms("T", order.trade_ms.as_ref())?
        .ok_or_else(|| ParseError::field("T", "missing or empty"))?;
    let (base, multiplier) = split_multiplier(ticker);
    Ok(Some(Liquidation {
        id: format!("binance:{}:{time_ms}", order.symbol),
        exchange: LiqVenue::Binance,
        symbol: order.symbol.to_string(),
        base: base.to_owned(),
        side,
        price: price / multiplier,
        quantity: quantity * multiplier,
        notional_usd: price * quantity,
        time_ms,
        received_ms,
    }))
}

/// The first field when it is a positive number, else the second (`ap` is `0` on some orders).
fn first_positive(
    name: &'static str,
    value: Option<&Num<'_>>,
    fallback_name: &'static str,
    fallback: Option<&Num<'_>>,
) -> Result<f64, ParseError> {
    match num::optional_f64(name, value)? {
        Some(v) if v > 0.0 => Ok(v),
        _ => positive(fallback_name, num::required_f64(fallback_name, fallback)?),
    }
}

/// `BTCUSDT`, `BTCUSDC`, `BTCUSDT_260925` → `BTC`; COIN-M (`BTCUSD_200925`) and others → `None`.
fn usd_m_base(symbol: &str) -> Option<&str> {
    let contract = symbol.split_once('_').map_or(symbol, |(pair, _)| pair);
    contract
        .strip_suffix("USDT")
        .or_else(|| contract.strip_suffix("USDC"))
        .filter(|base| !base.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symbols() {
        assert_eq!(usd_m_base("BTCUSDT"), Some("BTC"));
        assert_eq!(usd_m_base("ETHUSDC"), Some("ETH"));
        assert_eq!(usd_m_base("BTCUSDT_260925"), Some("BTC"));
        assert_eq!(usd_m_base("BTCUSD_200925"), None);
        assert_eq!(usd_m_base("USDT"), None);
    }

    #[test]
    fn fallbacks_multiplier_and_coin_m() {
        let frame = br#"{"e":"forceOrder","E":1,"o":{"s":"1000PEPEUSDT","S":"BUY","q":"2000","p":"0.012","ap":"0","z":"0","T":7}}"#;
        let LiqParsed::Liquidations(events) = parse_liq(frame, 9).unwrap() else {
            panic!()
        };
        let e = &events[0];
        assert_eq!(
            (e.base.as_str(), e.side, e.time_ms),
            ("PEPE", Side::Short, 7)
        );
        assert!((e.quantity - 2_000_000.0).abs() < 1e-9);
        assert!((e.price - 0.000_012).abs() < 1e-15);
        assert!((e.notional_usd - 24.0).abs() < 1e-9);
        assert_eq!(e.id, "binance:1000PEPEUSDT:7");
        let coin_m =
            br#"{"e":"forceOrder","o":{"s":"BTCUSDT","st":2,"S":"BUY","q":"1","p":"1","T":7}}"#;
        assert_eq!(
            parse_liq(coin_m, 0).unwrap(),
            LiqParsed::Liquidations(vec![])
        );
    }

    #[test]
    fn canary_ack_and_errors() {
        let canary = br#"[{"e":"markPriceUpdate","E":1,"s":"BTCUSDT","p":"1"}]"#;
        assert!(is_canary(canary));
        let wrapped = br#"{"stream":"!markPrice@arr@1s","data":[{"e":"markPriceUpdate","s":"X"}]}"#;
        assert!(is_canary(wrapped));
        assert_eq!(
            parse_liq(br#"{"result":null,"id":1}"#, 0).unwrap(),
            LiqParsed::Nothing
        );
        assert!(matches!(
            parse_liq(br#"{"error":{"code":2,"msg":"Invalid request"},"id":1}"#, 0),
            Err(ParseError::Venue(m)) if m == "2: Invalid request"
        ));
        assert!(matches!(
            parse_liq(b"{}", 0),
            Err(ParseError::Field { field: "e", .. })
        ));
        let no_price =
            br#"{"e":"forceOrder","o":{"s":"BTCUSDT","S":"SELL","p":"","ap":"0","z":"1","T":1}}"#;
        assert!(matches!(
            parse_liq(no_price, 0),
            Err(ParseError::Field { field: "p", .. })
        ));
    }
}
