//! One connection of a session: connect, subscribe, then the read loop over next frame, app-level
//! ping, idle watchdog, quiet timer (liquidation streams), lifetime deadline, subscription changes
//! and `cancel`.

use std::time::Duration;

use futures_util::{Sink, SinkExt, Stream, StreamExt};
use tokio::sync::{mpsc, watch};
use tokio::time::{Instant, MissedTickBehavior};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_util::sync::CancellationToken;
use tracing::{debug, info};

use super::liquidation::LiqRun;
use super::{End, Outcome, ParseFn, SessionSpec, StreamClass, Subscriptions, truncate};
use crate::clock::now_ms;
use crate::feed::{Control, FeedMsg, Parsed};
use crate::model::{FeedId, FeedState};
use crate::record::Recorder;

/// How long a fallback URL is used before the primary is tried again.
const PRIMARY_RETRY: Duration = Duration::from_secs(600);
/// A deadline that never comes (100 years).
const NEVER: Duration = Duration::from_secs(100 * 365 * 86_400);

/// Where and how to connect this time.
pub(super) struct ConnSpec<'a> {
    pub(super) url: &'a str,
    pub(super) on_fallback: bool,
    /// The liquidation class's state (kept across connections by the session).
    pub(super) liq: Option<&'a mut LiqRun>,
    /// The recording and this session's id in it.
    pub(super) tap: Option<&'a (Recorder, u64)>,
}

/// Client socket settings: venue frames are large (Binance all-market arrays ~300 KB).
fn ws_config() -> WebSocketConfig {
    // tungstenite zeroes `read_buffer_size` bytes before every socket read (128 KiB by default):
    // most frames here are a few hundred bytes. Bigger frames still fit, the buffer grows to them.
    WebSocketConfig::default()
        .read_buffer_size(16 * 1024)
        .max_message_size(Some(16 << 20))
        .max_frame_size(Some(16 << 20))
}

pub(super) async fn connect_and_drive(
    spec: &mut SessionSpec,
    conn: ConnSpec<'_>,
    tx: &mpsc::Sender<FeedMsg>,
    cancel: &CancellationToken,
) -> Outcome {
    let ConnSpec {
        url,
        on_fallback,
        liq,
        tap,
    } = conn;
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
    if let Some((recorder, session)) = tap {
        recorder.open(spec.feed, *session);
    }
    let lifetime = if on_fallback {
        Some(
            spec.lifetime
                .map_or(PRIMARY_RETRY, |l| l.min(PRIMARY_RETRY)),
        )
    } else {
        spec.lifetime
    };
    let mut conn = Conn {
        feed: spec.feed,
        parse: spec.parse,
        live: spec.live.clone(),
        live_since: None,
        liq,
        tap,
    };
    let end = conn.run(&mut ws, spec, lifetime, tx, cancel).await;
    // Best effort: a polite close; the venue may already be gone.
    let _ = tokio::time::timeout(Duration::from_secs(1), ws.close(None)).await;
    Outcome {
        end,
        healthy_for: conn.live_since.map_or(Duration::ZERO, |t| t.elapsed()),
    }
}

fn failed(why: String) -> Outcome {
    Outcome {
        end: End::Failed(why),
        healthy_for: Duration::ZERO,
    }
}

/// Per-connection state of the read loop.
struct Conn<'a> {
    feed: FeedId,
    parse: ParseFn,
    live: Option<watch::Sender<bool>>,
    /// Since the first frame with data (ticker) or the first alive frame (liquidations).
    live_since: Option<Instant>,
    liq: Option<&'a mut LiqRun>,
    tap: Option<&'a (Recorder, u64)>,
}

/// Timers of one connection.
struct Timers {
    idle: std::pin::Pin<Box<tokio::time::Sleep>>,
    /// Armed only while a liquidation stream is `live`.
    quiet: std::pin::Pin<Box<tokio::time::Sleep>>,
    quiet_armed: bool,
    deadline: std::pin::Pin<Box<tokio::time::Sleep>>,
    ping: tokio::time::Interval,
}

/// Delay of the first app ping on a liquidation stream (after the subscribe frames are out).
const FIRST_LIQUIDATION_PING: Duration = Duration::from_millis(500);

