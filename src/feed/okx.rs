//! OKX v5 spot tickers (exchanges.md §6): the `tickers` channel of the public socket, one argument
//! per `{BASE}-USDT` instrument that both OKX and a Korean venue list (`okx/instruments.rs`).
//!
//! OKX has no percent field: the change is `(last − open24h) / open24h × 100` (rolling 24 h), `None`
//! when `open24h` is empty or zero; the traded value is `volCcy24h`, quote currency for SPOT. Only
//! SPOT rows become quotes. Keep-alive is the text `ping` (answered by the text `pong`, not JSON):
//! OKX asks for it after N < 30 s of silence; the session sends it every `ping_interval_secs`
//! regardless, which OKX answers the same way and which a ticker stream that is never silent for
//! long makes equivalent. A subscription change is resent whole on the live connection: unlike
//! Bybit, OKX accepts a subscribe for a channel the connection already has.

mod instruments;

use std::borrow::Cow;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;

use crate::config::OkxConfig;
use crate::feed::bybit::{ListSpec, ObjectOr, intersect, run_list};
use crate::feed::num::{self, Num};
use crate::feed::session::{self, AppPing, SessionSpec, StreamClass, Subscriptions};
use crate::feed::{Control, FeedMsg, ParseError, Parsed, backoff};
use crate::model::{Currency, FeedId, MarketEvent, Millis, Quote, Venue};

pub use instruments::parse_instruments;

/// Spot ticker socket.
pub const FEED_ID: FeedId = "okx.ticker";
/// Spot instrument list poller.
pub const INSTRUMENTS_FEED_ID: FeedId = "okx.instruments";
/// Every feed [`spawn`] starts.
pub const FEEDS: &[FeedId] = &[INSTRUMENTS_FEED_ID, FEED_ID];

/// Arguments per subscribe request: ~45 bytes each, far inside OKX's 64 KB request limit, and few
/// requests against its 480 subscribes per hour per connection.
pub const MAX_ARGS: usize = 100;
/// Keep-alive text; OKX answers the text `pong`.
pub const PING: &str = "ping";
/// The notice code announcing a disconnect for a service upgrade (exchanges.md §6, unconfirmed).
const SERVICE_UPGRADE: &str = "64008";
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Budget of one instrument-list request (~1 MB for every spot pair).
const LIST_TIMEOUT: Duration = Duration::from_secs(10);

/// A frame of the public socket: a push, an event, or anything else.
///
/// Push (<https://www.okx.com/docs-v5/en/#order-book-trading-market-data-ws-tickers-channel>):
/// `{"arg":{"channel":"tickers","instId":"BTC-USDT"},"data":[{"instType":"SPOT","instId":"BTC-USDT",
/// "last":"9999.99","lastSz":"0.1","askPx":"9999.99","askSz":"11","bidPx":"8888.88","bidSz":"5",
/// "open24h":"9000","high24h":"10000","low24h":"8888.88","volCcy24h":"2222","vol24h":"2222",
/// "sodUtc0":"2222","sodUtc8":"2222","ts":"1597026383085"}]}`.
/// Events (<https://www.okx.com/docs-v5/en/#overview-websocket-subscribe>):
/// `{"event":"subscribe","arg":{"channel":"tickers","instId":"BTC-USDT"},"connId":"a4d3ae55"}`,
/// `{"event":"error","code":"60012","msg":"Invalid request: …","connId":"a4d3ae55"}`,
/// `{"event":"notice","code":"64008","msg":"The connection will soon be closed for a service
/// upgrade. Please reconnect.","connId":"a4d3ae55"}`.
#[derive(Deserialize)]
struct OkxFrame<'a> {
    #[serde(borrow)]
    event: Option<Cow<'a, str>>,
    #[serde(borrow)]
    code: Option<Num<'a>>,
    #[serde(borrow)]
    msg: Option<Cow<'a, str>>,
    #[serde(borrow)]
    arg: Option<ObjectOr<OkxArg<'a>>>,
    #[serde(default, borrow)]
    data: Vec<ObjectOr<OkxTicker<'a>>>,
}

#[derive(Deserialize)]
struct OkxArg<'a> {
    #[serde(borrow)]
    channel: Option<Cow<'a, str>>,
}

/// One `tickers` row; every value a string, `ts` too; `""` occurs (`bidPx:""`).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct OkxTicker<'a> {
    #[serde(borrow)]
    inst_type: Option<Cow<'a, str>>,
    #[serde(borrow)]
    inst_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    last: Option<Num<'a>>,
    #[serde(borrow)]
    open24h: Option<Num<'a>>,
    #[serde(borrow)]
    vol_ccy24h: Option<Num<'a>>,
    #[serde(borrow)]
    ts: Option<Num<'a>>,
}

