//! USD/KRW bank rate (exchanges.md §8): Dunamu → open.er-api → Frankfurter, in configured order.
//!
//! Every poll tries the sources in order and the first valid value wins; each value keeps its
//! source and the source's own quote time, which is what the state ages it by. open.er-api updates
//! once a day and locks out eager clients (429, 20 min), so its last value is cached and reused
//! until its `time_next_update_unix` (and at least an hour).

use std::borrow::Cow;
use std::ops::RangeInclusive;
use std::time::Duration;

use serde::Deserialize;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::config::FxConfig;
use crate::feed::num::{self, Num};
use crate::feed::poller::{self, Closed, FetchError, Reporter, Schedule};
use crate::feed::{FeedMsg, ParseError};
use crate::model::{FeedId, FeedState, FxRate, FxSource, MarketEvent, Millis};

pub const FEED_ID: FeedId = "fx.usdkrw";
/// The recording's `src` of each source's bodies.
pub const SRC_DUNAMU: &str = "dunamu";
pub const SRC_FRANKFURTER: &str = "frankfurter";
pub const SRC_OPEN_ER_API: &str = "open_er_api";
/// Anything outside is not KRW per USD (an inverted rate, another currency pair).
const PLAUSIBLE_KRW_PER_USD: RangeInclusive<f64> = 100.0..=100_000.0;
/// open.er-api: never refetch sooner than this after a success …
const ER_API_MIN_REFETCH_MS: Millis = 3_600_000;
/// … nor during its 20-minute lockout after a 429.
const ER_API_LOCKOUT_MS: Millis = 20 * 60_000;

/// `GET https://quotation-api-cdn.dunamu.com/v1/forex/recent?codes=FRX.KRWUSD` (undocumented; field
/// list in exchanges.md §8; kimp's own fixture `tests/fixtures/fx-dunamu.json`):
/// `[{"code":"FRX.KRWUSD","currencyCode":"USD","basePrice":1384.20,"currencyUnit":1,
/// "provider":"하나은행","timestamp":1789713130000,"tcBuyingPrice":null,…}]`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DunamuQuote<'a> {
    #[serde(borrow)]
    currency_code: Option<Cow<'a, str>>,
    #[serde(borrow)]
    base_price: Option<Num<'a>>,
    #[serde(borrow)]
    currency_unit: Option<Num<'a>>,
    #[serde(borrow)]
    timestamp: Option<Num<'a>>,
}

/// `GET https://open.er-api.com/v6/latest/USD` (exchangerate-api.com/docs/free):
/// `{"result":"success","time_last_update_unix":1789689601,"time_next_update_unix":1789776001,
/// "base_code":"USD","rates":{"USD":1,"KRW":1384.83,…}}`; errors `{"result":"error","error-type":"unsupported-code"}`.
#[derive(Deserialize)]
struct ErApiReply<'a> {
    #[serde(borrow)]
    result: Option<Cow<'a, str>>,
    #[serde(rename = "error-type", borrow)]
    error_type: Option<Cow<'a, str>>,
    #[serde(borrow)]
    base_code: Option<Cow<'a, str>>,
    #[serde(borrow)]
    time_last_update_unix: Option<Num<'a>>,
    #[serde(borrow)]
    time_next_update_unix: Option<Num<'a>>,
    #[serde(borrow)]
    rates: Option<ErApiRates<'a>>,
}

#[derive(Deserialize)]
struct ErApiRates<'a> {
    #[serde(rename = "KRW", borrow)]
    krw: Option<Num<'a>>,
}

/// `GET https://api.frankfurter.dev/v2/rate/USD/KRW` (frankfurter.dev):
/// `{"date": "2026-07-17", "base": "USD", "quote": "EUR", "rate": 0.8739}`.
#[derive(Deserialize)]
struct FrankfurterRate<'a> {
    #[serde(borrow)]
    date: Cow<'a, str>,
    #[serde(borrow)]
    base: Cow<'a, str>,
    #[serde(borrow)]
    quote: Cow<'a, str>,
    #[serde(borrow)]
    rate: Num<'a>,
}