impl Timers {
    fn new(spec: &SessionSpec, lifetime: Option<Duration>) -> Self {
        let ping_every = spec
            .app_ping
            .as_ref()
            .map_or(Duration::from_secs(3600), |p| p.interval);
        // A liquidation stream may carry nothing for minutes: ping at once after subscribing, so
        // the first pong proves the connection answers instead of reading `connecting` for a
        // whole ping interval.
        let first = if matches!(spec.class, StreamClass::Liquidation(_)) {
            FIRST_LIQUIDATION_PING
        } else {
            ping_every
        };
        let mut ping = tokio::time::interval_at(Instant::now() + first, ping_every);
        ping.set_missed_tick_behavior(MissedTickBehavior::Delay);
        Timers {
            idle: Box::pin(tokio::time::sleep(spec.idle_timeout)),
            quiet: Box::pin(tokio::time::sleep(NEVER)),
            quiet_armed: false,
            deadline: Box::pin(tokio::time::sleep(lifetime.unwrap_or(NEVER))),
            ping,
        }
    }
}

impl Conn<'_> {
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
        if let Some(liq) = self.liq.as_mut() {
            liq.new_connection();
        }
        if let Err(e) = send_subscriptions(ws, spec.subscriptions.as_mut()).await {
            return End::Failed(format!("subscribe failed: {e}"));
        }
        let mut t = Timers::new(spec, lifetime);
        let mut subs = spec.subscriptions.clone();
        loop {
            tokio::select! {
                () = cancel.cancelled() => return End::Cancelled,
                () = &mut t.idle => return self.idle_end(),
                () = &mut t.deadline => return End::Lifetime,
                () = &mut t.quiet, if t.quiet_armed => {
                    t.quiet_armed = false;
                    if let Some(liq) = self.liq.as_mut()
                        && tx.send(liq.go_quiet(now_ms())).await.is_err()
                    {
                        return End::Cancelled;
                    }
                }
                _ = t.ping.tick(), if spec.app_ping.is_some() => {
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
                        Step::Continue { data } => self.after_frame(data, spec, &mut t),
                        Step::End(end) => return end,
                    },
                },
            }
        }
    }

    /// Why the idle watchdog fired: a liquidation stream that was never alive is suspect-silent.
    fn idle_end(&self) -> End {
        if self.liq.is_some() && self.live_since.is_none() {
            End::Silent
        } else {
            End::Stale
        }
    }

    /// Resets the watchdog after data (or an alive frame) and re-arms the quiet timer.
    fn after_frame(&self, data: bool, spec: &SessionSpec, t: &mut Timers) {
        if data {
            t.idle.as_mut().reset(Instant::now() + spec.idle_timeout);
        }
        match self.liq.as_ref().and_then(|l| l.quiet_deadline()) {
            Some(at) => {
                if !t.quiet_armed || t.quiet.deadline() != at {
                    t.quiet.as_mut().reset(at);
                }
                t.quiet_armed = true;
            }
            None => t.quiet_armed = false,
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
        if let Some((recorder, session)) = self.tap {
            recorder.ws(self.feed, *session, bytes);
        }
        if self.liq.is_some() {
            self.on_liq_frame(bytes, tx).await
        } else {
            self.on_ticker_frame(bytes, tx).await
        }
    }

    async fn on_liq_frame(&mut self, bytes: &[u8], tx: &mpsc::Sender<FeedMsg>) -> Step {
        let Some(liq) = self.liq.as_mut() else {
            return Step::Continue { data: false };
        };
        let frame = liq.on_frame(bytes, now_ms());
        if let Some(why) = frame.reconnect {
            return Step::End(End::Control(why));
        }
        if frame.alive {
            self.mark_live();
        }
        for msg in frame.msgs {
            if tx.send(msg).await.is_err() {
                return Step::End(End::Cancelled);
            }
        }
        Step::Continue { data: frame.alive }
    }

    /// The first delivering frame of this connection: healthy from now, `live` watchers told.
    /// True when it was the first.
    fn mark_live(&mut self) -> bool {
        if self.live_since.is_some() {
            return false;
        }
        self.live_since = Some(Instant::now());
        if let Some(live) = &self.live {
            live.send_replace(true);
        }
        true
    }

    async fn on_ticker_frame(&mut self, bytes: &[u8], tx: &mpsc::Sender<FeedMsg>) -> Step {
        let received = now_ms();
        let msg = match (self.parse)(bytes, received) {
            Ok(Parsed::Events(events)) => {
                let data = !events.is_empty();
                if data && self.mark_live() {
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
    /// `data`: the frame resets the idle watchdog (events, or an alive liquidation-stream frame).
    Continue {
        data: bool,
    },
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
