//! BitMEX liquidations (exchanges.md §7): the `liquidation` and `instrument` tables on one socket.
//! The default URL subscribes both (`?subscribe=liquidation,instrument`); a configured URL without
//! `subscribe=` gets [`SUBSCRIBE_FRAME`] after connecting. BitMEX sends no pings: the text `ping`
//! goes out every 5 s and its `pong` is a heartbeat, as are the `instrument` table's updates.

#![allow(
    clippy::doc_markdown,
    reason = "BitMEX is a venue name, not code (as in `feed::liq`)"
)]

use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::{Options, factory, fixed_subscriptions, liq_session, text_ping};
use crate::config::LiquidationsConfig;
use crate::feed::FeedMsg;
use crate::feed::liq::bitmex::{BitmexLiqParser, PING_FRAME, SUBSCRIBE_FRAME};
use crate::feed::session::{self, SessionSpec};

pub use crate::feed::liq::bitmex::FEED_ID;

/// The config key named when the stream stays silent.
pub const URL_KEY: &str = "liquidations.bitmex_ws_url";

/// Starts the BitMEX liquidation socket (nothing when `bitmex_enabled` is false).
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
    if cfg.bitmex_enabled {
        tasks.spawn(session::run(
            session_spec(cfg, opts),
            tx.clone(),
            cancel.clone(),
        ));
    }
}

/// `ping` every `bitmex_ping_interval`; the subscribe frame only when the URL does not subscribe.
#[must_use]
pub fn session_spec(cfg: &LiquidationsConfig, opts: &Options) -> SessionSpec {
    let mut spec = liq_session(
        FEED_ID,
        &cfg.bitmex_ws_url,
        URL_KEY,
        factory(BitmexLiqParser::new),
        Some(text_ping(opts.bitmex_ping_interval, PING_FRAME)),
        opts,
    );
    if !cfg.bitmex_ws_url.contains("subscribe=") {
        spec.subscriptions = Some(fixed_subscriptions(
            vec!["liquidation".into(), "instrument".into()],
            subscribe_frames,
        ));
    }
    spec
}

fn subscribe_frames(_: &[String]) -> Vec<String> {
    vec![SUBSCRIBE_FRAME.to_owned()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_without_subscribe_gets_the_frame() {
        let opts = Options::from_config(&LiquidationsConfig::default());
        let default = session_spec(&LiquidationsConfig::default(), &opts);
        assert!(
            default.subscriptions.is_none(),
            "the default URL subscribes"
        );
        let cfg = LiquidationsConfig {
            bitmex_ws_url: "wss://ws.bitmex.com/realtime".into(),
            ..LiquidationsConfig::default()
        };
        let subs = session_spec(&cfg, &opts).subscriptions.unwrap();
        assert_eq!((subs.frames)(&subs.items.borrow()), vec![SUBSCRIBE_FRAME]);
        assert_eq!(
            default.app_ping.map(|p| p.interval),
            Some(crate::feed::liq::bitmex::PING_INTERVAL)
        );
    }
}
