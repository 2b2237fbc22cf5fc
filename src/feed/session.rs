//! The generic WebSocket session every streaming feed runs: connect, subscribe, app-level pings,
//! answer server pings, idle watchdog, scheduled reconnect before a venue's connection lifetime,
//! capped jittered backoff, fallback URLs, and a [`FeedMsg::Status`] for every transition.
//!
//! A venue module only supplies a `parse` function and the constants of its protocol; the session
//! never knows a venue's field names.

use std::time::Duration;

use futures_util::{Sink, SinkExt, Stream, StreamExt};
use rand::SeedableRng;
use rand::rngs::StdRng;
use tokio::sync::{mpsc, watch};
use tokio::time::{Instant, MissedTickBehavior};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use super::backoff::Backoff;
use super::{Control, FeedMsg, ParseError, Parsed};
use crate::clock::now_ms;
use crate::model::{FeedId, FeedState, Millis};

/// A venue's frame parser.
pub type ParseFn = fn(&[u8], Millis) -> Result<Parsed, ParseError>;

/// After this many consecutive attempts that never delivered data, try the next URL.
const FALLBACK_AFTER: u32 = 3;
/// After this many consecutive failed attempts the feed is reported `down` (it keeps retrying).
const DOWN_AFTER: u32 = 5;
/// How long a fallback URL is used before the primary is tried again.
const PRIMARY_RETRY: Duration = Duration::from_secs(600);
/// Longest payload quoted in a debug log line.
const LOG_PAYLOAD_CHARS: usize = 200;

/// An application-level keep-alive message the venue requires (Upbit `PING`, Bybit `{"op":"ping"}`).
#[derive(Debug, Clone)]
pub struct AppPing {
    pub interval: Duration,
    pub message: Message,
}

/// Everything that makes one stream's session.
#[derive(Debug, Clone)]
pub struct SessionSpec {
    pub feed: FeedId,
    /// Primary URL first, then fallbacks in order.
    pub urls: Vec<String>,
    pub parse: ParseFn,
    pub app_ping: Option<AppPing>,
    /// A ticker stream with no data for this long is stale: reconnect.
    pub idle_timeout: Duration,
    /// Reconnect on schedule before the venue's connection lifetime ends.
    pub lifetime: Option<Duration>,
    /// What to subscribe after connecting. `None`: the URL itself subscribes.
    pub subscriptions: Option<Subscriptions>,
    pub connect_timeout: Duration,
    /// Set to `true` while a connection delivers data and `false` when it ends: a REST fallback
    /// poller watches it and polls only while the stream is not live.
    pub live: Option<watch::Sender<bool>>,
    /// Backoff limits: initial, max, healthy period that resets it.
    pub backoff: (Duration, Duration, Duration),
}

/// A live list of items (market codes) and how to turn it into the venue's subscribe frames.
///
/// When the list is empty the session waits before connecting; a change while connected sends the
/// full new subscription at once (Upbit and Bithumb replace the old subscription with a new one).
#[derive(Debug, Clone)]
pub struct Subscriptions {
    pub items: watch::Receiver<Vec<String>>,
    pub frames: fn(&[String]) -> Vec<String>,
}

