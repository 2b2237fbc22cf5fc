//! Bithumb (exchanges.md §2): the v1 ticker socket, the legacy `ALL_KRW` REST fallback and the
//! market list with Bithumb's warning flags.
//!
//! The v1 socket is Upbit-compatible (request array, DEFAULT/SIMPLE ticker keys, `PING` →
//! `{"status":"UP"}`, error frame then close 1000), so [`parse`] is Upbit's ticker parser with the
//! venue set to Bithumb. Only the true-epoch fields give the exchange time: the socket's
//! `trade_date`/`trade_time` are KST wall clock, and the v1 REST ticker (`/v1/ticker`), whose
//! epoch fields are KST written as epoch (+9 h), is never used. While the socket is not live,
//! the [`fallback`] poller reads `/public/ticker/ALL_KRW` instead ([`parse_all_krw`]).

mod all_krw;
mod markets;

use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;

use crate::config::BithumbConfig;
use crate::feed::fallback::{self, Fallback};
use crate::feed::session::{self, AppPing, SessionSpec, StreamClass, Subscriptions};
use crate::feed::{FeedMsg, ParseError, Parsed, backoff, upbit};
use crate::model::{FeedId, Millis, Venue};

pub use all_krw::parse_all_krw;
pub use markets::{
    SRC_LIST, SRC_WARNINGS, merge_warnings, parse_markets, parse_warnings, run_markets,
};

/// Ticker socket (v1 WebSocket).
pub const FEED_ID: FeedId = "bithumb.ticker";
/// `ALL_KRW` REST poller, live only while the socket is not.
pub const REST_FEED_ID: FeedId = "bithumb.rest";
/// Market list and warning flags poller.
pub const MARKETS_FEED_ID: FeedId = "bithumb.markets";
/// Every feed [`spawn`] starts.
pub const FEEDS: &[FeedId] = &[MARKETS_FEED_ID, FEED_ID, REST_FEED_ID];

/// Bithumb's keep-alive text; the venue answers `{"status":"UP"}`.
const PING: &str = "PING";
/// Ticket name in subscribe frames.
const TICKET: &str = "kimp";
/// WebSocket handshake budget.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Budget of one `ALL_KRW` request (~170 coins, polled every few seconds).
const FALLBACK_TIMEOUT: Duration = Duration::from_secs(5);

/// Parses one v1 WS frame: KRW tickers (DEFAULT or SIMPLE keys) become Bithumb quotes, `KRW-USDT`
/// included (base `USDT`: Bithumb's USDT/KRW rate); other markets and types and `{"status":"UP"}`
/// are nothing; an error frame (`{"error":{"name":"NO_TICKET",…}}`) is `Venue`.
pub fn parse(frame: &[u8], received_ms: Millis) -> Result<Parsed, ParseError> {
    upbit::parse_ticker(frame, received_ms, Venue::Bithumb)
}

/// The subscribe request, Upbit's shape:
/// `[{"ticket":…},{"type":"ticker","codes":[…]},{"format":"DEFAULT"}]`. No options are sent
/// (Bithumb silently ignores `snake_case` ones; its options are camelCase, `isOnlySnapshot`).
#[must_use]
pub fn subscribe_frame(ticket: &str, codes: &[String]) -> String {
    upbit::subscribe_frame(ticket, codes)
}

fn subscribe_frames(codes: &[String]) -> Vec<String> {
    vec![subscribe_frame(TICKET, codes)]
}

/// Timing knobs of [`spawn_with`]; [`Default`] is what the app uses.
#[derive(Debug, Clone)]
pub struct Options {
    /// How long the socket must be down before `ALL_KRW` polling starts ([`fallback::GRACE`]).
    pub grace: Duration,
    /// Socket reconnect backoff: initial, max, healthy period that resets it.
    pub backoff: (Duration, Duration, Duration),
}

impl Default for Options {
    fn default() -> Self {
        Options {
            grace: fallback::GRACE,
            backoff: (
                backoff::INITIAL_DELAY,
                backoff::MAX_DELAY,
                backoff::HEALTHY_RESET,
            ),
        }
    }
}

