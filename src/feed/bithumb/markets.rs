//! Bithumb's market list (exchanges.md §2a, §10): `GET /v1/market/all?isDetails=true` for names,
//! `market_warning` and the `KRW-…` codes the socket subscribes to, plus
//! `GET /v1/market/virtual_asset_warning` for the per-market alerts (`caution:<warning_type>`).
//!
//! Both answer errors with HTTP 200 and an object body. A failed alerts call does not hold back
//! the list: it goes out with `market_warning` flags only and the status detail says so.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use serde::Deserialize;
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

use super::MARKETS_FEED_ID;
use crate::config::BithumbConfig;
use crate::feed::poller::{self, Closed, Reporter};
use crate::feed::upbit::{self, MARKETS_TIMEOUT, MarketSchedule};
use crate::feed::{FeedMsg, ParseError};
use crate::model::{FeedState, MarketEvent, MarketInfo, Venue};

/// The recording's `src` of the market list bodies.
pub const SRC_LIST: &str = "list";
/// The recording's `src` of the alert list bodies.
pub const SRC_WARNINGS: &str = "warnings";

/// One row of `GET /v1/market/all?isDetails=true` (camelCase: `is_details` is silently ignored;
/// jabdori/maxt `src/adapters/bithumb/parse.rs` const `MARKET_LIST`, apidocs.bithumb.com):
/// `{"market":"KRW-ZIL","korean_name":"질리카","english_name":"Zilliqa","market_warning":"CAUTION"}`.
#[derive(Deserialize)]
struct BithumbMarketRow<'a> {
    #[serde(borrow)]
    market: Cow<'a, str>,
    #[serde(borrow)]
    korean_name: Option<Cow<'a, str>>,
    #[serde(borrow)]
    english_name: Option<Cow<'a, str>>,
    /// `NONE` or `CAUTION` (투자유의).
    #[serde(borrow)]
    market_warning: Option<Cow<'a, str>>,
}

/// One row of `GET /v1/market/virtual_asset_warning` (jabdori/maxt const `MARKET_ALERTS`):
/// `{"market":"KRW-OBSR","warning_type":"DEPOSIT_AMOUNT_SUDDEN_FLUCTUATION","warning_step":"WARNING",
/// "end_date":"2026-07-31 07:04:59"}`. A market may have several rows.
#[derive(Deserialize)]
struct BithumbWarningRow<'a> {
    #[serde(borrow)]
    market: Cow<'a, str>,
    #[serde(borrow)]
    warning_type: Option<Cow<'a, str>>,
}

/// The KRW markets of a market-list body (`KRW-USDT` included), with names and the flag `warning`
/// for `market_warning: CAUTION`. An object body (`{"error":{…}}`, sent with HTTP 200) is `Venue`.
pub fn parse_markets(body: &[u8]) -> Result<Vec<MarketInfo>, ParseError> {
    upbit::reject_object(body)?;
    let rows: Vec<BithumbMarketRow<'_>> = serde_json::from_slice(body)?;
    Ok(rows
        .into_iter()
        .filter_map(|row| {
            let base = upbit::krw_base(&row.market)?.to_owned();
            let flags = if row.market_warning.as_deref() == Some("CAUTION") {
                vec!["warning".to_owned()]
            } else {
                Vec::new()
            };
            Some(MarketInfo {
                venue: Venue::Bithumb,
                base,
                name_ko: row.korean_name.map(Cow::into_owned),
                name_en: row.english_name.map(Cow::into_owned),
                flags,
            })
        })
        .collect())
}

/// The alerts body as base → sorted, deduplicated flags `caution:<warning_type>` (KRW markets
/// only). An object body is `Venue`.
pub fn parse_warnings(body: &[u8]) -> Result<BTreeMap<String, Vec<String>>, ParseError> {
    upbit::reject_object(body)?;
    let rows: Vec<BithumbWarningRow<'_>> = serde_json::from_slice(body)?;
    let mut by_base: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for row in rows {
        let (Some(base), Some(kind)) = (upbit::krw_base(&row.market), row.warning_type) else {
            continue;
        };
        if !kind.is_empty() {
            by_base
                .entry(base.to_owned())
                .or_default()
                .insert(format!("caution:{kind}"));
        }
    }
    Ok(by_base
        .into_iter()
        .map(|(base, flags)| (base, flags.into_iter().collect()))
        .collect())
}

