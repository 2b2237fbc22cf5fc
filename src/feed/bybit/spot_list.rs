//! The spot-symbol list a global ticker socket subscribes to (Bybit's and OKX's): fetch the venue's
//! USDT spot pairs at start and every `refresh`, intersect them with the coins the Korean venues
//! list, and publish the subscription items (`tickers.BTCUSDT`, `BTC-USDT`) of the intersection.
//!
//! Intersecting first matters because one bad argument spoils a whole request: Bybit rejects the
//! entire subscribe request (`success:false`), so one coin Bybit does not list would silence up to
//! nine that it does. A coin change is applied at once from the last list; a failed refresh keeps
//! the last list (the feed reports `down`, the socket keeps its subscription). Which coin a base
//! asset *is* (aliases, clashes) is decided later by `symbols`, never here.

use std::collections::BTreeSet;
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

use crate::feed::poller::{self, Closed, Reporter};
use crate::feed::upbit::MarketSchedule;
use crate::feed::{FeedMsg, ParseError};
use crate::model::{FeedId, FeedState};

/// A list body's USDT spot base assets (`BTC`, `1000SATS`).
pub(crate) type ParseList = fn(&[u8]) -> Result<Vec<String>, ParseError>;

/// One venue's list poller.
#[derive(Debug, Clone)]
pub(crate) struct ListSpec {
    pub feed: FeedId,
    pub url: String,
    pub refresh: Duration,
    pub timeout: Duration,
    pub parse: ParseList,
    /// Base asset → the socket's subscription item.
    pub item: fn(&str) -> String,
}

/// The coins both sides list, sorted, each once. `coins` are the Korean venues' base assets,
/// `listed` the venue's.
#[must_use]
pub fn intersect(coins: &[String], listed: &[String]) -> Vec<String> {
    let listed: BTreeSet<&str> = listed.iter().map(String::as_str).collect();
    let both: BTreeSet<&str> = coins
        .iter()
        .map(String::as_str)
        .filter(|c| listed.contains(c))
        .collect();
    both.into_iter().map(str::to_owned).collect()
}

/// Polls until `cancel`: publishes the items on `items` whenever the intersection changes (coins
/// or listing), reports `live` with the counts, `down` while a refresh fails.
pub(crate) async fn run(
    spec: ListSpec,
    client: crate::feed::poller::Http,
    mut coins: watch::Receiver<Vec<String>>,
    items: watch::Sender<Vec<String>>,
    tx: mpsc::Sender<FeedMsg>,
    cancel: CancellationToken,
) {
    let mut reporter = Reporter::new(spec.feed, tx, cancel.clone());
    let mut schedule = MarketSchedule::new(spec.refresh);
    let mut listed: Option<Vec<String>> = None;
    // Whether the last refresh worked: a coin change must not report `live` over a failed one.
    let mut healthy = false;
    let mut coins_open = true;
    loop {
        tokio::select! {
            due = schedule.wait(&cancel) => {
                if !due {
                    return;
                }
                match poller::until_cancelled(&cancel, poll(&spec, &client, &mut reporter)).await {
                    None | Some(Err(Closed)) => return,
                    Some(Ok(Some(bases))) => {
                        listed = Some(bases);
                        healthy = true;
                        schedule.polled(true);
                    }
                    Some(Ok(None)) => {
                        healthy = false;
                        schedule.polled(false);
                    }
                }
            }
            changed = coins.changed(), if coins_open => {
                // The app dropped its sender: the coin list is final.
                coins_open = changed.is_ok();
            }
        }
        let Some(listed) = &listed else { continue };
        let detail = publish(&spec, &coins.borrow_and_update(), listed, &items);
        if healthy
            && reporter
                .status(FeedState::Live, Some(detail))
                .await
                .is_err()
        {
            return;
        }
    }
}

/// Publishes the items for `coins` ∩ `listed` on `items` (only when they changed); returns the
/// status detail with the counts.
fn publish(
    spec: &ListSpec,
    coins: &[String],
    listed: &[String],
    items: &watch::Sender<Vec<String>>,
) -> String {
    let both = intersect(coins, listed);
    let list: Vec<String> = both.iter().map(|b| (spec.item)(b)).collect();
    items.send_if_modified(|current| {
        let changed = *current != list;
        if changed {
            tracing::info!(
                feed = spec.feed,
                items = list.len(),
                "subscription list changed"
            );
            *current = list;
        }
        changed
    });
    format!(
        "{} USDT spot pairs; {} of {} coins subscribed",
        listed.len(),
        both.len(),
        coins.len()
    )
}

/// One fetch; `Ok(Some(bases))` on success, `Ok(None)` after a reported failure.
async fn poll(
    spec: &ListSpec,
    client: &crate::feed::poller::Http,
    reporter: &mut Reporter,
) -> Result<Option<Vec<String>>, Closed> {
    let failure = match poller::fetch(
        client,
        poller::Tag::feed(spec.feed),
        &spec.url,
        spec.timeout,
    )
    .await
    {
        Ok(body) => match (spec.parse)(&body) {
            Ok(mut bases) => {
                bases.sort_unstable();
                bases.dedup();
                reporter.events(Vec::new()).await?;
                return Ok(Some(bases));
            }
            Err(error) => {
                reporter.parse_error(error.to_string()).await?;
                error.to_string()
            }
        },
        Err(error) => error.to_string(),
    };
    tracing::warn!(feed = spec.feed, error = %failure, "symbol list refresh failed");
    reporter.status(FeedState::Down, Some(failure)).await?;
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn intersection_is_sorted_and_unique() {
        let coins = strings(&["XRP", "BTC", "TON", "BTC", "ZZZ"]);
        let listed = strings(&["BTC", "ETH", "XRP", "TON"]);
        assert_eq!(intersect(&coins, &listed), strings(&["BTC", "TON", "XRP"]));
        assert!(intersect(&[], &listed).is_empty());
    }
}