/// Starts every Bithumb task on `tasks` (nothing when `cfg.enabled` is false): the market-list
/// poller, the ticker socket subscribed to the listed `KRW-…` codes, and the `ALL_KRW` fallback
/// gated on the socket's liveness. Feed ids: [`FEEDS`]. Returns the listed `KRW-…` codes (empty
/// while disabled) so the global venues can subscribe to the same coins.
pub fn spawn(
    cfg: &BithumbConfig,
    client: &crate::feed::poller::Http,
    tx: &mpsc::Sender<FeedMsg>,
    cancel: &CancellationToken,
    tasks: &mut JoinSet<()>,
) -> watch::Receiver<Vec<String>> {
    spawn_with(cfg, client, tx, cancel, tasks, &Options::default())
}

/// [`spawn`] with explicit timing (tests use a short grace and backoff).
pub fn spawn_with(
    cfg: &BithumbConfig,
    client: &crate::feed::poller::Http,
    tx: &mpsc::Sender<FeedMsg>,
    cancel: &CancellationToken,
    tasks: &mut JoinSet<()>,
    opts: &Options,
) -> watch::Receiver<Vec<String>> {
    let (codes_tx, codes_rx) = watch::channel(Vec::new());
    if !cfg.enabled {
        return codes_rx;
    }
    let (live_tx, live_rx) = watch::channel(false);
    tasks.spawn(run_markets(
        cfg.clone(),
        client.clone(),
        tx.clone(),
        codes_tx,
        cancel.clone(),
    ));
    tasks.spawn(session::run(
        SessionSpec {
            recorder: client.recorder().cloned(),
            ..session_spec(cfg, codes_rx.clone(), live_tx, opts)
        },
        tx.clone(),
        cancel.clone(),
    ));
    tasks.spawn(fallback::run(
        fallback_spec(cfg, opts.grace),
        client.clone(),
        live_rx,
        tx.clone(),
        cancel.clone(),
    ));
    codes_rx
}

/// The ticker socket: `PING` every `ping_interval_secs` (Bithumb cuts idle sockets at ~60 s),
/// stale after `idle_timeout_secs`, liveness published on `live` for the fallback.
fn session_spec(
    cfg: &BithumbConfig,
    codes: watch::Receiver<Vec<String>>,
    live: watch::Sender<bool>,
    opts: &Options,
) -> SessionSpec {
    SessionSpec {
        feed: FEED_ID,
        urls: vec![cfg.ws_url.clone()],
        parse,
        app_ping: Some(AppPing {
            interval: Duration::from_secs(cfg.ping_interval_secs),
            message: Message::text(PING),
        }),
        idle_timeout: Duration::from_secs(cfg.idle_timeout_secs),
        lifetime: None,
        subscriptions: Some(Subscriptions {
            items: codes,
            frames: subscribe_frames,
        }),
        connect_timeout: CONNECT_TIMEOUT,
        live: Some(live),
        backoff: opts.backoff,
        class: StreamClass::Ticker,
        recorder: None,
    }
}

fn fallback_spec(cfg: &BithumbConfig, grace: Duration) -> Fallback {
    Fallback {
        feed: REST_FEED_ID,
        stream: FEED_ID,
        url: format!(
            "{}/public/ticker/ALL_KRW",
            cfg.rest_url.trim_end_matches('/')
        ),
        interval: Duration::from_secs(cfg.fallback_poll_secs),
        timeout: FALLBACK_TIMEOUT,
        grace,
        parse: parse_all_krw,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fallback_polls_all_krw_and_nothing_else() {
        let cfg = BithumbConfig {
            rest_url: "http://x/".into(),
            ..BithumbConfig::default()
        };
        let spec = fallback_spec(&cfg, Duration::from_millis(7));
        assert_eq!(spec.url, "http://x/public/ticker/ALL_KRW");
        assert_eq!(
            (spec.feed, spec.stream, spec.grace),
            (REST_FEED_ID, FEED_ID, Duration::from_millis(7))
        );
        assert_eq!(spec.interval, Duration::from_secs(3));
    }

    #[test]
    fn ticker_quotes_are_bithumbs() {
        let frame = br#"{"ty":"ticker","cd":"KRW-USDT","tp":1391,"ttms":1790133513858}"#;
        let Ok(Parsed::Events(events)) = parse(frame, 1) else {
            panic!("not events")
        };
        let [crate::model::MarketEvent::Quote(q)] = events.as_slice() else {
            panic!("{events:?}")
        };
        assert_eq!((q.venue, q.base.as_str()), (Venue::Bithumb, "USDT"));
    }
}
