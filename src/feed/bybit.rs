//! Bybit v5 spot tickers (exchanges.md §5): the `tickers.{symbol}` socket, the REST tickers
//! fallback while it is down, and the spot-symbol list that decides what the socket subscribes.
//!
//! One REST call, `GET {rest_url}/v5/market/tickers?category=spot`, serves twice: every
//! `symbols_refresh_secs` it is the list of USDT spot pairs (`bybit.symbols`, which sends no
//! quotes: an hourly price must never look as fresh as a live feed's), and every
//! `fallback_poll_secs` while the socket is not live it is the quotes (`bybit.rest`). Topics are
//! `tickers.{BASE}USDT` for the coins both Bybit and a Korean venue list, subscribed in requests
//! of at most [`MAX_ARGS`] (the spot limit) on a connection of their own (`bybit/restart.rs`).

mod object_or;
mod parse;
mod restart;
mod spot_list;

use std::time::Duration;

use serde::Serialize;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;

use crate::config::BybitConfig;
use crate::feed::fallback::{self, Fallback};
use crate::feed::session::{AppPing, SessionSpec, StreamClass};
use crate::feed::{FeedMsg, backoff};
use crate::model::FeedId;

pub(crate) use object_or::ObjectOr;
pub use parse::{parse, parse_rest_tickers, parse_symbols};
pub use spot_list::intersect;
pub(crate) use spot_list::{ListSpec, run as run_list};

/// Spot ticker socket.
pub const FEED_ID: FeedId = "bybit.ticker";
/// REST tickers poller, live only while the socket is not.
pub const REST_FEED_ID: FeedId = "bybit.rest";
/// Spot-symbol list poller.
pub const SYMBOLS_FEED_ID: FeedId = "bybit.symbols";
/// Every feed [`spawn`] starts.
pub const FEEDS: &[FeedId] = &[SYMBOLS_FEED_ID, FEED_ID, REST_FEED_ID];

/// Most `args` one spot subscribe request may carry.
pub const MAX_ARGS: usize = 10;
/// The keep-alive request; spot answers `{"success":true,"ret_msg":"pong",…,"op":"ping"}`.
pub const PING_FRAME: &str = r#"{"req_id":"ping","op":"ping"}"#;
/// WebSocket handshake budget.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Budget of one REST tickers request (every spot symbol, ~300 KB).
const REST_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a changed topic list must stay unchanged before the socket reconnects for it (the
/// Korean venues' lists arrive seconds apart at start).
pub const RESUBSCRIBE_SETTLE: Duration = Duration::from_secs(2);

/// `BTC` → `tickers.BTCUSDT`.
#[must_use]
pub fn topic(base: &str) -> String {
    format!("tickers.{base}USDT")
}

/// The topics to subscribe: `coins` (Korean venues' bases) that Bybit lists as USDT spot pairs.
#[must_use]
pub fn topics(coins: &[String], listed: &[String]) -> Vec<String> {
    intersect(coins, listed).iter().map(|b| topic(b)).collect()
}

/// `{"req_id":"sub-1","op":"subscribe","args":["tickers.BTCUSDT",…]}`.
#[derive(Serialize)]
struct BybitRequest<'a> {
    req_id: String,
    op: &'static str,
    args: &'a [String],
}

/// One subscribe request per [`MAX_ARGS`] topics, `req_id` `sub-1`, `sub-2`, … in order.
#[must_use]
pub fn subscribe_frames(topics: &[String]) -> Vec<String> {
    topics
        .chunks(MAX_ARGS)
        .enumerate()
        .filter_map(|(i, args)| {
            let request = BybitRequest {
                req_id: format!("sub-{}", i + 1),
                op: "subscribe",
                args,
            };
            serde_json::to_string(&request).ok()
        })
        .collect()
}

/// Timing knobs of [`spawn_with`]; [`Default`] is what the app uses.
#[derive(Debug, Clone)]
pub struct Options {
    /// How long the socket must be down before REST polling starts ([`fallback::GRACE`]).
    pub grace: Duration,
    /// Socket reconnect backoff: initial, max, healthy period that resets it.
    pub backoff: (Duration, Duration, Duration),
    /// [`RESUBSCRIBE_SETTLE`].
    pub settle: Duration,
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
            settle: RESUBSCRIBE_SETTLE,
        }
    }
}

