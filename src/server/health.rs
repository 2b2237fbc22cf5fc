//! `GET /health` of each service: 200 when its feeds are usable (`ok`, or `degraded` with the
//! reasons when a non-essential feed is not), 503 `unavailable` with the reasons otherwise.
//!
//! | service | unavailable when | degraded when |
//! |---|---|---|
//! | market | the pair's domestic or global tickers, or USD/KRW, are not usable | any other market feed is not |
//! | liquidation | no liquidation stream is usable | some enabled one is not |
//! | gateway | as market, or its links to the upstream services (`gateway.upstreams`) are down | as market, or any liquidation feed is not |

use serde::Serialize;

use super::Service;
use crate::model::{FeedState, Venue};
use crate::state::snapshot::{FeedRow, Snapshot};

/// `ok`, `degraded` or `unavailable`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    Degraded,
    Unavailable,
}

/// The `/health` document.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Health {
    pub service: &'static str,
    pub status: Status,
    /// Why the status is not `ok`, one sentence per problem.
    pub reasons: Vec<String>,
    /// The state of every feed the service depends on.
    pub feeds: Vec<FeedBrief>,
}

/// One feed in `/health`.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct FeedBrief {
    pub feed: &'static str,
    pub state: FeedState,
    #[schema(value_type = Option<i64>)]
    pub age_ms: Option<i64>,
}

/// Whether a feed id belongs to the liquidation collectors.
#[must_use]
pub fn is_liquidation_feed(feed: &str) -> bool {
    feed.ends_with(".liquidations") || crate::feed::liq::collect::FEEDS.contains(&feed)
}

/// Whether `service` depends on `feed` (and so lists it in `/health` and `/metrics`).
#[must_use]
pub fn serves(service: Service, feed: &str) -> bool {
    match service {
        Service::Gateway => true,
        Service::Market => !is_liquidation_feed(feed),
        Service::Liquidation => is_liquidation_feed(feed),
    }
}

/// The health of `service` as of `snap`.
#[must_use]
pub fn check(service: Service, snap: &Snapshot) -> Health {
    let mut essential = Vec::new();
    let mut other = Vec::new();
    if matches!(service, Service::Market | Service::Gateway) {
        market(snap, &mut essential, &mut other);
    }
    match service {
        Service::Liquidation => liquidation(snap, &mut essential, &mut other),
        Service::Gateway => {
            let mut liq = Vec::new();
            liquidation(snap, &mut liq, &mut other);
            other.append(&mut liq);
        }
        Service::Market => {}
    }
    // A gateway fed by other services (`--role gateway`) is only as good as its links to them.
    for link in snap
        .feeds
        .iter()
        .filter(|f| crate::remote::is_link_feed(f.feed) && !f.state.is_usable())
    {
        essential.insert(0, describe(link));
    }
    let status = if !essential.is_empty() {
        Status::Unavailable
    } else if other.is_empty() {
        Status::Ok
    } else {
        Status::Degraded
    };
    essential.append(&mut other);
    Health {
        service: service.as_str(),
        status,
        reasons: essential,
        feeds: snap
            .feeds
            .iter()
            .filter(|f| serves(service, f.feed))
            .map(|f| FeedBrief {
                feed: f.feed,
                state: f.state,
                age_ms: f.age_ms,
            })
            .collect(),
    }
}

fn describe(f: &FeedRow) -> String {
    match &f.detail {
        Some(detail) => format!("{} is {}: {detail}", f.feed, f.state.as_str()),
        None => format!("{} is {}", f.feed, f.state.as_str()),
    }
}

/// A venue's tickers are usable when its socket is, or its REST fallback stands in.
fn venue_usable(snap: &Snapshot, venue: Venue) -> Result<(), String> {
    let socket = format!("{venue}.ticker");
    let fallback = format!("{venue}.rest");
    let usable = |id: &str| snap.feed(id).is_some_and(|f| f.state.is_usable());
    if usable(&socket) || usable(&fallback) {
        return Ok(());
    }
    Err(match snap.feed(&socket) {
        Some(f) => describe(f),
        None => format!("{socket} is not running"),
    })
}

fn market(snap: &Snapshot, essential: &mut Vec<String>, other: &mut Vec<String>) {
    for venue in [snap.pair.domestic, snap.pair.global] {
        if let Err(reason) = venue_usable(snap, venue) {
            essential.push(reason);
        }
    }
    if snap.exchange_rate.is_none() {
        essential.push("no fresh USD/KRW rate".into());
    }
    let pair_feeds = [snap.pair.domestic, snap.pair.global].map(|v| format!("{v}.ticker"));
    for f in &snap.feeds {
        let skip = is_liquidation_feed(f.feed)
            || crate::remote::is_link_feed(f.feed)
            || pair_feeds.iter().any(|p| p == f.feed)
            || f.state.is_usable()
            || f.state == FeedState::Disabled;
        if !skip {
            other.push(describe(f));
        }
    }
}

fn liquidation(snap: &Snapshot, essential: &mut Vec<String>, other: &mut Vec<String>) {
    let streams: Vec<&FeedRow> = snap
        .feeds
        .iter()
        .filter(|f| f.feed.ends_with(".liquidations") && f.state != FeedState::Disabled)
        .collect();
    if streams.is_empty() {
        essential.push("no liquidation stream is running".into());
    } else if !streams.iter().any(|f| f.state.is_usable()) {
        essential.push("no liquidation stream is usable".into());
    }
    for f in &snap.feeds {
        if is_liquidation_feed(f.feed) && !f.state.is_usable() && f.state != FeedState::Disabled {
            other.push(describe(f));
        }
    }
}