/// Why a connection ended.
#[derive(Debug, Clone, PartialEq, Eq)]
enum End {
    Cancelled,
    Stale,
    Lifetime,
    Closed(String),
    Failed(String),
    Control(&'static str),
}

impl End {
    fn describe(&self, spec: &SessionSpec) -> String {
        match self {
            End::Cancelled => "cancelled".into(),
            End::Stale => format!("no data for {} s", spec.idle_timeout.as_secs()),
            End::Lifetime => "scheduled reconnect before the connection lifetime".into(),
            End::Closed(why) => format!("closed by venue: {why}"),
            End::Failed(why) => why.clone(),
            End::Control(why) => format!("venue asked to reconnect: {why}"),
        }
    }
}

/// What one connection achieved, for backoff and fallback decisions.
struct Outcome {
    end: End,
    /// How long the connection delivered data (zero if it never did).
    healthy_for: Duration,
}

/// Runs the session until `cancel` fires or the receiver of `tx` is gone.
pub async fn run(mut spec: SessionSpec, tx: mpsc::Sender<FeedMsg>, cancel: CancellationToken) {
    let (initial, max, healthy) = spec.backoff;
    let mut backoff = Backoff::new(StdRng::from_os_rng()).with_limits(initial, max, healthy);
    let mut url_idx = 0usize;
    let mut failures = 0u32;
    loop {
        if !wait_for_subscriptions(&mut spec, &cancel).await {
            return;
        }
        let url = spec.urls.get(url_idx).cloned().unwrap_or_default();
        // A feed that is down stays reported down while it keeps retrying.
        if failures < DOWN_AFTER
            && !status(
                &tx,
                spec.feed,
                FeedState::Connecting,
                Some(format!("connecting to {url}")),
            )
            .await
        {
            return;
        }
        let outcome = connect_and_drive(&mut spec, &url, url_idx > 0, &tx, &cancel).await;
        if let Some(live) = &spec.live {
            live.send_replace(false);
        }
        if outcome.end == End::Cancelled {
            return;
        }
        let why = outcome.end.describe(&spec);
        if outcome.healthy_for > Duration::ZERO {
            failures = 0;
        } else {
            failures += 1;
        }
        if outcome.end == End::Stale
            && !status(&tx, spec.feed, FeedState::Stale, Some(why.clone())).await
        {
            return;
        }
        if url_idx > 0 && outcome.end == End::Lifetime {
            info!(feed = spec.feed, "retrying the primary URL");
            url_idx = 0;
        } else if failures >= FALLBACK_AFTER
            && spec.urls.len() > 1
            && failures.is_multiple_of(FALLBACK_AFTER)
        {
            url_idx = (url_idx + 1) % spec.urls.len();
            warn!(feed = spec.feed, url = %spec.urls.get(url_idx).map_or("", String::as_str), "switching URL");
        }
        let state = if failures >= DOWN_AFTER {
            FeedState::Down
        } else {
            FeedState::Reconnecting
        };
        warn!(feed = spec.feed, attempt = failures, reason = %why, "connection ended");
        if !status(&tx, spec.feed, state, Some(why)).await {
            return;
        }
        let delay = backoff.next_delay(outcome.healthy_for);
        tokio::select! {
            () = cancel.cancelled() => return,
            () = tokio::time::sleep(delay) => {}
        }
    }
}

/// Waits until a subscription list exists (for venues that need one). False when cancelled.
async fn wait_for_subscriptions(spec: &mut SessionSpec, cancel: &CancellationToken) -> bool {
    let Some(Subscriptions { items: subs, .. }) = spec.subscriptions.as_mut() else {
        return true;
    };
    loop {
        if !subs.borrow_and_update().is_empty() {
            return true;
        }
        tokio::select! {
            () = cancel.cancelled() => return false,
            changed = subs.changed() => if changed.is_err() { return false },
        }
    }
}

async fn status(
    tx: &mpsc::Sender<FeedMsg>,
    feed: FeedId,
    state: FeedState,
    detail: Option<String>,
) -> bool {
    tx.send(FeedMsg::Status {
        feed,
        state,
        at_ms: now_ms(),
        detail,
    })
    .await
    .is_ok()
}

/// Client socket settings: venue frames are large (Binance all-market arrays ~300 KB).
fn ws_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .max_message_size(Some(16 << 20))
        .max_frame_size(Some(16 << 20))
}

