//! Bithumb's legacy all-coin REST ticker `GET /public/ticker/ALL_KRW` (exchanges.md §2b), the
//! fallback while the v1 socket is down.
//!
//! Every value is a string; the map of coins also holds `date` (the body's epoch ms), which is not
//! a coin; errors come with HTTP 200 and a `status` other than `"0000"`. One broken coin is
//! skipped, not the whole body.

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::Deserialize;

use crate::feed::num::{self, Num};
use crate::feed::{ParseError, upbit};
use crate::model::{Currency, MarketEvent, Millis, Quote, Venue};

/// The key among the coins that holds the body's timestamp.
const DATE_KEY: &str = "date";
/// `status` of a successful body.
const STATUS_OK: &str = "0000";

/// `GET https://api.bithumb.com/public/ticker/ALL_KRW` (apidocs.bithumb.com; bmoscon/cryptofeed
/// `sample_data/BITHUMB.0`):
/// `{"status":"0000","data":{"BTC":{"opening_price":"43462000","closing_price":"43232000",…,
/// "acc_trade_value_24H":"169853829676.0389","fluctate_24H":"-718000","fluctate_rate_24H":"-1.63"},
/// …,"date":"1622591001555"}}`. Errors (HTTP 200): `{"status":"5500","message":"상장 코인 아님"}`.
#[derive(Deserialize)]
struct BithumbAllKrw<'a> {
    #[serde(borrow)]
    status: Option<Num<'a>>,
    #[serde(borrow)]
    message: Option<Cow<'a, str>>,
    #[serde(borrow)]
    data: Option<BTreeMap<String, BithumbAllKrwValue<'a>>>,
}

/// A value of `data`: a coin's object, or a scalar such as `"date":"1622591001555"`.
#[derive(Deserialize)]
#[serde(untagged)]
enum BithumbAllKrwValue<'a> {
    Coin(#[serde(borrow)] BithumbAllKrwCoin<'a>),
    Scalar(#[serde(borrow)] Num<'a>),
}

/// The fields kimp uses of one coin (all strings; capital `H`).
#[derive(Deserialize)]
struct BithumbAllKrwCoin<'a> {
    /// Last trade price, KRW.
    #[serde(borrow)]
    closing_price: Option<Num<'a>>,
    /// 24 h change, already in percent (`"-1.63"`).
    #[serde(rename = "fluctate_rate_24H", borrow)]
    fluctate_rate_24h: Option<Num<'a>>,
    /// Traded value over a rolling 24 h, KRW.
    #[serde(rename = "acc_trade_value_24H", borrow)]
    acc_trade_value_24h: Option<Num<'a>>,
}

/// Parses an `ALL_KRW` body into one Bithumb KRW quote per coin (`USDT` included: Bithumb's
/// USDT/KRW rate), stamped with the body's `date`. A coin whose price is missing, unparsable or not
/// positive is skipped; a `status` other than `"0000"` is `Venue`; a body without one usable coin
/// is an error.
pub fn parse_all_krw(raw: &[u8], received_ms: Millis) -> Result<Vec<MarketEvent>, ParseError> {
    let body: BithumbAllKrw<'_> = serde_json::from_slice(raw)?;
    match &body.status {
        Some(Num::Str(status)) if status == STATUS_OK => {}
        Some(status) => {
            let message = body.message.as_deref().unwrap_or("");
            return Err(ParseError::Venue(format!(
                "status {}: {message}",
                status.describe()
            )));
        }
        // A v1-style error body (`{"error":{…}}`) instead of a legacy one.
        None => {
            return Err(upbit::reject_object(raw)
                .err()
                .unwrap_or_else(|| ParseError::field("status", "missing")));
        }
    }
    let data = body
        .data
        .ok_or_else(|| ParseError::field("data", "missing"))?;
    let exchange_ms = match data.get(DATE_KEY) {
        Some(BithumbAllKrwValue::Scalar(stamp)) => stamp.ms(DATE_KEY).ok().flatten(),
        _ => None,
    };
    let mut skipped = 0usize;
    let mut events = Vec::with_capacity(data.len());
    for (base, value) in data {
        let BithumbAllKrwValue::Coin(coin) = value else {
            continue;
        };
        match quote(base, &coin, exchange_ms, received_ms) {
            Ok(q) => events.push(MarketEvent::Quote(q)),
            Err(error) => {
                skipped += 1;
                tracing::debug!(%error, "ALL_KRW coin skipped");
            }
        }
    }
    if events.is_empty() {
        return Err(ParseError::field(
            "data",
            format!("no coin with a usable price ({skipped} skipped)"),
        ));
    }
    Ok(events)
}

fn quote(
    base: String,
    coin: &BithumbAllKrwCoin<'_>,
    exchange_ms: Option<Millis>,
    received_ms: Millis,
) -> Result<Quote, ParseError> {
    let price = num::required_f64("closing_price", coin.closing_price.as_ref())?;
    if price <= 0.0 {
        return Err(ParseError::field(
            "closing_price",
            format!("not positive: {price}"),
        ));
    }
    Ok(Quote {
        venue: Venue::Bithumb,
        base,
        currency: Currency::Krw,
        price,
        change_percent: num::optional_f64("fluctate_rate_24H", coin.fluctate_rate_24h.as_ref())?,
        volume: num::optional_f64("acc_trade_value_24H", coin.acc_trade_value_24h.as_ref())?,
        exchange_ms,
        received_ms,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn date_is_time_not_a_coin_and_bad_coins_are_skipped() {
        let body = br#"{"status":"0000","data":{"AAA":{"closing_price":""},
            "BTC":{"closing_price":"5","fluctate_rate_24H":"-1.5"},"ZZZ":{"closing_price":"0"},
            "date":"1622591001555"}}"#;
        let events = parse_all_krw(body, 9).unwrap();
        let [MarketEvent::Quote(q)] = events.as_slice() else {
            panic!("{events:?}")
        };
        assert_eq!(q.base, "BTC");
        assert_eq!(q.change_percent, Some(-1.5));
        assert_eq!(q.exchange_ms, Some(1_622_591_001_555));
    }

    #[test]
    fn errors() {
        let err = parse_all_krw(br#"{"status":"5500","message":"m"}"#, 0).unwrap_err();
        assert_eq!(err.to_string(), "venue error: status 5500: m");
        assert!(parse_all_krw(br#"{"status":"0000"}"#, 0).is_err());
        assert!(parse_all_krw(br#"{"status":"0000","data":{"date":"1"}}"#, 0).is_err());
        assert!(parse_all_krw(br#"{"data":{}}"#, 0).is_err());
        let v1 = parse_all_krw(br#"{"error":{"name":404,"message":"Code not found"}}"#, 0);
        assert_eq!(
            v1.unwrap_err().to_string(),
            "venue error: 404: Code not found"
        );
        assert!(parse_all_krw(b"[]", 0).is_err());
    }
}
