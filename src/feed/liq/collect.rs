//! The I/O side of the liquidation feeds (SPEC §3.4, §7): one collector per venue, each running the
//! generic [`session`] in its [`StreamClass::Liquidation`] class with the venue's stateful parser.
//!
//! | venue | socket | keep-alive | extra task |
//! |---|---|---|---|
//! | Binance USD-M | `/market` combined stream: `!forceOrder@arr` + `!markPrice@arr@1s` canary | server pings (tungstenite answers); reconnect at 23 h | — |
//! | Bybit linear | `allLiquidation.{symbol}`, symbols spread over connections | `{"op":"ping"}` every 20 s | symbol list (`bybit.linear_symbols`) |
//! | OKX | `liquidation-orders` / `SWAP` | text `ping` every 20 s | contract table (`okx.swap_instruments`) |
//! | BitMEX | `liquidation` + `instrument` tables | text `ping` every 5 s | — |
//!
//! **Liveness** (module docs of the session's liquidation class): pongs, canaries and liquidations
//! keep a stream alive; `live` turns `quiet` after `quiet_after_secs` without a liquidation; nothing
//! alive for `silent_timeout_secs` reconnects, and nothing at all since connecting is reported
//! `stale` as a suspect-silent endpoint naming the URL's config key. Heartbeats reach the state
//! task at most once per [`HEARTBEAT_REPORT`](crate::feed::session::HEARTBEAT_REPORT).

#![allow(
    clippy::doc_markdown,
    reason = "BitMEX is a venue name, not code (as in `feed::liq`)"
)]

pub mod binance;
pub mod bitmex;
pub mod bybit;
pub mod okx;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;

use crate::config::{Config, LiquidationsConfig};
use crate::feed::session::{
    AppPing, LiqStream, ParserFactory, SessionSpec, StreamClass, Subscriptions,
};
use crate::feed::{FeedMsg, ParseError, Parsed, backoff};
use crate::model::{FeedId, Millis};

/// Every feed the liquidation collectors report, sockets and list pollers.
pub const FEEDS: &[FeedId] = &[
    binance::FEED_ID,
    bybit::SYMBOLS_FEED_ID,
    bybit::FEED_ID,
    okx::INSTRUMENTS_FEED_ID,
    okx::FEED_ID,
    bitmex::FEED_ID,
];

/// WebSocket handshake budget.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Budget of one REST request (Bybit's instrument page, OKX's swap list: ~1 MB at most).
const REST_TIMEOUT: Duration = Duration::from_secs(15);
/// On-demand contract-table refreshes (OKX unknown `instId`) are at least this far apart.
pub const ON_DEMAND_MIN_GAP: Duration = Duration::from_secs(30);

/// Timing of the collectors; [`Options::from_config`] is what the app uses, tests shorten it.
#[derive(Debug, Clone)]
pub struct Options {
    /// `live` → `quiet` after this long without a liquidation.
    pub quiet_after: Duration,
    /// No alive frame for this long: reconnect (suspect-silent if none since connecting).
    pub silent_timeout: Duration,
    /// Bybit symbol list and OKX contract table refresh.
    pub symbols_refresh: Duration,
    /// Bybit `{"op":"ping"}` and OKX `ping` interval.
    pub ping_interval: Duration,
    /// BitMEX `ping` interval.
    pub bitmex_ping_interval: Duration,
    /// Binance scheduled reconnect (its connections live 24 h).
    pub binance_lifetime: Duration,
    /// [`ON_DEMAND_MIN_GAP`].
    pub on_demand_min_gap: Duration,
    /// Socket reconnect backoff: initial, max, healthy period that resets it.
    pub backoff: (Duration, Duration, Duration),
    pub connect_timeout: Duration,
    pub rest_timeout: Duration,
    /// The recording (`--record`) every socket's frames go to.
    pub recorder: Option<crate::record::Recorder>,
}

impl Options {
    #[must_use]
    pub fn from_config(cfg: &LiquidationsConfig) -> Self {
        Options {
            quiet_after: Duration::from_secs(cfg.quiet_after_secs),
            silent_timeout: Duration::from_secs(cfg.silent_timeout_secs),
            symbols_refresh: Duration::from_secs(cfg.symbols_refresh_secs),
            ping_interval: bybit::PING_INTERVAL,
            bitmex_ping_interval: crate::feed::liq::bitmex::PING_INTERVAL,
            binance_lifetime: binance::LIFETIME,
            on_demand_min_gap: ON_DEMAND_MIN_GAP,
            backoff: (
                backoff::INITIAL_DELAY,
                backoff::MAX_DELAY,
                backoff::HEALTHY_RESET,
            ),
            connect_timeout: CONNECT_TIMEOUT,
            rest_timeout: REST_TIMEOUT,
            recorder: None,
        }
    }
}

