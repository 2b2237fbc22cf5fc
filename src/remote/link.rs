//! Health of the two links to the server, reported as the synthetic [`super::LINK_FEED`] row.

use crate::model::{FeedState, Millis};
use crate::state::health::Gap;
use crate::state::snapshot::FeedRow;

use super::stream::Kind;

/// Failed connection attempts in a row after which a link is reported `down`, not
/// `reconnecting`.
pub const DOWN_AFTER: u32 = 3;
/// Outages kept in the row's `gaps`.
const MAX_GAPS: usize = 16;

/// One link's state.
#[derive(Debug, Clone)]
struct Link {
    state: FeedState,
    /// Failed attempts since it was last live.
    failures: u32,
}

/// Both links' health and the row's counters.
#[derive(Debug, Clone)]
pub struct LinkHealth {
    /// The row's feed id: [`super::LINK_FEED`], or [`super::UPSTREAM_FEED`] in a gateway.
    feed: crate::model::FeedId,
    url: String,
    links: [Link; 2],
    messages: u64,
    reconnects: u64,
    last_message_ms: Option<Millis>,
    last_error: Option<String>,
    /// Start of the current outage (from leaving `live`), if any.
    outage_since: Option<Millis>,
    gaps: Vec<Gap>,
    gap_ms: Millis,
}

impl LinkHealth {
    /// Both links connecting to `url`, reported as the row `feed`.
    #[must_use]
    pub fn new(feed: crate::model::FeedId, url: &str, now: Millis) -> Self {
        let link = Link {
            state: FeedState::Connecting,
            failures: 0,
        };
        LinkHealth {
            feed,
            url: url.to_string(),
            links: [link.clone(), link],
            messages: 0,
            reconnects: 0,
            last_message_ms: None,
            last_error: None,
            outage_since: Some(now),
            gaps: Vec::new(),
            gap_ms: 0,
        }
    }

    /// The combined state: `live` only when both links are.
    #[must_use]
    pub fn state(&self) -> FeedState {
        let states = self.links.iter().map(|l| l.state);
        if states.clone().all(|s| s == FeedState::Live) {
            FeedState::Live
        } else if states.clone().any(|s| s == FeedState::Down) {
            FeedState::Down
        } else if states.clone().any(|s| s == FeedState::Reconnecting) {
            FeedState::Reconnecting
        } else {
            FeedState::Connecting
        }
    }

    /// A message arrived on either link.
    pub fn message(&mut self, now: Millis) {
        self.messages += 1;
        self.last_message_ms = Some(now);
    }

    /// `kind` received its snapshot: it is live.
    pub fn live(&mut self, kind: Kind, now: Millis) {
        let link = &mut self.links[kind.index()];
        link.state = FeedState::Live;
        link.failures = 0;
        self.track(now);
    }

    /// `kind` lost its connection (or could not connect) because of `error`.
    pub fn failed(&mut self, kind: Kind, error: &str, now: Millis) {
        let link = &mut self.links[kind.index()];
        if link.state == FeedState::Live {
            self.reconnects += 1;
        }
        link.failures = link.failures.saturating_add(1);
        link.state = if link.failures > DOWN_AFTER {
            FeedState::Down
        } else {
            FeedState::Reconnecting
        };
        self.last_error = Some(format!("{}: {error}", kind.name()));
        self.track(now);
    }

    /// Opens or closes the outage record when the combined state enters or leaves `live`.
    fn track(&mut self, now: Millis) {
        let live = self.state() == FeedState::Live;
        match (live, self.outage_since) {
            (true, Some(start)) => {
                self.outage_since = None;
                // The start-up wait is not an outage.
                if self.messages > 0 && self.reconnects > 0 {
                    self.gap_ms += now - start;
                    self.gaps.push(Gap {
                        start_ms: start,
                        end_ms: Some(now),
                    });
                }
            }
            (false, None) => self.outage_since = Some(now),
            _ => {}
        }
        if self.gaps.len() > MAX_GAPS {
            self.gaps.remove(0);
        }
    }

    /// The `remote.link` row.
    #[must_use]
    pub fn row(&self, now: Millis) -> FeedRow {
        let detail = format!(
            "{} · {} {} · {} {}",
            self.url,
            Kind::Prices.name(),
            self.links[0].state.as_str(),
            Kind::Liquidations.name(),
            self.links[1].state.as_str()
        );
        let mut gaps = self.gaps.clone();
        let mut gap_ms = self.gap_ms;
        if let Some(start) = self.outage_since.filter(|_| self.reconnects > 0) {
            gaps.push(Gap {
                start_ms: start,
                end_ms: None,
            });
            gap_ms += now - start;
        }
        FeedRow {
            feed: self.feed,
            state: self.state(),
            age_ms: self.last_message_ms.map(|t| (now - t).max(0)),
            messages: self.messages,
            parse_errors: 0,
            reconnects: self.reconnects,
            gap_ms,
            gaps,
            detail: Some(detail),
            last_error: self.last_error.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn live_reconnecting_down_live() {
        let mut h = LinkHealth::new(super::super::LINK_FEED, "http://x", 0);
        assert_eq!(h.state(), FeedState::Connecting);
        h.message(1);
        h.live(Kind::Prices, 1);
        assert_eq!(h.state(), FeedState::Connecting);
        h.live(Kind::Liquidations, 2);
        assert_eq!(h.state(), FeedState::Live);
        h.failed(Kind::Prices, "closed", 10);
        assert_eq!(h.state(), FeedState::Reconnecting);
        assert_eq!(h.row(20).gaps.len(), 1);
        for t in 0..DOWN_AFTER {
            h.failed(Kind::Prices, "refused", 20 + Millis::from(t));
        }
        assert_eq!(h.state(), FeedState::Down);
        h.live(Kind::Prices, 100);
        let row = h.row(100);
        assert_eq!(row.state, FeedState::Live);
        assert_eq!((row.reconnects, row.gap_ms), (1, 90));
        assert_eq!(row.last_error.as_deref(), Some("prices: refused"));
    }
}
