//! What a gateway-only process (`--role gateway`, SPEC §6.2) collects itself besides the two
//! upstream streams: coin names (a domestic venue's market list) and the fear & greed index.
//!
//! The pollers are the ones local collectors use; their [`FeedMsg`]s arrive here instead of at a
//! state task. [`Local::overlay`] puts the results on the merged upstream document: the index,
//! names for coins the upstream row leaves unnamed, and the pollers' own feed rows (replacing an
//! upstream row of the same feed, since this process is the one running it).

use std::collections::HashMap;

use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::feed::{FeedMsg, bithumb, fear_greed, poller, upbit};
use crate::model::{FearGreed, FeedState, MarketEvent, Millis};
use crate::state::health::FeedHealth;
use crate::state::snapshot::Snapshot;

/// Names and fear & greed as polled by this process.
#[derive(Debug, Default)]
pub struct Local {
    fear_greed: Option<FearGreed>,
    /// Symbol → (Korean, English).
    names: HashMap<String, (Option<String>, Option<String>)>,
    feeds: Vec<FeedHealth>,
}

impl Local {
    /// Applies one message of a local poller; returns whether the document changes.
    pub fn apply(&mut self, msg: FeedMsg, now: Millis) -> bool {
        match msg {
            FeedMsg::Events { feed, events } => {
                self.health(feed, now).message(now, !events.is_empty());
                for event in events {
                    match event {
                        MarketEvent::FearGreed(index) => self.fear_greed = Some(index),
                        MarketEvent::Markets { markets, .. } => {
                            self.names = markets
                                .into_iter()
                                .map(|m| (m.base, (m.name_ko, m.name_en)))
                                .collect();
                        }
                        _ => {}
                    }
                }
            }
            FeedMsg::ParseError { feed, error } => self.health(feed, now).parse_error(now, error),
            FeedMsg::Status {
                feed,
                state,
                at_ms,
                detail,
            } => self.health(feed, now).transition(state, at_ms, detail),
            FeedMsg::Tick { .. } => return false,
        }
        true
    }

    fn health(&mut self, feed: crate::model::FeedId, now: Millis) -> &mut FeedHealth {
        let i = if let Some(i) = self.feeds.iter().position(|h| h.feed == feed) {
            i
        } else {
            self.feeds
                .push(FeedHealth::new(feed, FeedState::Connecting, now));
            self.feeds.len() - 1
        };
        &mut self.feeds[i]
    }

    /// Puts the local results on `snap`.
    pub fn overlay(&self, snap: &mut Snapshot, now: Millis) {
        if self.fear_greed.is_some() {
            snap.fear_greed.clone_from(&self.fear_greed);
        }
        for coin in &mut snap.coins {
            let Some((ko, en)) = self.names.get(&coin.symbol) else {
                continue;
            };
            if coin.name_ko.is_none() {
                coin.name_ko.clone_from(ko);
            }
            if coin.name_en.is_none() {
                coin.name_en.clone_from(en);
            }
        }
        for health in &self.feeds {
            let row = crate::state::feed_row(health, now);
            match snap.feeds.iter_mut().find(|f| f.feed == row.feed) {
                Some(existing) => *existing = row,
                None => snap.feeds.push(row),
            }
        }
    }
}

/// Starts the names poller (Upbit's market list, or Bithumb's when Upbit is disabled) and the
/// fear & greed poller, as configured; returns the feeds started.
pub fn spawn(
    cfg: &Config,
    tx: &mpsc::Sender<FeedMsg>,
    cancel: &CancellationToken,
    tasks: &mut JoinSet<()>,
) -> Vec<crate::model::FeedId> {
    let client = poller::http_client();
    let mut feeds = Vec::new();
    // The codes are not needed here (nothing subscribes); the sender just has to exist.
    let (codes, _) = watch::channel(Vec::new());
    if cfg.upbit.enabled {
        tasks.spawn(upbit::run_markets(
            cfg.upbit.clone(),
            client.clone(),
            tx.clone(),
            codes,
            cancel.clone(),
        ));
        feeds.push(upbit::MARKETS_FEED_ID);
    } else if cfg.bithumb.enabled {
        tasks.spawn(bithumb::run_markets(
            cfg.bithumb.clone(),
            client.clone(),
            tx.clone(),
            codes,
            cancel.clone(),
        ));
        feeds.push(bithumb::MARKETS_FEED_ID);
    }
    if cfg.fear_greed.enabled {
        tasks.spawn(fear_greed::run(
            cfg.fear_greed.clone(),
            client,
            tx.clone(),
            cancel.clone(),
        ));
        feeds.push(fear_greed::FEED_ID);
    }
    feeds
}