/// Each liquidation feed with whether `cfg` enables it (for registering feeds at start).
#[must_use]
pub fn feeds(cfg: &LiquidationsConfig) -> Vec<(FeedId, bool)> {
    vec![
        (binance::FEED_ID, cfg.binance_enabled),
        (bybit::SYMBOLS_FEED_ID, cfg.bybit_enabled),
        (bybit::FEED_ID, cfg.bybit_enabled),
        (okx::INSTRUMENTS_FEED_ID, cfg.okx_enabled),
        (okx::FEED_ID, cfg.okx_enabled),
        (bitmex::FEED_ID, cfg.bitmex_enabled),
    ]
}

/// Starts every enabled liquidation collector of `cfg.liquidations` on `tasks`. Feed ids: [`FEEDS`].
pub fn spawn_all(
    cfg: &Config,
    client: &crate::feed::poller::Http,
    tx: &mpsc::Sender<FeedMsg>,
    cancel: &CancellationToken,
    tasks: &mut JoinSet<()>,
) {
    let liq = &cfg.liquidations;
    let opts = Options {
        recorder: client.recorder().cloned(),
        ..Options::from_config(liq)
    };
    binance::spawn_with(liq, &opts, tx, cancel, tasks);
    bybit::spawn_with(liq, &opts, client, tx, cancel, tasks);
    okx::spawn_with(liq, &opts, client, tx, cancel, tasks);
    bitmex::spawn_with(liq, &opts, tx, cancel, tasks);
}

/// A liquidation stream's session: the class, its thresholds and the shared defaults. Callers set
/// `subscriptions` and `lifetime` where the venue needs them.
fn liq_session(
    feed: FeedId,
    url: &str,
    url_key: &'static str,
    parser: ParserFactory,
    app_ping: Option<AppPing>,
    opts: &Options,
) -> SessionSpec {
    SessionSpec {
        feed,
        urls: vec![url.to_owned()],
        parse: unused_parse,
        app_ping,
        idle_timeout: opts.silent_timeout,
        lifetime: None,
        subscriptions: None,
        connect_timeout: opts.connect_timeout,
        live: None,
        backoff: opts.backoff,
        class: StreamClass::Liquidation(LiqStream {
            parser,
            quiet_after: opts.quiet_after,
            url_key,
        }),
        recorder: opts.recorder.clone(),
    }
}

/// A liquidation session parses with its stateful parser; the ticker `parse` is never called.
#[expect(
    clippy::unnecessary_wraps,
    reason = "the session's `ParseFn` signature"
)]
fn unused_parse(_: &[u8], _: Millis) -> Result<Parsed, ParseError> {
    Ok(Parsed::nothing())
}

/// A text ping every `interval`.
fn text_ping(interval: Duration, text: &str) -> AppPing {
    AppPing {
        interval,
        message: Message::text(text),
    }
}

/// A subscription that never changes: `frames` sent on every connection.
fn fixed_subscriptions(items: Vec<String>, frames: fn(&[String]) -> Vec<String>) -> Subscriptions {
    // The sender is dropped at once: the session reads the list, sees it will never change.
    let (_fixed, items) = watch::channel(items);
    Subscriptions { items, frames }
}

/// A parser factory from a constructor.
fn factory<P: super::LiqParser + 'static>(make: fn() -> P) -> ParserFactory {
    Arc::new(move || Box::new(make()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_follow_the_config() {
        let cfg = LiquidationsConfig::default();
        let opts = Options::from_config(&cfg);
        assert_eq!(opts.quiet_after, Duration::from_secs(120));
        assert_eq!(opts.silent_timeout, Duration::from_secs(60));
        assert_eq!(opts.binance_lifetime, Duration::from_secs(23 * 3600));
        assert_eq!(feeds(&cfg).len(), FEEDS.len());
        let spec = liq_session(
            "x.liquidations",
            "ws://h/",
            "k",
            factory(super::super::bybit::BybitLiqParser::new),
            None,
            &opts,
        );
        assert_eq!(spec.idle_timeout, opts.silent_timeout);
        assert!(matches!(spec.class, StreamClass::Liquidation(ref l) if l.url_key == "k"));
    }
}
