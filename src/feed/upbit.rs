//! Upbit (exchanges.md §1): the ticker subscription and frame parser, and the market-list poller.
//!
//! Ticker frames come in DEFAULT or SIMPLE format (short keys); one wire struct reads both through
//! serde aliases and converts only after the `type` says it is a ticker. The market list gives
//! names and Upbit's own warning flags (`market_event`) and decides which codes the socket
//! subscribes to.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

use crate::config::UpbitConfig;
use crate::feed::num::{self, Num};
use crate::feed::poller::{self, Reporter, Schedule};
use crate::feed::{FeedMsg, ParseError, Parsed};
use crate::model::{Currency, FeedId, FeedState, MarketEvent, MarketInfo, Millis, Quote, Venue};

/// Ticker socket.
pub const FEED_ID: FeedId = "upbit.ticker";
/// Market list poller.
pub const MARKETS_FEED_ID: FeedId = "upbit.markets";
/// First retry delay while the market list has never loaded; doubles up to [`MARKETS_RETRY_MAX`].
pub const MARKETS_RETRY_MIN: Duration = Duration::from_secs(5);
pub const MARKETS_RETRY_MAX: Duration = Duration::from_secs(60);
/// Budget of one market-list request.
const MARKETS_TIMEOUT: Duration = Duration::from_secs(10);

/// A WS frame: ticker (DEFAULT or SIMPLE), another subscribed type, `{"status":"UP"}` or an error.
///
/// DEFAULT (global-docs.upbit.com `reference/websocket-ticker`, abridged):
/// `{"type":"ticker","code":"KRW-BTC","trade_price":36929,"signed_change_rate":-0.0082180744,
/// "trade_timestamp":1693383665811,"timestamp":1693383690031,"acc_trade_price_24h":8320.40577449,…}`
/// SIMPLE: `{"ty":"ticker","cd":"KRW-BTC","tp":493100,"scr":0.01775026,"atp24h":8286175646.064881,
/// "ttms":1725927582096,"tms":1725927582208,"st":"SNAPSHOT",…}`
#[derive(Deserialize)]
struct UpbitFrame<'a> {
    #[serde(rename = "type", alias = "ty", borrow)]
    kind: Option<Cow<'a, str>>,
    #[serde(alias = "cd", borrow)]
    code: Option<Cow<'a, str>>,
    #[serde(alias = "tp", borrow)]
    trade_price: Option<Num<'a>>,
    #[serde(alias = "scr", borrow)]
    signed_change_rate: Option<Num<'a>>,
    #[serde(alias = "atp24h", borrow)]
    acc_trade_price_24h: Option<Num<'a>>,
    #[serde(alias = "ttms", borrow)]
    trade_timestamp: Option<Num<'a>>,
    #[serde(alias = "tms", borrow)]
    timestamp: Option<Num<'a>>,
    #[serde(borrow)]
    status: Option<Cow<'a, str>>,
    #[serde(borrow)]
    error: Option<UpbitError<'a>>,
}

/// WS `{"error":{"name":"NO_TICKET","message":"…"}}`; REST `{"error":{"name":404,"message":"Code not found"}}`
/// (`name` an integer for quotation errors, a string for unknown paths).
#[derive(Deserialize)]
struct UpbitError<'a> {
    #[serde(borrow)]
    name: Option<Num<'a>>,
    #[serde(borrow)]
    message: Option<Cow<'a, str>>,
}

impl UpbitError<'_> {
    fn into_parse_error(self) -> ParseError {
        let name = self
            .name
            .map_or_else(|| "unknown".to_owned(), |n| n.describe());
        ParseError::Venue(format!("{name}: {}", self.message.as_deref().unwrap_or("")))
    }
}

/// The subscribe request: `[{"ticket":…},{"type":"ticker","codes":[…]},{"format":"DEFAULT"}]`.
///
/// # Panics
///
/// Never: serialising structs of strings cannot fail.
#[must_use]
pub fn subscribe_frame(ticket: &str, codes: &[String]) -> String {
    #[derive(Serialize)]
    struct Ticket<'a> {
        ticket: &'a str,
    }
    #[derive(Serialize)]
    struct Kind<'a> {
        #[serde(rename = "type")]
        kind: &'a str,
        codes: &'a [String],
    }
    #[derive(Serialize)]
    struct Format<'a> {
        format: &'a str,
    }
    let request = (
        Ticket { ticket },
        Kind {
            kind: "ticker",
            codes,
        },
        Format { format: "DEFAULT" },
    );
    serde_json::to_string(&request).expect("plain structs of strings always serialise")
}

