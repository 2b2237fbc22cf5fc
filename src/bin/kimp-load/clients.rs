//! Many WebSocket clients against one stream: each reads everything, notes the first `snapshot`,
//! and while recording measures every `update` and `liquidation` message's delivery latency from
//! the publish time the §6.1 envelope carries (`ts_ms`, epoch milliseconds taken when the hub
//! serialised the message, so a latency reads up to 1 ms high).

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context as _;
use futures_util::StreamExt;
use tokio::net::TcpSocket;
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_util::sync::CancellationToken;

/// Handshakes in flight at once (the listen backlog is 1,024).
const CONNECTING: usize = 256;
/// Loopback source addresses the clients spread over, so ephemeral ports never run short.
const SOURCES: u8 = 8;

/// What every client shares with the driver.
#[derive(Default)]
pub struct Shared {
    /// Latencies are noted only while this is set.
    pub recording: AtomicBool,
    pub stop: CancellationToken,
    /// Clients that received their first snapshot.
    pub snapshots: AtomicUsize,
    /// Clients whose connection failed or closed early.
    pub failed: AtomicUsize,
}

/// One client's account when it stops.
#[derive(Debug, Default)]
pub struct Tally {
    /// Delivery latencies in microseconds of the messages received while recording.
    pub latencies_us: Vec<u32>,
    /// `update` messages received while recording.
    pub updates: u64,
    /// `liquidation` messages received while recording.
    pub liquidations: u64,
    /// `snapshot` messages after the first (resyncs).
    pub resyncs: u64,
}

/// Connects `n` clients to `ws://127.0.0.1:{port}{path}`; returns once every handshake finished.
pub async fn connect(
    n: usize,
    port: u16,
    path: &str,
    shared: &Arc<Shared>,
) -> anyhow::Result<Vec<JoinHandle<Tally>>> {
    let gate = Arc::new(Semaphore::new(CONNECTING));
    let mut handshakes = Vec::with_capacity(n);
    for i in 0..n {
        let permit = Arc::clone(&gate).acquire_owned().await?;
        let url = format!("ws://127.0.0.1:{port}{path}");
        let source = Ipv4Addr::new(127, 0, 0, 1 + u8::try_from(i % usize::from(SOURCES))?);
        handshakes.push(tokio::spawn(async move {
            let ws = open(&url, source, port).await;
            drop(permit);
            ws
        }));
    }
    let mut clients = Vec::with_capacity(n);
    for h in handshakes {
        let ws = h.await?.context("a client could not connect")?;
        let shared = Arc::clone(shared);
        clients.push(tokio::spawn(read_all(ws, shared)));
    }
    Ok(clients)
}

type Ws = tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>;

async fn open(url: &str, source: Ipv4Addr, port: u16) -> anyhow::Result<Ws> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(SocketAddr::from((source, 0)))?;
    let stream = socket
        .connect(SocketAddr::from(([127, 0, 0, 1], port)))
        .await?;
    // Small buffers: ten thousand clients live in this process.
    let config = WebSocketConfig::default()
        .read_buffer_size(16 * 1024)
        .write_buffer_size(0);
    let (ws, _) = tokio_tungstenite::client_async_with_config(url, stream, Some(config)).await?;
    Ok(ws)
}

async fn read_all(mut ws: Ws, shared: Arc<Shared>) -> Tally {
    let mut tally = Tally::default();
    let mut seen_snapshot = false;
    loop {
        let msg = tokio::select! {
            () = shared.stop.cancelled() => break,
            msg = ws.next() => msg,
        };
        let text = match msg {
            Some(Ok(Message::Text(text))) => text,
            Some(Ok(_)) => continue,
            Some(Err(_)) | None => {
                shared.failed.fetch_add(1, Ordering::Relaxed);
                break;
            }
        };
        let (kind, ts_ms) = envelope(&text);
        match kind {
            "snapshot" if !seen_snapshot => {
                seen_snapshot = true;
                shared.snapshots.fetch_add(1, Ordering::Relaxed);
            }
            "snapshot" => tally.resyncs += 1,
            "update" | "liquidation" if shared.recording.load(Ordering::Relaxed) => {
                if kind == "update" {
                    tally.updates += 1;
                } else {
                    tally.liquidations += 1;
                }
                if let Some(ts) = ts_ms {
                    tally.latencies_us.push(latency_us(ts));
                }
            }
            _ => {}
        }
    }
    let _ = ws.close(None).await;
    tally
}

/// `type` and `ts_ms` from the head of a §6.1 message without parsing its data.
fn envelope(text: &str) -> (&str, Option<i64>) {
    let field = |key: &str| {
        let start = text.find(key)? + key.len();
        text.get(start..)
    };
    let kind = field("\"type\":\"")
        .and_then(|rest| rest.split('"').next())
        .unwrap_or("");
    let ts = field("\"ts_ms\":").and_then(|rest| {
        let digits = rest.split(|c: char| !c.is_ascii_digit()).next()?;
        digits.parse().ok()
    });
    (kind, ts)
}

fn latency_us(ts_ms: i64) -> u32 {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_micros();
    let sent = u128::try_from(ts_ms).unwrap_or(0) * 1_000;
    u32::try_from(now.saturating_sub(sent)).unwrap_or(u32::MAX)
}

/// Stops every client and sums their tallies; also each client's `liquidation` count.
pub async fn finish(shared: &Shared, clients: Vec<JoinHandle<Tally>>) -> (Tally, Vec<u64>) {
    shared.stop.cancel();
    let mut all = Tally::default();
    let mut per_client = Vec::with_capacity(clients.len());
    for c in clients {
        if let Ok(t) = c.await {
            per_client.push(t.liquidations);
            all.latencies_us.extend(t.latencies_us);
            all.updates += t.updates;
            all.liquidations += t.liquidations;
            all.resyncs += t.resyncs;
        }
    }
    (all, per_client)
}

/// Latency percentiles in milliseconds: p50, p90, p99, p99.9, max.
#[derive(Debug, Clone, Copy, Default)]
pub struct Percentiles {
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub p999: f64,
    pub max: f64,
    pub samples: usize,
}

pub fn percentiles(mut us: Vec<u32>) -> Percentiles {
    us.sort_unstable();
    let at = |q: f64| -> f64 {
        if us.is_empty() {
            return f64::NAN;
        }
        let i = ((us.len() - 1) as f64 * q).round();
        // `i` is within 0..len by construction.
        let i = i.clamp(0.0, (us.len() - 1) as f64);
        #[expect(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "clamped"
        )]
        let v = us[i as usize];
        f64::from(v) / 1_000.0
    };
    Percentiles {
        p50: at(0.50),
        p90: at(0.90),
        p99: at(0.99),
        p999: at(0.999),
        max: at(1.0),
        samples: us.len(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelope_reads_type_and_ts() {
        let (kind, ts) = envelope(r#"{"seq":3,"type":"update","ts_ms":1790640000123,"data":{}}"#);
        assert_eq!(kind, "update");
        assert_eq!(ts, Some(1_790_640_000_123));
    }

    #[test]
    fn percentiles_of_a_known_list() {
        let p = percentiles((1..=1_000).map(|v| v * 1_000).collect());
        assert!((p.p50 - 500.0).abs() <= 1.0);
        assert!((p.p99 - 990.0).abs() <= 1.0);
        assert!((p.max - 1_000.0).abs() < f64::EPSILON);
    }
}
