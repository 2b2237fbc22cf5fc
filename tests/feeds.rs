//! The real collectors (Upbit, Binance, FX) against the simulator over loopback sockets, with the
//! simulator's fault knobs: forced disconnect → reconnect and resubscribe, silent-while-connected →
//! stale → reconnect, malformed frames counted while the rest still apply, `serverShutdown`,
//! keep-alive answered.
#![allow(
    clippy::unwrap_used,
    reason = "test code: a failed unwrap is a failed test"
)]

use std::sync::Arc;
use std::time::Duration;

use kimp::app::{self, Running};
use kimp::config::Config;
use kimp::model::FeedState;
use kimp::sim::{SimOptions, SimVenue, Simulator};
use kimp::state::snapshot::{FeedRow, Snapshot};
use tokio_util::sync::CancellationToken;

async fn start(opts: SimOptions, tweak: impl FnOnce(&mut Config)) -> (Simulator, Running) {
    let sim = Simulator::start("127.0.0.1:0".parse().unwrap(), opts)
        .await
        .unwrap();
    let mut cfg = Config::default();
    sim.configure(&mut cfg);
    cfg.general.publish_interval_ms = 50;
    tweak(&mut cfg);
    let running = app::start(cfg, app::StartOptions::default(), CancellationToken::new())
        .await
        .unwrap();
    (sim, running)
}

/// Waits (at most `secs`) until `cond` holds for a published snapshot; returns it.
async fn until(
    running: &Running,
    secs: u64,
    what: &str,
    cond: impl Fn(&Snapshot) -> bool,
) -> Arc<Snapshot> {
    let mut rx = running.state.snapshots.clone();
    let found = tokio::time::timeout(Duration::from_secs(secs), async {
        loop {
            let snap = rx.borrow_and_update().clone();
            if cond(&snap) {
                return snap;
            }
            rx.changed().await.unwrap();
        }
    })
    .await;
    match found {
        Ok(snap) => snap,
        Err(tokio::time::error::Elapsed { .. }) => panic!(
            "timed out waiting for {what}; last feeds: {:#?}",
            rx.borrow().feeds
        ),
    }
}

fn feed<'a>(snap: &'a Snapshot, id: &str) -> &'a FeedRow {
    snap.feed(id).unwrap_or_else(|| panic!("no feed {id}"))
}

fn live(snap: &Snapshot, id: &str) -> bool {
    snap.feed(id).is_some_and(|f| f.state == FeedState::Live)
}

#[tokio::test]
async fn all_feeds_deliver_and_premiums_appear() {
    let (sim, running) = start(SimOptions::default(), |_| {}).await;
    let snap = until(&running, 15, "every feed live with premiums", |s| {
        [
            "upbit.ticker",
            "upbit.markets",
            "binance.ticker",
            "fx.usdkrw",
        ]
        .iter()
        .all(|f| live(s, f))
            && s.coin("BTC").is_some_and(|c| c.premium_percent.is_some())
    })
    .await;
    let btc = snap.coin("BTC").unwrap();
    assert_eq!(btc.name_en.as_deref(), Some("Bitcoin"));
    assert!((-10.0..10.0).contains(&btc.premium_percent.unwrap()));
    assert!(
        snap.usdt_krw_rate.is_some(),
        "KRW-USDT arrived on the Upbit socket"
    );
    assert_eq!(feed(&snap, "upbit.ticker").parse_errors, 0);
    running.shutdown().await;
    sim.shutdown().await;
}

#[tokio::test]
async fn upbit_reconnects_and_resubscribes_after_a_drop() {
    let (sim, running) = start(SimOptions::default(), |_| {}).await;
    let before = until(&running, 15, "upbit live", |s| live(s, "upbit.ticker")).await;
    let messages = feed(&before, "upbit.ticker").messages;
    sim.faults().drop_connections(SimVenue::Upbit);
    let after = until(&running, 15, "upbit back with new data", |s| {
        let f = feed(s, "upbit.ticker");
        f.reconnects >= 1 && f.state == FeedState::Live && f.messages > messages + 20
    })
    .await;
    let f = feed(&after, "upbit.ticker");
    // Data only flows after a subscribe, so new messages prove the resubscription.
    assert!(sim.stats().upbit_connections >= 2);
    let gap = f.gaps.last().unwrap();
    assert!(
        gap.end_ms.is_some_and(|end| end >= gap.start_ms),
        "the outage is recorded and closed: {gap:?}"
    );
    running.shutdown().await;
    sim.shutdown().await;
}

