//! Bybit v5 spot wire types and parsers: `tickers.*` pushes and replies on the socket, and the
//! REST `GET /v5/market/tickers?category=spot` body (fallback quotes and the symbol list).
//!
//! **Spot only, snapshots only.** The spot socket pushes full snapshots (exchanges.md §5); only the
//! linear/inverse sockets send `delta` frames holding just the changed fields. A `delta` is
//! therefore nothing here (no state is kept to merge it into, and a partial frame must never pass
//! for a full quote), and so is a snapshot carrying `markPrice`, which every derivatives ticker has
//! and no spot ticker does: the spot feed never shows a perpetual's price, even when a recording (or
//! a misconfigured URL) mixes categories. Rows are named by `data.symbol`, not by the topic (one
//! recording's topic reads `tickers.BTC-USDT` for `BTCUSDT`).

use std::borrow::Cow;

use serde::Deserialize;

use super::object_or::ObjectOr;
use crate::feed::num::{self, Num};
use crate::feed::{ParseError, Parsed};
use crate::model::{Currency, MarketEvent, Millis, Quote, Venue};

/// A frame of the public spot socket: a push, a reply, or anything else.
///
/// Push (<https://bybit-exchange.github.io/docs/v5/websocket/public/ticker>, spot example):
/// `{"topic":"tickers.BTCUSDT","ts":1673853746003,"type":"snapshot","cs":2588407389,"data":{
/// "symbol":"BTCUSDT","lastPrice":"21109.77","highPrice24h":"21426.99","lowPrice24h":"20575",
/// "prevPrice24h":"20704.93","volume24h":"6780.866843","turnover24h":"141946527.22907118",
/// "price24hPcnt":"0.0196","usdIndexPrice":"21120.2400136"}}`.
/// Replies (<https://bybit-exchange.github.io/docs/v5/ws/connect>): spot pong
/// `{"success":true,"ret_msg":"pong","conn_id":"0970e817-426e-429a-a679-ff7f55e0b16a","op":"ping"}`,
/// ack `{"success":true,"ret_msg":"subscribe","conn_id":"…","req_id":"t1","op":"subscribe"}`,
/// option pong `{"req_id":"…","op":"pong","args":["1675418560633"],"conn_id":"…"}`.
#[derive(Deserialize)]
struct BybitFrame<'a> {
    #[serde(borrow)]
    topic: Option<Cow<'a, str>>,
    #[serde(rename = "type", borrow)]
    kind: Option<Cow<'a, str>>,
    #[serde(borrow)]
    ts: Option<Num<'a>>,
    #[serde(borrow)]
    data: Option<ObjectOr<BybitTicker<'a>>>,
    success: Option<bool>,
    #[serde(borrow)]
    ret_msg: Option<Cow<'a, str>>,
    #[serde(borrow)]
    op: Option<Cow<'a, str>>,
}

/// A ticker row, WS `data` or a REST `result.list[]` element. Numbers are strings, `""` occurs.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct BybitTicker<'a> {
    #[serde(borrow)]
    symbol: Option<Cow<'a, str>>,
    #[serde(borrow)]
    last_price: Option<Num<'a>>,
    /// A fraction (`0.0196` = +1.96 %), rolling 24 h.
    #[serde(borrow)]
    price24h_pcnt: Option<Num<'a>>,
    /// Quote-coin (USDT) value traded over 24 h.
    #[serde(borrow)]
    turnover24h: Option<Num<'a>>,
    /// Present on linear/inverse/option tickers only: marks a frame that is not spot.
    #[serde(borrow)]
    mark_price: Option<Num<'a>>,
}

