//! The system under test: the exchange simulator in this process, and the real `kimp` binary as a
//! child process whose config points every feed at it, so the child's RSS and CPU are kimp's alone.
//!
//! The simulator runs on a runtime of its own: on the clients' runtime its bursts of frame
//! building (10,000 liquidations a second in the burst test) queued ahead of the clients' reads
//! and showed up as delivery latency that was the load tool's, not kimp's.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use kimp::config::Config;
use kimp::sim::{SimOptions, Simulator};
use tokio::process::{Child, Command};

/// Ports of the services the child serves (away from the defaults other kimps may be using).
pub const GATEWAY_PORT: u16 = 18_000;
pub const MARKET_PORT: u16 = 18_001;
pub const LIQUIDATION_PORT: u16 = 18_002;

/// The simulator plus a scratch directory for configs, data and logs (removed on drop).
pub struct Rig {
    pub sim: Simulator,
    pub dir: Scratch,
    /// The simulator's own runtime.
    runtime: Option<tokio::runtime::Runtime>,
}

impl Drop for Rig {
    fn drop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

/// A directory under the system temp dir, removed with everything in it on drop.
pub struct Scratch(PathBuf);

impl Scratch {
    fn new() -> anyhow::Result<Scratch> {
        let dir = std::env::temp_dir().join(format!("kimp-load-{}", std::process::id()));
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        Ok(Scratch(dir))
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl Rig {
    /// Starts the simulator on a free loopback port.
    pub async fn start() -> anyhow::Result<Rig> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("simulator")
            .enable_all()
            .build()?;
        let sim = runtime
            .spawn(Simulator::start(
                ([127, 0, 0, 1], 0).into(),
                SimOptions::default(),
            ))
            .await?
            .context("starting the simulator")?;
        let dir = Scratch::new()?;
        Ok(Rig {
            sim,
            dir,
            runtime: Some(runtime),
        })
    }

    /// Writes a config pointing every feed at the simulator, with the server's limits raised for
    /// `clients` connections per service.
    pub fn write_config(&self, name: &str, clients: usize) -> anyhow::Result<PathBuf> {
        let mut cfg = Config::default();
        self.sim.configure(&mut cfg);
        cfg.server.gateway_port = GATEWAY_PORT;
        cfg.server.market_port = MARKET_PORT;
        cfg.server.liquidation_port = LIQUIDATION_PORT;
        cfg.server.max_connections = clients.saturating_mul(2).max(10_000);
        let path = self.dir.path().join(name);
        std::fs::write(&path, toml::to_string(&cfg)?)
            .with_context(|| format!("writing {}", path.display()))?;
        Ok(path)
    }

    /// A data directory of its own for one child.
    pub fn data_dir(&self, name: &str) -> anyhow::Result<PathBuf> {
        let dir = self.dir.path().join(name);
        std::fs::create_dir_all(&dir)?;
        Ok(dir)
    }
}

/// The `kimp` binary next to this one (`target/release/kimp`).
pub fn kimp_binary() -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let kimp = exe.with_file_name("kimp");
    if !kimp.is_file() {
        bail!(
            "{} not found: build it first (cargo build --release)",
            kimp.display()
        );
    }
    Ok(kimp)
}

/// `kimp --serve --headless` with `config`, its stderr in `data_dir/stderr.log`.
pub fn spawn_server(config: &Path, data_dir: &Path) -> anyhow::Result<Child> {
    let child = Command::new(kimp_binary()?)
        .arg("--config")
        .arg(config)
        .arg("--data-dir")
        .arg(data_dir)
        .args(["--serve", "--headless"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(data_dir.join("stderr.log"))?)
        .kill_on_drop(true)
        .spawn()
        .context("starting kimp --serve --headless")?;
    Ok(child)
}

/// `http://127.0.0.1:{port}{path}`.
pub fn url(port: u16, path: &str) -> String {
    format!("http://127.0.0.1:{port}{path}")
}

/// GETs `url`, returning the body of a 2xx answer.
pub async fn get(client: &reqwest::Client, url: &str) -> anyhow::Result<bytes::Bytes> {
    let resp = client.get(url).send().await?.error_for_status()?;
    Ok(resp.bytes().await?)
}

/// Waits until the gateway serves a snapshot with at least `coins` coins; on failure the error
/// carries the end of the child's stderr (in `data_dir`).
pub async fn wait_for_market(
    coins: usize,
    within: Duration,
    data_dir: &Path,
) -> anyhow::Result<()> {
    let client = reqwest::Client::new();
    let deadline = Instant::now() + within;
    let url = url(GATEWAY_PORT, "/api/coins/latest");
    loop {
        if let Ok(body) = get(&client, &url).await {
            let doc: serde_json::Value = serde_json::from_slice(&body)?;
            let n = doc["coins"].as_array().map_or(0, Vec::len);
            if n >= coins {
                return Ok(());
            }
        }
        if Instant::now() > deadline {
            let log = std::fs::read_to_string(data_dir.join("stderr.log")).unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(10).collect();
            bail!(
                "the server did not serve {coins} coins within {within:?}; its stderr ends:\n{}",
                tail.into_iter().rev().collect::<Vec<_>>().join("\n")
            );
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// What a WebSocket stream has sent so far, per the gateway's `/metrics`.
#[derive(Debug, Clone, Copy)]
pub struct Sent {
    pub messages: u64,
    pub bytes: u64,
}

impl Sent {
    /// Messages sent since `before` (at least 1) and their mean length in bytes.
    pub fn since(self, before: Sent) -> (f64, f64) {
        let messages = self.messages.saturating_sub(before.messages).max(1) as f64;
        (
            messages,
            self.bytes.saturating_sub(before.bytes) as f64 / messages,
        )
    }
}

/// [`Sent`] of a stream (`market` or `liquidations`).
pub async fn ws_sent(stream: &str) -> anyhow::Result<Sent> {
    let client = reqwest::Client::new();
    let body = get(&client, &url(GATEWAY_PORT, "/metrics")).await?;
    let text = String::from_utf8_lossy(&body);
    let value = |name: &str| -> anyhow::Result<u64> {
        let prefix = format!("{name}{{stream=\"{stream}\"}} ");
        text.lines()
            .find_map(|l| l.strip_prefix(&prefix))
            .ok_or_else(|| anyhow::anyhow!("no {name} of {stream} in /metrics"))?
            .trim()
            .parse()
            .map_err(Into::into)
    };
    Ok(Sent {
        messages: value("kimp_ws_messages_sent_total")?,
        bytes: value("kimp_ws_bytes_sent_total")?,
    })
}

/// `VmRSS` of a process in bytes.
pub fn rss_bytes(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .with_context(|| format!("reading /proc/{pid}/status"))?;
    let line = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .context("no VmRSS line")?;
    let kb: u64 = line
        .split_whitespace()
        .nth(1)
        .context("empty VmRSS line")?
        .parse()?;
    Ok(kb * 1024)
}

/// CPU time (user + system) a process has used so far, from `/proc/PID/stat`.
pub fn cpu_time(pid: u32) -> anyhow::Result<Duration> {
    stat_cpu_time(&format!("/proc/{pid}/stat"))
}

/// CPU time one thread of a process has used so far (the main thread's id is the process id).
pub fn thread_cpu_time(pid: u32, tid: u32) -> anyhow::Result<Duration> {
    stat_cpu_time(&format!("/proc/{pid}/task/{tid}/stat"))
}

fn stat_cpu_time(path: &str) -> anyhow::Result<Duration> {
    let stat = std::fs::read_to_string(path).with_context(|| format!("reading {path}"))?;
    // Fields after the parenthesised command name, which may itself hold spaces.
    let rest = stat.rsplit_once(')').context("malformed stat")?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line: 12 and 13 after the name.
    let ticks: u64 = fields
        .get(11..13)
        .context("short stat")?
        .iter()
        .map(|f| f.parse::<u64>())
        .sum::<Result<u64, _>>()?;
    let hz = clock_ticks()?;
    Ok(Duration::from_secs_f64(ticks as f64 / hz as f64))
}

fn clock_ticks() -> anyhow::Result<u64> {
    let out = std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .context("running getconf CLK_TCK")?;
    Ok(String::from_utf8(out.stdout)?.trim().parse()?)
}

/// The 1-minute load average, to note how busy the shared machine was.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}
