//! `kimp doctor [--demo] [--json]`: checks every configured endpoint and says what is wrong.
//!
//! It runs the real collectors for a bounded window (the same code as the dashboard) and judges
//! each feed from its health row in the state snapshot: first data within the window, parse
//! errors, dropped connections, and connected-but-silent subscriptions (a moved endpoint).
//! Targeted probes add what the collectors cannot tell apart: DNS per host and a bare WebSocket
//! handshake per stream URL. Then the BTC price of each spot venue's stream is compared with
//! the venue's REST ticker, and every FX source is fetched once to report its rate and age.
//!
//! Exit status: 0 when every required check passed, 1 when one failed (see
//! [`targets::targets`] for which are required), 2 for a bad configuration (as every command).

mod cross;
mod judge;
mod probe;
mod targets;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::app::{self, StartOptions};
use crate::config::Config;
use crate::model::FeedState;
use crate::sim::SimOptions;
use crate::state::snapshot::Snapshot;

pub use targets::{Target, Transport, targets};

/// How long doctor watches and waits.
#[derive(Debug, Clone)]
pub struct DoctorOptions {
    /// Longest wait for every feed's first data (the whole run stays within this plus the probes'
    /// and cross-checks' own timeouts).
    pub window: Duration,
    /// Shortest observation even when everything delivered at once: drops and parse errors need
    /// a little time to show.
    pub min_observe: Duration,
    /// Budget of each DNS lookup, handshake and REST probe.
    pub probe_timeout: Duration,
    /// Largest difference between a stream's and the REST ticker's BTC price, in percent.
    pub tolerance_percent: f64,
}

impl Default for DoctorOptions {
    fn default() -> Self {
        DoctorOptions {
            window: Duration::from_secs(10),
            min_observe: Duration::from_secs(3),
            probe_timeout: Duration::from_secs(4),
            tolerance_percent: 1.0,
        }
    }
}

/// Outcome of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    /// Failed, but not required (or only worth a look).
    Warn,
    Fail,
}

impl Status {
    fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Warn => "WARN",
            Status::Fail => "FAIL",
        }
    }
}

/// One step of a feed check (resolve, connect, data).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Step {
    Ok,
    Fail,
    /// Not applicable (a REST feed has no handshake step; a cross-check has none of these).
    Skipped,
}

impl Step {
    fn as_str(self) -> &'static str {
        match self {
            Step::Ok => "ok",
            Step::Fail => "FAIL",
            Step::Skipped => "-",
        }
    }
}

/// One row of the report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Check {
    /// `upbit.ticker`, `cross-check upbit BTC`, `fx dunamu`.
    pub name: String,
    /// The config key of the URL checked (`upbit.ws_url`).
    pub url_key: String,
    pub url: String,
    pub required: bool,
    pub dns: Step,
    pub connect: Step,
    pub data: Step,
    pub status: Status,
    pub detail: String,
    /// What to do about a failure.
    pub hint: Option<String>,
}

impl Check {
    /// A row not yet judged: every step skipped, status ok.
    fn new(name: String, url_key: &str, url: String, required: bool) -> Check {
        Check {
            name,
            url_key: url_key.to_owned(),
            url,
            required,
            dns: Step::Skipped,
            connect: Step::Skipped,
            data: Step::Skipped,
            status: Status::Ok,
            detail: String::new(),
            hint: None,
        }
    }

    fn feed(target: &Target) -> Check {
        Check::new(
            target.feed.to_owned(),
            target.url_key,
            target.url.clone(),
            target.required,
        )
    }
}

/// Everything doctor found.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Checks ran against the built-in simulator.
    pub demo: bool,
    pub elapsed_ms: u64,
    pub checks: Vec<Check>,
}

impl Report {
    /// No required check failed.
    #[must_use]
    pub fn passed(&self) -> bool {
        !self
            .checks
            .iter()
            .any(|c| c.required && c.status == Status::Fail)
    }

    /// The check named `name`.
    #[must_use]
    pub fn check(&self, name: &str) -> Option<&Check> {
        self.checks.iter().find(|c| c.name == name)
    }

    /// The report as a plain-text table, a hint line under each failed or warned row.
    #[must_use]
    pub fn render(&self) -> String {
        let width = self
            .checks
            .iter()
            .map(|c| c.name.len())
            .max()
            .unwrap_or(5)
            .max(5);
        let mut out = format!(
            "{:<width$}  REQ  DNS   CONN  DATA  RESULT  DETAIL\n",
            "CHECK"
        );
        for c in &self.checks {
            let _ = writeln!(
                out,
                "{:<width$}  {:<3}  {:<4}  {:<4}  {:<4}  {:<6}  {}",
                c.name,
                if c.required { "yes" } else { "no" },
                c.dns.as_str(),
                c.connect.as_str(),
                c.data.as_str(),
                c.status.as_str(),
                c.detail
            );
            if let (Some(hint), false) = (&c.hint, c.status == Status::Ok) {
                let _ = writeln!(out, "{:<width$}  -> {hint}", "");
            }
        }
        let failed = self
            .checks
            .iter()
            .filter(|c| c.required && c.status == Status::Fail)
            .count();
        let warned = self
            .checks
            .iter()
            .filter(|c| c.status != Status::Ok)
            .count()
            - failed;
        let source = if self.demo {
            " (built-in simulator)"
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "\n{} checks{source} in {:.1} s: {failed} required failed, {warned} warnings",
            self.checks.len(),
            self.elapsed_ms as f64 / 1000.0
        );
        out
    }
}

