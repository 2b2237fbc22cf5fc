//! WS fan-out: N clients on the gateway's `/ws/prices`, memory per idle client from the server's
//! RSS before and after they connect, then delivery latency of the `update` stream.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use anyhow::bail;

use crate::clients::{self, Percentiles, Shared};
use crate::harness::{GATEWAY_PORT, rss_bytes};
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
    shared.recording.store(true, Ordering::Relaxed);
    tokio::time::sleep(Duration::from_secs(secs)).await;
    shared.recording.store(false, Ordering::Relaxed);
    let failed = shared.failed.load(Ordering::Relaxed);
    let (tally, _) = clients::finish(&shared, conns).await;
    Ok(Fanout {
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
                     {} samples, {} resyncs, {} failed",
                    self.latency.p50,
                    self.latency.p90,
                    self.latency.p999,
                    self.latency.max,
                    self.latency.samples,
                    self.resyncs,
                    self.failed
                ))
                .at_most(25.0, "≤ 25 ms at ~4 updates/s")
                .also(self.failed == 0 && ups >= 3.0),
        );
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