/// Parses one WS frame. KRW tickers become quotes (`KRW-USDT` too: it is the USDT/KRW rate);
/// other markets, other types and `{"status":"UP"}` are nothing; an error frame is `Venue`.
pub fn parse(frame: &[u8], received_ms: Millis) -> Result<Parsed, ParseError> {
    let frame: UpbitFrame<'_> = serde_json::from_slice(frame)?;
    if let Some(error) = frame.error {
        return Err(error.into_parse_error());
    }
    match (frame.kind.as_deref(), frame.status.as_deref()) {
        (Some("ticker"), _) => {}
        (Some(_), _) | (None, Some("UP")) => return Ok(Parsed::nothing()),
        (None, Some(status)) => return Err(ParseError::Venue(format!("status {status}"))),
        (None, None) => return Err(ParseError::field("type", "missing")),
    }
    let code = frame
        .code
        .ok_or_else(|| ParseError::field("code", "missing"))?;
    let Some(base) = krw_base(&code) else {
        return Ok(Parsed::nothing());
    };
    let price = num::required_f64("trade_price", frame.trade_price.as_ref())?;
    if price <= 0.0 {
        return Err(ParseError::field(
            "trade_price",
            format!("not positive: {price}"),
        ));
    }
    let change = num::optional_f64("signed_change_rate", frame.signed_change_rate.as_ref())?;
    let volume = num::optional_f64("acc_trade_price_24h", frame.acc_trade_price_24h.as_ref())?;
    let trade_ms = num::optional_ms("trade_timestamp", frame.trade_timestamp.as_ref())?;
    let exchange_ms = match trade_ms {
        Some(ms) => Some(ms),
        None => num::optional_ms("timestamp", frame.timestamp.as_ref())?,
    };
    Ok(Parsed::Events(vec![MarketEvent::Quote(Quote {
        venue: Venue::Upbit,
        base: base.to_owned(),
        currency: Currency::Krw,
        price,
        change_percent: change.map(|fraction| fraction * 100.0),
        volume,
        exchange_ms,
        received_ms,
    })]))
}

/// `KRW-BTC` → `BTC`; any other quote currency → `None`.
fn krw_base(code: &str) -> Option<&str> {
    code.strip_prefix("KRW-").filter(|base| !base.is_empty())
}

/// One row of `GET /v1/market/all?is_details=true` (rest-market-all-details-recorded.json, docs.upbit.com
/// `reference/list-trading-pairs`):
/// `{"market":"KRW-ZIL","korean_name":"질리카","english_name":"Zilliqa","market_event":{"warning":true,
/// "caution":{"PRICE_FLUCTUATIONS":false,…,"GLOBAL_PRICE_DIFFERENCES":true,…}}}`.
/// `market_event` is absent without `is_details`; Upbit Indonesia rows lack `korean_name` and still
/// carry the removed `market_warning` (`"CAUTION"`/`"NONE"`).
#[derive(Deserialize)]
struct UpbitMarketRow<'a> {
    #[serde(borrow)]
    market: Cow<'a, str>,
    #[serde(borrow)]
    korean_name: Option<Cow<'a, str>>,
    #[serde(borrow)]
    english_name: Option<Cow<'a, str>>,
    #[serde(borrow)]
    market_event: Option<UpbitMarketEvent<'a>>,
    #[serde(borrow)]
    market_warning: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct UpbitMarketEvent<'a> {
    #[serde(default)]
    warning: bool,
    /// Alert type → active; only `true` counts (a future alert-level value would not).
    #[serde(default, borrow)]
    caution: BTreeMap<Cow<'a, str>, Num<'a>>,
}

/// The KRW markets of a market-list body (USDT included), with names and flags (`warning`,
/// `caution:<KEY>`). A body holding `{"error":…}` is `Venue`.
pub fn parse_markets(body: &[u8]) -> Result<Vec<MarketInfo>, ParseError> {
    if body.trim_ascii_start().first() == Some(&b'{') {
        #[derive(Deserialize)]
        struct ErrorBody<'a> {
            #[serde(borrow)]
            error: Option<UpbitError<'a>>,
        }
        let body: ErrorBody<'_> = serde_json::from_slice(body)?;
        return Err(body.error.map_or_else(
            || ParseError::field("error", "an object body without `error`"),
            UpbitError::into_parse_error,
        ));
    }
    let rows: Vec<UpbitMarketRow<'_>> = serde_json::from_slice(body)?;
    Ok(rows.into_iter().filter_map(market_info).collect())
}

fn market_info(row: UpbitMarketRow<'_>) -> Option<MarketInfo> {
    let base = krw_base(&row.market)?.to_owned();
    let mut flags = Vec::new();
    match row.market_event {
        Some(event) => {
            if event.warning {
                flags.push("warning".to_owned());
            }
            let active = event
                .caution
                .into_iter()
                .filter(|(_, on)| *on == Num::Bool(true));
            flags.extend(active.map(|(key, _)| format!("caution:{key}")));
        }
        None if row.market_warning.as_deref() == Some("CAUTION") => {
            flags.push("warning".to_owned());
        }
        None => {}
    }
    Some(MarketInfo {
        venue: Venue::Upbit,
        base,
        name_ko: row.korean_name.map(Cow::into_owned),
        name_en: row.english_name.map(Cow::into_owned),
        flags,
    })
}