async fn connect_and_drive(
    spec: &mut SessionSpec,
    url: &str,
    on_fallback: bool,
    tx: &mpsc::Sender<FeedMsg>,
    cancel: &CancellationToken,
) -> Outcome {
    let connect = tokio_tungstenite::connect_async_with_config(url, Some(ws_config()), false);
    let connected = tokio::select! {
        () = cancel.cancelled() => return Outcome { end: End::Cancelled, healthy_for: Duration::ZERO },
        r = tokio::time::timeout(spec.connect_timeout, connect) => r,
    };
    let mut ws = match connected {
        Ok(Ok((ws, _resp))) => ws,
        Ok(Err(e)) => return failed(format!("connect failed: {e}")),
        Err(_) => {
            return failed(format!(
                "connect timed out after {} s",
                spec.connect_timeout.as_secs()
            ));
        }
    };
    info!(feed = spec.feed, url, "connected");
    let lifetime = if on_fallback {
        Some(
            spec.lifetime
                .map_or(PRIMARY_RETRY, |l| l.min(PRIMARY_RETRY)),
        )
    } else {
        spec.lifetime
    };
    let outcome = drive(&mut ws, spec, lifetime, tx, cancel).await;
    // Best effort: a polite close; the venue may already be gone.
    let _ = tokio::time::timeout(Duration::from_secs(1), ws.close(None)).await;
    outcome
}

fn failed(why: String) -> Outcome {
    Outcome {
        end: End::Failed(why),
        healthy_for: Duration::ZERO,
    }
}

/// The read loop over any WebSocket-shaped stream (tests drive it with loopback sockets).
async fn drive<S>(
    ws: &mut S,
    spec: &mut SessionSpec,
    lifetime: Option<Duration>,
    tx: &mpsc::Sender<FeedMsg>,
    cancel: &CancellationToken,
) -> Outcome
where
    S: Stream<Item = Result<Message, WsError>> + Sink<Message, Error = WsError> + Unpin,
{
    let mut conn = Conn {
        feed: spec.feed,
        parse: spec.parse,
        live: spec.live.clone(),
        live_since: None,
    };
    let end = conn.run(ws, spec, lifetime, tx, cancel).await;
    Outcome {
        end,
        healthy_for: conn.live_since.map_or(Duration::ZERO, |t| t.elapsed()),
    }
}

/// Per-connection state of the read loop.
struct Conn {
    feed: FeedId,
    parse: ParseFn,
    live: Option<watch::Sender<bool>>,
    live_since: Option<Instant>,
}

impl Conn {
    async fn run<S>(
        &mut self,
        ws: &mut S,
        spec: &mut SessionSpec,
        lifetime: Option<Duration>,
        tx: &mpsc::Sender<FeedMsg>,
        cancel: &CancellationToken,
    ) -> End
    where
        S: Stream<Item = Result<Message, WsError>> + Sink<Message, Error = WsError> + Unpin,
    {
        if let Err(e) = send_subscriptions(ws, spec.subscriptions.as_mut()).await {
            return End::Failed(format!("subscribe failed: {e}"));
        }
        let ping_every = spec
            .app_ping
            .as_ref()
            .map_or(Duration::from_secs(3600), |p| p.interval);
        let mut ping = tokio::time::interval_at(Instant::now() + ping_every, ping_every);
        ping.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let idle = tokio::time::sleep(spec.idle_timeout);
        tokio::pin!(idle);
        let deadline =
            tokio::time::sleep(lifetime.unwrap_or(Duration::from_secs(100 * 365 * 86_400)));
        tokio::pin!(deadline);
        let mut subs = spec.subscriptions.clone();
        loop {
            tokio::select! {
                () = cancel.cancelled() => return End::Cancelled,
                () = &mut idle => return End::Stale,
                () = &mut deadline => return End::Lifetime,
                _ = ping.tick(), if spec.app_ping.is_some() => {
                    if let Some(p) = &spec.app_ping
                        && let Err(e) = ws.send(p.message.clone()).await
                    {
                        return End::Failed(format!("ping failed: {e}"));
                    }
                }
                changed = changed_subs(subs.as_mut()) => {
                    if !changed {
                        subs = None;
                    } else if let Err(e) = send_subscriptions(ws, subs.as_mut()).await {
                        return End::Failed(format!("resubscribe failed: {e}"));
                    }
                }
                frame = ws.next() => match frame {
                    None => return End::Closed("stream ended".into()),
                    Some(Err(e)) => return End::Failed(format!("read failed: {e}")),
                    Some(Ok(msg)) => match self.on_message(ws, msg, tx).await {
                        Step::Continue { data } => {
                            if data {
                                idle.as_mut().reset(Instant::now() + spec.idle_timeout);
                            }
                        }
                        Step::End(end) => return end,
                    },
                },
            }
        }
    }

