//! The fan-out floor of this machine: the least a WebSocket server can do to deliver the same
//! messages to the same clients, measured the same way.
//!
//! Two plain threads (kimp's runtime has two workers) each own half of the connections as blocking
//! sockets. Every period each thread stamps `ts_ms`, builds the period's shared tails
//! (`"type":"update","ts_ms":…,"data":"…"}` padded to the size kimp sent) and, per connection,
//! writes each message's frame header and `{"seq":N,` before its tail, all of the period's
//! messages with a single `write` — no runtime, no per-connection task, no queue, no timeouts, no
//! TLS or HTTP layer. The fan-out test publishes one update every 1/4 s; the burst test ten
//! `liquidation` messages every millisecond. The clients are the fan-out
//! test's own, on the same two cores. Whatever this takes, kimp's fan-out cannot beat on this
//! machine: it is the kernel's TCP work per delivery (on loopback the sender's `send` also runs
//! the receiving socket's side) plus the clients' reads.

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context as _, bail};
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;

use crate::clients::{self, Percentiles, Shared};

/// Port of the reference server.
const PORT: u16 = 18_100;
/// What the floor server publishes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::Args)]
pub struct Pattern {
    /// Time between publishes, µs.
    #[arg(long)]
    pub period_us: u64,
    /// Messages per publish.
    #[arg(long)]
    pub per_publish: usize,
    /// Length of each message, bytes.
    #[arg(long)]
    pub message_len: usize,
    /// `liquidation` messages rather than `update`s.
    #[arg(long)]
    pub liquidations: bool,
}

impl Pattern {
    /// One update every 1/4 s (kimp's default rate).
    pub fn updates(message_len: usize) -> Pattern {
        Pattern {
            period_us: 250_000,
            per_publish: 1,
            message_len,
            liquidations: false,
        }
    }

    /// `per_sec` liquidation messages a second, ten every millisecond or fewer.
    pub fn liquidations(per_sec: usize, message_len: usize) -> Pattern {
        let per_publish = per_sec.div_ceil(1_000).clamp(1, 10);
        Pattern {
            period_us: (1_000_000 * per_publish / per_sec.max(1)) as u64,
            per_publish,
            message_len,
            liquidations: true,
        }
    }

    /// `per_sec` liquidation messages a second, all of a `period_ms` at once: how venues push
    /// (Bybit's `allLiquidation` every 500 ms, the simulator's OKX and `BitMEX` every 250 ms step).
    pub fn batched_liquidations(per_sec: usize, period_ms: u64, message_len: usize) -> Pattern {
        Pattern {
            period_us: period_ms * 1_000,
            per_publish: (per_sec as u64 * period_ms / 1_000).max(1) as usize,
            message_len,
            liquidations: true,
        }
    }

    fn period(&self) -> Duration {
        Duration::from_micros(self.period_us.max(100))
    }

    fn kind(&self) -> &'static str {
        if self.liquidations {
            "liquidation"
        } else {
            "update"
        }
    }

    fn args(&self) -> Vec<String> {
        let mut a = vec![
            "--period-us".to_owned(),
            self.period_us.to_string(),
            "--per-publish".to_owned(),
            self.per_publish.to_string(),
            "--message-len".to_owned(),
            self.message_len.to_string(),
        ];
        if self.liquidations {
            a.push("--liquidations".to_owned());
        }
        a
    }
}
/// Sending threads (kimp's runtime has two workers on this machine).
const THREADS: usize = 2;

/// What the reference run measured.
pub struct Bare {
    pub latency: Percentiles,
    /// `liquidation` messages each client received while recording (least, most).
    pub liquidations: (u64, u64),
    /// The floor server's CPU (user + system) per delivered message, µs.
    pub cpu_us_per_delivery: f64,
    pub updates_per_client_sec: f64,
    pub pattern: Pattern,
}

