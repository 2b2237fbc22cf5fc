//! Bybit v5 linear liquidations (exchanges.md §5, §12): `allLiquidation.{symbol}`, one topic per
//! symbol, a batch every 500 ms, complete.
//!
//! `data` is an **array**; `S` is the **position** side — `Buy` means a *long* was liquidated (the
//! opposite of Binance/OKX/BitMEX, which send the order side). Price `p` is the bankruptcy price,
//! `v` the size in base units; `notional = v × p` (USDT ≈ USD). Inverse symbols (`XRPUSD`, only on
//! the inverse socket) size in USD contracts: `notional = v`, `quantity = v / p`. The deprecated
//! `liquidation.{symbol}` (`data` an object, `updatedTime/symbol/side/size/price`, same side rule)
//! is parsed too, so an old recording replays. Re-sent batches are de-duplicated by id
//! `bybit:{s}:{T}:{index}`.
//!
//! REST and subscription helpers (symbol list, batched subscribe frames, connection split) live in
//! the private `instruments` module and are re-exported here.

mod instruments;

pub use instruments::{
    ARGS_CHARS_BUDGET, ARGS_PER_REQUEST, args_chars, parse_instruments, split_connections,
    subscribe_frames,
};

use std::borrow::Cow;

use serde::Deserialize;

use super::common::{Batch, Dedupe, MapOrSkip, OneOrMany, positive};
use super::{DEDUPE_CAPACITY, LiqParsed, LiqParser, LiqStats, split_multiplier};
use crate::feed::ParseError;
use crate::feed::num::{self, Num};
use crate::model::{FeedId, LiqVenue, Liquidation, Millis, Side};

pub const FEED_ID: FeedId = "bybit.liquidations";
/// Topic prefix of the current liquidation stream.
pub const TOPIC_PREFIX: &str = "allLiquidation.";
/// Topic prefix of the stream deprecated on 2025-02-20.
const DEPRECATED_PREFIX: &str = "liquidation.";

/// Any frame on the linear public socket.
/// bybit-exchange/docs `docs/v5/websocket/public/all-liquidation.mdx`:
/// `{"topic":"allLiquidation.ROSEUSDT","type":"snapshot","ts":1739502303204,"data":[{"T":1739502302929,
/// "s":"ROSEUSDT","S":"Sell","v":"20000","p":"0.04499"}]}`; deprecated `liquidation.mdx`:
/// `{"topic":"liquidation.BTCUSDT","type":"snapshot","ts":1703485237953,"data":{"updatedTime":
/// 1703485237953,"symbol":"BTCUSDT","side":"Sell","size":"0.003","price":"43511.70"}}`;
/// `wss-authentication.mdx` pong `{"success":true,"ret_msg":"pong","conn_id":"465772b1-…",
/// "req_id":"","op":"ping"}` and ack `{"success":true,"ret_msg":"","conn_id":"3cd84cb1-…",
/// "req_id":"","op":"subscribe"}`.
#[derive(Deserialize)]
struct BybitFrame<'a> {
    #[serde(borrow)]
    topic: Option<Cow<'a, str>>,
    data: Option<OneOrMany<MapOrSkip<BybitLiquidation<'a>>>>,
    success: Option<bool>,
    #[serde(borrow)]
    ret_msg: Option<Cow<'a, str>>,
    #[serde(borrow)]
    op: Option<Cow<'a, str>>,
}

/// One liquidation row (see [`BybitFrame`]); the aliases read the deprecated topic's object.
#[derive(Deserialize)]
struct BybitLiquidation<'a> {
    #[serde(rename = "T", alias = "updatedTime", borrow)]
    time: Option<Num<'a>>,
    #[serde(rename = "s", alias = "symbol", borrow)]
    symbol: Option<Cow<'a, str>>,
    #[serde(rename = "S", alias = "side", borrow)]
    side: Option<Cow<'a, str>>,
    #[serde(rename = "v", alias = "size", borrow)]
    size: Option<Num<'a>>,
    #[serde(rename = "p", alias = "price", borrow)]
    price: Option<Num<'a>>,
}

/// The Bybit liquidation parser: de-duplicates the last [`DEDUPE_CAPACITY`] ids.
#[derive(Debug)]
pub struct BybitLiqParser {
    seen: Dedupe,
    duplicates: u64,
}

impl Default for BybitLiqParser {
    fn default() -> Self {
        Self::new()
    }
}

impl BybitLiqParser {
    #[must_use]
    pub fn new() -> Self {
        BybitLiqParser {
            seen: Dedupe::new(DEDUPE_CAPACITY),
            duplicates: 0,
        }
    }
}

impl LiqParser for BybitLiqParser {
    fn parse_frame(&mut self, frame: &[u8], received_ms: Millis) -> Result<LiqParsed, ParseError> {
        let frame: BybitFrame<'_> = serde_json::from_slice(frame)?;
        let Some(topic) = frame.topic.as_deref() else {
            return reply(&frame);
        };
        if !topic.starts_with(TOPIC_PREFIX) && !topic.starts_with(DEPRECATED_PREFIX) {
            // Another topic on this socket (a canary such as `tickers.BTCUSDT`): data is flowing.
            return Ok(LiqParsed::Heartbeat);
        }
        let OneOrMany(rows) = frame
            .data
            .ok_or_else(|| ParseError::field("data", "missing"))?;
        let mut batch = Batch::default();
        for (index, row) in rows.iter().enumerate() {
            let MapOrSkip(Some(row)) = row else {
                batch.add(FEED_ID, Err(ParseError::field("data", "not an object")));
                continue;
            };
            let event = to_liquidation(row, index, received_ms).map(|event| {
                let fresh = self.seen.insert(&[&event.id]);
                self.duplicates += u64::from(!fresh);
                fresh.then_some(event)
            });
            batch.add(FEED_ID, event);
        }
        batch.finish()
    }