/// An open.er-api value and when the source says the next one comes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ErApiRate {
    pub rate: FxRate,
    pub next_update_ms: Option<Millis>,
}

/// Dunamu: `[0].basePrice` per `currencyUnit`, quoted at `timestamp` (ms).
pub fn parse_dunamu(body: &[u8], received_ms: Millis) -> Result<FxRate, ParseError> {
    let rows: Vec<DunamuQuote<'_>> = serde_json::from_slice(body)?;
    let row = rows
        .into_iter()
        .next()
        .ok_or_else(|| ParseError::field("[0]", "empty reply"))?;
    if let Some(currency) = row.currency_code.as_deref().filter(|c| *c != "USD") {
        return Err(ParseError::field(
            "currencyCode",
            format!("expected USD, got {currency}"),
        ));
    }
    let price = num::required_f64("basePrice", row.base_price.as_ref())?;
    let unit = num::optional_f64("currencyUnit", row.currency_unit.as_ref())?.unwrap_or(1.0);
    if unit <= 0.0 {
        return Err(ParseError::field(
            "currencyUnit",
            format!("not positive: {unit}"),
        ));
    }
    let quoted_ms = num::optional_ms("timestamp", row.timestamp.as_ref())?
        .ok_or_else(|| ParseError::field("timestamp", "missing or empty"))?;
    rate(FxSource::Dunamu, price / unit, quoted_ms, received_ms)
}

/// open.er-api: `rates.KRW`, quoted at `time_last_update_unix` (s); `result` must be `success`.
pub fn parse_open_er_api(body: &[u8], received_ms: Millis) -> Result<ErApiRate, ParseError> {
    let reply: ErApiReply<'_> = serde_json::from_slice(body)?;
    match reply.result.as_deref() {
        Some("success") => {}
        other => {
            let kind = reply.error_type.as_deref().unwrap_or("no error-type");
            return Err(ParseError::Venue(format!(
                "result {}: {kind}",
                other.unwrap_or("missing")
            )));
        }
    }
    if let Some(base) = reply.base_code.as_deref().filter(|b| *b != "USD") {
        return Err(ParseError::field(
            "base_code",
            format!("expected USD, got {base}"),
        ));
    }
    let krw = reply.rates.and_then(|r| r.krw);
    let value = num::required_f64("rates.KRW", krw.as_ref())?;
    let quoted_ms = unix_seconds_ms(
        "time_last_update_unix",
        reply.time_last_update_unix.as_ref(),
    )?
    .ok_or_else(|| ParseError::field("time_last_update_unix", "missing or empty"))?;
    let next_update_ms = unix_seconds_ms(
        "time_next_update_unix",
        reply.time_next_update_unix.as_ref(),
    )?;
    Ok(ErApiRate {
        rate: rate(FxSource::OpenErApi, value, quoted_ms, received_ms)?,
        next_update_ms,
    })
}

/// Frankfurter v2: `rate` for `base` USD and `quote` KRW, quoted at `date` 00:00 UTC.
pub fn parse_frankfurter(body: &[u8], received_ms: Millis) -> Result<FxRate, ParseError> {
    let reply: FrankfurterRate<'_> = serde_json::from_slice(body)?;
    if reply.base != "USD" || reply.quote != "KRW" {
        let pair = format!("expected USD/KRW, got {}/{}", reply.base, reply.quote);
        return Err(ParseError::field("quote", pair));
    }
    let value = num::required_f64("rate", Some(&reply.rate))?;
    let quoted_ms = date_midnight_ms(&reply.date)
        .ok_or_else(|| ParseError::field("date", reply.date.to_string()))?;
    rate(FxSource::Frankfurter, value, quoted_ms, received_ms)
}

fn rate(
    source: FxSource,
    krw_per_usd: f64,
    quoted_ms: Millis,
    received_ms: Millis,
) -> Result<FxRate, ParseError> {
    if !PLAUSIBLE_KRW_PER_USD.contains(&krw_per_usd) {
        return Err(ParseError::field(
            "rate",
            format!("implausible KRW per USD: {krw_per_usd}"),
        ));
    }
    Ok(FxRate {
        source,
        krw_per_usd,
        quoted_ms,
        received_ms,
    })
}

