//! The generic WebSocket session every streaming feed runs: connect, subscribe, app-level pings,
//! answer server pings, idle watchdog, scheduled reconnect before a venue's connection lifetime,
//! capped jittered backoff, fallback URLs, and a [`FeedMsg::Status`] for every transition.
//!
//! A venue module only supplies a `parse` function and the constants of its protocol; the session
//! never knows a venue's field names.
//!
//! Liveness depends on the stream's [`StreamClass`] (SPEC §7): a ticker stream must carry data
//! (no events for `idle_timeout` = stale, reconnect); a liquidation stream runs a stateful
//! [`LiqParser`](crate::feed::liq::LiqParser), may be `quiet`, and is suspect-silent only when
//! nothing alive came at all (module `liquidation`).

mod conn;
mod liquidation;

pub use liquidation::{HEARTBEAT_REPORT, LiqStream, ParserFactory, quiet_detail, silent_detail};

use std::time::Duration;

use rand::SeedableRng;
use rand::rngs::StdRng;
use tokio::sync::{mpsc, watch};
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use self::conn::{ConnSpec, connect_and_drive};
use self::liquidation::LiqRun;
use super::backoff::Backoff;
use super::{FeedMsg, ParseError, Parsed};
use crate::clock::now_ms;
use crate::model::{FeedId, FeedState, Millis};
use crate::record::Recorder;

/// A venue's frame parser.
pub type ParseFn = fn(&[u8], Millis) -> Result<Parsed, ParseError>;

/// After this many consecutive attempts that never delivered data, try the next URL.
const FALLBACK_AFTER: u32 = 3;
/// After this many consecutive failed attempts the feed is reported `down` (it keeps retrying).
const DOWN_AFTER: u32 = 5;
/// Longest payload quoted in a debug log line.
const LOG_PAYLOAD_CHARS: usize = 200;

/// An application-level keep-alive message the venue requires (Upbit `PING`, Bybit `{"op":"ping"}`).
#[derive(Debug, Clone)]
pub struct AppPing {
    pub interval: Duration,
    pub message: Message,
}

/// What a stream carries, which decides how its frames are parsed and how its liveness is judged.
#[derive(Debug, Clone)]
pub enum StreamClass {
    /// Must carry data: frames go through [`SessionSpec::parse`]; a frame with events resets the
    /// idle watchdog.
    Ticker,
    /// May be quiet: frames go through the stream's stateful parser (`parse` is not used); any
    /// alive frame resets the watchdog; `live`/`quiet`/suspect-silent as in [`LiqStream`].
    Liquidation(LiqStream),
}

/// Everything that makes one stream's session.
#[derive(Debug, Clone)]
pub struct SessionSpec {
    pub feed: FeedId,
    /// Primary URL first, then fallbacks in order.
    pub urls: Vec<String>,
    /// The frame parser of a [`StreamClass::Ticker`] stream.
    pub parse: ParseFn,
    pub app_ping: Option<AppPing>,
    /// A ticker stream with no data for this long is stale: reconnect. A liquidation stream with
    /// no alive frame for this long is stale — suspect-silent when none came since connecting.
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
    pub class: StreamClass,
    /// Where every frame and connection goes when recording (`--record`).
    pub recorder: Option<Recorder>,
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
    /// A liquidation stream delivered nothing alive since connecting.
    Silent,
    Lifetime,
    Closed(String),
    Failed(String),
    Control(&'static str),
}

impl End {
    fn describe(&self, spec: &SessionSpec) -> String {
        match self {
            End::Cancelled => "cancelled".into(),
            End::Stale if matches!(spec.class, StreamClass::Liquidation(_)) => format!(
                "no data or heartbeat for {}",
                liquidation::human(spec.idle_timeout)
            ),
            End::Stale => format!("no data for {} s", spec.idle_timeout.as_secs()),
            End::Silent => match &spec.class {
                StreamClass::Liquidation(l) => silent_detail(l.url_key),
                StreamClass::Ticker => "connected but silent".into(),
            },
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
    let tap = spec.recorder.clone().map(|r| {
        let session = r.next_session();
        (r, session)
    });
    let mut liq = match &spec.class {
        StreamClass::Ticker => None,
        StreamClass::Liquidation(stream) => Some(LiqRun::new(spec.feed, stream)),
    };
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
        let conn = ConnSpec {
            url: &url,
            on_fallback: url_idx > 0,
            liq: liq.as_mut(),
            tap: tap.as_ref(),
        };
        let outcome = connect_and_drive(&mut spec, conn, &tx, &cancel).await;
        if let Some(live) = &spec.live {
            // Notify only on a real change: every failed attempt re-sending `false` would restart
            // a fallback's grace period, and with retries faster than the grace it never ends.
            live.send_if_modified(|is_live| std::mem::replace(is_live, false));
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
        if matches!(outcome.end, End::Stale | End::Silent)
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

/// A payload cut at a char boundary for logging.
pub(crate) fn truncate(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes)
        .chars()
        .take(LOG_PAYLOAD_CHARS)
        .collect()
}
