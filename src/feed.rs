//! Collectors: everything that talks to an exchange or a rate source and turns what it hears into
//! [`FeedMsg`]s for the state task.
//!
//! Each venue module keeps its wire types private and exposes a `parse` function from raw frame bytes
//! to normalised [`MarketEvent`]s; the generic [`session`] and [`poller`] do the I/O.

pub mod backoff;
pub mod binance;
pub mod bithumb;
pub mod bybit;
pub mod fallback;
pub mod fear_greed;
pub mod fx;
pub mod liq;
pub mod names;
pub mod num;
pub mod okx;
pub mod poller;
pub mod session;
pub mod upbit;

use crate::model::{FeedId, FeedState, MarketEvent, Millis};

/// Why a frame or body could not be turned into events. Counted per feed and skipped, never fatal.
#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    #[error("invalid JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("field `{field}`: {reason}")]
    Field { field: &'static str, reason: String },
    #[error("frame is not UTF-8")]
    Utf8,
    #[error("venue error: {0}")]
    Venue(String),
}

impl ParseError {
    /// Shorthand for a field that is present but unusable.
    pub fn field(field: &'static str, reason: impl Into<String>) -> Self {
        ParseError::Field {
            field,
            reason: reason.into(),
        }
    }
}

/// What a frame means besides data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Control {
    /// The venue announced it will close this connection (Binance `serverShutdown`): reconnect now.
    Reconnect(&'static str),
}

/// Result of parsing one frame.
#[derive(Debug, Clone, PartialEq)]
pub enum Parsed {
    /// Zero or more events. Acks, pongs and message types kimp does not use are `Events(vec![])`.
    Events(Vec<MarketEvent>),
    Control(Control),
}

impl Parsed {
    /// No events, nothing to do (acks, pongs, unknown message types).
    #[must_use]
    pub fn nothing() -> Self {
        Parsed::Events(Vec::new())
    }
}

/// Everything a collector tells the state task. One bounded channel carries all of it.
#[derive(Debug, Clone, PartialEq)]
pub enum FeedMsg {
    /// A frame or poll that parsed; counts as one message even when it carried no events.
    Events {
        feed: FeedId,
        events: Vec<MarketEvent>,
    },
    /// A frame or body that did not parse: counted, skipped.
    ParseError { feed: FeedId, error: String },
    /// A state transition of a stream (connect, live, stale, reconnecting, down, disabled).
    Status {
        feed: FeedId,
        state: FeedState,
        at_ms: Millis,
        detail: Option<String>,
    },
    /// Replay only (`--replay`): the recording's time reached `at_ms`; the state task's clock
    /// follows it, so ages, freshness and windows depend on the recording, never on wall time.
    Tick { at_ms: Millis },
}