fn unix_seconds_ms(
    field: &'static str,
    value: Option<&Num<'_>>,
) -> Result<Option<Millis>, ParseError> {
    match num::optional_ms(field, value)? {
        Some(secs) => secs
            .checked_mul(1_000)
            .map(Some)
            .ok_or_else(|| ParseError::field(field, "out of range")),
        None => Ok(None),
    }
}

/// `2026-07-17` → epoch ms of that day's 00:00 UTC.
fn date_midnight_ms(date: &str) -> Option<Millis> {
    let mut parts = date.trim().splitn(3, '-');
    let year: i32 = parts.next()?.parse().ok()?;
    let month: u8 = parts.next()?.parse().ok()?;
    let day: u8 = parts.next()?.parse().ok()?;
    let date =
        time::Date::from_calendar_date(year, time::Month::try_from(month).ok()?, day).ok()?;
    Some(date.midnight().assume_utc().unix_timestamp() * 1_000)
}

/// Why one source gave no value this poll.
#[derive(Debug, thiserror::Error)]
enum SourceError {
    #[error(transparent)]
    Fetch(#[from] FetchError),
    #[error(transparent)]
    Parse(#[from] ParseError),
    #[error("not asked again before {0} ms (rate limit)")]
    Waiting(Millis),
}

/// open.er-api's last value and when it may be asked again.
#[derive(Debug, Default)]
struct ErApiCache {
    last: Option<FxRate>,
    not_before_ms: Millis,
}

/// Polls every `poll_interval_secs`; see the module docs.
pub async fn run(
    cfg: FxConfig,
    client: crate::feed::poller::Http,
    tx: mpsc::Sender<FeedMsg>,
    cancel: CancellationToken,
) {
    let sources: Vec<FxSource> = cfg
        .sources
        .iter()
        .filter_map(|name| {
            let source = FxSource::parse(name);
            if source.is_none() {
                tracing::warn!(feed = FEED_ID, source = %name, "unknown fx source skipped");
            }
            source
        })
        .collect();
    let mut reporter = Reporter::new(FEED_ID, tx, cancel.clone());
    let mut cache = ErApiCache::default();
    let mut schedule = Schedule::new(Duration::from_secs(cfg.poll_interval_secs));
    while schedule.wait(&cancel).await {
        let poll = poll_once(&cfg, &client, &sources, &mut reporter, &mut cache);
        match poller::until_cancelled(&cancel, poll).await {
            Some(Ok(())) => {}
            Some(Err(Closed)) | None => return,
        }
    }
}

/// One round over the sources: the first valid value is sent, else `Down` with every reason.
async fn poll_once(
    cfg: &FxConfig,
    client: &crate::feed::poller::Http,
    sources: &[FxSource],
    reporter: &mut Reporter,
    cache: &mut ErApiCache,
) -> Result<(), Closed> {
    let mut reasons = Vec::new();
    for &source in sources {
        match fetch_source(cfg, client, source, cache).await {
            Ok(rate) => {
                reporter.events(vec![MarketEvent::Fx(rate)]).await?;
                return reporter
                    .status(FeedState::Live, Some(source.as_str().to_owned()))
                    .await;
            }
            Err(error) => {
                if let SourceError::Parse(parse) = &error {
                    reporter
                        .parse_error(format!("{}: {parse}", source.as_str()))
                        .await?;
                } else {
                    tracing::warn!(feed = FEED_ID, source = source.as_str(), %error, "fx source failed");
                }
                reasons.push(format!("{}: {error}", source.as_str()));
            }
        }
    }
    if reasons.is_empty() {
        reasons.push("no known source configured".to_owned());
    }
    reporter
        .status(FeedState::Down, Some(reasons.join("; ")))
        .await
}

async fn fetch_source(
    cfg: &FxConfig,
    client: &crate::feed::poller::Http,
    source: FxSource,
    cache: &mut ErApiCache,
) -> Result<FxRate, SourceError> {
    let timeout = Duration::from_secs(cfg.timeout_secs);
    match source {
        FxSource::Dunamu => {
            let body = poller::fetch(
                client,
                poller::Tag::sub(FEED_ID, SRC_DUNAMU),
                &cfg.dunamu_url,
                timeout,
            )
            .await?;
            Ok(parse_dunamu(&body, poller::now_ms())?)
        }
        FxSource::Frankfurter => {
            let body = poller::fetch(
                client,
                poller::Tag::sub(FEED_ID, SRC_FRANKFURTER),
                &cfg.frankfurter_url,
                timeout,
            )
            .await?;
            Ok(parse_frankfurter(&body, poller::now_ms())?)
        }
        FxSource::OpenErApi => fetch_open_er_api(cfg, client, cache, timeout).await,
    }
}

/// open.er-api through its cache: reuse the last value until the source's next update.
async fn fetch_open_er_api(
    cfg: &FxConfig,
    client: &crate::feed::poller::Http,
    cache: &mut ErApiCache,
    timeout: Duration,
) -> Result<FxRate, SourceError> {
    let now = poller::now_ms();
    if now < cache.not_before_ms {
        return cache.last.ok_or(SourceError::Waiting(cache.not_before_ms));
    }
    let body = match poller::fetch(
        client,
        poller::Tag::sub(FEED_ID, SRC_OPEN_ER_API),
        &cfg.open_er_api_url,
        timeout,
    )
    .await
    {
        Ok(body) => body,
        Err(error) => {
            if error.status() == Some(429) {
                cache.not_before_ms = now + ER_API_LOCKOUT_MS;
            }
            return Err(error.into());
        }
    };
    let reply = parse_open_er_api(&body, poller::now_ms())?;
    cache.last = Some(reply.rate);
    cache.not_before_ms = reply
        .next_update_ms
        .unwrap_or(0)
        .max(now + ER_API_MIN_REFETCH_MS);
    Ok(reply.rate)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dunamu_minimal_and_checks() {
        let body = br#"[{"currencyCode":"USD","basePrice":1384.20,"currencyUnit":1,"timestamp":1789713130000}]"#;
        let fx = parse_dunamu(body, 9).unwrap();
        assert_eq!(
            (fx.source, fx.krw_per_usd, fx.quoted_ms, fx.received_ms),
            (FxSource::Dunamu, 1384.2, 1_789_713_130_000, 9)
        );
        assert!(parse_dunamu(b"[]", 0).is_err());
        assert!(
            parse_dunamu(
                br#"[{"currencyCode":"JPY","basePrice":900.1,"timestamp":1}]"#,
                0
            )
            .is_err()
        );
        assert!(parse_dunamu(br#"[{"basePrice":null,"timestamp":1}]"#, 0).is_err());
        assert!(parse_dunamu(br#"[{"basePrice":1384.2,"timestamp":null}]"#, 0).is_err());
    }

    #[test]
    fn er_api_error_result_is_venue_error() {
        let err = parse_open_er_api(br#"{"result":"error","error-type":"unsupported-code"}"#, 0);
        assert!(matches!(err, Err(ParseError::Venue(m)) if m.contains("unsupported-code")));
    }

    #[test]
    fn frankfurter_pair_and_date() {
        let ok = br#"{"date": "2026-07-17", "base": "USD", "quote": "KRW", "rate": 1384.5}"#;
        assert_eq!(
            parse_frankfurter(ok, 0).unwrap().quoted_ms,
            1_784_246_400_000
        );
        let bad_date = br#"{"date": "2026-13-01", "base": "USD", "quote": "KRW", "rate": 1384.5}"#;
        assert!(matches!(
            parse_frankfurter(bad_date, 0),
            Err(ParseError::Field { field: "date", .. })
        ));
        let inverted = br#"{"date": "2026-07-17", "base": "USD", "quote": "KRW", "rate": 0.00072}"#;
        assert!(matches!(
            parse_frankfurter(inverted, 0),
            Err(ParseError::Field { field: "rate", .. })
        ));
    }
}
