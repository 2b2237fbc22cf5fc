//! `kimp-load`: the SPEC §12 load tests and the results table.
//!
//! The exchange simulator runs in this process; the real `kimp` binary (next to this one) runs as
//! a child pointed at it, so its RSS and CPU are kimp's own. `kimp-load all` runs every scenario
//! and prints one Markdown table: figure, reference, ratio, budget, pass/fail. `bench/run-all`
//! runs the criterion benches first and then this.

mod bare;
mod burst;
mod clients;
mod criterion;
mod fanout;
mod harness;
mod idle;
mod replay;
mod report;
mod rest;

use std::io::Write as _;
use std::time::Duration;

use clap::{Parser, Subcommand};

use harness::Rig;
use report::{Report, Row};

#[derive(Debug, Parser)]
#[command(
    name = "kimp-load",
    about = "kimp's SPEC §12 load tests and budget table"
)]
struct Cli {
    #[command(subcommand)]
    command: Scenario,
    /// WebSocket clients of the fan-out test.
    #[arg(long, env = "KIMP_BENCH_CLIENTS", default_value_t = 10_000)]
    clients: usize,
    /// Seconds of latency recording with every fan-out client connected.
    #[arg(long, env = "KIMP_BENCH_WS_SECS", default_value_t = 30)]
    ws_secs: u64,
    /// Seconds of each wrk run (two rounds each of kimp and nginx).
    #[arg(long, env = "KIMP_BENCH_REST_SECS", default_value_t = 10)]
    rest_secs: u64,
    /// Seconds of the 10,000 events/s liquidation burst.
    #[arg(long, env = "KIMP_BENCH_BURST_SECS", default_value_t = 60)]
    burst_secs: u64,
    /// Clients on /ws/liquidations during the burst.
    #[arg(long, env = "KIMP_BENCH_BURST_CLIENTS", default_value_t = 100)]
    burst_clients: usize,
    /// Seconds the idle dashboard's CPU is measured over (each of two runs).
    #[arg(long, env = "KIMP_BENCH_IDLE_SECS", default_value_t = 60)]
    idle_secs: u64,
    /// Seconds of the demo session recorded for the replay test.
    #[arg(long, env = "KIMP_BENCH_REPLAY_SECS", default_value_t = 20)]
    replay_secs: u64,
    /// Also write the table to this file.
    #[arg(long, env = "KIMP_BENCH_OUT")]
    out: Option<std::path::PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Subcommand)]
enum Scenario {
    /// Everything below, then the criterion rows: the whole §12 table.
    All,
    /// Rows from the criterion benches already run (cargo bench --bench ingest --bench tui).
    Criterion,
    /// WS fan-out latency and memory per idle client.
    Ws,
    /// REST /api/coins/latest vs nginx.
    Rest,
    /// Liquidation burst.
    Burst,
    /// Idle dashboard CPU and memory in tmux.
    Idle,
    /// Replay speed of a recorded demo session.
    Replay,
    /// (internal) The fan-out floor server `ws` runs as a child; stops when stdin closes.
    #[command(hide = true)]
    FloorServer(bare::Pattern),
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    if let Scenario::FloorServer(pattern) = cli.command {
        return tokio::task::spawn_blocking(move || bare::serve_main(cli.clients, pattern)).await?;
    }
    let mut report = Report::default();
    report.note(format!(
        "Machine: {} cores; load average at start {}.",
        std::thread::available_parallelism().map_or(0, usize::from),
        harness::load_average()
    ));
    run(&cli, &mut report).await?;
    report.note(format!(
        "Load average at the end {}.",
        harness::load_average()
    ));
    let table = report.markdown();
    std::io::stdout().write_all(table.as_bytes())?;
    if let Some(path) = &cli.out {
        std::fs::write(path, &table)?;
    }
    if report.failures() > 0 {
        eprintln!("{} row(s) over budget", report.failures());
    }
    Ok(())
}

async fn run(cli: &Cli, report: &mut Report) -> anyhow::Result<()> {
    let all = cli.command == Scenario::All;
    if all || cli.command == Scenario::Criterion {
        criterion::rows(report)?;
    }
    let server = matches!(
        cli.command,
        Scenario::All | Scenario::Ws | Scenario::Rest | Scenario::Burst
    );
    let rig = Rig::start().await?;
    if server {
        served(cli, &rig, report).await?;
    }
    if all || cli.command == Scenario::Idle {
        match idle::run(&rig, cli.idle_secs).await {
            Ok(idle) => idle::rows(&idle, report),
            Err(e) => report.push(Row::failed("TUI idle CPU and memory", &e)),
        }
    }
    if all || cli.command == Scenario::Replay {
        let dir = rig.data_dir("replay")?;
        let secs = cli.replay_secs;
        let measured = tokio::task::spawn_blocking(move || {
            let mut rows = Report::default();
            replay::run(&dir, secs, &mut rows).map(|()| rows)
        })
        .await?;
        match measured {
            Ok(rows) => report.rows.extend(rows.rows),
            Err(e) => report.push(Row::failed("replay of a recorded session", &e)),
        }
    }
    // Drops the simulator's runtime with it.
    drop(rig);
    Ok(())
}

/// The scenarios against `kimp --serve --headless`.
async fn served(cli: &Cli, rig: &Rig, report: &mut Report) -> anyhow::Result<()> {
    let all = cli.command == Scenario::All;
    let config = rig.write_config("serve.toml", cli.clients.max(cli.burst_clients))?;
    let data = rig.data_dir("serve")?;
    let mut child = harness::spawn_server(&config, &data)?;
    let pid = child.id().unwrap_or(0);
    harness::wait_for_market(20, Duration::from_secs(60), &data).await?;
    if all || cli.command == Scenario::Ws {
        eprintln!("fan-out: {} clients, {} s", cli.clients, cli.ws_secs);
        match fanout::run(pid, cli.clients, cli.ws_secs).await {
            Ok(f) => f.rows(report),
            Err(e) => report.push(Row::failed("WS fan-out", &e)),
        }
    }
    if all || cli.command == Scenario::Rest {
        eprintln!("REST: wrk, {} s per run", cli.rest_secs);
        match rest::run(rig.dir.path(), cli.rest_secs).await {
            Ok(r) => r.rows(report),
            Err(e) => report.push(Row::failed("REST /api/coins/latest", &e)),
        }
    }
    if all || cli.command == Scenario::Burst {
        eprintln!("burst: {} s, {} clients", cli.burst_secs, cli.burst_clients);
        match burst::run(&rig.sim, cli.burst_clients, cli.burst_secs).await {
            Ok(b) => b.rows(report),
            Err(e) => report.push(Row::failed("liquidation burst", &e)),
        }
    }
    let _ = child.kill().await;
    Ok(())
}
