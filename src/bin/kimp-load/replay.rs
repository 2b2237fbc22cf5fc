//! Replay speed (SPEC §12: ≥ 100× real time): `kimp snapshot --demo --record FILE --wait SECS`
//! records a simulator session, then `kimp snapshot --replay FILE --json` replays it at max speed;
//! the figure is the recording's span over the replay's wall time (process start included, so it
//! understates the replay itself).

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{Context as _, bail};

use crate::harness;
use crate::report::{Report, Row};

/// Records `secs` of the demo into `dir`, replays it, and adds the row.
pub fn run(dir: &Path, secs: u64, report: &mut Report) -> anyhow::Result<()> {
    let kimp = harness::kimp_binary()?;
    let file = dir.join("session.jsonl.zst");
    let record = Command::new(&kimp)
        .args([
            "snapshot",
            "--demo",
            "--no-persist",
            "--json",
            "--wait",
            &secs.to_string(),
        ])
        .arg("--record")
        .arg(&file)
        .arg("--data-dir")
        .arg(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .context("running kimp --record")?;
    if !record.success() {
        bail!("kimp snapshot --record exited with {record}");
    }
    let started = Instant::now();
    let out = Command::new(&kimp)
        .args(["snapshot", "--replay"])
        .arg(&file)
        .args(["--speed", "max", "--json", "--data-dir"])
        .arg(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .context("running kimp --replay")?;
    let took = started.elapsed();
    if !out.status.success() {
        bail!(
            "kimp snapshot --replay exited with {}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    #[expect(clippy::cast_precision_loss, reason = "seconds")]
    let ratio = secs as f64 / took.as_secs_f64();
    let size = std::fs::metadata(&file).map_or(0, |m| m.len());
    report.push(
        Row::new("replay of a recorded session")
            .figure(took.as_secs_f64() * 1000.0, "ms")
            .reference(format!(
                "{secs} s recorded ({} KiB zstd); whole process, start-up included",
                size / 1024
            ))
            .ratio(ratio)
            .ratio_at_least(100.0, "≥ 100× real time"),
    );
    Ok(())
}
