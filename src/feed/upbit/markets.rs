//! Upbit's market list (exchanges.md §1, §10): names, Upbit's own warning flags (`market_event`) and
//! the `KRW-…` codes the ticker socket subscribes to; plus the poll schedule and code publishing
//! that Bithumb's market list (Upbit-compatible) shares.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

use super::{MARKETS_FEED_ID, MARKETS_RETRY_MAX, MARKETS_RETRY_MIN, krw_base, reject_object};
use crate::config::UpbitConfig;
use crate::feed::num::Num;
use crate::feed::poller::{self, Reporter, Schedule};
use crate::feed::{FeedMsg, ParseError};
use crate::model::{FeedState, MarketEvent, MarketInfo, Venue};

/// Budget of one market-list request.
pub(crate) const MARKETS_TIMEOUT: Duration = Duration::from_secs(10);

/// One row of `GET /v1/market/all?is_details=true` (rest-market-all-details-recorded.json, docs.upbit.com
/// `reference/list-trading-pairs`):
/// `{"market":"KRW-ZIL","korean_name":"질리카","english_name":"Zilliqa","market_event":{"warning":true,
/// "caution":{"PRICE_FLUCTUATIONS":false,…,"GLOBAL_PRICE_DIFFERENCES":true,…}}}`.
/// `market_event` is absent without `is_details`; Upbit Indonesia rows lack `korean_name` and still
/// carry the removed `market_warning` (`"CAUTION"`/`"NONE"`).
#[derive(Deserialize)]
struct UpbitMarketRow<'a> {
    #[serde(borrow)]
    market: Cow<'a, str>,
    #[serde(borrow)]
    korean_name: Option<Cow<'a, str>>,
    #[serde(borrow)]
    english_name: Option<Cow<'a, str>>,
    #[serde(borrow)]
    market_event: Option<UpbitMarketEvent<'a>>,
    #[serde(borrow)]
    market_warning: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct UpbitMarketEvent<'a> {
    #[serde(default)]
    warning: bool,
    /// Alert type → active; only `true` counts (a future alert-level value would not).
    #[serde(default, borrow)]
    caution: BTreeMap<Cow<'a, str>, Num<'a>>,
}

/// The KRW markets of a market-list body (USDT included), with names and flags (`warning`,
/// `caution:<KEY>`). A body holding `{"error":…}` is `Venue`.
pub fn parse_markets(body: &[u8]) -> Result<Vec<MarketInfo>, ParseError> {
    reject_object(body)?;
    let rows: Vec<UpbitMarketRow<'_>> = serde_json::from_slice(body)?;
    Ok(rows.into_iter().filter_map(market_info).collect())
}

fn market_info(row: UpbitMarketRow<'_>) -> Option<MarketInfo> {
    let base = krw_base(&row.market)?.to_owned();
    let mut flags = Vec::new();
    match row.market_event {
        Some(event) => {
            if event.warning {
                flags.push("warning".to_owned());
            }
            let active = event
                .caution
                .into_iter()
                .filter(|(_, on)| *on == Num::Bool(true));
            flags.extend(active.map(|(key, _)| format!("caution:{key}")));
        }
        None if row.market_warning.as_deref() == Some("CAUTION") => {
            flags.push("warning".to_owned());
        }
        None => {}
    }
    Some(MarketInfo {
        venue: Venue::Upbit,
        base,
        name_ko: row.korean_name.map(Cow::into_owned),
        name_en: row.english_name.map(Cow::into_owned),
        flags,
    })
}

