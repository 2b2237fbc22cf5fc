//! Liquidation burst: the simulator's `liquidation_rate` knob held at ~10,000 events/s (what its
//! venues actually write to kimp, per `SimStats`) for the run, through kimp's real collectors,
//! state and server to clients on the gateway's `/ws/liquidations`. Before and after, the knob is
//! at 0 and everything drains, so every client must have received exactly what the venues sent.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use kimp::sim::{SimStats, Simulator};

use crate::bare::{self, Bare};
use crate::clients::{self, Percentiles, Shared};
use crate::harness::{self, GATEWAY_PORT};
use crate::report::{Report, Row};

/// Events per second the venues should write.
const TARGET_PER_SEC: f64 = 10_000.0;
/// Knob value that yields roughly the target (55 events/min per unit at 4 steps/s, Binance sampled).
const START_RATE: f64 = 14_000.0;
/// Longest run of each floor reference.
const FLOOR_SECS: u64 = 20;
/// Quiet time before and after the burst for in-flight batches to land.
const DRAIN: Duration = Duration::from_secs(5);

pub struct Burst {
    pub secs: u64,
    pub sent: u64,
    /// New liquidations kimp's state accepted (its 24 h count), de-duplicated.
    pub counted: u64,
    /// `venue sent/counted` for each venue.
    pub by_venue: String,
    pub clients: usize,
    pub min_received: u64,
    pub max_received: u64,
    pub latency: Percentiles,
    pub resyncs: u64,
    /// Server counters after the run: client resyncs on the liquidation stream, events the
    /// fan-out missed from the state task, and the 24 h liquidation count.
    pub server: String,
    /// Bytes per liquidation-stream message during the burst.
    pub message_len: f64,
    /// The same clients against the floor server at the same rate and size.
    pub bare: anyhow::Result<Bare>,
    /// …and with the events arriving in 500 ms batches, as Bybit pushes them.
    pub bare_batched: anyhow::Result<Bare>,
}

