//! Bybit linear symbol list and liquidation subscriptions (exchanges.md §5, §15).
//!
//! `allLiquidation` has no wildcard: every symbol is its own topic. The symbol list comes from
//! `GET /v5/market/instruments-info?category=linear` (paged: follow `nextPageCursor` until it is
//! empty). A subscribe request carries at most [`ARGS_PER_REQUEST`] topics, and a connection's topics
//! together must stay under Bybit's 21,000-character `args` cap, so large lists are spread over
//! several connections ([`split_connections`]).

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

use super::TOPIC_PREFIX;
use crate::feed::ParseError;

/// Topics per subscribe request (10 is the documented spot limit; safe on linear too).
pub const ARGS_PER_REQUEST: usize = 10;
/// Characters of `args` one connection may carry, kept below Bybit's 21,000 cap. Each topic counts
/// its length plus 3 (two quotes and a comma), as if the whole list were one JSON array.
pub const ARGS_CHARS_BUDGET: usize = 20_000;
/// Per-topic overhead counted against [`ARGS_CHARS_BUDGET`].
const TOPIC_OVERHEAD: usize = 3;

/// `GET /v5/market/instruments-info?category=linear` — bybit-exchange/docs
/// `docs/v5/market/instrument.mdx`: `{"retCode":0,"retMsg":"OK","result":{"category":"linear",
/// "list":[{"symbol":"BTCUSDT","contractType":"LinearPerpetual","status":"Trading","baseCoin":"BTC",
/// "quoteCoin":"USDT",…}],"nextPageCursor":""},"retExtInfo":{},"time":1735809771618}`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct BybitInstrumentsReply<'a> {
    ret_code: i64,
    #[serde(borrow, default)]
    ret_msg: Cow<'a, str>,
    #[serde(borrow)]
    result: Option<BybitInstrumentsResult<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct BybitInstrumentsResult<'a> {
    #[serde(borrow, default)]
    list: Vec<BybitInstrument<'a>>,
    #[serde(borrow)]
    next_page_cursor: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct BybitInstrument<'a> {
    #[serde(borrow)]
    symbol: Cow<'a, str>,
    #[serde(borrow)]
    status: Option<Cow<'a, str>>,
    #[serde(borrow)]
    quote_coin: Option<Cow<'a, str>>,
}

/// One page of the linear instrument list → (`Trading` symbols quoted in USDT — perpetuals and
/// dated futures —, the cursor of the next page or `None` on the last). `retCode ≠ 0` is an error.
pub fn parse_instruments(body: &[u8]) -> Result<(Vec<String>, Option<String>), ParseError> {
    let reply: BybitInstrumentsReply<'_> = serde_json::from_slice(body)?;
    if reply.ret_code != 0 {
        return Err(ParseError::Venue(format!(
            "retCode {}: {}",
            reply.ret_code, reply.ret_msg
        )));
    }
    let result = reply
        .result
        .ok_or_else(|| ParseError::field("result", "missing"))?;
    let symbols = result
        .list
        .into_iter()
        .filter(|i| {
            i.status.as_deref() == Some("Trading") && i.quote_coin.as_deref() == Some("USDT")
        })
        .map(|i| i.symbol.into_owned())
        .collect();
    let next = result
        .next_page_cursor
        .filter(|c| !c.is_empty())
        .map(Cow::into_owned);
    Ok((symbols, next))
}

/// `{"req_id":"liq1","op":"subscribe","args":["allLiquidation.BTCUSDT",…]}`
#[derive(Serialize)]
struct BybitSubscribe<'a> {
    req_id: String,
    op: &'static str,
    args: &'a [String],
}

/// Subscribe frames for `symbols`' liquidation topics, [`ARGS_PER_REQUEST`] topics each. Fits
/// [`Subscriptions::frames`](crate::feed::session::Subscriptions).
#[must_use]
pub fn subscribe_frames(symbols: &[String]) -> Vec<String> {
    let topics: Vec<String> = symbols.iter().map(|s| topic(s)).collect();
    topics
        .chunks(ARGS_PER_REQUEST)
        .enumerate()
        .filter_map(|(n, args)| {
            let frame = BybitSubscribe {
                req_id: format!("liq{}", n + 1),
                op: "subscribe",
                args,
            };
            serde_json::to_string(&frame).ok()
        })
        .collect()
}

/// Spreads `symbols` over connections so that each one's topics stay within [`ARGS_CHARS_BUDGET`];
/// order is kept. No connection is returned for an empty list.
#[must_use]
pub fn split_connections(symbols: &[String]) -> Vec<Vec<String>> {
    let mut connections: Vec<Vec<String>> = Vec::new();
    let mut current: Vec<String> = Vec::new();
    let mut used = 0;
    for symbol in symbols {
        let cost = args_chars(symbol);
        if !current.is_empty() && used + cost > ARGS_CHARS_BUDGET {
            connections.push(std::mem::take(&mut current));
            used = 0;
        }
        used += cost;
        current.push(symbol.clone());
    }
    if !current.is_empty() {
        connections.push(current);
    }
    connections
}

/// Characters one symbol's topic adds to a connection's `args`.
#[must_use]
pub fn args_chars(symbol: &str) -> usize {
    TOPIC_PREFIX.len() + symbol.len() + TOPIC_OVERHEAD
}

fn topic(symbol: &str) -> String {
    format!("{TOPIC_PREFIX}{symbol}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn venue_error_and_paging() {
        let err = parse_instruments(br#"{"retCode":10001,"retMsg":"params error","result":{}}"#);
        assert!(matches!(err, Err(ParseError::Venue(m)) if m == "retCode 10001: params error"));
        let body = br#"{"retCode":0,"result":{"list":[
            {"symbol":"AUSDT","status":"Trading","quoteCoin":"USDT"},
            {"symbol":"BPERP","status":"Trading","quoteCoin":"USDC"},
            {"symbol":"CUSDT","status":"PreLaunch","quoteCoin":"USDT"}],"nextPageCursor":"abc"}}"#;
        let (symbols, next) = parse_instruments(body).unwrap();
        assert_eq!(symbols, ["AUSDT"]);
        assert_eq!(next.as_deref(), Some("abc"));
        assert!(parse_instruments(b"garbage").is_err());
    }

    #[test]
    fn frames_are_batched() {
        let symbols: Vec<String> = (0..21).map(|i| format!("S{i}USDT")).collect();
        let frames = subscribe_frames(&symbols);
        assert_eq!(frames.len(), 3);
        assert!(
            frames[0].starts_with(
                r#"{"req_id":"liq1","op":"subscribe","args":["allLiquidation.S0USDT","#
            )
        );
        assert!(frames[2].ends_with(r#"["allLiquidation.S20USDT"]}"#));
        assert!(subscribe_frames(&[]).is_empty());
        assert!(split_connections(&[]).is_empty());
    }
}