/// Runs `n` clients on `path` against the reference server (a child process,
/// `kimp-load floor-server`, so the two sides' sockets count against separate descriptor limits,
/// as with kimp) for `secs`, publishing `pattern`.
pub async fn run(n: usize, path: &str, secs: u64, pattern: Pattern) -> anyhow::Result<Bare> {
    let mut child = tokio::process::Command::new(std::env::current_exe()?)
        .args(["--clients", &n.to_string(), "floor-server"])
        .args(pattern.args())
        .stdin(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .context("starting the floor server")?;
    let shared = Arc::new(Shared::default());
    let mut conns = Err(anyhow::anyhow!("the floor server did not listen"));
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        if std::net::TcpStream::connect(("127.0.0.1", PORT)).is_ok() {
            conns = clients::connect(n, PORT, path, &shared).await;
            break;
        }
    }
    let conns = conns?;
    let deadline = Instant::now() + Duration::from_secs(60);
    while shared.snapshots.load(Ordering::Relaxed) < n {
        if Instant::now() > deadline || child.try_wait()?.is_some() {
            bail!(
                "reference: only {} of {n} clients got a snapshot",
                shared.snapshots.load(Ordering::Relaxed)
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let pid = child.id().unwrap_or(0);
    let cpu0 = crate::harness::cpu_time(pid)?;
    shared.recording.store(true, Ordering::Relaxed);
    tokio::time::sleep(Duration::from_secs(secs)).await;
    shared.recording.store(false, Ordering::Relaxed);
    let cpu = crate::harness::cpu_time(pid)?.saturating_sub(cpu0);
    drop(child.stdin.take());
    let (tally, per_client) = clients::finish(&shared, conns).await;
    let _ = tokio::time::timeout(Duration::from_secs(5), child.wait()).await;
    let delivered = (tally.updates + tally.liquidations).max(1) as f64;
    Ok(Bare {
        cpu_us_per_delivery: cpu.as_secs_f64() * 1e6 / delivered,
        updates_per_client_sec: tally.updates as f64 / n as f64 / secs as f64,
        liquidations: (
            per_client.iter().copied().min().unwrap_or(0),
            per_client.iter().copied().max().unwrap_or(0),
        ),
        latency: clients::percentiles(tally.latencies_us),
        pattern,
    })
}

/// The floor server's process: accepts `n` clients, publishes until stdin closes.
///
/// # Errors
/// When it cannot listen or a handshake fails.
pub fn serve_main(n: usize, pattern: Pattern) -> anyhow::Result<()> {
    let listener = tokio::net::TcpSocket::new_v4()?;
    listener.set_reuseaddr(true)?;
    listener.bind(SocketAddr::from(([127, 0, 0, 1], PORT)))?;
    // Through tokio for the backlog (std's is 128); used as a blocking std listener.
    let listener = listener.listen(1_024)?.into_std()?;
    listener.set_nonblocking(false)?;
    let stop = Arc::new(AtomicBool::new(false));
    {
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || {
            let _ = std::io::copy(&mut std::io::stdin(), &mut std::io::sink());
            stop.store(true, Ordering::Relaxed);
        });
    }
    // The probe connection that saw it listening comes first.
    let _probe = listener.accept()?;
    for sender in serve(&listener, n, pattern, &stop)? {
        let _ = sender.join();
    }
    Ok(())
}

/// Accepts `n` WebSocket clients, then starts the sending threads.
fn serve(
    listener: &TcpListener,
    n: usize,
    pattern: Pattern,
    stop: &Arc<AtomicBool>,
) -> anyhow::Result<Vec<JoinHandle<()>>> {
    let mut groups: Vec<Vec<TcpStream>> = (0..THREADS).map(|_| Vec::new()).collect();
    for i in 0..n {
        let (mut socket, _) = listener.accept()?;
        handshake(&mut socket)?;
        socket.set_nodelay(true)?;
        let snapshot = format!(
            "{{\"seq\":1,\"type\":\"snapshot\",\"ts_ms\":{},\"data\":{{}}}}",
            now_ms()
        );
        socket.write_all(&frame_header(snapshot.len()))?;
        socket.write_all(snapshot.as_bytes())?;
        groups[i % THREADS].push(socket);
    }
    let start = Instant::now() + pattern.period();
    Ok(groups
        .into_iter()
        .map(|sockets| {
            let stop = Arc::clone(stop);
            std::thread::spawn(move || publish(sockets, pattern, start, &stop))
        })
        .collect())
}

/// Answers a client's opening handshake (RFC 6455 §4.2).
fn handshake(socket: &mut TcpStream) -> anyhow::Result<()> {
    let mut request = Vec::with_capacity(512);
    let mut chunk = [0_u8; 512];
    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
        let got = socket.read(&mut chunk)?;
        if got == 0 || request.len() > 8 * 1024 {
            bail!("reference: bad handshake");
        }
        request.extend_from_slice(&chunk[..got]);
    }
    let text = String::from_utf8_lossy(&request);
    let key = text
        .lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("sec-websocket-key")
                .then(|| value.trim().to_owned())
        })
        .context("reference: no Sec-WebSocket-Key")?;
    let accept = derive_accept_key(key.as_bytes());
    write!(
        socket,
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {accept}\r\n\r\n"
    )?;
    Ok(())
}