/// Runs every check for `cfg` (against an in-process simulator with `demo`) and returns the
/// report; bounded by `opts`.
pub async fn run(
    cfg: Config,
    demo: Option<SimOptions>,
    opts: &DoctorOptions,
    cancel: &CancellationToken,
) -> anyhow::Result<Report> {
    let started = Instant::now();
    let is_demo = demo.is_some();
    let run_cancel = cancel.child_token();
    let start = StartOptions {
        demo,
        database: None,
        record: None,
    };
    let mut cfg = cfg;
    let running = app::start(cfg.clone(), start, run_cancel.clone()).await?;
    // Feed URLs as the collectors use them (the simulator's, with --demo).
    if let Some(sim) = running.simulator() {
        sim.configure(&mut cfg);
    }
    let list = targets(&cfg);
    let probes = probe_all(&list, opts.probe_timeout);
    let watch = observe(&running, &list, opts, &run_cancel);
    let (probes, (first_data, snapshot)) = tokio::join!(probes, watch);
    let mut checks = judge_all(&list, &probes, &first_data, &snapshot, opts.window);
    checks.extend(cross::price_checks(&cfg, &snapshot, opts).await);
    checks.extend(cross::fx_checks(&cfg, opts).await);
    running.shutdown().await;
    Ok(Report {
        demo: is_demo,
        elapsed_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        checks,
    })
}

type Probes = BTreeMap<&'static str, (Result<(), String>, Option<Result<(), String>>)>;

/// DNS for every target, and a handshake for every WebSocket target, all at once.
async fn probe_all(list: &[Target], timeout: Duration) -> Probes {
    let jobs = list
        .iter()
        .filter(|t| !t.url.is_empty())
        .map(|t| async move {
            let dns = probe::resolve(&t.url, timeout).await;
            let connect = match (t.transport, &dns) {
                (Transport::WebSocket, Ok(())) => Some(probe::handshake(&t.url, timeout).await),
                _ => None,
            };
            (t.feed, (dns, connect))
        });
    futures_util::future::join_all(jobs)
        .await
        .into_iter()
        .collect()
}

/// Watches the snapshots until every enabled target delivered (after `min_observe`) or the
/// window ends; returns when each first delivered and the last snapshot.
async fn observe(
    running: &app::Running,
    list: &[Target],
    opts: &DoctorOptions,
    cancel: &CancellationToken,
) -> (BTreeMap<&'static str, Duration>, std::sync::Arc<Snapshot>) {
    let started = Instant::now();
    let deadline = tokio::time::Instant::now() + opts.window;
    let mut rx = running.state.snapshots.clone();
    let mut first = BTreeMap::new();
    loop {
        let snap = rx.borrow_and_update().clone();
        let mut waiting = false;
        for t in list {
            match snap.feed(t.feed) {
                Some(row) if row.state.is_usable() => {
                    first.entry(t.feed).or_insert_with(|| started.elapsed());
                }
                Some(row) if row.state != FeedState::Disabled => {
                    waiting |= !first.contains_key(t.feed);
                }
                _ => {}
            }
        }
        if !waiting && started.elapsed() >= opts.min_observe {
            return (first, snap);
        }
        tokio::select! {
            () = cancel.cancelled() => return (first, snap),
            () = tokio::time::sleep_until(deadline) => {
                let latest = rx.borrow().clone();
                return (first, latest);
            }
            changed = rx.changed() => if changed.is_err() { return (first, snap) },
        }
    }
}

fn judge_all(
    list: &[Target],
    probes: &Probes,
    first_data: &BTreeMap<&'static str, Duration>,
    snapshot: &Snapshot,
    window: Duration,
) -> Vec<Check> {
    let mut checks: Vec<Check> = Vec::new();
    for target in list {
        let Some(row) = snapshot.feed(target.feed) else {
            continue;
        };
        if row.state == FeedState::Disabled {
            continue;
        }
        let (dns, connect) = probes
            .get(target.feed)
            .map_or((None, None), |(d, c)| (Some(d.clone()), c.clone()));
        let needs_failed = target.needs.filter(|needs| {
            checks
                .iter()
                .any(|c| c.name == *needs && c.status != Status::Ok)
        });
        let seen = judge::Seen {
            dns,
            connect,
            first_data: first_data.get(target.feed).copied(),
            row: Some(row.clone()),
            needs_failed,
        };
        checks.push(judge::judge(target, &seen, window));
    }
    checks
}
