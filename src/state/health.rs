//! Per-stream health bookkeeping (SPEC §7): state, counters, last message age and outage gaps.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use crate::model::{FeedId, FeedState, Millis};

/// Gaps kept per feed (the oldest are dropped first).
const MAX_GAPS: usize = 32;

/// An outage of a feed: from leaving `live` to being `live` again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Gap {
    #[schema(value_type = i64)]
    pub start_ms: Millis,
    /// `None` while the outage is ongoing.
    #[schema(value_type = Option<i64>)]
    pub end_ms: Option<Millis>,
}

/// Everything known about one stream's health.
#[derive(Debug, Clone, PartialEq)]
pub struct FeedHealth {
    pub feed: FeedId,
    pub state: FeedState,
    /// When the current state began.
    pub since_ms: Millis,
    /// When the feed last became live (start of the current healthy period).
    pub live_since_ms: Option<Millis>,
    pub last_message_ms: Option<Millis>,
    /// Last frame that carried data (not an ack or pong).
    pub last_data_ms: Option<Millis>,
    pub messages: u64,
    pub parse_errors: u64,
    pub reconnects: u64,
    pub gaps: VecDeque<Gap>,
    pub detail: Option<String>,
    pub last_error: Option<String>,
}

impl FeedHealth {
    #[must_use]
    pub fn new(feed: FeedId, state: FeedState, now: Millis) -> Self {
        FeedHealth {
            feed,
            state,
            since_ms: now,
            live_since_ms: None,
            last_message_ms: None,
            last_data_ms: None,
            messages: 0,
            parse_errors: 0,
            reconnects: 0,
            gaps: VecDeque::new(),
            detail: None,
            last_error: None,
        }
    }

    /// Applies a state transition: counts reconnects, opens and closes gaps.
    pub fn transition(&mut self, state: FeedState, at: Millis, detail: Option<String>) {
        let was_usable = self.state.is_usable();
        if state == FeedState::Reconnecting && self.state != FeedState::Reconnecting {
            self.reconnects += 1;
        }
        if was_usable && !state.is_usable() && state != FeedState::Disabled {
            self.open_gap(at);
        }
        if state.is_usable() {
            // Live or quiet (a liquidation stream with heartbeats): the outage is over.
            self.close_gap(at);
        }
        if state == FeedState::Live {
            if self.state != FeedState::Live {
                self.live_since_ms = Some(at);
            }
        } else if !state.is_usable() {
            self.live_since_ms = None;
        }
        if matches!(
            state,
            FeedState::Down | FeedState::Stale | FeedState::Reconnecting
        ) {
            self.last_error.clone_from(&detail);
        }
        if state != self.state {
            self.since_ms = at;
        }
        self.state = state;
        self.detail = detail;
    }

    fn open_gap(&mut self, at: Millis) {
        if self.gaps.back().is_some_and(|g| g.end_ms.is_none()) {
            return;
        }
        if self.gaps.len() == MAX_GAPS {
            self.gaps.pop_front();
        }
        self.gaps.push_back(Gap {
            start_ms: at,
            end_ms: None,
        });
    }

    fn close_gap(&mut self, at: Millis) {
        if let Some(g) = self.gaps.back_mut().filter(|g| g.end_ms.is_none()) {
            g.end_ms = Some(at);
        }
    }

    /// A frame arrived (data or not).
    pub fn message(&mut self, at: Millis, data: bool) {
        self.messages += 1;
        self.last_message_ms = Some(at);
        if data {
            self.last_data_ms = Some(at);
        }
    }

    pub fn parse_error(&mut self, at: Millis, error: String) {
        self.messages += 1;
        self.parse_errors += 1;
        self.last_message_ms = Some(at);
        self.last_error = Some(error);
    }

    /// Total outage time in ms up to `now` (open gaps count until now).
    #[must_use]
    pub fn gap_ms(&self, now: Millis) -> Millis {
        self.gaps
            .iter()
            .map(|g| g.end_ms.unwrap_or(now) - g.start_ms)
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gaps_open_on_loss_and_close_on_live() {
        let mut h = FeedHealth::new("upbit.ticker", FeedState::Connecting, 0);
        h.transition(FeedState::Live, 10, None);
        h.transition(FeedState::Stale, 100, Some("no data".into()));
        h.transition(FeedState::Reconnecting, 101, Some("no data".into()));
        h.transition(FeedState::Connecting, 600, None);
        assert_eq!(
            h.gaps.back(),
            Some(&Gap {
                start_ms: 100,
                end_ms: None
            })
        );
        assert_eq!(h.gap_ms(700), 600);
        h.transition(FeedState::Live, 900, None);
        assert_eq!(
            h.gaps.back(),
            Some(&Gap {
                start_ms: 100,
                end_ms: Some(900)
            })
        );
        assert_eq!(h.reconnects, 1);
        assert_eq!(h.live_since_ms, Some(900));
        assert_eq!(h.last_error.as_deref(), Some("no data"));
    }
}
