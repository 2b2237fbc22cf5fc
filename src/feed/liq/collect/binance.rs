//! Binance USD-M liquidations (exchanges.md §4): one combined stream on the `/market` route,
//! `!forceOrder@arr` plus the `!markPrice@arr@1s` canary, so a quiet minute still proves the socket
//! delivers. Binance pings every 3 min (tungstenite answers while the session keeps reading);
//! connections live 24 h, so the session reconnects on schedule at [`LIFETIME`].
//!
//! The URL subscribes by itself. The route that went silent in 2026 (`/ws/!forceOrder@arr`)
//! connects and sends nothing: the session reports that as suspect-silent, naming [`URL_KEY`].

use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::{Options, factory, liq_session};
use crate::config::LiquidationsConfig;
use crate::feed::FeedMsg;
use crate::feed::liq::binance::BinanceLiqParser;
use crate::feed::session::{self, SessionSpec};

pub use crate::feed::liq::binance::FEED_ID;

/// Reconnect before Binance's 24 h connection lifetime ends.
pub const LIFETIME: Duration = Duration::from_secs(23 * 3_600);
/// The config key named when the stream stays silent.
pub const URL_KEY: &str = "liquidations.binance_ws_url";

/// Starts the Binance liquidation socket (nothing when `binance_enabled` is false).
pub fn spawn(
    cfg: &LiquidationsConfig,
    _client: &crate::feed::poller::Http,
    tx: &mpsc::Sender<FeedMsg>,
    cancel: &CancellationToken,
    tasks: &mut JoinSet<()>,
) {
    spawn_with(cfg, &Options::from_config(cfg), tx, cancel, tasks);
}

/// [`spawn`] with explicit timing.
pub fn spawn_with(
    cfg: &LiquidationsConfig,
    opts: &Options,
    tx: &mpsc::Sender<FeedMsg>,
    cancel: &CancellationToken,
    tasks: &mut JoinSet<()>,
) {
    if cfg.binance_enabled {
        tasks.spawn(session::run(
            session_spec(cfg, opts),
            tx.clone(),
            cancel.clone(),
        ));
    }
}

/// No app-level ping (Binance pings us), scheduled reconnect at `binance_lifetime`.
#[must_use]
pub fn session_spec(cfg: &LiquidationsConfig, opts: &Options) -> SessionSpec {
    let mut spec = liq_session(
        FEED_ID,
        &cfg.binance_ws_url,
        URL_KEY,
        factory(BinanceLiqParser::new),
        None,
        opts,
    );
    spec.lifetime = Some(opts.binance_lifetime);
    spec
}