/// The server's own view: `/metrics` lines that tell where events went.
async fn server_counters() -> String {
    let client = reqwest::Client::new();
    let Ok(body) = harness::get(&client, &harness::url(GATEWAY_PORT, "/metrics")).await else {
        return String::new();
    };
    String::from_utf8_lossy(&body)
        .lines()
        .filter(|l| {
            !l.starts_with('#')
                && (l.contains("resyncs_total{stream=\"liquidations\"}")
                    || l.contains("evictions_total{stream=\"liquidations\"}")
                    || l.starts_with("kimp_ws_fanout_lagged_total"))
        })
        .map(|l| l.trim_start_matches("kimp_ws_").to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Per venue (Binance, Bybit, OKX, `BitMEX`): what the simulator sent.
fn sent_by_venue(s: &SimStats) -> [u64; 4] {
    [
        s.binance_liquidations_sent,
        s.bybit_liquidations_sent,
        s.okx_liquidations_sent,
        s.bitmex_liquidations_sent,
    ]
}

fn sent(s: &SimStats) -> u64 {
    s.binance_liquidations_sent
        + s.bybit_liquidations_sent
        + s.okx_liquidations_sent
        + s.bitmex_liquidations_sent
}

pub async fn run(sim: &Simulator, n: usize, secs: u64) -> anyhow::Result<Burst> {
    let shared = Arc::new(Shared::default());
    let conns = clients::connect(n, GATEWAY_PORT, "/ws/liquidations", &shared).await?;
    wait_for_liquidation_feeds().await?;
    sim.faults().set_liquidation_rate(0.0);
    tokio::time::sleep(DRAIN).await;
    let before = sent(&sim.stats());
    let counted_before = kimp_counted().await?;
    let (venues_before, kimp_venues_before) = (sent_by_venue(&sim.stats()), kimp_by_venue().await?);
    let sent_before = harness::ws_sent("liquidations").await?;
    shared.recording.store(true, Ordering::Relaxed);
    hold_rate(sim, secs).await;
    sim.faults().set_liquidation_rate(0.0);
    tokio::time::sleep(DRAIN).await;
    let total = sent(&sim.stats()) - before;
    let counted = kimp_counted().await? - counted_before;
    let (venues_after, kimp_venues_after) = (sent_by_venue(&sim.stats()), kimp_by_venue().await?);
    let by_venue = ["binance", "bybit", "okx", "bitmex"]
        .iter()
        .enumerate()
        .map(|(i, v)| {
            format!(
                "{v} {}/{}",
                venues_after[i] - venues_before[i],
                kimp_venues_after[i].saturating_sub(kimp_venues_before[i])
            )
        })
        .collect::<Vec<_>>()
        .join(", ");
    shared.recording.store(false, Ordering::Relaxed);
    let (tally, per_client) = clients::finish(&shared, conns).await;
    let server = server_counters().await;
    let sent_after = harness::ws_sent("liquidations").await?;
    sim.faults().set_liquidation_rate(1.0);
    let (_, message_len) = sent_after.since(sent_before);
    eprintln!("burst: floor reference, {n} clients, {secs} s");
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "a rate and a length"
    )]
    let (rate, len) = (
        (total as f64 / secs as f64).round() as usize,
        message_len.round() as usize,
    );
    let floor_secs = secs.min(FLOOR_SECS);
    let smooth = bare::Pattern::liquidations(rate, len);
    let bare = bare::run(n, "/ws/liquidations", floor_secs, smooth).await;
    // Bybit's 500 ms `allLiquidation` batches carry most of the burst (about 70 %).
    let batched = bare::Pattern::batched_liquidations(rate, 500, len);
    let bare_batched = bare::run(n, "/ws/liquidations", floor_secs, batched).await;
    Ok(Burst {
        message_len,
        bare,
        bare_batched,
        secs,
        sent: total,
        counted,
        by_venue,
        clients: n,
        min_received: per_client.iter().copied().min().unwrap_or(0),
        max_received: per_client.iter().copied().max().unwrap_or(0),
        latency: clients::percentiles(tally.latencies_us),
        resyncs: tally.resyncs,
        server,
    })
}

/// kimp's 24 h liquidation count per venue (Binance, Bybit, OKX, `BitMEX`).
async fn kimp_by_venue() -> anyhow::Result<[u64; 4]> {
    let client = reqwest::Client::new();
    let body = harness::get(&client, &harness::url(GATEWAY_PORT, "/api/coins/latest")).await?;
    let doc: serde_json::Value = serde_json::from_slice(&body)?;
    let count = |v: &str| {
        doc["liquidations"]["exchanges"][v]["24h"]["count"]
            .as_u64()
            .unwrap_or(0)
    };
    Ok([
        count("binance"),
        count("bybit"),
        count("okx"),
        count("bitmex"),
    ])
}

/// kimp's 24 h liquidation count over every venue.
async fn kimp_counted() -> anyhow::Result<u64> {
    let client = reqwest::Client::new();
    let body = harness::get(&client, &harness::url(GATEWAY_PORT, "/api/coins/latest")).await?;
    let doc: serde_json::Value = serde_json::from_slice(&body)?;
    doc["liquidations"]["total"]["24h"]["count"]
        .as_u64()
        .context("no liquidations.total.24h.count in /api/coins/latest")
}

/// Adjusts the knob once a second so the venues write [`TARGET_PER_SEC`].
async fn hold_rate(sim: &Simulator, secs: u64) {
    let mut rate = START_RATE;
    let end = Instant::now() + Duration::from_secs(secs);
    let mut last = sent(&sim.stats());
    while Instant::now() < end {
        sim.faults().set_liquidation_rate(rate);
        tokio::time::sleep(Duration::from_secs(1)).await;
        let now = sent(&sim.stats());
        let got = (now - last) as f64;
        last = now;
        if got > 0.0 {
            // Down at once (the model's cascades multiply its rate 15-60× for a while), up
            // damped (what the venues write lags the knob: Bybit pushes every 500 ms, Binance
            // every second; a full correction each second overshot to 2-3× the target).
            let want = TARGET_PER_SEC / got;
            rate *= if want < 1.0 {
                want.max(0.05)
            } else {
                want.sqrt().min(1.25)
            };
        }
    }
}