#[tokio::test]
async fn silent_binance_is_detected_as_stale_and_reconnected() {
    let (sim, running) = start(SimOptions::default(), |cfg| {
        cfg.binance.idle_timeout_secs = 2;
    })
    .await;
    until(&running, 15, "binance live", |s| live(s, "binance.ticker")).await;
    sim.faults().set_silent(SimVenue::Binance, true);
    until(&running, 10, "binance stale or reconnecting", |s| {
        let f = feed(s, "binance.ticker");
        matches!(
            f.state,
            FeedState::Stale | FeedState::Reconnecting | FeedState::Connecting
        ) && f
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("no data"))
    })
    .await;
    sim.faults().set_silent(SimVenue::Binance, false);
    let snap = until(&running, 20, "binance live again", |s| {
        let f = feed(s, "binance.ticker");
        f.state == FeedState::Live && f.reconnects >= 1
    })
    .await;
    assert!(feed(&snap, "binance.ticker").gap_ms > 0);
    running.shutdown().await;
    sim.shutdown().await;
}

#[tokio::test]
async fn malformed_frames_are_counted_and_good_ones_still_applied() {
    let (sim, running) = start(SimOptions::default(), |_| {}).await;
    until(&running, 15, "upbit live", |s| live(s, "upbit.ticker")).await;
    sim.faults().set_malformed_every(SimVenue::Upbit, 3);
    let snap = until(&running, 15, "parse errors counted", |s| {
        feed(s, "upbit.ticker").parse_errors >= 5
    })
    .await;
    let f = feed(&snap, "upbit.ticker");
    assert_eq!(
        f.state,
        FeedState::Live,
        "garbage does not take the feed down"
    );
    assert!(f.messages > f.parse_errors * 2);
    let btc_age = snap.coin("BTC").unwrap().prices[&kimp::model::Venue::Upbit].age_ms;
    assert!(
        btc_age < 5_000,
        "BTC quotes still applied (age {btc_age} ms)"
    );
    running.shutdown().await;
    sim.shutdown().await;
}

#[tokio::test]
async fn binance_server_shutdown_triggers_an_immediate_reconnect() {
    let (sim, running) = start(SimOptions::default(), |_| {}).await;
    until(&running, 15, "binance live", |s| live(s, "binance.ticker")).await;
    sim.faults().binance_server_shutdown();
    let snap = until(&running, 10, "binance reconnected", |s| {
        let f = feed(s, "binance.ticker");
        f.reconnects >= 1 && f.state == FeedState::Live
    })
    .await;
    let why = feed(&snap, "binance.ticker")
        .last_error
        .clone()
        .unwrap_or_default();
    assert!(why.contains("serverShutdown"), "{why}");
    running.shutdown().await;
    sim.shutdown().await;
}

#[tokio::test]
async fn keep_alive_holds_upbit_open_past_its_idle_cut_and_binance_pings_are_answered() {
    let opts = SimOptions {
        upbit_idle_close: Duration::from_secs(2),
        binance_ping_interval: Duration::from_millis(500),
        ..SimOptions::default()
    };
    let (sim, running) = start(opts, |cfg| cfg.upbit.ping_interval_secs = 1).await;
    until(&running, 15, "both live", |s| {
        live(s, "upbit.ticker") && live(s, "binance.ticker")
    })
    .await;
    tokio::time::sleep(Duration::from_secs(4)).await;
    let snap = running.state.snapshots.borrow().clone();
    assert_eq!(
        feed(&snap, "upbit.ticker").reconnects,
        0,
        "PING every second keeps Upbit open"
    );
    assert_eq!(feed(&snap, "binance.ticker").reconnects, 0);
    let stats = sim.stats();
    assert!(
        stats.binance_pings >= 4 && stats.binance_pongs >= stats.binance_pings - 1,
        "{stats:?}"
    );
    running.shutdown().await;
    sim.shutdown().await;
}

#[tokio::test]
async fn fx_falls_back_when_the_primary_source_fails() {
    let (sim, running) = start(SimOptions::default(), |cfg| {
        cfg.fx.dunamu_url = "http://127.0.0.1:9/closed".into();
    })
    .await;
    let snap = until(&running, 15, "fx from the fallback", |s| s.fx.is_some()).await;
    assert_eq!(snap.fx.unwrap().source, kimp::model::FxSource::OpenErApi);
    running.shutdown().await;
    sim.shutdown().await;
}