/// Parses one frame: SPOT `tickers` rows are quotes (none while `last` is `""`); `pong`, acks,
/// other channels and instrument types are nothing; an `error` event is `Venue`; the 64008
/// service-upgrade notice is a reconnect (reconnecting early costs one handshake, waiting costs a
/// cut mid-stream), other notices are logged.
pub fn parse(frame: &[u8], received_ms: Millis) -> Result<Parsed, ParseError> {
    if frame.trim_ascii() == b"pong" {
        return Ok(Parsed::nothing());
    }
    let frame: OkxFrame<'_> = serde_json::from_slice(frame)?;
    if let Some(event) = frame.event.as_deref() {
        return on_event(event, &frame);
    }
    let Some(arg) = frame.arg else {
        return Err(ParseError::field("arg", "missing: not a push or an event"));
    };
    let ObjectOr::Object(OkxArg { channel }) = arg else {
        return Err(ParseError::field("arg", "not an object"));
    };
    if channel.as_deref() != Some("tickers") {
        return Ok(Parsed::nothing());
    }
    let mut events = Vec::with_capacity(frame.data.len());
    let mut failed: Option<(ParseError, usize)> = None;
    for row in frame.data {
        let ObjectOr::Object(row) = row else { continue };
        match quote(row, received_ms) {
            Ok(Some(q)) => events.push(MarketEvent::Quote(q)),
            Ok(None) => {}
            Err(error) => {
                tracing::debug!(feed = FEED_ID, %error, "skipping a ticker row");
                failed = Some(failed.map_or((error, 1), |(first, n)| (first, n + 1)));
            }
        }
    }
    match failed {
        Some((first, 1)) if events.is_empty() => Err(first),
        Some((first, count)) if events.is_empty() => Err(ParseError::field(
            "data",
            format!("{count} rows failed; first: {first}"),
        )),
        _ => Ok(Parsed::Events(events)),
    }
}

fn on_event(event: &str, frame: &OkxFrame<'_>) -> Result<Parsed, ParseError> {
    let code = frame.code.as_ref().map_or_else(String::new, Num::describe);
    let msg = frame.msg.as_deref().unwrap_or("");
    match event {
        "error" => Err(ParseError::Venue(format!("{code}: {msg}"))),
        "notice" if code == SERVICE_UPGRADE => {
            tracing::warn!(feed = FEED_ID, %msg, "service-upgrade notice: reconnecting now");
            Ok(Parsed::Control(Control::Reconnect(
                "okx service-upgrade notice (64008)",
            )))
        }
        "notice" => {
            tracing::warn!(feed = FEED_ID, %code, %msg, "notice");
            Ok(Parsed::nothing())
        }
        // subscribe, unsubscribe, channel-conn-count, …
        _ => Ok(Parsed::nothing()),
    }
}

/// A row as a quote: `None` for other instrument types, non-USDT pairs and an empty `last`.
fn quote(row: OkxTicker<'_>, received_ms: Millis) -> Result<Option<Quote>, ParseError> {
    if row.inst_type.as_deref().is_some_and(|t| t != "SPOT") {
        return Ok(None);
    }
    let inst_id = row
        .inst_id
        .ok_or_else(|| ParseError::field("instId", "missing"))?;
    let Some(base) = usdt_base(&inst_id) else {
        return Ok(None);
    };
    let Some(price) = num::optional_f64("last", row.last.as_ref())? else {
        return Ok(None);
    };
    if price <= 0.0 {
        return Err(ParseError::field("last", format!("not positive: {price}")));
    }
    let open = num::optional_f64("open24h", row.open24h.as_ref())?;
    Ok(Some(Quote {
        venue: Venue::Okx,
        base: base.to_owned(),
        currency: Currency::Usdt,
        price,
        change_percent: open.filter(|o| *o > 0.0).map(|o| (price - o) / o * 100.0),
        volume: num::optional_f64("volCcy24h", row.vol_ccy24h.as_ref())?,
        exchange_ms: num::optional_ms("ts", row.ts.as_ref())?,
        received_ms,
    }))
}

/// `BTC-USDT` → `BTC`; `BTC-USDT-SWAP`, `BTC-USDC`, `BTC-USD-220624` → `None`.
fn usdt_base(inst_id: &str) -> Option<&str> {
    inst_id
        .strip_suffix("-USDT")
        .filter(|base| !base.is_empty() && !base.contains('-'))
}

/// `BTC` → `BTC-USDT`.
#[must_use]
pub fn inst_id(base: &str) -> String {
    format!("{base}-USDT")
}

/// The instruments to subscribe: `coins` (Korean venues' bases) that OKX lists as live USDT spot.
#[must_use]
pub fn inst_ids(coins: &[String], listed: &[String]) -> Vec<String> {
    intersect(coins, listed)
        .iter()
        .map(|b| inst_id(b))
        .collect()
}

