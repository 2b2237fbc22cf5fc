//! Many WebSocket clients against one stream: each reads everything, notes the first `snapshot`,
//! and while recording measures every `update` and `liquidation` message's delivery latency from
//! the publish time the §6.1 envelope carries (`ts_ms`, epoch milliseconds taken when the hub
//! serialised the message, so a latency reads up to 1 ms high).
//!
//! The clients share the machine with the server, so they are kept lean, as a load generator
//! should be: after the opening handshake each reads raw frames straight off its socket and keeps
//! only the first [`HEAD`] bytes of a message (where `type` and `ts_ms` are), never building or
//! validating the whole text. With tungstenite messages the 100 burst clients (a million messages
//! a second) needed more CPU than the server and their own queueing became the measured latency.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context as _;
use anyhow::bail;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;
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

/// Bytes kept from the start of each message: `{"seq":N,"type":"…","ts_ms":T` fits.
const HEAD: usize = 96;
/// Socket reads per client go through a buffer of this size.
const READ_BUFFER: usize = 16 * 1024;

/// A connected client: its socket and whatever arrived after the handshake response.
struct Ws {
    stream: TcpStream,
    early: Vec<u8>,
}

async fn open(url: &str, source: Ipv4Addr, port: u16) -> anyhow::Result<Ws> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(SocketAddr::from((source, 0)))?;
    let mut stream = socket
        .connect(SocketAddr::from(([127, 0, 0, 1], port)))
        .await?;
    let path = url
        .split_once("://")
        .and_then(|(_, rest)| rest.find('/').and_then(|i| rest.get(i..)))
        .unwrap_or("/");
    let key = tokio_tungstenite::tungstenite::handshake::client::generate_key();
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n\
         Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await?;
    let mut response = Vec::with_capacity(512);
    let end = loop {
        let mut chunk = [0_u8; 1024];
        let got = stream.read(&mut chunk).await?;
        if got == 0 || response.len() > 16 * 1024 {
            bail!("the server closed during the handshake");
        }
        response.extend_from_slice(&chunk[..got]);
        if let Some(i) = response.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8_lossy(&response[..end]);
    let accept = tokio_tungstenite::tungstenite::handshake::derive_accept_key(key.as_bytes());
    if !head.starts_with("HTTP/1.1 101") || !head.contains(&accept) {
        bail!(
            "handshake refused: {}",
            head.lines().next().unwrap_or_default()
        );
    }
    Ok(Ws {
        stream,
        early: response[end..].to_vec(),
    })
}

/// Where the frame reader is within the byte stream.
#[derive(Default)]
struct Frames {
    header: [u8; 14],
    header_len: usize,
    /// Payload bytes of the current frame still to come (`None`: reading a header).
    remaining: Option<u64>,
    fin: bool,
    opcode: u8,
    /// The start of the current message (data frames) or the control frame's payload.
    head: Vec<u8>,
    control: Vec<u8>,
}

/// What a run of bytes held.
enum Event {
    /// A whole data message: its first [`HEAD`] bytes.
    Message(Vec<u8>),
    Ping(Vec<u8>),
    Close,
}

impl Frames {
    /// Feeds bytes; calls `on` for every message or control frame completed.
    fn feed(&mut self, mut bytes: &[u8], on: &mut impl FnMut(Event)) {
        while !bytes.is_empty() {
            let Some(remaining) = self.remaining else {
                self.header[self.header_len] = bytes[0];
                self.header_len += 1;
                bytes = &bytes[1..];
                self.header_done(on);
                continue;
            };
            let take = usize::try_from(remaining)
                .unwrap_or(usize::MAX)
                .min(bytes.len());
            let (part, rest) = bytes.split_at(take);
            if self.opcode >= 8 {
                self.control.extend_from_slice(part);
            } else {
                let room = HEAD.saturating_sub(self.head.len()).min(part.len());
                self.head.extend_from_slice(&part[..room]);
            }
            bytes = rest;
            self.remaining = Some(remaining - take as u64);
            if self.remaining == Some(0) {
                self.frame_done(on);
            }
        }
    }

    /// After each header byte: once the header is whole, starts the payload.
    fn header_done(&mut self, on: &mut impl FnMut(Event)) {
        let h = &self.header[..self.header_len];
        if h.len() < 2 {
            return;
        }
        let need =
            2 + match h[1] & 0x7f {
                126 => 2,
                127 => 8,
                _ => 0,
            } + if h[1] & 0x80 != 0 { 4 } else { 0 };
        if h.len() < need {
            return;
        }
        let len = match h[1] & 0x7f {
            126 => u64::from(u16::from_be_bytes([h[2], h[3]])),
            127 => u64::from_be_bytes([h[2], h[3], h[4], h[5], h[6], h[7], h[8], h[9]]),
            short => u64::from(short),
        };
        self.fin = h[0] & 0x80 != 0;
        let opcode = h[0] & 0x0f;
        if opcode != 0 {
            self.opcode = opcode;
        }
        self.header_len = 0;
        self.remaining = Some(len);
        if len == 0 {
            self.frame_done(on);
        }
    }

