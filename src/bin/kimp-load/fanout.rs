//! WS fan-out: N clients on the gateway's `/ws/prices`, memory per idle client from the server's
//! RSS before and after they connect, then delivery latency of the `update` stream, the server's
//! CPU time per delivered message, and the same clients against [`bare`]'s floor server with
//! messages of the same average size.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use anyhow::bail;

use crate::bare::{self, Bare};
use crate::clients::{self, Percentiles, Shared};
use crate::harness::{self, GATEWAY_PORT, rss_bytes};
use crate::report::{Report, Row};

/// How long the server's memory is left to settle before and after the clients connect.
const SETTLE: Duration = Duration::from_secs(5);

/// What the fan-out run measured.
pub struct Fanout {
    pub clients: usize,
    pub rss_before: u64,
    pub rss_after: u64,
    pub latency: Percentiles,
    pub updates_per_client_sec: f64,
    pub resyncs: u64,
    pub failed: usize,
    /// Server CPU (user + system) per message delivered while recording, µs.
    pub cpu_us_per_delivery: f64,
    /// Bytes per market-stream message sent while recording.
    pub message_len: f64,
    pub bare: anyhow::Result<Bare>,
}

pub async fn run(pid: u32, n: usize, secs: u64) -> anyhow::Result<Fanout> {
    tokio::time::sleep(SETTLE).await;
    let rss_before = rss_bytes(pid)?;
    let shared = Arc::new(Shared::default());
    let started = Instant::now();
    let conns = clients::connect(n, GATEWAY_PORT, "/ws/prices", &shared).await?;
    let deadline = Instant::now() + Duration::from_secs(60);
    while shared.snapshots.load(Ordering::Relaxed) + shared.failed.load(Ordering::Relaxed) < n {
        if Instant::now() > deadline {
            bail!(
                "only {} of {n} clients got a snapshot",
                shared.snapshots.load(Ordering::Relaxed)
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    eprintln!(
        "fan-out: {n} clients connected in {:.1?}",
        started.elapsed()
    );
    tokio::time::sleep(SETTLE).await;
    let rss_after = rss_bytes(pid)?;
    let (cpu0, sent0) = (harness::cpu_time(pid)?, harness::ws_sent("market").await?);
    shared.recording.store(true, Ordering::Relaxed);
    tokio::time::sleep(Duration::from_secs(secs)).await;
    shared.recording.store(false, Ordering::Relaxed);
    let (cpu1, sent1) = (harness::cpu_time(pid)?, harness::ws_sent("market").await?);
    let failed = shared.failed.load(Ordering::Relaxed);
    let (tally, _) = clients::finish(&shared, conns).await;
    let (messages, message_len) = sent1.since(sent0);
    eprintln!("fan-out: floor reference, {n} clients, {secs} s");
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "a message length"
    )]
    let bare = bare::run(
        n,
        "/ws/prices",
        secs,
        bare::Pattern::updates(message_len.round() as usize),
    )
    .await;
    Ok(Fanout {
        cpu_us_per_delivery: cpu1.saturating_sub(cpu0).as_secs_f64() * 1e6 / messages,
        message_len,
        bare,
        clients: n,
        rss_before,
        rss_after,
        updates_per_client_sec: tally.updates as f64 / n as f64 / secs as f64,
        resyncs: tally.resyncs,
        latency: clients::percentiles(tally.latencies_us),
        failed,
    })
}

impl Fanout {
    pub fn rows(&self, report: &mut Report) {
        let per_client =
            self.rss_after.saturating_sub(self.rss_before) as f64 / self.clients as f64;
        let ups = self.updates_per_client_sec;
        report.push(
            Row::new(format!("WS fan-out p99 delivery, {} clients", self.clients))
                .figure(self.latency.p99, "ms")
                .reference(format!(
                    "p50 {:.1} / p90 {:.1} / p99.9 {:.1} / max {:.1} ms; {ups:.2} updates/s/client; \
                     {} samples, {} resyncs, {} failed; {:.1} KB per message; server CPU {:.1} µs \
                     per delivery",
                    self.latency.p50,
                    self.latency.p90,
                    self.latency.p999,
                    self.latency.max,
                    self.latency.samples,
                    self.resyncs,
                    self.failed,
                    self.message_len / 1e3,
                    self.cpu_us_per_delivery,
                ))
                .at_most(25.0, "≤ 25 ms at ~4 updates/s")
                .also(self.failed == 0 && ups >= 3.0),
        );
        match &self.bare {
            Ok(b) => report.push(
                Row::new(format!(
                    "WS fan-out floor of this machine, {} clients (reference, not kimp)",
                    self.clients
                ))
                .figure(b.latency.p99, "ms")
                .reference(format!(
                    "p50 {:.1} / p90 {:.1} / max {:.1} ms; {:.2} updates/s/client; two threads \
                     writing {} B text frames to blocking sockets, same clients; its CPU {:.1} µs \
                     per delivery; kimp p99 is {:.2}× this",
                    b.latency.p50,
                    b.latency.p90,
                    b.latency.max,
                    b.updates_per_client_sec,
                    b.pattern.message_len,
                    b.cpu_us_per_delivery,
                    self.latency.p99 / b.latency.p99
                ))
                .ratio(self.latency.p99 / b.latency.p99),
            ),
            Err(e) => report.push(Row::failed("WS fan-out floor of this machine", e)),
        }
        report.push(
            Row::new("WS memory per idle client")
                .figure(per_client / 1024.0, "KiB")
                .reference(format!(
                    "server RSS {:.1} → {:.1} MB with {} clients",
                    self.rss_before as f64 / 1e6,
                    self.rss_after as f64 / 1e6,
                    self.clients
                ))
                .at_most(16.0, "≤ 16 KiB"),
        );
    }
}
