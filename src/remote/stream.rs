//! One link to the server: connect, read and merge messages, resync on a `seq` gap, and
//! reconnect with backoff until cancelled.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use rand::SeedableRng;
use rand::rngs::StdRng;
use tokio::time::{Instant, MissedTickBehavior};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_util::sync::CancellationToken;

use super::apply::Envelope;
use super::{SharedState, lock};
use crate::clock::now_ms;
use crate::feed::backoff::Backoff;

/// How long a WebSocket handshake may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How often we ping the server.
const PING_EVERY: Duration = Duration::from_secs(15);
/// Nothing at all (not even a pong) for this long: the link is dead.
const SILENT_AFTER: Duration = Duration::from_secs(45);
/// The text that asks the server for a fresh snapshot.
const RESYNC: &str = r#"{"type":"snapshot"}"#;

/// Which of the server's streams a link reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Prices,
    Liquidations,
}

impl Kind {
    pub const ALL: [Kind; 2] = [Kind::Prices, Kind::Liquidations];

    /// The gateway path.
    #[must_use]
    pub fn path(self) -> &'static str {
        match self {
            Kind::Prices => "/ws/prices",
            Kind::Liquidations => "/ws/liquidations",
        }
    }

    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Kind::Prices => "prices",
            Kind::Liquidations => "liquidations",
        }
    }

    #[must_use]
    pub fn index(self) -> usize {
        self as usize
    }
}

/// Runs the link until `cancel` fires.
pub async fn run(
    kind: Kind,
    url: String,
    token: Option<String>,
    shared: SharedState,
    cancel: CancellationToken,
) {
    let mut backoff = Backoff::new(StdRng::from_os_rng()).with_limits(
        crate::feed::backoff::INITIAL_DELAY,
        crate::feed::backoff::MAX_DELAY,
        crate::feed::backoff::HEALTHY_RESET,
    );
    loop {
        let mut live_since = None;
        let result = connection(
            kind,
            &url,
            token.as_deref(),
            &shared,
            &cancel,
            &mut live_since,
        )
        .await;
        if cancel.is_cancelled() {
            return;
        }
        let error = match result {
            Ok(()) => "connection ended".to_string(),
            Err(e) => e,
        };
        tracing::warn!(stream = kind.name(), url, "remote link: {error}");
        {
            let mut s = lock(&shared);
            s.health.failed(kind, &error, now_ms());
            s.touch([]);
        }
        let healthy_for = live_since.map_or(Duration::ZERO, |t: Instant| t.elapsed());
        let delay = backoff.next_delay(healthy_for);
        tokio::select! {
            () = cancel.cancelled() => return,
            () = tokio::time::sleep(delay) => {}
        }
    }
}

/// One connection: returns when it ends (`Err` with the reason) or `cancel` fires (`Ok`).
async fn connection(
    kind: Kind,
    url: &str,
    token: Option<&str>,
    shared: &SharedState,
    cancel: &CancellationToken,
    live_since: &mut Option<Instant>,
) -> Result<(), String> {
    let mut request = url
        .into_client_request()
        .map_err(|e| format!("bad URL {url}: {e}"))?;
    if let Some(token) = token {
        let value = HeaderValue::from_str(&format!("Bearer {token}"))
            .map_err(|_| "the API token is not a valid header value".to_string())?;
        request.headers_mut().insert("authorization", value);
    }
    let connect = tokio::time::timeout(CONNECT_TIMEOUT, tokio_tungstenite::connect_async(request));
    let (mut ws, _) = tokio::select! {
        () = cancel.cancelled() => return Ok(()),
        r = connect => r
            .map_err(|_| format!("connect timed out after {} s", CONNECT_TIMEOUT.as_secs()))?
            .map_err(|e| format!("connect failed: {e}"))?,
    };
    tracing::info!(stream = kind.name(), url, "remote link connected");
    let mut ping = tokio::time::interval(PING_EVERY);
    ping.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut last_rx = Instant::now();
    let mut last_seq: Option<u64> = None;
    loop {
        let frame = tokio::select! {
            () = cancel.cancelled() => {
                let _ = ws.close(None).await;
                return Ok(());
            }
            _ = ping.tick() => {
                if last_rx.elapsed() > SILENT_AFTER {
                    return Err(format!("silent for {} s", SILENT_AFTER.as_secs()));
                }
                ws.send(Message::Ping(Vec::new().into())).await.map_err(|e| e.to_string())?;
                continue;
            }
            frame = ws.next() => frame,
        };
        last_rx = Instant::now();
        let text = match frame {
            None => return Err("connection ended".to_string()),
            Some(Err(e)) => return Err(e.to_string()),
            Some(Ok(Message::Text(text))) => text,
            Some(Ok(Message::Close(frame))) => {
                let why = frame.map_or_else(String::new, |f| format!(" ({} {})", f.code, f.reason));
                return Err(format!("closed by the server{why}"));
            }
            Some(Ok(_)) => continue,
        };
        let msg: Envelope = match serde_json::from_str(&text) {
            Ok(m) => m,
            Err(e) => {
                tracing::debug!(stream = kind.name(), "unreadable message: {e}");
                continue;
            }
        };
        let gap = last_seq.is_some_and(|s| msg.seq != s + 1);
        last_seq = Some(msg.seq);
        if handle(kind, msg, shared, live_since) && gap {
            tracing::info!(stream = kind.name(), "seq gap: asking for a fresh snapshot");
            ws.send(Message::text(RESYNC))
                .await
                .map_err(|e| e.to_string())?;
        }
    }
}

/// Applies one message; returns whether a `seq` gap before it matters (it was not a snapshot).
fn handle(
    kind: Kind,
    msg: super::apply::Envelope,
    shared: &SharedState,
    live_since: &mut Option<Instant>,
) -> bool {
    let now = now_ms();
    let mut s = lock(shared);
    s.health.message(now);
    match s.merged.apply(kind, msg) {
        Ok(applied) => {
            if applied.snapshot {
                s.health.live(kind, now);
                live_since.get_or_insert_with(Instant::now);
            }
            if let Some(liq) = applied.liquidation {
                s.announce(liq);
            }
            s.touch(applied.coins);
            !applied.snapshot
        }
        Err(e) => {
            tracing::debug!(
                stream = kind.name(),
                "message with an unexpected shape: {e}"
            );
            s.touch([]);
            true
        }
    }
}