    fn frame_done(&mut self, on: &mut impl FnMut(Event)) {
        self.remaining = None;
        match self.opcode {
            8 => on(Event::Close),
            9 => on(Event::Ping(std::mem::take(&mut self.control))),
            10 => self.control.clear(),
            _ if self.fin => on(Event::Message(std::mem::take(&mut self.head))),
            _ => {}
        }
    }
}

/// A masked client frame (RFC 6455 §5.3): the mask is zero, which is allowed and keeps it simple.
fn client_frame(opcode: u8, payload: &[u8]) -> Vec<u8> {
    let mut f = vec![
        0x80 | opcode,
        0x80 | u8::try_from(payload.len().min(125)).unwrap_or(0),
    ];
    f.extend_from_slice(&[0; 4]);
    f.extend_from_slice(&payload[..payload.len().min(125)]);
    f
}

/// One client's reading state.
struct Reader {
    shared: Arc<Shared>,
    tally: Tally,
    seen_snapshot: bool,
    pongs: Vec<Vec<u8>>,
    closed: bool,
}

impl Reader {
    fn on(&mut self, event: Event) {
        match event {
            Event::Message(head) => self.message(&String::from_utf8_lossy(&head)),
            Event::Ping(payload) => self.pongs.push(payload),
            Event::Close => self.closed = true,
        }
    }

    fn message(&mut self, text: &str) {
        let (kind, ts_ms) = envelope(text);
        let tally = &mut self.tally;
        match kind {
            "snapshot" if !self.seen_snapshot => {
                self.seen_snapshot = true;
                self.shared.snapshots.fetch_add(1, Ordering::Relaxed);
            }
            "snapshot" => tally.resyncs += 1,
            "update" | "liquidation" if self.shared.recording.load(Ordering::Relaxed) => {
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
}

async fn read_all(ws: Ws, shared: Arc<Shared>) -> Tally {
    let Ws { mut stream, early } = ws;
    let mut frames = Frames::default();
    let mut buf = vec![0_u8; READ_BUFFER];
    let mut r = Reader {
        shared: Arc::clone(&shared),
        tally: Tally::default(),
        seen_snapshot: false,
        pongs: Vec::new(),
        closed: false,
    };
    frames.feed(&early, &mut |e| r.on(e));
    loop {
        let got = tokio::select! {
            () = shared.stop.cancelled() => break,
            got = stream.read(&mut buf) => got,
        };
        match got {
            Ok(0) | Err(_) => {
                shared.failed.fetch_add(1, Ordering::Relaxed);
                break;
            }
            Ok(n) => frames.feed(&buf[..n], &mut |e| r.on(e)),
        }
        for p in r.pongs.drain(..) {
            let _ = stream.write_all(&client_frame(10, &p)).await;
        }
        if r.closed {
            shared.failed.fetch_add(1, Ordering::Relaxed);
            break;
        }
    }
    let _ = stream.write_all(&client_frame(8, &[0x03, 0xe8])).await;
    r.tally
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
    fn frames_split_anywhere_give_the_same_messages() {
        // A fragmented text message (prefix, then two continuations), a short one and a ping.
        let mut wire = Vec::new();
        let mut frame = |b0: u8, payload: &[u8]| {
            wire.push(b0);
            if payload.len() < 126 {
                wire.push(u8::try_from(payload.len()).unwrap());
            } else {
                wire.push(126);
                wire.extend_from_slice(&u16::try_from(payload.len()).unwrap().to_be_bytes());
            }
            wire.extend_from_slice(payload);
        };
        let tail = format!(
            r#""type":"update","ts_ms":1790640000123,"data":"{}"}}"#,
            "x".repeat(300)
        );
        frame(0x01, br#"{"seq":7,"#);
        frame(0x00, &tail.as_bytes()[..200]);
        frame(0x80, &tail.as_bytes()[200..]);
        frame(0x89, b"hi");
        frame(
            0x81,
            br#"{"seq":8,"type":"liquidation","ts_ms":5,"data":{}}"#,
        );
        for cut in [1, 2, 3, 7, 64, 1000] {
            let mut frames = Frames::default();
            let mut got = Vec::new();
            for chunk in wire.chunks(cut) {
                frames.feed(chunk, &mut |e| match e {
                    Event::Message(head) => {
                        let text = String::from_utf8_lossy(&head).into_owned();
                        let (kind, ts) = envelope(&text);
                        got.push(format!("{kind}@{}", ts.unwrap_or(0)));
                    }
                    Event::Ping(p) => got.push(format!("ping {}", String::from_utf8_lossy(&p))),
                    Event::Close => got.push("close".into()),
                });
            }
            assert_eq!(
                got,
                ["update@1790640000123", "ping hi", "liquidation@5"],
                "cut {cut}"
            );
        }
    }

    #[test]
    fn percentiles_of_a_known_list() {
        let p = percentiles((1..=1_000).map(|v| v * 1_000).collect());
        assert!((p.p50 - 500.0).abs() <= 1.0);
        assert!((p.p99 - 990.0).abs() <= 1.0);
        assert!((p.max - 1_000.0).abs() < f64::EPSILON);
    }
}