/// `GET /v5/market/tickers?category=spot`
/// (<https://bybit-exchange.github.io/docs/v5/market/tickers>):
/// `{"retCode":0,"retMsg":"OK","result":{"category":"spot","list":[{"symbol":"BTCUSDT",
/// "bid1Price":"20517.96","bid1Size":"2","ask1Price":"20527.77","ask1Size":"1.862172",
/// "lastPrice":"20533.13","prevPrice24h":"20393.48","price24hPcnt":"0.0068",
/// "highPrice24h":"21128.12","lowPrice24h":"20318.89","turnover24h":"243765620.65899866",
/// "volume24h":"11801.27771","usdIndexPrice":"20784.12009279"}]},"retExtInfo":{},"time":1673859087947}`.
/// An error keeps the envelope: `{"retCode":10001,"retMsg":"…","result":{},…}`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct BybitTickersBody<'a> {
    #[serde(borrow)]
    ret_code: Option<Num<'a>>,
    #[serde(borrow)]
    ret_msg: Option<Cow<'a, str>>,
    #[serde(borrow)]
    result: Option<BybitTickersResult<'a>>,
    #[serde(borrow)]
    time: Option<Num<'a>>,
}

#[derive(Deserialize)]
struct BybitTickersResult<'a> {
    #[serde(borrow)]
    category: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    list: Vec<BybitTicker<'a>>,
}

/// Parses one socket frame: a spot `tickers.*` snapshot is one quote (none while `lastPrice` is
/// `""`); acks, pongs, deltas, derivatives tickers and other topics are nothing; a failed reply
/// (`success:false`) is `Venue` with its `ret_msg`.
pub fn parse(frame: &[u8], received_ms: Millis) -> Result<Parsed, ParseError> {
    let frame: BybitFrame<'_> = serde_json::from_slice(frame)?;
    let Some(topic) = frame.topic.as_deref() else {
        return match (frame.success, frame.op.as_deref()) {
            (Some(true), _) | (None, Some(_)) => Ok(Parsed::nothing()),
            (Some(false), op) => Err(ParseError::Venue(format!(
                "{} failed: {}",
                op.unwrap_or("request"),
                frame.ret_msg.as_deref().unwrap_or("")
            ))),
            (None, None) => Err(ParseError::field("topic", "missing: not a push or a reply")),
        };
    };
    if !topic.starts_with("tickers.") {
        return Ok(Parsed::nothing());
    }
    if frame.kind.as_deref() == Some("delta") {
        tracing::debug!(
            topic,
            "ignoring a ticker delta: the spot socket sends snapshots"
        );
        return Ok(Parsed::nothing());
    }
    let Some(ObjectOr::Object(ticker)) = frame.data else {
        return Err(ParseError::field("data", "missing or not an object"));
    };
    if ticker.mark_price.is_some() {
        return Ok(Parsed::nothing());
    }
    let exchange_ms = num::optional_ms("ts", frame.ts.as_ref())?;
    let quote = quote(ticker, exchange_ms, received_ms)?;
    Ok(Parsed::Events(
        quote.into_iter().map(MarketEvent::Quote).collect(),
    ))
}

/// Every USDT spot row of a REST tickers body as a quote (exchange time: the body's `time`). A row
/// that fails is skipped (logged); the body is an error only when rows failed and none gave a
/// quote. `retCode ≠ 0` is `Venue`.
pub fn parse_rest_tickers(
    body: &[u8],
    received_ms: Millis,
) -> Result<Vec<MarketEvent>, ParseError> {
    let body: BybitTickersBody<'_> = serde_json::from_slice(body)?;
    let exchange_ms = num::optional_ms("time", body.time.as_ref())?;
    let rows = checked_rows(body)?;
    let mut events = Vec::with_capacity(rows.len());
    let mut failed: Option<(ParseError, usize)> = None;
    for row in rows {
        match quote(row, exchange_ms, received_ms) {
            Ok(Some(q)) => events.push(MarketEvent::Quote(q)),
            Ok(None) => {}
            Err(error) => {
                tracing::debug!(%error, "skipping a REST ticker row");
                failed = Some(failed.map_or((error, 1), |(first, n)| (first, n + 1)));
            }
        }
    }
    match failed {
        Some((first, count)) if events.is_empty() => Err(ParseError::field(
            "result.list",
            format!("{count} rows failed, none usable; first: {first}"),
        )),
        _ => Ok(events),
    }
}

