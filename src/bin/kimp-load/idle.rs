//! The dashboard left alone in tmux at 200×60: CPU from `/proc/PID/stat` (utime + stime) over the
//! run, and `VmRSS` at its end. Measured twice: `kimp --demo` as a user runs it (the simulator in
//! the same process), and `kimp` with every feed pointed at this process's simulator, which is
//! collectors + state + TUI alone.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context as _, bail};
use tokio::process::Command;

use crate::harness::{self, Rig};
use crate::report::{Report, Row};

/// Time the dashboard runs before measuring starts (connects, first snapshot, market lists).
const WARM_UP: Duration = Duration::from_secs(15);

/// One dashboard's figures.
pub struct Idle {
    pub label: &'static str,
    pub cpu_percent: f64,
    /// The dashboard's own thread (drawing, input).
    pub tui_percent: f64,
    pub rss: u64,
    pub secs: u64,
}

/// Runs `kimp ARGS` in a detached 200×60 tmux session for `secs` after the warm-up.
async fn measure(label: &'static str, args: &[&str], secs: u64) -> anyhow::Result<Idle> {
    let kimp = harness::kimp_binary()?;
    let session = format!("kimp-load-{}-{label}", std::process::id());
    let mut cmd = format!("exec {}", shell_quote(&kimp.to_string_lossy()));
    for a in args {
        cmd.push(' ');
        cmd.push_str(&shell_quote(a));
    }
    tmux(&[
        "new-session",
        "-d",
        "-s",
        &session,
        "-x",
        "200",
        "-y",
        "60",
        &cmd,
    ])
    .await?;
    let result = async {
        let pid = pane_pid(&session).await?;
        tokio::time::sleep(WARM_UP).await;
        let before = harness::cpu_time(pid)?;
        // The dashboard runs on the main thread; collectors and state on the runtime's workers.
        let tui_before = harness::thread_cpu_time(pid, pid)?;
        tokio::time::sleep(Duration::from_secs(secs)).await;
        let used = harness::cpu_time(pid)?.saturating_sub(before);
        let tui = harness::thread_cpu_time(pid, pid)?.saturating_sub(tui_before);
        let rss = harness::rss_bytes(pid)?;
        Ok::<_, anyhow::Error>(Idle {
            label,
            cpu_percent: used.as_secs_f64() / secs as f64 * 100.0,
            tui_percent: tui.as_secs_f64() / secs as f64 * 100.0,
            rss,
            secs,
        })
    }
    .await;
    let _ = tmux(&["kill-session", "-t", &session]).await;
    result
}

pub async fn run(rig: &Rig, secs: u64) -> anyhow::Result<Vec<Idle>> {
    let demo_dir = rig.data_dir("tui-demo")?;
    let demo = measure("demo", &["--demo", "--data-dir", &path(&demo_dir)], secs).await?;
    let config = rig.write_config("tui.toml", 0)?;
    let dir = rig.data_dir("tui-external")?;
    let args = ["--config", &path(&config), "--data-dir", &path(&dir)];
    let external = measure("external-sim", &args, secs).await?;
    Ok(vec![demo, external])
}

fn path(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

async fn tmux(args: &[&str]) -> anyhow::Result<String> {
    let out = Command::new("tmux")
        .args(args)
        .output()
        .await
        .context("running tmux (apt-get install tmux)")?;
    if !out.status.success() {
        bail!(
            "tmux {}: {}",
            args.first().unwrap_or(&""),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

async fn pane_pid(session: &str) -> anyhow::Result<u32> {
    let out = tmux(&["list-panes", "-t", session, "-F", "#{pane_pid}"]).await?;
    out.trim()
        .parse()
        .with_context(|| format!("tmux pane pid {out:?}"))
}

pub fn rows(all: &[Idle], report: &mut Report) {
    for i in all {
        let what = match i.label {
            "demo" => "TUI idle CPU, `kimp --demo` (simulator in-process)",
            _ => "TUI idle CPU, collectors + state + TUI (simulator outside)",
        };
        report.push(
            Row::new(what)
                .figure(i.cpu_percent, "% of a core")
                .reference(format!(
                    "{} s of utime + stime, 200×60 tmux, live market; the dashboard's own thread \
                     {:.3} %",
                    i.secs, i.tui_percent
                ))
                .at_most(0.5, "≤ 0.5 %"),
        );
    }
    for i in all {
        let row = Row::new(match i.label {
            "demo" => "memory, `kimp --demo` (simulator in-process, for reference)",
            _ => "memory, collectors + state + TUI, all venues",
        })
        .figure(i.rss as f64 / 1e6, "MB RSS")
        .reference(format!("VmRSS after {} s", i.secs + WARM_UP.as_secs()));
        // The budget is kimp's own share; the demo's figure includes the simulator.
        report.push(if i.label == "demo" {
            row
        } else {
            row.at_most(40.0, "≤ 40 MB")
        });
    }
}
