//! Rows from the criterion benches (`benches/ingest.rs`, `benches/tui.rs`): the median time per
//! iteration criterion stored under `target/criterion/…/new/`, run earlier by `bench/run-all`.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use kimp::model::Venue;

use crate::report::{Report, Row};

/// `target/criterion`, next to the `release` directory this binary runs from.
pub fn dir() -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let target = exe
        .parent()
        .and_then(Path::parent)
        .context("binary outside a target directory")?;
    Ok(target.join("criterion"))
}

/// Median nanoseconds per iteration and the elements per iteration of one bench.
fn bench(dir: &Path, group: &str, function: &str) -> anyhow::Result<(f64, Option<f64>)> {
    let base = dir.join(group.replace('/', "_")).join(function).join("new");
    let read = |file: &str| -> anyhow::Result<serde_json::Value> {
        let path = base.join(file);
        let text = std::fs::read_to_string(&path).with_context(|| {
            format!("{}: run the benches first (bench/run-all)", path.display())
        })?;
        Ok(serde_json::from_str(&text)?)
    };
    let median = read("estimates.json")?["median"]["point_estimate"]
        .as_f64()
        .context("estimates.json without a median")?;
    let elements = read("benchmark.json")?["throughput"]["Elements"].as_f64();
    Ok((median, elements))
}

/// Ingest rows per venue and frame source, the all-market frame, the snapshot and the TUI frame.
pub fn rows(report: &mut Report) -> anyhow::Result<()> {
    let dir = dir()?;
    for venue in Venue::ALL {
        for source in ["recorded", "sim"] {
            let group = format!("ingest/{}/{source}", venue.as_str());
            let Ok((kimp, Some(frames))) = bench(&dir, &group, "kimp") else {
                continue;
            };
            let (value, _) = bench(&dir, &group, "value")?;
            // Binance's messages are the tickers of its all-market arrays (benches/ingest.rs).
            let unit = if venue == Venue::Binance {
                "tickers"
            } else {
                "frames"
            };
            let rate = frames / kimp * 1e9;
            report.push(
                Row::new(format!(
                    "ingest {} ({source}, {frames:.0} {unit})",
                    venue.as_str()
                ))
                .figure(rate, "msg/s")
                .reference(format!(
                    "bare Value parse {:.0}k msg/s",
                    frames / value * 1e6
                ))
                .ratio(value / kimp)
                .ratio_at_least(1.0, "≥ 1.0× (stretch 1.5×); ≥ 400k msg/s/core")
                .also(rate >= 400_000.0),
            );
        }
    }
    let (kimp, _) = bench(&dir, "binance_all_market", "kimp")?;
    let (value, _) = bench(&dir, "binance_all_market", "value")?;
    report.push(
        Row::new("Binance all-market frame (1,000 tickers) to state updated")
            .figure(kimp / 1e6, "ms")
            .reference(format!("bare Value parse {:.3} ms", value / 1e6))
            .ratio(value / kimp)
            .at_most(2.0, "≤ 2 ms"),
    );
    let (build, _) = bench(&dir, "snapshot", "build")?;
    let (ser, _) = bench(&dir, "snapshot", "serialise")?;
    report.push(
        Row::new("snapshot §6.0: build + serialise")
            .figure((build + ser) / 1e6, "ms")
            .reference(format!(
                "build {:.3} ms, serialise {:.3} ms",
                build / 1e6,
                ser / 1e6
            )),
    );
    let (render, _) = bench(&dir, "tui/render_250_rows_200x60", "")?;
    let (full, _) = bench(&dir, "tui/full_redraw_after_clear", "")?;
    report.push(
        Row::new("TUI frame render, 250 rows at 200×60")
            .figure(render / 1e6, "ms")
            .reference(format!(
                "TestBackend, new snapshot (every price moved); full redraw after a clear {:.2} ms",
                full / 1e6
            ))
            .at_most(1.0, "≤ 1 ms"),
    );
    Ok(())
}
