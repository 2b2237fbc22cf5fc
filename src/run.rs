//! Entry point behind `main`: config, logging guard, runtime, the chosen command, exit status.
//! Errors are reported here, before anything touches the terminal, and the process exits non-zero.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use tokio_util::sync::CancellationToken;

use crate::app::{self, Running, StartOptions};
use crate::cli::{Cli, Command, ConfigArgs, DoctorArgs, GlobalArgs, SnapshotArgs};
use crate::commands::{doctor, snapshot, table};
use crate::config::{self, Config, Loaded};
use crate::replay::Speed;
use crate::server::Role;
use crate::sim::SimOptions;

/// How often bare `kimp` reprints the table when stdout is not a terminal (piped, logged).
const WATCH_INTERVAL: Duration = Duration::from_secs(2);

/// Runs the parsed command line to an exit status.
#[must_use]
pub fn run(cli: Cli) -> ExitCode {
    let loaded = match config::load(&cli.global) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("kimp: {e}");
            return ExitCode::from(2);
        }
    };
    if let Some(Command::Config(args)) = &cli.command {
        return print_config(&loaded, args);
    }
    // The dashboard owns the terminal: logs go to the file only.
    // `--serve --headless` (or no terminal) runs without it: logs to stderr too.
    let dashboard =
        cli.command.is_none() && !cli.global.headless && std::io::stdout().is_terminal();
    let headless = !dashboard;
    let files = log_files(&cli);
    let level = &loaded.config.general.log_level;
    let _guard = match crate::logging::init(&loaded.data_dir, level, headless, files) {
        Ok(g) => g,
        Err(e) => {
            eprintln!("kimp: {e}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("kimp: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(dispatch(cli, loaded.config, loaded.data_dir, dashboard));
    runtime.shutdown_timeout(Duration::from_secs(3));
    match result {
        Ok(code) => code,
        Err(e) => {
            tracing::error!("{e:#}");
            eprintln!("kimp: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn dispatch(
    cli: Cli,
    cfg: Config,
    data_dir: PathBuf,
    dashboard: bool,
) -> anyhow::Result<ExitCode> {
    let cancel = CancellationToken::new();
    spawn_signal_handler(cancel.clone());
    if cli.global.serve && cli.command.is_some() {
        anyhow::bail!("--serve runs with the dashboard or headless, not with a subcommand");
    }
    let gateway = cli.global.role.as_deref() == Some(Role::Gateway.as_str());
    if !gateway && (cli.global.market_url.is_some() || cli.global.liquidation_url.is_some()) {
        anyhow::bail!("--market-url and --liquidation-url are for --serve --role gateway");
    }
    match cli.command {
        Some(Command::Snapshot(args)) => {
            let source = source(&cli.global, &cfg, &data_dir);
            run_snapshot(cfg, source, &args, cancel).await
        }
        Some(Command::Simulate(args)) => {
            let bind = args.bind.unwrap_or_else(|| cfg.simulator.bind.clone());
            let bind = bind
                .parse()
                .with_context(|| format!("--bind {bind}: not an address like 127.0.0.1:9100"))?;
            let mut opts = sim_options(&cli.global, &cfg);
            if !args.faults.is_empty() {
                opts.faults = crate::sim::parse_fault_specs(&args.faults)
                    .map_err(|(_, e)| anyhow::anyhow!("--fault {e}"))?;
            }
            if let Some(m) = args.rate_multiplier {
                opts.rate_multiplier = m;
            }
            crate::sim::run_standalone(bind, opts, cancel).await?;
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Config(_)) => Ok(ExitCode::SUCCESS),
        Some(Command::Doctor(args)) => {
            let demo = cli.global.demo.then(|| sim_options(&cli.global, &cfg));
            run_doctor(cfg, demo, &args, &cancel).await
        }
        None if cli.global.serve => {
            let local = source(&cli.global, &cfg, &data_dir);
            let role = cli.global.role.as_deref().and_then(Role::parse);
            let role = role.unwrap_or_default();
            let demo = cli.global.demo.then(|| sim_options(&cli.global, &cfg));
            let source = serve_source(&cli.global, role, local, demo)?;
            serve(cfg, source, role, dashboard, &data_dir, cancel).await
        }
        None if dashboard => {
            let source = source(&cli.global, &cfg, &data_dir);
            run_dashboard(cfg, source, &data_dir, cancel).await
        }
        None => {
            let source = source(&cli.global, &cfg, &data_dir);
            watch(cfg, source, cancel).await
        }
    }
}

/// A single-role `--serve` process logs everything to its role's file; anything else routes.
fn log_files(cli: &Cli) -> crate::logging::Files {
    use crate::logging::{Files, Route};
    let role = cli.global.role.as_deref().and_then(Role::parse);
    match role.filter(|_| cli.global.serve && cli.command.is_none()) {
        Some(Role::Market) => Files::Only(Route::Market),
        Some(Role::Liquidation) => Files::Only(Route::Liquidation),
        Some(Role::Gateway) => Files::Only(Route::Gateway),
        Some(Role::All) | None => Files::Routed,
    }
}

/// The simulator of `--demo` and `kimp simulate`: seed, rate and fault knobs from `[simulator]`
/// (already validated by the config loader).
fn sim_options(global: &GlobalArgs, cfg: &Config) -> SimOptions {
    SimOptions {
        seed: global.seed.unwrap_or(cfg.simulator.seed),
        rate_multiplier: cfg.simulator.rate_multiplier,
        faults: crate::sim::parse_fault_specs(&cfg.simulator.faults).unwrap_or_default(),
        ..SimOptions::default()
    }
}

/// The simulator (with `--demo`) and the history database (unless `--no-persist`).
fn start_options(global: &GlobalArgs, cfg: &Config, data_dir: &Path) -> StartOptions {
    StartOptions {
        demo: global.demo.then(|| sim_options(global, cfg)),
        database: (!global.no_persist).then(|| app::database_path(data_dir, global.demo)),
        record: global.record.clone(),
    }
}

/// Where a run's data comes from: local collectors, another kimp's API (`--remote`), a
/// recording (`--replay`), or the two services of a split deployment (`--role gateway`, with a
/// simulator for its own pollers under `--demo`).
enum Source {
    Local(StartOptions),
    Remote(String),
    Replay(PathBuf, Option<Speed>),
    Split(crate::remote::Upstreams, Option<SimOptions>),
}

/// The source of a `--serve` process: the upstream services for `--role gateway`, else `source`.
fn serve_source(
    global: &GlobalArgs,
    role: Role,
    source: Source,
    demo: Option<SimOptions>,
) -> anyhow::Result<Source> {
    if role != Role::Gateway {
        return Ok(source);
    }
    if global.replay.is_some() || global.remote.is_some() || global.record.is_some() {
        anyhow::bail!(
            "--role gateway takes --market-url and --liquidation-url, not --replay, --remote or --record"
        );
    }
    match (&global.market_url, &global.liquidation_url) {
        (Some(market), Some(liquidation)) => Ok(Source::Split(
            crate::remote::Upstreams::split(market, liquidation),
            demo,
        )),
        _ => anyhow::bail!(
            "--role gateway needs --market-url URL and --liquidation-url URL \
             (the market and liquidation services, e.g. http://a:8001 and http://b:8002)"
        ),
    }
}

fn source(global: &GlobalArgs, cfg: &Config, data_dir: &Path) -> Source {
    match (&global.remote, &global.replay) {
        (Some(url), _) => Source::Remote(url.clone()),
        (None, Some(path)) => Source::Replay(path.clone(), global.speed),
        (None, None) => Source::Local(start_options(global, cfg, data_dir)),
    }
}

/// Starts the collectors, the links to the remote server, or the replay.
async fn start(cfg: Config, source: Source, cancel: CancellationToken) -> anyhow::Result<Running> {
    match source {
        Source::Local(opts) => app::start(cfg, opts, cancel).await,
        Source::Remote(url) => {
            let token = (!cfg.server.token.is_empty()).then_some(cfg.server.token.as_str());
            crate::remote::start(
                &cfg,
                &crate::remote::Upstreams::gateway(&url),
                token,
                cancel,
            )
        }
        Source::Split(upstreams, demo) => {
            let mut cfg = cfg;
            let sim = match demo {
                Some(opts) => Some(app::start_simulator(opts, &mut cfg).await?),
                None => None,
            };
            let token = (!cfg.server.token.is_empty()).then_some(cfg.server.token.as_str());
            let running = crate::remote::start(&cfg, &upstreams, token, cancel)?;
            Ok(running.with_simulator(sim))
        }
        Source::Replay(path, speed) => {
            app::start_replay(&cfg, &path, speed.unwrap_or(Speed::Times(1.0)), cancel)
        }
    }
}

/// `kimp snapshot --replay FILE`: replays to the end (at max speed unless `--speed`) and prints
/// the state as of the end of the recording.
async fn replay_snapshot(
    cfg: Config,
    path: PathBuf,
    speed: Option<Speed>,
    args: &SnapshotArgs,
    cancel: CancellationToken,
) -> anyhow::Result<ExitCode> {
    let mut running = app::start_replay(&cfg, &path, speed.unwrap_or(Speed::Max), cancel)?;
    let snapshots = running.state.snapshots.clone();
    let report = running.replay_finished().await;
    running.shutdown().await;
    let report = report.context("the replay did not finish")?;
    if report.interrupted {
        anyhow::bail!("replay interrupted: {}", report.summary());
    }
    let snap = snapshots.borrow().clone();
    print_snapshot(&snap, args.json)?;
    eprintln!("kimp: {}", report.summary());
    for (line, why) in &report.skipped_lines {
        eprintln!("kimp: {}: line {line} skipped: {why}", path.display());
    }
    Ok(ExitCode::SUCCESS)
}

/// The snapshot as JSON or as the table, on stdout.
fn print_snapshot(snap: &crate::state::snapshot::Snapshot, json: bool) -> anyhow::Result<()> {
    let body = if json {
        serde_json::to_string_pretty(snap).context("serialising the snapshot")? + "\n"
    } else {
        table::render(snap)
    };
    let mut out = std::io::stdout().lock();
    out.write_all(body.as_bytes())
        .context("writing to stdout")?;
    out.flush().context("writing to stdout")
}

async fn run_snapshot(
    cfg: Config,
    source: Source,
    args: &SnapshotArgs,
    cancel: CancellationToken,
) -> anyhow::Result<ExitCode> {
    let remote = match source {
        Source::Remote(ref url) => Some(url.clone()),
        Source::Replay(path, speed) => {
            return replay_snapshot(cfg, path, speed, args, cancel).await;
        }
        Source::Local(_) | Source::Split(..) => None,
    };
    let running = start(cfg, source, cancel.clone()).await?;
    let wait = args.wait.map(Duration::from_secs);
    let collected = if remote.is_some() {
        crate::remote::collect(&running, wait, snapshot::MAX_WAIT, &cancel).await
    } else {
        snapshot::collect(&running, wait, &cancel).await
    };
    let feeds = running.feeds.clone();
    running.shutdown().await;
    let snap = &collected.snapshot;
    if let (Some(url), false) = (&remote, collected.missing.is_empty()) {
        let why = snap
            .feed(crate::remote::LINK_FEED)
            .and_then(|f| f.last_error.clone())
            .unwrap_or_else(|| "no data in time".to_string());
        anyhow::bail!("cannot get the data from {url}: {why}");
    }
    if feeds.len() == collected.missing.len() {
        anyhow::bail!(
            "no feed delivered anything in time ({}); check the network or try `kimp snapshot --demo`",
            collected.missing.join(", ")
        );
    }
    print_snapshot(snap, args.json)?;
    if collected.missing.is_empty() {
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!(
            "kimp: these feeds delivered nothing in time: {}",
            collected.missing.join(", ")
        );
        Ok(ExitCode::FAILURE)
    }
}

/// `kimp doctor`: the report on stdout; exit 1 when a required check failed.
async fn run_doctor(
    cfg: Config,
    demo: Option<SimOptions>,
    args: &DoctorArgs,
    cancel: &CancellationToken,
) -> anyhow::Result<ExitCode> {
    let mut opts = doctor::DoctorOptions::default();
    if let Some(secs) = args.window {
        opts.window = Duration::from_secs(secs);
        opts.min_observe = opts.min_observe.min(opts.window);
    }
    let report = doctor::run(cfg, demo, &opts, cancel).await?;
    let body = if args.json {
        serde_json::to_string_pretty(&report).context("serialising the report")? + "\n"
    } else {
        report.render()
    };
    let mut out = std::io::stdout().lock();
    out.write_all(body.as_bytes())
        .and_then(|()| out.flush())
        .context("writing to stdout")?;
    Ok(if report.passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// `--serve`: collectors and the API until Ctrl-C or SIGTERM, with the dashboard when there is a
/// terminal (and no `--headless`). Servers stop first (WebSocket clients get 1001), then the
/// collectors, then history is flushed.
async fn serve(
    mut cfg: Config,
    source: Source,
    role: Role,
    dashboard: bool,
    data_dir: &Path,
    cancel: CancellationToken,
) -> anyhow::Result<ExitCode> {
    role.apply(&mut cfg);
    let (server_cfg, tui_cfg) = (cfg.server.clone(), cfg.tui.clone());
    let running = start(cfg, source, cancel.clone()).await?;
    let servers = match crate::server::serve(&server_cfg, &running, role.services(), !dashboard) {
        Ok(servers) => servers,
        Err(e) => {
            running.shutdown().await;
            return Err(e);
        }
    };
    let result = if dashboard {
        crate::tui::run(&running, &tui_cfg, data_dir, cancel.clone())
            .await
            .context("dashboard")
    } else {
        cancel.cancelled().await;
        Ok(())
    };
    cancel.cancel();
    servers.wait().await;
    running.shutdown().await;
    result?;
    Ok(ExitCode::SUCCESS)
}

/// Bare `kimp` on a terminal: the full-screen dashboard until `q`, Ctrl-C or SIGTERM. The terminal
/// is given back before the collectors are stopped, so quitting feels instant.
async fn run_dashboard(
    cfg: Config,
    source: Source,
    data_dir: &Path,
    cancel: CancellationToken,
) -> anyhow::Result<ExitCode> {
    let tui_cfg = cfg.tui.clone();
    let running = start(cfg, source, cancel.clone()).await?;
    let result = crate::tui::run(&running, &tui_cfg, data_dir, cancel).await;
    running.shutdown().await;
    result.context("dashboard")?;
    Ok(ExitCode::SUCCESS)
}

/// Bare `kimp` with stdout not a terminal: collect and reprint the table every few seconds until
/// Ctrl-C or SIGTERM.
async fn watch(cfg: Config, source: Source, cancel: CancellationToken) -> anyhow::Result<ExitCode> {
    let running = start(cfg, source, cancel.clone()).await?;
    let clear = std::io::stdout().is_terminal();
    let mut tick = tokio::time::interval(WATCH_INTERVAL);
    loop {
        tokio::select! {
            () = cancel.cancelled() => break,
            _ = tick.tick() => {
                let snap = running.state.snapshots.borrow().clone();
                let mut out = std::io::stdout().lock();
                let prefix = if clear { "\x1b[H\x1b[2J" } else { "" };
                if write!(out, "{prefix}{}", table::render(&snap)).and_then(|()| out.flush()).is_err() {
                    break; // stdout closed (e.g. piped into head)
                }
            }
        }
    }
    running.shutdown().await;
    Ok(ExitCode::SUCCESS)
}

fn print_config(loaded: &Loaded, args: &ConfigArgs) -> ExitCode {
    let text = if args.path {
        let file = loaded.file.as_ref().map_or_else(
            || "(none: built-in defaults)".to_string(),
            |p| p.display().to_string(),
        );
        format!(
            "config file: {file}\ndata dir:    {}\nlogs:        {}\n",
            loaded.data_dir.display(),
            loaded.data_dir.join("logs").display()
        )
    } else {
        loaded.config.to_toml()
    };
    match std::io::stdout().lock().write_all(text.as_bytes()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(_) => ExitCode::FAILURE,
    }
}

/// Ctrl-C and SIGTERM cancel everything; a second Ctrl-C is left to the default handler.
fn spawn_signal_handler(cancel: CancellationToken) {
    tokio::spawn(async move {
        #[cfg(unix)]
        {
            let mut term =
                match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                    Ok(s) => s,
                    Err(e) => {
                        tracing::warn!("cannot listen for SIGTERM: {e}");
                        let _ = tokio::signal::ctrl_c().await;
                        cancel.cancel();
                        return;
                    }
                };
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
        }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("shutting down");
        cancel.cancel();
    });
}
