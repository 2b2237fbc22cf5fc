//! Liquidations end to end: the simulator's four protocols → the real collectors → the state →
//! the `SQLite` history. A burst of ≥ 10,000 events is fully accounted for (received = stored =
//! counted), and a restart rebuilds the same 24 h totals from the database.
#![allow(
    clippy::unwrap_used,
    reason = "test code: a failed unwrap is a failed test"
)]

use std::sync::Arc;
use std::time::Duration;

use kimp::app::{self, Running, StartOptions};
use kimp::config::Config;
use kimp::history::{History, HistoryOptions};
use kimp::model::{FeedState, LiqVenue};
use kimp::sim::{SimOptions, SimStats, Simulator};
use kimp::state::liquidation_feed_id;
use kimp::state::snapshot::Snapshot;
use tokio_util::sync::CancellationToken;

async fn start(sim: &Simulator, db: &std::path::Path) -> Running {
    let mut cfg = Config::default();
    sim.configure(&mut cfg);
    cfg.general.publish_interval_ms = 50;
    let opts = StartOptions {
        demo: None,
        database: Some(db.to_path_buf()),
        record: None,
    };
    app::start(cfg, opts, CancellationToken::new())
        .await
        .unwrap()
}

async fn until(
    running: &Running,
    secs: u64,
    what: &str,
    cond: impl Fn(&Snapshot) -> bool,
) -> Arc<Snapshot> {
    let mut rx = running.state.snapshots.clone();
    let wait = async {
        loop {
            let snap = rx.borrow_and_update().clone();
            if cond(&snap) {
                return snap;
            }
            rx.changed().await.unwrap();
        }
    };
    match tokio::time::timeout(Duration::from_secs(secs), wait).await {
        Ok(snap) => snap,
        Err(tokio::time::error::Elapsed { .. }) => panic!(
            "timed out waiting for {what}: {:#?}",
            running.state.snapshots.borrow().feeds
        ),
    }
}

/// Every liquidation stream is subscribed: it has heard from its venue (acks count) and is not
/// down. (Bybit's second connection carries symbols that rarely liquidate: it reads `connecting`
/// until its first pong, which is what an honest health mark says.)
fn all_liquidation_feeds_subscribed(snap: &Snapshot) -> bool {
    LiqVenue::ALL.iter().all(|v| {
        snap.feed(liquidation_feed_id(*v)).is_some_and(|f| {
            f.messages > 0
                && !matches!(
                    f.state,
                    FeedState::Down | FeedState::Stale | FeedState::Reconnecting
                )
        })
    })
}

fn count_24h(snap: &Snapshot, venue: LiqVenue) -> u64 {
    snap.liquidations.as_ref().unwrap().exchanges[&venue]
        .windows
        .h24
        .count
}

/// What each venue's socket wrote to us, per `SimStats`.
fn sent(stats: &SimStats, venue: LiqVenue) -> u64 {
    match venue {
        LiqVenue::Binance => stats.binance_liquidations_sent,
        LiqVenue::Bybit => stats.bybit_liquidations_sent,
        LiqVenue::Okx => stats.okx_liquidations_sent,
        LiqVenue::Bitmex => stats.bitmex_liquidations_sent,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_is_received_stored_and_counted_without_loss_and_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("kimp.db");
    let opts = SimOptions {
        liquidation_rate: 1.0,
        tick: Duration::from_millis(20),
        ..SimOptions::default()
    };
    let sim = Simulator::start("127.0.0.1:0".parse().unwrap(), opts)
        .await
        .unwrap();
    let running = start(&sim, &db).await;
    until(
        &running,
        20,
        "every liquidation feed usable",
        all_liquidation_feeds_subscribed,
    )
    .await;

    // Burst: well over 10,000 events a second in aggregate, then quiet so everything drains.
    sim.faults().set_liquidation_rate(1_600.0);
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    sim.faults().set_liquidation_rate(0.0);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let stats = sim.stats();
    let total_sent: u64 = LiqVenue::ALL.iter().map(|v| sent(&stats, *v)).sum();
    assert!(total_sent >= 10_000, "burst too small: {stats:?}");
    let snap = until(&running, 10, "every sent event counted", |s| {
        LiqVenue::ALL
            .iter()
            .all(|v| count_24h(s, *v) >= sent(&stats, *v))
    })
    .await;
    for venue in LiqVenue::ALL {
        assert_eq!(
            count_24h(&snap, venue),
            sent(&sim.stats(), venue),
            "{venue:?}: received = counted, no duplicates"
        );
    }
    let counted: u64 = LiqVenue::ALL.iter().map(|v| count_24h(&snap, *v)).sum();
    running.shutdown().await;

    // Stored: every counted event is in the database, once.
    let history = History::open(&db, HistoryOptions::default()).unwrap();
    let stored = history.load_recent(0).await.unwrap();
    assert_eq!(stored.len() as u64, counted, "stored = counted");
    history.flush_and_close().await.unwrap();

    // Restart without any liquidation feed: the 24 h totals come back from the database alone.
    sim.faults().set_liquidation_rate(0.0);
    let mut cfg = Config::default();
    sim.configure(&mut cfg);
    cfg.liquidations.binance_enabled = false;
    cfg.liquidations.bybit_enabled = false;
    cfg.liquidations.okx_enabled = false;
    cfg.liquidations.bitmex_enabled = false;
    let opts = StartOptions {
        demo: None,
        database: Some(db.clone()),
        record: None,
    };
    let again = app::start(cfg, opts, CancellationToken::new())
        .await
        .unwrap();
    let restored = again.state.snapshots.borrow().clone();
    let (before, after) = (
        &snap.liquidations.as_ref().unwrap().exchanges,
        &restored.liquidations.as_ref().unwrap().exchanges,
    );
    for venue in LiqVenue::ALL {
        let (b, a) = (&before[&venue].windows.h24, &after[&venue].windows.h24);
        assert_eq!(
            a.count, b.count,
            "{venue:?}: the same 24 h count after a restart"
        );
        // Sums may differ in the last bits: the events are added in another order.
        assert!(
            (a.long_usd - b.long_usd).abs() <= 1e-9 * b.long_usd.max(1.0),
            "{venue:?} long"
        );
        assert!(
            (a.short_usd - b.short_usd).abs() <= 1e-9 * b.short_usd.max(1.0),
            "{venue:?} short"
        );
        assert_eq!(
            a.largest.as_ref().map(|l| &l.id),
            b.largest.as_ref().map(|l| &l.id)
        );
    }
    again.shutdown().await;
    sim.shutdown().await;
}
