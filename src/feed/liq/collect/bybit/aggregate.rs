//! One status for the several connections behind `bybit.liquidations` (see the parent module).

use crate::feed::FeedMsg;
use crate::model::FeedState;

/// The last status of each connection and the combined status last sent.
#[derive(Debug)]
pub(super) struct Aggregate {
    connections: Vec<(FeedState, Option<String>)>,
    symbols: usize,
    sent: Option<(FeedState, Option<String>)>,
}

impl Aggregate {
    pub(super) fn new(connections: usize, symbols: usize) -> Self {
        Aggregate {
            connections: vec![(FeedState::Connecting, None); connections.max(1)],
            symbols,
            sent: None,
        }
    }

    /// A session's message → what to send on: events and errors unchanged, a status folded into
    /// the combined one (`None` when that did not change).
    pub(super) fn message(&mut self, index: usize, msg: FeedMsg) -> Option<FeedMsg> {
        let FeedMsg::Status {
            feed,
            state,
            at_ms,
            detail,
        } = msg
        else {
            return Some(msg);
        };
        if let Some(slot) = self.connections.get_mut(index) {
            *slot = (state, detail);
        }
        let combined = self.combined();
        if self.sent.as_ref() == Some(&combined) {
            return None;
        }
        self.sent = Some(combined.clone());
        let (state, detail) = combined;
        Some(FeedMsg::Status {
            feed,
            state,
            at_ms,
            detail,
        })
    }

    /// The worst unusable connection decides; else `live` if any is live, else `quiet`. A single
    /// connection reports as it is.
    fn combined(&self) -> (FeedState, Option<String>) {
        let n = self.connections.len();
        if let [only] = self.connections.as_slice() {
            return only.clone();
        }
        let worst = self
            .connections
            .iter()
            .enumerate()
            .filter(|(_, (state, _))| !state.is_usable())
            .max_by_key(|(i, (state, _))| (severity(*state), std::cmp::Reverse(*i)));
        if let Some((i, (state, detail))) = worst {
            let why = detail.as_deref().unwrap_or(state.as_str());
            return (*state, Some(format!("connection {}/{n}: {why}", i + 1)));
        }
        let summary = format!("{n} connections, {} symbols", self.symbols);
        if self.connections.iter().any(|(s, _)| *s == FeedState::Live) {
            return (FeedState::Live, Some(summary));
        }
        let quiet = self.connections.iter().find_map(|(_, d)| d.as_deref());
        let detail = match quiet {
            Some(d) => format!("{summary}; {d}"),
            None => summary,
        };
        (FeedState::Quiet, Some(detail))
    }
}

/// How much an unusable state hides: the worst one is shown.
fn severity(state: FeedState) -> u8 {
    match state {
        FeedState::Down => 5,
        FeedState::Stale => 4,
        FeedState::Reconnecting => 3,
        FeedState::Disabled => 2,
        FeedState::Connecting => 1,
        FeedState::Live | FeedState::Quiet => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(state: FeedState, detail: Option<&str>) -> FeedMsg {
        FeedMsg::Status {
            feed: "bybit.liquidations",
            state,
            at_ms: 1,
            detail: detail.map(str::to_owned),
        }
    }

    fn state_of(msg: Option<FeedMsg>) -> Option<(FeedState, Option<String>)> {
        match msg {
            Some(FeedMsg::Status { state, detail, .. }) => Some((state, detail)),
            _ => None,
        }
    }

    #[test]
    fn worst_connection_decides_then_live_over_quiet() {
        let mut a = Aggregate::new(2, 1200);
        let first = state_of(a.message(0, status(FeedState::Live, None)));
        assert_eq!(
            first,
            Some((
                FeedState::Connecting,
                Some("connection 2/2: connecting".into())
            ))
        );
        let both = state_of(a.message(1, status(FeedState::Quiet, Some("no liquidation for 2 s"))));
        assert_eq!(
            both,
            Some((FeedState::Live, Some("2 connections, 1200 symbols".into())))
        );
        let quiet = state_of(a.message(0, status(FeedState::Quiet, Some("q"))));
        assert_eq!(
            quiet,
            Some((
                FeedState::Quiet,
                Some("2 connections, 1200 symbols; q".into())
            ))
        );
        // The same combined state is not repeated.
        assert!(a.message(0, status(FeedState::Quiet, Some("q"))).is_none());
        let stale = state_of(a.message(1, status(FeedState::Stale, Some("silent"))));
        assert_eq!(
            stale,
            Some((FeedState::Stale, Some("connection 2/2: silent".into())))
        );
        let events = FeedMsg::Events {
            feed: "bybit.liquidations",
            events: Vec::new(),
        };
        assert_eq!(a.message(0, events.clone()), Some(events));
    }

    #[test]
    fn one_connection_reports_as_it_is() {
        let mut a = Aggregate::new(1, 3);
        let live = state_of(a.message(0, status(FeedState::Live, None)));
        assert_eq!(live, Some((FeedState::Live, None)));
    }
}