/// Polls the market list at start and every `market_refresh_secs`; retries sooner (5 s doubling to
/// 60 s, never later than the refresh) until the first success. Sends `Markets` events, publishes
/// the sorted `KRW-…` codes on `codes` when they change, and reports parse errors and status.
pub async fn run_markets(
    cfg: UpbitConfig,
    client: crate::feed::poller::Http,
    tx: mpsc::Sender<FeedMsg>,
    codes: watch::Sender<Vec<String>>,
    cancel: CancellationToken,
) {
    let url = format!(
        "{}/v1/market/all?is_details=true",
        cfg.rest_url.trim_end_matches('/')
    );
    let refresh = Duration::from_secs(cfg.market_refresh_secs);
    let mut reporter = Reporter::new(MARKETS_FEED_ID, tx, cancel.clone());
    let mut schedule = MarketSchedule::new(refresh);
    while schedule.wait(&cancel).await {
        let poll = poll_markets(&client, &url, &mut reporter, &codes);
        match poller::until_cancelled(&cancel, poll).await {
            Some(Ok(delivered)) => schedule.polled(delivered),
            Some(Err(poller::Closed)) | None => return,
        }
    }
}

/// The schedule of a market-list poller (Upbit's, Bithumb's): at once and every `refresh`; until
/// the first success a failure is retried sooner, 5 s doubling to 60 s and never later than
/// `refresh`.
#[derive(Debug)]
pub(crate) struct MarketSchedule {
    schedule: Schedule,
    refresh: Duration,
    /// The next sooner retry; `None` once a list was delivered.
    retry: Option<Duration>,
}

impl MarketSchedule {
    pub(crate) fn new(refresh: Duration) -> Self {
        MarketSchedule {
            schedule: Schedule::new(refresh),
            refresh,
            retry: Some(MARKETS_RETRY_MIN),
        }
    }

    /// Waits until the next poll is due; `false` once `cancel` fires.
    pub(crate) async fn wait(&mut self, cancel: &CancellationToken) -> bool {
        self.schedule.wait(cancel).await
    }

    /// Records the outcome of a poll: `delivered` when a list went out.
    pub(crate) fn polled(&mut self, delivered: bool) {
        if delivered {
            self.retry = None;
        } else if let Some(delay) = self.retry {
            self.schedule.retry_after(delay.min(self.refresh));
            self.retry = Some((delay * 2).min(MARKETS_RETRY_MAX));
        }
    }
}

/// Publishes the sorted `KRW-…` codes of `markets` on `codes` (only when they changed: a
/// subscription change makes the session resubscribe); returns how many there are.
pub(crate) fn publish_codes(codes: &watch::Sender<Vec<String>>, markets: &[MarketInfo]) -> usize {
    let mut list: Vec<String> = markets.iter().map(|m| format!("KRW-{}", m.base)).collect();
    list.sort_unstable();
    list.dedup();
    let count = list.len();
    codes.send_if_modified(|current| {
        let changed = *current != list;
        if changed {
            *current = list;
        }
        changed
    });
    count
}

/// One poll; `Ok(true)` when a list was delivered.
async fn poll_markets(
    client: &crate::feed::poller::Http,
    url: &str,
    reporter: &mut Reporter,
    codes: &watch::Sender<Vec<String>>,
) -> Result<bool, poller::Closed> {
    let body = match poller::fetch(
        client,
        poller::Tag::feed(MARKETS_FEED_ID),
        url,
        MARKETS_TIMEOUT,
    )
    .await
    {
        Ok(body) => body,
        Err(error) => {
            tracing::warn!(feed = MARKETS_FEED_ID, %error, "market list fetch failed");
            reporter
                .status(FeedState::Down, Some(error.to_string()))
                .await?;
            return Ok(false);
        }
    };
    let markets = match parse_markets(&body) {
        Ok(markets) => markets,
        Err(error) => {
            reporter.parse_error(error.to_string()).await?;
            reporter
                .status(FeedState::Down, Some(error.to_string()))
                .await?;
            return Ok(false);
        }
    };
    let count = publish_codes(codes, &markets);
    reporter
        .events(vec![MarketEvent::Markets {
            venue: Venue::Upbit,
            markets,
        }])
        .await?;
    reporter
        .status(FeedState::Live, Some(format!("{count} KRW markets")))
        .await?;
    Ok(true)
}