/// Starts every Bybit task on `tasks` (nothing when `cfg.enabled` is false): the symbol list
/// intersected with `coins` (sorted Korean-venue base assets), the ticker socket subscribed to it,
/// and the REST fallback gated on the socket's liveness. Feed ids: [`FEEDS`].
pub fn spawn(
    cfg: &BybitConfig,
    client: &crate::feed::poller::Http,
    coins: watch::Receiver<Vec<String>>,
    tx: &mpsc::Sender<FeedMsg>,
    cancel: &CancellationToken,
    tasks: &mut JoinSet<()>,
) {
    spawn_with(cfg, client, coins, tx, cancel, tasks, &Options::default());
}

/// [`spawn`] with explicit timing (tests use a short grace, backoff and settle).
pub fn spawn_with(
    cfg: &BybitConfig,
    client: &crate::feed::poller::Http,
    coins: watch::Receiver<Vec<String>>,
    tx: &mpsc::Sender<FeedMsg>,
    cancel: &CancellationToken,
    tasks: &mut JoinSet<()>,
    opts: &Options,
) {
    if !cfg.enabled {
        return;
    }
    let (topics_tx, topics_rx) = watch::channel(Vec::new());
    let (live_tx, live_rx) = watch::channel(false);
    tasks.spawn(run_list(
        list_spec(cfg),
        client.clone(),
        coins,
        topics_tx,
        tx.clone(),
        cancel.clone(),
    ));
    tasks.spawn(restart::run(
        SessionSpec {
            recorder: client.recorder().cloned(),
            ..session_spec(cfg, live_tx, opts)
        },
        subscribe_frames,
        topics_rx,
        opts.settle,
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
}

fn tickers_url(cfg: &BybitConfig) -> String {
    format!(
        "{}/v5/market/tickers?category=spot",
        cfg.rest_url.trim_end_matches('/')
    )
}

fn list_spec(cfg: &BybitConfig) -> ListSpec {
    ListSpec {
        feed: SYMBOLS_FEED_ID,
        url: tickers_url(cfg),
        refresh: Duration::from_secs(cfg.symbols_refresh_secs),
        timeout: REST_TIMEOUT,
        parse: parse_symbols,
        item: topic,
    }
}

/// The ticker socket (subscriptions are filled in per connection by `restart`): `{"op":"ping"}`
/// every `ping_interval_secs` (Bybit cuts after ~10 min without ping or data), stale after
/// `idle_timeout_secs`, liveness published on `live` for the fallback.
fn session_spec(cfg: &BybitConfig, live: watch::Sender<bool>, opts: &Options) -> SessionSpec {
    SessionSpec {
        feed: FEED_ID,
        urls: vec![cfg.ws_url.clone()],
        parse,
        app_ping: Some(AppPing {
            interval: Duration::from_secs(cfg.ping_interval_secs),
            message: Message::text(PING_FRAME),
        }),
        idle_timeout: Duration::from_secs(cfg.idle_timeout_secs),
        lifetime: None,
        subscriptions: None,
        connect_timeout: CONNECT_TIMEOUT,
        live: Some(live),
        backoff: opts.backoff,
        class: StreamClass::Ticker,
        recorder: None,
    }
}

fn fallback_spec(cfg: &BybitConfig, grace: Duration) -> Fallback {
    Fallback {
        feed: REST_FEED_ID,
        stream: FEED_ID,
        url: tickers_url(cfg),
        interval: Duration::from_secs(cfg.fallback_poll_secs),
        timeout: REST_TIMEOUT,
        grace,
        parse: parse_rest_tickers,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rest_urls_and_intervals_come_from_config() {
        let cfg = BybitConfig {
            rest_url: "http://x/".into(),
            ..BybitConfig::default()
        };
        let fallback = fallback_spec(&cfg, Duration::from_millis(7));
        assert_eq!(fallback.url, "http://x/v5/market/tickers?category=spot");
        assert_eq!(
            (
                fallback.feed,
                fallback.stream,
                fallback.grace,
                fallback.interval
            ),
            (
                REST_FEED_ID,
                FEED_ID,
                Duration::from_millis(7),
                Duration::from_secs(5)
            )
        );
        let list = list_spec(&cfg);
        assert_eq!(
            (list.url, list.refresh),
            (fallback.url, Duration::from_secs(3600))
        );
        assert_eq!((list.item)("BTC"), "tickers.BTCUSDT");
    }

    #[test]
    fn ping_frame_is_json_and_answered_by_nothing() {
        let request: serde_json::Value = serde_json::from_str(PING_FRAME).unwrap();
        assert_eq!(request["op"], "ping");
        let reply = br#"{"success":true,"ret_msg":"pong","conn_id":"c","op":"ping"}"#;
        assert_eq!(parse(reply, 0).unwrap(), crate::feed::Parsed::nothing());
    }
}
