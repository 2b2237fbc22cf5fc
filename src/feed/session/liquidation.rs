//! The liquidation stream class of the session (SPEC §7, STYLE §4): a stateful [`LiqParser`] per
//! session and liveness judged by *alive* frames rather than by events.
//!
//! A liquidation stream may legitimately carry no liquidation for minutes, so:
//!
//! - **alive** frames — liquidations, canary data on the same socket (Binance mark price, BitMEX
//!   instrument rows, another topic), pongs — reset the idle watchdog ([`LiqParsed::is_alive`]);
//! - the first alive frame of a connection reports `live`; after `quiet_after` without a
//!   liquidation (while alive frames keep coming) the stream is reported `quiet` — usable, not
//!   broken — and the next liquidation makes it `live` again. The quiet clock runs across
//!   reconnects of one session, so a reconnect does not flip a quiet stream back to `live`;
//! - a connection that delivers **nothing alive at all** within the idle timeout of connecting is
//!   *suspect-silent* (the 2026 Binance failure mode: the socket accepts and sends nothing): the
//!   session reports `stale` naming the URL's config key, and reconnects.
//!
//! Heartbeats are not forwarded one by one (Binance's canary comes every second): at most one empty
//! [`FeedMsg::Events`] per [`HEARTBEAT_REPORT`] keeps the feed's "last message" age meaningful
//! without flooding the state task. Acks and welcomes (rare) are forwarded as empty events, like the
//! ticker class does.

#![allow(
    clippy::doc_markdown,
    reason = "BitMEX is a venue name, not code (as in `feed::liq`)"
)]

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;
use tracing::debug;

use super::truncate;
use crate::feed::liq::{LiqParsed, LiqParser};
use crate::feed::{Control, FeedMsg};
use crate::model::{FeedId, FeedState, MarketEvent, Millis};

/// At most one heartbeat is reported to the state task per this period.
pub const HEARTBEAT_REPORT: Duration = Duration::from_secs(10);

/// Builds a liquidation session's parser. Called once per [`run`](super::run): the parser's memory
/// (de-duplication, held events) survives reconnects; `reset_connection` runs on each new
/// connection.
pub type ParserFactory = Arc<dyn Fn() -> Box<dyn LiqParser> + Send + Sync>;

/// What makes a session a liquidation stream (see the module docs).
#[derive(Clone)]
pub struct LiqStream {
    pub parser: ParserFactory,
    /// `live` → `quiet` after this long without a liquidation while the connection stays alive.
    pub quiet_after: Duration,
    /// The config key of the stream's URL, named when a connection stays silent.
    pub url_key: &'static str,
}

impl fmt::Debug for LiqStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LiqStream")
            .field("quiet_after", &self.quiet_after)
            .field("url_key", &self.url_key)
            .finish_non_exhaustive()
    }
}

/// The detail of a suspect-silent connection.
#[must_use]
pub fn silent_detail(url_key: &str) -> String {
    format!(
        "connected but silent: no data or heartbeat since connecting — the endpoint may have \
         moved ({url_key})"
    )
}

/// The detail of a `quiet` report.
#[must_use]
pub fn quiet_detail(quiet_after: Duration) -> String {
    format!(
        "no liquidation for {}; heartbeats flowing",
        human(quiet_after)
    )
}

/// `120 s`, `1.5 s`, `300 ms`.
pub(super) fn human(d: Duration) -> String {
    if d.subsec_millis() == 0 && d.as_secs() > 0 {
        format!("{} s", d.as_secs())
    } else if d >= Duration::from_secs(1) {
        format!("{:.1} s", d.as_secs_f64())
    } else {
        format!("{} ms", d.as_millis())
    }
}

/// What one frame produced: whether it was alive, messages to send in order, and an end.
#[derive(Default)]
pub(super) struct LiqFrame {
    pub(super) alive: bool,
    pub(super) msgs: Vec<FeedMsg>,
    pub(super) reconnect: Option<&'static str>,
}