    async fn on_message<S>(&mut self, ws: &mut S, msg: Message, tx: &mpsc::Sender<FeedMsg>) -> Step
    where
        S: Sink<Message, Error = WsError> + Unpin,
    {
        let bytes: &[u8] = match &msg {
            Message::Text(t) => t.as_bytes(),
            Message::Binary(b) => b,
            Message::Ping(_) => {
                // tungstenite queued the pong; flushing sends it now rather than on the next write.
                if let Err(e) = ws.flush().await {
                    return Step::End(End::Failed(format!("pong failed: {e}")));
                }
                return Step::Continue { data: false };
            }
            Message::Pong(_) | Message::Frame(_) => return Step::Continue { data: false },
            Message::Close(frame) => {
                let why = frame.as_ref().map_or_else(
                    || "no close frame".to_string(),
                    |f| format!("{} {}", f.code, f.reason),
                );
                return Step::End(End::Closed(why));
            }
        };
        let received = now_ms();
        let msg = match (self.parse)(bytes, received) {
            Ok(Parsed::Events(events)) => {
                let data = !events.is_empty();
                if data && self.live_since.is_none() {
                    self.live_since = Some(Instant::now());
                    if let Some(live) = &self.live {
                        live.send_replace(true);
                    }
                    let live = FeedMsg::Status {
                        feed: self.feed,
                        state: FeedState::Live,
                        at_ms: received,
                        detail: None,
                    };
                    if tx.send(live).await.is_err() {
                        return Step::End(End::Cancelled);
                    }
                }
                if tx
                    .send(FeedMsg::Events {
                        feed: self.feed,
                        events,
                    })
                    .await
                    .is_err()
                {
                    return Step::End(End::Cancelled);
                }
                return Step::Continue { data };
            }
            Ok(Parsed::Control(Control::Reconnect(why))) => return Step::End(End::Control(why)),
            Err(e) => {
                debug!(feed = self.feed, error = %e, payload = %truncate(bytes), "frame skipped");
                FeedMsg::ParseError {
                    feed: self.feed,
                    error: e.to_string(),
                }
            }
        };
        if tx.send(msg).await.is_err() {
            return Step::End(End::Cancelled);
        }
        Step::Continue { data: false }
    }
}

enum Step {
    Continue { data: bool },
    End(End),
}

/// Resolves when the subscription list changes (true) or its sender is gone (false); never
/// resolves when there is no list.
async fn changed_subs(subs: Option<&mut Subscriptions>) -> bool {
    match subs {
        Some(s) => s.items.changed().await.is_ok(),
        None => std::future::pending().await,
    }
}

async fn send_subscriptions<S>(ws: &mut S, subs: Option<&mut Subscriptions>) -> Result<(), WsError>
where
    S: Sink<Message, Error = WsError> + Unpin,
{
    let Some(subs) = subs else { return Ok(()) };
    let frames = (subs.frames)(&subs.items.borrow_and_update());
    for frame in frames {
        ws.send(Message::text(frame)).await?;
    }
    Ok(())
}

/// A payload cut at a char boundary for logging.
fn truncate(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes)
        .chars()
        .take(LOG_PAYLOAD_CHARS)
        .collect()
}
