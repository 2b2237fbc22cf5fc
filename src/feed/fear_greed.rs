//! The crypto fear & greed index from alternative.me (exchanges.md §9): polled hourly (it changes
//! once a day, at 00:00 UTC), retried sooner after a failure.
//!
//! `value` and `timestamp` are strings; `timestamp` is epoch **seconds**; `data[1]` is yesterday.

use std::borrow::Cow;
use std::time::Duration;

use serde::Deserialize;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::config::FearGreedConfig;
use crate::feed::num::Num;
use crate::feed::poller::{self, Closed, Reporter, Schedule};
use crate::feed::{FeedMsg, ParseError};
use crate::model::{FearGreed, FeedId, FeedState, MarketEvent, Millis};

pub const FEED_ID: FeedId = "fear_greed";
/// Budget of one request.
const TIMEOUT: Duration = Duration::from_secs(10);
/// First retry after a failure; doubles up to [`RETRY_MAX`], never later than the poll interval.
pub const RETRY_MIN: Duration = Duration::from_secs(30);
pub const RETRY_MAX: Duration = Duration::from_secs(600);
/// A publication time further ahead of the receive time is not seconds (a millisecond value
/// read as seconds lands millennia ahead).
const MAX_FUTURE_MS: Millis = 2 * 86_400_000;

/// `GET https://api.alternative.me/fng/?limit=2` (alternative.me/crypto/fear-and-greed-index/,
/// "API"; kimp's own fixture `tests/fixtures/fng-alternative-me.json`):
/// `{"name":"Fear and Greed Index","data":[{"value":"73","value_classification":"Greed",
/// "timestamp":"1790640000","time_until_update":"16018"},{"value":"74","value_classification":"Greed",
/// "timestamp":"1790553600"}],"metadata":{"error":null}}`.
#[derive(Deserialize)]
struct FngReply<'a> {
    #[serde(default, borrow)]
    data: Vec<FngRow<'a>>,
    #[serde(borrow)]
    metadata: Option<FngMetadata<'a>>,
}

#[derive(Deserialize)]
struct FngRow<'a> {
    #[serde(borrow)]
    value: Option<Num<'a>>,
    #[serde(borrow)]
    value_classification: Option<Cow<'a, str>>,
    #[serde(borrow)]
    timestamp: Option<Num<'a>>,
}

#[derive(Deserialize)]
struct FngMetadata<'a> {
    /// `null` when all is well; otherwise the error text.
    #[serde(borrow)]
    error: Option<Num<'a>>,
}

/// Parses the reply: today's value (0..=100), its class and publication time, and yesterday's
/// value when `data[1]` holds a valid one. `metadata.error` other than `null` is `Venue`.
pub fn parse(body: &[u8], received_ms: Millis) -> Result<FearGreed, ParseError> {
    let reply: FngReply<'_> = serde_json::from_slice(body)?;
    if let Some(error) = reply.metadata.and_then(|m| m.error)
        && error != Num::Null
    {
        return Err(ParseError::Venue(error.describe()));
    }
    let mut rows = reply.data.into_iter();
    let today = rows
        .next()
        .ok_or_else(|| ParseError::field("data", "empty"))?;
    let value = index_value(today.value.as_ref())?;
    let class = today
        .value_classification
        .filter(|c| !c.trim().is_empty())
        .ok_or_else(|| ParseError::field("value_classification", "missing or empty"))?;
    let seconds = today
        .timestamp
        .as_ref()
        .map(|t| t.ms("timestamp"))
        .transpose()?
        .flatten()
        .ok_or_else(|| ParseError::field("timestamp", "missing or empty"))?;
    let updated_ms = seconds
        .checked_mul(1_000)
        .filter(|ms| *ms > 0 && *ms <= received_ms.saturating_add(MAX_FUTURE_MS))
        .ok_or_else(|| ParseError::field("timestamp", format!("not epoch seconds: {seconds}")))?;
    let previous = rows.next().and_then(|r| index_value(r.value.as_ref()).ok());
    Ok(FearGreed {
        value,
        class: class.into_owned(),
        previous,
        updated_ms,
    })
}

/// An index value: a whole number 0..=100 (sent as a string).
fn index_value(value: Option<&Num<'_>>) -> Result<u8, ParseError> {
    let v = crate::feed::num::required_f64("value", value)?;
    if v.fract() != 0.0 || !(0.0..=100.0).contains(&v) {
        return Err(ParseError::field("value", format!("not 0..=100: {v}")));
    }
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "a whole number in 0..=100"
    )]
    Ok(v as u8)
}

/// Polls `cfg.url` at once and every `poll_interval_secs` until `cancel`; after a failure retries
/// sooner (30 s doubling to 10 min, never later than the interval). Sends
/// [`MarketEvent::FearGreed`] and `live`/`down` statuses.
pub async fn run(
    cfg: FearGreedConfig,
    client: crate::feed::poller::Http,
    tx: mpsc::Sender<FeedMsg>,
    cancel: CancellationToken,
) {
    let interval = Duration::from_secs(cfg.poll_interval_secs);
    let mut reporter = Reporter::new(FEED_ID, tx, cancel.clone());
    let mut schedule = Schedule::new(interval);
    let mut retry = RETRY_MIN;
    while schedule.wait(&cancel).await {
        match poller::until_cancelled(&cancel, poll(&client, &cfg.url, &mut reporter)).await {
            Some(Ok(true)) => retry = RETRY_MIN,
            Some(Ok(false)) => {
                schedule.retry_after(retry.min(interval));
                retry = (retry * 2).min(RETRY_MAX);
            }
            Some(Err(Closed)) | None => return,
        }
    }
}

/// One poll; `Ok(true)` when a value was delivered.
async fn poll(
    client: &crate::feed::poller::Http,
    url: &str,
    reporter: &mut Reporter,
) -> Result<bool, Closed> {
    let body = match poller::fetch(client, poller::Tag::feed(FEED_ID), url, TIMEOUT).await {
        Ok(body) => body,
        Err(error) => {
            tracing::warn!(feed = FEED_ID, %error, "fear & greed fetch failed");
            reporter
                .status(FeedState::Down, Some(error.to_string()))
                .await?;
            return Ok(false);
        }
    };
    match parse(&body, poller::now_ms()) {
        Ok(index) => {
            let detail = format!("{} {}", index.value, index.class);
            reporter.events(vec![MarketEvent::FearGreed(index)]).await?;
            reporter.status(FeedState::Live, Some(detail)).await?;
            Ok(true)
        }
        Err(error) => {
            reporter.parse_error(error.to_string()).await?;
            reporter
                .status(FeedState::Down, Some(error.to_string()))
                .await?;
            Ok(false)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_must_be_whole_and_in_range() {
        let one = |v: &str| index_value(Some(&serde_json::from_str::<Num<'_>>(v).unwrap()));
        assert_eq!(one(r#""0""#).unwrap(), 0);
        assert_eq!(one("100").unwrap(), 100);
        assert!(one(r#""101""#).is_err());
        assert!(one(r#""-1""#).is_err());
        assert!(one(r#""7.5""#).is_err());
        assert!(one(r#""""#).is_err());
        assert!(index_value(None).is_err());
    }
}
