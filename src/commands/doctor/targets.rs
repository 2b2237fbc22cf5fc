//! What `kimp doctor` checks: every feed of the configuration with the config key of its URL,
//! whether it is required, and which list feed it waits for.

use crate::config::Config;
use crate::feed::{binance, bithumb, bybit, fear_greed, fx, liq, okx, upbit};
use crate::model::FeedId;

/// Feed, transport, URL key, URL, venue of the pair it belongs to (`*`: always required, empty:
/// never), and the list feed it waits for.
type Row<'a> = (
    FeedId,
    Transport,
    &'static str,
    &'a str,
    &'a str,
    Option<FeedId>,
);

/// How a feed talks to its venue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    WebSocket,
    Rest,
}

/// One feed to judge.
#[derive(Debug, Clone)]
pub struct Target {
    pub feed: FeedId,
    pub transport: Transport,
    /// The config key of the URL (`upbit.ws_url`), named in hints.
    pub url_key: &'static str,
    pub url: String,
    /// A failure makes `kimp doctor` exit non-zero.
    pub required: bool,
    /// A liquidation stream: may be quiet, judged on heartbeats too.
    pub liquidation: bool,
    /// The list feed this one waits for before it subscribes (`upbit.markets`).
    pub needs: Option<FeedId>,
}

/// Every feed of `cfg` that doctor judges. Required: the market feeds of the configured venue
/// pair (ticker stream and the market list it subscribes from) and the FX feed (at least one
/// source must deliver). Everything else — other venues, liquidation streams, fear & greed — is
/// reported but only warns. Fallback pollers are not listed: they only run while a stream is down.
#[must_use]
#[expect(
    clippy::too_many_lines,
    reason = "one declarative table, one row per feed"
)]
pub fn targets(cfg: &Config) -> Vec<Target> {
    use Transport::{Rest, WebSocket};
    let pair = [cfg.general.domestic.as_str(), cfg.general.overseas.as_str()];
    let (up, bt, bn, by, ok) = (&cfg.upbit, &cfg.bithumb, &cfg.binance, &cfg.bybit, &cfg.okx);
    let fx_url = cfg.fx.sources.first().map_or("", |s| fx_url(cfg, s));
    // (feed, transport, url key, url, venue of the pair it belongs to, list feed it waits for)
    let rows: [Row<'_>; 11] = [
        (
            upbit::MARKETS_FEED_ID,
            Rest,
            "upbit.rest_url",
            &up.rest_url,
            "upbit",
            None,
        ),
        (
            upbit::FEED_ID,
            WebSocket,
            "upbit.ws_url",
            &up.ws_url,
            "upbit",
            Some(upbit::MARKETS_FEED_ID),
        ),
        (
            bithumb::MARKETS_FEED_ID,
            Rest,
            "bithumb.rest_url",
            &bt.rest_url,
            "bithumb",
            None,
        ),
        (
            bithumb::FEED_ID,
            WebSocket,
            "bithumb.ws_url",
            &bt.ws_url,
            "bithumb",
            Some(bithumb::MARKETS_FEED_ID),
        ),
        (
            binance::FEED_ID,
            WebSocket,
            "binance.ws_url",
            &bn.ws_url,
            "binance",
            None,
        ),
        (
            bybit::SYMBOLS_FEED_ID,
            Rest,
            "bybit.rest_url",
            &by.rest_url,
            "bybit",
            None,
        ),
        (
            bybit::FEED_ID,
            WebSocket,
            "bybit.ws_url",
            &by.ws_url,
            "bybit",
            Some(bybit::SYMBOLS_FEED_ID),
        ),
        (
            okx::INSTRUMENTS_FEED_ID,
            Rest,
            "okx.rest_url",
            &ok.rest_url,
            "okx",
            None,
        ),
        (
            okx::FEED_ID,
            WebSocket,
            "okx.ws_url",
            &ok.ws_url,
            "okx",
            Some(okx::INSTRUMENTS_FEED_ID),
        ),
        // At least one FX source must deliver: the feed is live when one did.
        (fx::FEED_ID, Rest, "fx.sources", fx_url, "*", None),
        (
            fear_greed::FEED_ID,
            Rest,
            "fear_greed.url",
            &cfg.fear_greed.url,
            "",
            None,
        ),
    ];
    let mut out: Vec<Target> = rows
        .into_iter()
        .map(|(feed, transport, url_key, url, venue, needs)| Target {
            feed,
            transport,
            url_key,
            url: url.to_owned(),
            required: venue == "*" || pair.contains(&venue),
            liquidation: false,
            needs,
        })
        .collect();
    out.extend(liquidation_targets(cfg));
    out
}

fn liquidation_targets(cfg: &Config) -> Vec<Target> {
    use Transport::{Rest, WebSocket};
    let l = &cfg.liquidations;
    let rows: [(FeedId, Transport, &'static str, &str, Option<FeedId>); 6] = [
        (
            liq::binance::FEED_ID,
            WebSocket,
            "liquidations.binance_ws_url",
            &l.binance_ws_url,
            None,
        ),
        (
            liq::collect::bybit::SYMBOLS_FEED_ID,
            Rest,
            "liquidations.bybit_rest_url",
            &l.bybit_rest_url,
            None,
        ),
        (
            liq::bybit::FEED_ID,
            WebSocket,
            "liquidations.bybit_ws_url",
            &l.bybit_ws_url,
            Some(liq::collect::bybit::SYMBOLS_FEED_ID),
        ),
        (
            liq::collect::okx::INSTRUMENTS_FEED_ID,
            Rest,
            "liquidations.okx_rest_url",
            &l.okx_rest_url,
            None,
        ),
        (
            liq::okx::FEED_ID,
            WebSocket,
            "liquidations.okx_ws_url",
            &l.okx_ws_url,
            Some(liq::collect::okx::INSTRUMENTS_FEED_ID),
        ),
        (
            liq::bitmex::FEED_ID,
            WebSocket,
            "liquidations.bitmex_ws_url",
            &l.bitmex_ws_url,
            None,
        ),
    ];
    rows.into_iter()
        .map(|(feed, transport, url_key, url, needs)| Target {
            feed,
            transport,
            url_key,
            url: url.to_owned(),
            required: false,
            liquidation: transport == WebSocket,
            needs,
        })
        .collect()
}

/// The URL of an FX source by its config name.
#[must_use]
pub fn fx_url<'a>(cfg: &'a Config, source: &str) -> &'a str {
    match source {
        "dunamu" => &cfg.fx.dunamu_url,
        "open_er_api" => &cfg.fx.open_er_api_url,
        "frankfurter" => &cfg.fx.frankfurter_url,
        _ => "",
    }
}