/// Every liquidation feed has heard from its venue (so nothing is lost to a late subscription).
async fn wait_for_liquidation_feeds() -> anyhow::Result<()> {
    let client = reqwest::Client::new();
    let url = harness::url(GATEWAY_PORT, "/api/coins/latest");
    for _ in 0..120 {
        let body = harness::get(&client, &url).await?;
        let doc: serde_json::Value = serde_json::from_slice(&body)?;
        let ready = doc["feeds"].as_array().is_some_and(|feeds| {
            let liq: Vec<_> = feeds
                .iter()
                .filter(|f| {
                    f["feed"]
                        .as_str()
                        .is_some_and(|s| s.ends_with(".liquidations"))
                })
                .collect();
            liq.len() == 4 && liq.iter().all(|f| f["messages"].as_u64().unwrap_or(0) > 0)
        });
        if ready {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    bail!("the liquidation feeds did not all subscribe within a minute")
}

impl Burst {
    pub fn rows(&self, report: &mut Report) {
        let rate = self.sent as f64 / self.secs as f64;
        // Nothing lost: kimp counted at least what the venues sent, and every client got each.
        let lost_in_kimp = self.sent.saturating_sub(self.counted);
        let lost_to_clients = self.counted.saturating_sub(self.min_received);
        let extra = self.max_received.saturating_sub(self.counted);
        report.push(
            Row::new(format!(
                "liquidation burst {:.0}/s × {} s, p99 delivery ({} clients)",
                rate, self.secs, self.clients
            ))
            .figure(self.latency.p99, "ms")
            .reference(format!(
                "venues sent {}, kimp counted {}, each client received {}–{} (lost: {lost_in_kimp} \
                 in kimp, ≤ {lost_to_clients} to clients; {extra} extra); p50 {:.1} / max {:.1} ms; \
                 {} resyncs; server: {}; per venue sent/counted: {}; {:.0} B per message",
                self.sent,
                self.counted,
                self.min_received,
                self.max_received,
                self.latency.p50,
                self.latency.max,
                self.resyncs,
                self.server,
                self.by_venue,
                self.message_len
            ))
            .at_most(50.0, "10k/s × 60 s, nothing lost, p99 ≤ 50 ms")
            .also(
                lost_in_kimp == 0
                    && lost_to_clients == 0
                    && extra == 0
                    && rate >= TARGET_PER_SEC * 0.95,
            ),
        );
        for (bare, how) in [
            (&self.bare, "evenly spread"),
            (&self.bare_batched, "in 500 ms batches (Bybit's cadence)"),
        ] {
            report.push(self.floor_row(bare, how));
        }
    }

    fn floor_row(&self, bare: &anyhow::Result<Bare>, how: &str) -> Row {
        let what = format!(
            "liquidation burst floor of this machine, {} clients, events {how} (reference, not kimp)",
            self.clients
        );
        match bare {
            Ok(b) => Row::new(what)
                .figure(b.latency.p99, "ms")
                .reference(format!(
                    "p50 {:.1} / max {:.1} ms; each client received {}–{}; two threads writing \
                     {} messages of {} B every {} µs to blocking sockets, same clients; its CPU \
                     {:.2} µs per delivery; kimp p99 is {:.2}× this",
                    b.latency.p50,
                    b.latency.max,
                    b.liquidations.0,
                    b.liquidations.1,
                    b.pattern.per_publish,
                    b.pattern.message_len,
                    b.pattern.period_us,
                    b.cpu_us_per_delivery,
                    self.latency.p99 / b.latency.p99,
                ))
                .ratio(self.latency.p99 / b.latency.p99),
            Err(e) => Row::failed(what, e),
        }
    }
}