    fn stats(&self) -> LiqStats {
        LiqStats {
            duplicates: self.duplicates,
            ..LiqStats::default()
        }
    }
}

/// A frame without a topic: pong (heartbeat), subscribe ack (nothing) or a refusal (error).
fn reply(frame: &BybitFrame<'_>) -> Result<LiqParsed, ParseError> {
    let msg = frame.ret_msg.as_deref().unwrap_or("");
    let op = frame.op.as_deref().unwrap_or("");
    match frame.success {
        Some(false) => Err(ParseError::Venue(format!("{op}: {msg}"))),
        _ if op == "pong" || msg == "pong" => Ok(LiqParsed::Heartbeat),
        Some(true) => Ok(LiqParsed::Nothing),
        None => Err(ParseError::field("topic", "missing: not a push or a reply")),
    }
}

fn to_liquidation(
    row: &BybitLiquidation<'_>,
    index: usize,
    received_ms: Millis,
) -> Result<Liquidation, ParseError> {
    let symbol = row
        .symbol
        .as_deref()
        .ok_or_else(|| ParseError::field("s", "missing"))?;
    let side = match row.side.as_deref() {
        // Position side: a Buy (long) position was liquidated.
        Some("Buy") => Side::Long,
        Some("Sell") => Side::Short,
        other => return Err(ParseError::field("S", format!("unknown side {other:?}"))),
    };
    let price = positive("p", num::required_f64("p", row.price.as_ref())?)?;
    let volume = positive("v", num::required_f64("v", row.size.as_ref())?)?;
    let time_ms = num::optional_ms("T", row.time.as_ref())?
        .ok_or_else(|| ParseError::field("T", "missing or empty"))?;
    let (ticker, inverse) = base_of(symbol);
    let (base, multiplier) = split_multiplier(ticker);
    let (quantity, notional_usd) = if inverse {
        (volume / price, volume)
    } else {
        (volume * multiplier, volume * price)
    };
    Ok(Liquidation {
        id: format!("bybit:{symbol}:{time_ms}:{index}"),
        exchange: LiqVenue::Bybit,
        symbol: symbol.to_owned(),
        base: base.to_owned(),
        side,
        price: if inverse { price } else { price / multiplier },
        quantity,
        notional_usd,
        time_ms,
        received_ms,
    })
}

/// `BTCUSDT`, `BTCPERP` (USDC), `BTC-26DEC25`, `BTCUSDT-26DEC25` → `BTC`; the flag marks an inverse
/// contract (`BTCUSD`, `BTCUSDH26`) whose size is in USD. Unknown shapes keep the symbol as base.
fn base_of(symbol: &str) -> (&str, bool) {
    let contract = symbol.split_once('-').map_or(symbol, |(pair, _)| pair);
    for quote in ["USDT", "USDC", "PERP"] {
        if let Some(base) = contract.strip_suffix(quote).filter(|b| !b.is_empty()) {
            return (base, false);
        }
    }
    if contract.len() < symbol.len() {
        return (contract, false); // `BTC-26DEC25`: a USDC future.
    }
    // Inverse perpetual `BTCUSD` or future `BTCUSDH26`.
    match contract.rfind("USD") {
        Some(at) if at > 0 && contract.len() - at <= 6 => {
            (contract.get(..at).unwrap_or(contract), true)
        }
        _ => (contract, false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bases() {
        assert_eq!(base_of("BTCUSDT"), ("BTC", false));
        assert_eq!(base_of("BTCPERP"), ("BTC", false));
        assert_eq!(base_of("BTC-26DEC25"), ("BTC", false));
        assert_eq!(base_of("ETHUSDT-26DEC25"), ("ETH", false));
        assert_eq!(base_of("XRPUSD"), ("XRP", true));
        assert_eq!(base_of("BTCUSDH26"), ("BTC", true));
        assert_eq!(base_of("WEIRD"), ("WEIRD", false));
    }

    #[test]
    fn replies() {
        let mut p = BybitLiqParser::new();
        let pong = br#"{"success":true,"ret_msg":"pong","conn_id":"x","req_id":"","op":"ping"}"#;
        assert_eq!(p.parse_frame(pong, 0).unwrap(), LiqParsed::Heartbeat);
        let option_pong = br#"{"op":"pong","args":["1"],"conn_id":"x"}"#;
        assert_eq!(p.parse_frame(option_pong, 0).unwrap(), LiqParsed::Heartbeat);
        let refused = br#"{"success":false,"ret_msg":"error:handler not found","op":"subscribe"}"#;
        assert!(
            matches!(p.parse_frame(refused, 0), Err(ParseError::Venue(m)) if m.contains("handler not found"))
        );
        let other = br#"{"topic":"tickers.BTCUSDT","data":{"symbol":"BTCUSDT"}}"#;
        assert_eq!(p.parse_frame(other, 0).unwrap(), LiqParsed::Heartbeat);
        assert!(p.parse_frame(b"[]", 0).is_err());
    }
}