/// Adds each market's alert flags after its own (no duplicates); alerts for unlisted markets are
/// dropped.
pub fn merge_warnings(markets: &mut [MarketInfo], warnings: &BTreeMap<String, Vec<String>>) {
    for market in markets {
        for flag in warnings.get(&market.base).into_iter().flatten() {
            if !market.flags.contains(flag) {
                market.flags.push(flag.clone());
            }
        }
    }
}

/// Polls the list and the alerts at start and every `market_refresh_secs` (sooner retries until
/// the first list arrives, as Upbit's). Sends `Markets` events, publishes the sorted `KRW-…` codes
/// on `codes` when they change, and reports parse errors and status.
pub async fn run_markets(
    cfg: BithumbConfig,
    client: crate::feed::poller::Http,
    tx: mpsc::Sender<FeedMsg>,
    codes: watch::Sender<Vec<String>>,
    cancel: CancellationToken,
) {
    let base = cfg.rest_url.trim_end_matches('/');
    let urls = Urls {
        list: format!("{base}/v1/market/all?isDetails=true"),
        warnings: format!("{base}/v1/market/virtual_asset_warning"),
    };
    let mut reporter = Reporter::new(MARKETS_FEED_ID, tx, cancel.clone());
    let mut schedule = MarketSchedule::new(Duration::from_secs(cfg.market_refresh_secs));
    while schedule.wait(&cancel).await {
        let poll = poll_markets(&client, &urls, &mut reporter, &codes);
        match poller::until_cancelled(&cancel, poll).await {
            Some(Ok(delivered)) => schedule.polled(delivered),
            Some(Err(Closed)) | None => return,
        }
    }
}

struct Urls {
    list: String,
    warnings: String,
}

/// One poll; `Ok(true)` when a list was delivered.
async fn poll_markets(
    client: &crate::feed::poller::Http,
    urls: &Urls,
    reporter: &mut Reporter,
    codes: &watch::Sender<Vec<String>>,
) -> Result<bool, Closed> {
    let listed = match poller::fetch(
        client,
        poller::Tag::sub(MARKETS_FEED_ID, SRC_LIST),
        &urls.list,
        MARKETS_TIMEOUT,
    )
    .await
    {
        Ok(body) => parse_markets(&body).map_err(|e| (e.to_string(), true)),
        Err(error) => Err((error.to_string(), false)),
    };
    let mut markets = match listed {
        Ok(markets) => markets,
        Err((error, parse)) => {
            tracing::warn!(feed = MARKETS_FEED_ID, %error, "market list failed");
            if parse {
                reporter.parse_error(error.clone()).await?;
            }
            reporter.status(FeedState::Down, Some(error)).await?;
            return Ok(false);
        }
    };
    let alerts = match poller::fetch(
        client,
        poller::Tag::sub(MARKETS_FEED_ID, SRC_WARNINGS),
        &urls.warnings,
        MARKETS_TIMEOUT,
    )
    .await
    {
        Ok(body) => parse_warnings(&body).map_err(|e| (e.to_string(), true)),
        Err(error) => Err((error.to_string(), false)),
    };
    let count = upbit::publish_codes(codes, &markets);
    let detail = match alerts {
        Ok(warnings) => {
            merge_warnings(&mut markets, &warnings);
            let alerted = markets.iter().filter(|m| warnings.contains_key(&m.base));
            format!("{count} KRW markets, {} with alerts", alerted.count())
        }
        Err((error, parse)) => {
            tracing::warn!(feed = MARKETS_FEED_ID, %error, "market alerts failed");
            if parse {
                reporter.parse_error(error.clone()).await?;
            }
            format!("{count} KRW markets; alerts unavailable: {error}")
        }
    };
    reporter
        .events(vec![MarketEvent::Markets {
            venue: Venue::Bithumb,
            markets,
        }])
        .await?;
    reporter.status(FeedState::Live, Some(detail)).await?;
    Ok(true)
}