/// Polls the market list at start and every `market_refresh_secs`; retries sooner (5 s doubling to
/// 60 s, never later than the refresh) until the first success. Sends `Markets` events, publishes
/// the sorted `KRW-…` codes on `codes` when they change, and reports parse errors and status.
pub async fn run_markets(
    cfg: UpbitConfig,
    client: reqwest::Client,
    tx: mpsc::Sender<FeedMsg>,
    codes: watch::Sender<Vec<String>>,
    cancel: CancellationToken,
) {
    let url = format!(
        "{}/v1/market/all?is_details=true",
        cfg.rest_url.trim_end_matches('/')
    );
    let refresh = Duration::from_secs(cfg.market_refresh_secs);
    let mut reporter = Reporter::new(MARKETS_FEED_ID, tx, cancel.clone());
    let mut schedule = Schedule::new(refresh);
    let mut retry = Some(MARKETS_RETRY_MIN);
    while schedule.wait(&cancel).await {
        let poll = poll_markets(&client, &url, &mut reporter, &codes);
        match poller::until_cancelled(&cancel, poll).await {
            Some(Ok(true)) => retry = None,
            Some(Ok(false)) => {
                if let Some(delay) = retry {
                    schedule.retry_after(delay.min(refresh));
                    retry = Some((delay * 2).min(MARKETS_RETRY_MAX));
                }
            }
            Some(Err(poller::Closed)) | None => return,
        }
    }
}

/// One poll; `Ok(true)` when a list was delivered.
async fn poll_markets(
    client: &reqwest::Client,
    url: &str,
    reporter: &mut Reporter,
    codes: &watch::Sender<Vec<String>>,
) -> Result<bool, poller::Closed> {
    let body = match poller::fetch(client, url, MARKETS_TIMEOUT).await {
        Ok(body) => body,
        Err(error) => {
            tracing::warn!(feed = MARKETS_FEED_ID, %error, "market list fetch failed");
            reporter
                .status(FeedState::Down, Some(error.to_string()))
                .await?;
            return Ok(false);
        }
    };
    let markets = match parse_markets(&body) {
        Ok(markets) => markets,
        Err(error) => {
            reporter.parse_error(error.to_string()).await?;
            reporter
                .status(FeedState::Down, Some(error.to_string()))
                .await?;
            return Ok(false);
        }
    };
    let mut list: Vec<String> = markets.iter().map(|m| format!("KRW-{}", m.base)).collect();
    list.sort_unstable();
    list.dedup();
    let count = list.len();
    codes.send_if_modified(|current| {
        let changed = *current != list;
        if changed {
            *current = list;
        }
        changed
    });
    reporter
        .events(vec![MarketEvent::Markets {
            venue: Venue::Upbit,
            markets,
        }])
        .await?;
    reporter
        .status(FeedState::Live, Some(format!("{count} KRW markets")))
        .await?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subscribe_frame_shape() {
        let codes = vec!["KRW-BTC".to_owned(), "KRW-USDT".to_owned()];
        assert_eq!(
            subscribe_frame("kimp-1", &codes),
            r#"[{"ticket":"kimp-1"},{"type":"ticker","codes":["KRW-BTC","KRW-USDT"]},{"format":"DEFAULT"}]"#
        );
    }

    #[test]
    fn status_error_and_garbage() {
        assert_eq!(parse(br#"{"status":"UP"}"#, 0).unwrap(), Parsed::nothing());
        assert!(matches!(
            parse(br#"{"status":"DOWN"}"#, 0),
            Err(ParseError::Venue(_))
        ));
        assert!(matches!(
            parse(b"{}", 0),
            Err(ParseError::Field { field: "type", .. })
        ));
        assert!(matches!(parse(b"PONG", 0), Err(ParseError::Json(_))));
        assert!(parse(b"[1,2]", 0).is_err());
    }

    #[test]
    fn non_krw_and_bad_price() {
        let btc_eth = br#"{"ty":"ticker","cd":"BTC-ETH","tp":47820}"#;
        assert_eq!(parse(btc_eth, 0).unwrap(), Parsed::nothing());
        let zero = br#"{"ty":"ticker","cd":"KRW-BTC","tp":0}"#;
        assert!(matches!(
            parse(zero, 0),
            Err(ParseError::Field {
                field: "trade_price",
                ..
            })
        ));
        let missing = br#"{"type":"ticker","code":"KRW-BTC"}"#;
        assert!(matches!(
            parse(missing, 0),
            Err(ParseError::Field {
                field: "trade_price",
                ..
            })
        ));
    }

    #[test]
    fn timestamp_fallback() {
        let frame = br#"{"ty":"ticker","cd":"KRW-ETH","tp":1,"tms":1725927582208}"#;
        let Parsed::Events(events) = parse(frame, 5).unwrap() else {
            panic!()
        };
        let [MarketEvent::Quote(q)] = events.as_slice() else {
            panic!("{events:?}")
        };
        assert_eq!(
            (q.exchange_ms, q.change_percent, q.volume),
            (Some(1_725_927_582_208), None, None)
        );
    }
}