/// A liquidation session's state across its connections.
pub(super) struct LiqRun {
    feed: FeedId,
    parser: Box<dyn LiqParser>,
    quiet_after: Duration,
    /// The last liquidation, or the session's first alive frame: quiet is measured from it.
    quiet_ref: Option<Instant>,
    /// `Live` or `Quiet` once this connection has been alive; `None` before.
    reported: Option<FeedState>,
    last_heartbeat_report: Option<Instant>,
}

impl LiqRun {
    pub(super) fn new(feed: FeedId, stream: &LiqStream) -> Self {
        LiqRun {
            feed,
            parser: (stream.parser)(),
            quiet_after: stream.quiet_after,
            quiet_ref: None,
            reported: None,
            last_heartbeat_report: None,
        }
    }

    /// A new connection starts: per-connection parser state goes, nothing is reported yet.
    pub(super) fn new_connection(&mut self) {
        self.parser.reset_connection();
        self.reported = None;
    }

    /// When the stream turns quiet unless a liquidation comes first (`None`: not live).
    pub(super) fn quiet_deadline(&self) -> Option<Instant> {
        match (self.reported, self.quiet_ref) {
            (Some(FeedState::Live), Some(at)) => Some(at + self.quiet_after),
            _ => None,
        }
    }

    /// The quiet deadline passed: report `quiet`.
    pub(super) fn go_quiet(&mut self, at_ms: Millis) -> FeedMsg {
        self.reported = Some(FeedState::Quiet);
        self.status(FeedState::Quiet, at_ms)
    }

    pub(super) fn on_frame(&mut self, bytes: &[u8], received_ms: Millis) -> LiqFrame {
        let now = Instant::now();
        let mut out = LiqFrame::default();
        match self.parser.parse_frame(bytes, received_ms) {
            Ok(parsed @ (LiqParsed::Liquidations(_) | LiqParsed::Heartbeat)) => {
                out.alive = true;
                let events = match parsed {
                    LiqParsed::Liquidations(events) => events,
                    _ => Vec::new(),
                };
                if !events.is_empty() {
                    self.quiet_ref = Some(now);
                }
                self.report(now, received_ms, &mut out.msgs);
                if !events.is_empty() {
                    out.msgs.push(FeedMsg::Events {
                        feed: self.feed,
                        events: events.into_iter().map(MarketEvent::Liquidation).collect(),
                    });
                } else if self
                    .last_heartbeat_report
                    .is_none_or(|at| now.duration_since(at) >= HEARTBEAT_REPORT)
                {
                    self.last_heartbeat_report = Some(now);
                    out.msgs.push(self.empty());
                }
            }
            Ok(LiqParsed::Nothing) => out.msgs.push(self.empty()),
            Ok(LiqParsed::Control(Control::Reconnect(why))) => out.reconnect = Some(why),
            Err(e) => {
                debug!(feed = self.feed, error = %e, payload = %truncate(bytes), "frame skipped");
                out.msgs.push(FeedMsg::ParseError {
                    feed: self.feed,
                    error: e.to_string(),
                });
            }
        }
        out
    }

    /// After an alive frame: `live` while a liquidation came within `quiet_after`, else `quiet`;
    /// a status only on a change.
    fn report(&mut self, now: Instant, at_ms: Millis, msgs: &mut Vec<FeedMsg>) {
        let since = *self.quiet_ref.get_or_insert(now);
        let state = if now.duration_since(since) >= self.quiet_after {
            FeedState::Quiet
        } else {
            FeedState::Live
        };
        if self.reported != Some(state) {
            self.reported = Some(state);
            msgs.push(self.status(state, at_ms));
        }
    }

    fn status(&self, state: FeedState, at_ms: Millis) -> FeedMsg {
        FeedMsg::Status {
            feed: self.feed,
            state,
            at_ms,
            detail: (state == FeedState::Quiet).then(|| quiet_detail(self.quiet_after)),
        }
    }

    fn empty(&self) -> FeedMsg {
        FeedMsg::Events {
            feed: self.feed,
            events: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_well() {
        assert_eq!(human(Duration::from_secs(120)), "120 s");
        assert_eq!(human(Duration::from_millis(1500)), "1.5 s");
        assert_eq!(human(Duration::from_millis(300)), "300 ms");
        assert!(silent_detail("a.b").ends_with("(a.b)"));
    }
}