#[derive(Serialize)]
struct OkxRequest<'a> {
    op: &'static str,
    args: Vec<OkxChannelArg<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct OkxChannelArg<'a> {
    channel: &'static str,
    inst_id: &'a str,
}

/// `{"op":"subscribe","args":[{"channel":"tickers","instId":"BTC-USDT"},…]}`, [`MAX_ARGS`] per frame.
#[must_use]
pub fn subscribe_frames(inst_ids: &[String]) -> Vec<String> {
    inst_ids
        .chunks(MAX_ARGS)
        .filter_map(|chunk| {
            let args = chunk
                .iter()
                .map(|id| OkxChannelArg {
                    channel: "tickers",
                    inst_id: id,
                })
                .collect();
            serde_json::to_string(&OkxRequest {
                op: "subscribe",
                args,
            })
            .ok()
        })
        .collect()
}

/// Timing knobs of [`spawn_with`]; [`Default`] is what the app uses.
#[derive(Debug, Clone)]
pub struct Options {
    /// Socket reconnect backoff: initial, max, healthy period that resets it.
    pub backoff: (Duration, Duration, Duration),
}

impl Default for Options {
    fn default() -> Self {
        Options {
            backoff: (
                backoff::INITIAL_DELAY,
                backoff::MAX_DELAY,
                backoff::HEALTHY_RESET,
            ),
        }
    }
}

/// Starts the OKX tasks on `tasks` (nothing when `cfg.enabled` is false): the instrument list
/// intersected with `coins` (sorted Korean-venue base assets) and the ticker socket subscribed to
/// it. Feed ids: [`FEEDS`].
pub fn spawn(
    cfg: &OkxConfig,
    client: &crate::feed::poller::Http,
    coins: watch::Receiver<Vec<String>>,
    tx: &mpsc::Sender<FeedMsg>,
    cancel: &CancellationToken,
    tasks: &mut JoinSet<()>,
) {
    spawn_with(cfg, client, coins, tx, cancel, tasks, &Options::default());
}

/// [`spawn`] with explicit timing (tests use a short backoff).
pub fn spawn_with(
    cfg: &OkxConfig,
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
    let (ids_tx, ids_rx) = watch::channel(Vec::new());
    let list = ListSpec {
        feed: INSTRUMENTS_FEED_ID,
        url: format!(
            "{}/api/v5/public/instruments?instType=SPOT",
            cfg.rest_url.trim_end_matches('/')
        ),
        refresh: Duration::from_secs(cfg.symbols_refresh_secs),
        timeout: LIST_TIMEOUT,
        parse: parse_instruments,
        item: inst_id,
    };
    tasks.spawn(run_list(
        list,
        client.clone(),
        coins,
        ids_tx,
        tx.clone(),
        cancel.clone(),
    ));
    tasks.spawn(session::run(
        SessionSpec {
            recorder: client.recorder().cloned(),
            ..session_spec(cfg, ids_rx, opts)
        },
        tx.clone(),
        cancel.clone(),
    ));
}

fn session_spec(
    cfg: &OkxConfig,
    inst_ids: watch::Receiver<Vec<String>>,
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
            items: inst_ids,
            frames: subscribe_frames,
        }),
        connect_timeout: CONNECT_TIMEOUT,
        live: None,
        backoff: opts.backoff,
        class: StreamClass::Ticker,
        recorder: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_pong_and_garbage() {
        assert_eq!(parse(b"pong", 0).unwrap(), Parsed::nothing());
        let ack = br#"{"event":"subscribe","arg":{"channel":"tickers","instId":"BTC-USDT"},"connId":"a"}"#;
        assert_eq!(parse(ack, 0).unwrap(), Parsed::nothing());
        let err = parse(
            br#"{"event":"error","code":"60012","msg":"Invalid request"}"#,
            0,
        );
        assert!(matches!(err, Err(ParseError::Venue(m)) if m == "60012: Invalid request"));
        let notice = br#"{"event":"notice","code":"64008","msg":"upgrade","connId":"a"}"#;
        assert!(matches!(parse(notice, 0), Ok(Parsed::Control(_))));
        let other = br#"{"arg":{"channel":"candle1m","instId":"BTC-USDT"},"data":[["1","2"]]}"#;
        assert_eq!(parse(other, 0).unwrap(), Parsed::nothing());
        assert!(matches!(
            parse(b"{}", 0),
            Err(ParseError::Field { field: "arg", .. })
        ));
        assert!(matches!(parse(b"ping", 0), Err(ParseError::Json(_))));
    }

    #[test]
    fn usdt_spot_ids_only() {
        assert_eq!(usdt_base("BTC-USDT"), Some("BTC"));
        assert_eq!(usdt_base("BTC-USDT-SWAP"), None);
        assert_eq!(usdt_base("X-Y-USDT"), None);
        assert_eq!(usdt_base("-USDT"), None);
    }
}