/// The base assets of every USDT spot pair in a REST tickers body (untraded ones included: they
/// are listed and can be subscribed).
pub fn parse_symbols(body: &[u8]) -> Result<Vec<String>, ParseError> {
    let body: BybitTickersBody<'_> = serde_json::from_slice(body)?;
    Ok(checked_rows(body)?
        .iter()
        .filter_map(|row| row.symbol.as_deref().and_then(usdt_base))
        .map(str::to_owned)
        .collect())
}

/// The rows of a successful spot body: `retCode` 0, `result` present, category `spot` if named.
fn checked_rows(body: BybitTickersBody<'_>) -> Result<Vec<BybitTicker<'_>>, ParseError> {
    let code = body
        .ret_code
        .ok_or_else(|| ParseError::field("retCode", "missing"))?
        .describe();
    if code != "0" {
        return Err(ParseError::Venue(format!(
            "retCode {code}: {}",
            body.ret_msg.as_deref().unwrap_or("")
        )));
    }
    let result = body
        .result
        .ok_or_else(|| ParseError::field("result", "missing"))?;
    match result.category.as_deref() {
        None | Some("spot") => Ok(result.list),
        Some(other) => Err(ParseError::field(
            "result.category",
            format!("expected spot, got {other}"),
        )),
    }
}

/// One row as a quote: `None` for non-USDT symbols and while `lastPrice` is `""` (no trade yet).
fn quote(
    row: BybitTicker<'_>,
    exchange_ms: Option<Millis>,
    received_ms: Millis,
) -> Result<Option<Quote>, ParseError> {
    let symbol = row
        .symbol
        .ok_or_else(|| ParseError::field("symbol", "missing"))?;
    let Some(base) = usdt_base(&symbol) else {
        return Ok(None);
    };
    let Some(price) = num::optional_f64("lastPrice", row.last_price.as_ref())? else {
        return Ok(None);
    };
    if price <= 0.0 {
        return Err(ParseError::field(
            "lastPrice",
            format!("not positive: {price}"),
        ));
    }
    let change = num::optional_f64("price24hPcnt", row.price24h_pcnt.as_ref())?;
    Ok(Some(Quote {
        venue: Venue::Bybit,
        base: base.to_owned(),
        currency: Currency::Usdt,
        price,
        change_percent: change.map(|fraction| fraction * 100.0),
        volume: num::optional_f64("turnover24h", row.turnover24h.as_ref())?,
        exchange_ms,
        received_ms,
    }))
}

/// `BTCUSDT` → `BTC`; other quotes (`BTCUSDC`, `BTCPERP`, inverse `BTCUSD`) → `None`.
pub(crate) fn usdt_base(symbol: &str) -> Option<&str> {
    symbol.strip_suffix("USDT").filter(|base| !base.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_and_unknown_frames() {
        let ok = [
            r#"{"success":true,"ret_msg":"pong","conn_id":"x","op":"ping"}"#,
            r#"{"req_id":"1","op":"pong","args":["1675418560633"],"conn_id":"x"}"#,
            r#"{"topic":"publicTrade.BTCUSDT","type":"snapshot","data":[{"p":"1"}]}"#,
            r#"{"topic":"tickers.BTCUSDT","type":"delta","data":{"symbol":"BTCUSDT","lastPrice":"1"}}"#,
        ];
        for frame in ok {
            assert_eq!(
                parse(frame.as_bytes(), 0).unwrap(),
                Parsed::nothing(),
                "{frame}"
            );
        }
        let err = parse(br#"{"success":false,"ret_msg":"bad","op":"subscribe"}"#, 0);
        assert!(matches!(err, Err(ParseError::Venue(m)) if m == "subscribe failed: bad"));
        assert!(matches!(
            parse(b"{}", 0),
            Err(ParseError::Field { field: "topic", .. })
        ));
        let no_data = br#"{"topic":"tickers.BTCUSDT","type":"snapshot","data":[]}"#;
        assert!(matches!(
            parse(no_data, 0),
            Err(ParseError::Field { field: "data", .. })
        ));
    }

    #[test]
    fn usdt_suffix_only() {
        assert_eq!(usdt_base("1000PEPEUSDT"), Some("1000PEPE"));
        assert_eq!(usdt_base("USDT"), None);
        assert_eq!(usdt_base("BTCUSDC"), None);
    }
}