/// Every period from `start`, the pattern's messages to each socket, until `stop`.
fn publish(mut sockets: Vec<TcpStream>, pattern: Pattern, start: Instant, stop: &AtomicBool) {
    let mut seqs = vec![1_u64; sockets.len()];
    let mut out = Vec::with_capacity((pattern.message_len + 64) * pattern.per_publish);
    let mut next = start;
    while !stop.load(Ordering::Relaxed) {
        std::thread::sleep(next.saturating_duration_since(Instant::now()));
        next += pattern.period();
        let ts = now_ms();
        let tails: Vec<String> = (0..pattern.per_publish)
            .map(|_| tail(pattern.kind(), ts, pattern.message_len))
            .collect();
        for (socket, seq) in sockets.iter_mut().zip(&mut seqs) {
            out.clear();
            for tail in &tails {
                *seq += 1;
                let prefix = format!("{{\"seq\":{seq},");
                out.extend_from_slice(&frame_header(prefix.len() + tail.len()));
                out.extend_from_slice(prefix.as_bytes());
                out.extend_from_slice(tail.as_bytes());
            }
            // A client gone at the end is fine.
            let _ = socket.write_all(&out);
        }
    }
}

/// `"type":"{kind}","ts_ms":T,"data":"xx…"}` making a whole message of about `len` bytes.
fn tail(kind: &str, ts_ms: u128, len: usize) -> String {
    let head = format!("\"type\":\"{kind}\",\"ts_ms\":{ts_ms},\"data\":\"");
    let pad = len.saturating_sub(head.len() + 2 + 12);
    let mut t = String::with_capacity(len);
    t.push_str(&head);
    t.extend(std::iter::repeat_n('x', pad));
    t.push_str("\"}");
    t
}

/// An unmasked final text frame's header for a payload of `len` bytes (RFC 6455 §5.2).
fn frame_header(len: usize) -> Vec<u8> {
    let mut h = vec![0x81];
    match u16::try_from(len) {
        Ok(short) if short < 126 => h.push(u8::try_from(short).unwrap_or(0)),
        Ok(mid) => {
            h.push(126);
            h.extend_from_slice(&mid.to_be_bytes());
        }
        Err(_) => {
            h.push(127);
            h.extend_from_slice(&(len as u64).to_be_bytes());
        }
    }
    h
}

fn now_ms() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_millis()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_headers_use_the_shortest_length() {
        assert_eq!(frame_header(5), vec![0x81, 5]);
        assert_eq!(frame_header(300), vec![0x81, 126, 1, 44]);
        assert_eq!(frame_header(70_000)[1], 127);
    }

    #[test]
    fn tail_is_about_the_asked_length() {
        let t = tail("update", 1_795_516_292_564, 9_000);
        let whole = format!("{{\"seq\":12345678,{t}");
        assert!(whole.len().abs_diff(9_000) < 16, "{}", whole.len());
        let v: serde_json::Value = serde_json::from_str(&whole).unwrap();
        assert_eq!(v["type"], "update");
    }

    #[test]
    fn liquidation_pattern_makes_the_rate() {
        let p = Pattern::liquidations(10_000, 300);
        assert_eq!((p.per_publish, p.period_us), (10, 1_000));
        let p = Pattern::liquidations(500, 300);
        assert_eq!((p.per_publish, p.period_us), (1, 2_000));
        let p = Pattern::batched_liquidations(10_000, 250, 300);
        assert_eq!((p.per_publish, p.period_us), (2_500, 250_000));
    }
}
