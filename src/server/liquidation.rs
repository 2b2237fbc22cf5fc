//! The liquidation service (8002): totals per exchange × coin, the summary, the feeds' debug view,
//! the tape, and the `/ws/liquidations` stream. Everything is read from the latest snapshot.

use std::collections::BTreeMap;

use axum::Router;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::routes;

use super::common::{self, Ctx};
use super::error::{ApiError, ErrorBody, json};
use super::health::is_liquidation_feed;
use super::{Api, Service, Stream};
use crate::model::{Coverage, LiqVenue, Liquidation};
use crate::state::liquidations::{Aggregated, LiquidationSummary, TAPE_LEN, Window};
use crate::state::snapshot::{AGGREGATED_WINDOWS, FeedRow};

/// `/recent` returns this many events unless `?limit=` says otherwise.
pub const DEFAULT_RECENT: usize = 50;

/// The liquidation service's router.
pub fn router(api: Api) -> Router {
    let routes = common::routes()
        .routes(routes!(aggregated))
        .routes(routes!(summary))
        .routes(routes!(debug))
        .routes(routes!(recent))
        .routes(routes!(ws_liquidations));
    common::finish(api, Service::Liquidation, routes)
}

/// A query string that could not even be split into fields.
fn malformed(e: &QueryRejection) -> Response {
    ApiError::bad_request(e.body_text()).into_response()
}

/// `?window=` of `/aggregated`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct WindowQuery {
    /// `1h` (default), `4h` or `24h`.
    pub window: Option<String>,
}

fn window_of(given: Option<&str>) -> Result<Window, ApiError> {
    let Some(given) = given else {
        return Ok(Window::H1);
    };
    Window::parse(given)
        .filter(|w| AGGREGATED_WINDOWS.contains(w))
        .ok_or_else(|| {
            let names: Vec<&str> = AGGREGATED_WINDOWS.iter().map(|w| w.as_str()).collect();
            ApiError::bad_request(format!(
                "window must be one of: {} (got `{given}`)",
                names.join(", ")
            ))
        })
}

/// Totals per exchange × coin over a window (5-minute edge resolution), largest first.
#[utoipa::path(get, path = "/api/liquidations/aggregated", tag = "liquidations",
    params(WindowQuery),
    responses((status = 200, body = Aggregated), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody)))]
async fn aggregated(
    State(ctx): State<Ctx>,
    query: Result<Query<WindowQuery>, QueryRejection>,
) -> Response {
    let query = match query {
        Ok(Query(q)) => q,
        Err(e) => return malformed(&e),
    };
    let window = match window_of(query.window.as_deref()) {
        Ok(w) => w,
        Err(e) => return e.into_response(),
    };
    let latest = ctx.api.latest();
    match latest.snap.aggregated(window) {
        Some(agg) => json(agg),
        None => ApiError::unavailable("no totals yet").into_response(),
    }
}

/// Per exchange and overall: 1m/5m/1h/4h/24h long/short totals, counts, largest, coverage.
#[utoipa::path(get, path = "/api/liquidations/summary", tag = "liquidations",
    responses((status = 200, body = LiquidationSummary), (status = 401, body = ErrorBody)))]
async fn summary(State(ctx): State<Ctx>) -> Response {
    let latest = ctx.api.latest();
    match &latest.snap.liquidations {
        Some(summary) => json(summary),
        None => ApiError::unavailable("no liquidation summary yet").into_response(),
    }
}

/// `GET /api/liquidations/debug`.
#[derive(Debug, Serialize, ToSchema)]
pub struct DebugDoc {
    pub timestamp: String,
    /// Every liquidation feed: state, counters, gaps, detail and last error.
    pub feeds: Vec<FeedRow>,
    /// Per exchange: coverage and the newest event's time.
    pub exchanges: BTreeMap<LiqVenue, ExchangeDebug>,
    /// Events on the tape now (the newest `/recent` can return).
    pub tape_len: usize,
    /// WebSocket clients of the liquidation stream on this process.
    pub websocket_clients: usize,
}

/// One exchange in `/debug`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExchangeDebug {
    pub coverage: Coverage,
    pub last_event_ms: Option<i64>,
}

/// Per-feed connection state, counters, gaps and last error.
#[utoipa::path(get, path = "/api/liquidations/debug", tag = "liquidations",
    responses((status = 200, body = DebugDoc), (status = 401, body = ErrorBody)))]
async fn debug(State(ctx): State<Ctx>) -> Response {
    let latest = ctx.api.latest();
    let snap = &latest.snap;
    let exchanges = LiqVenue::ALL
        .iter()
        .map(|&v| {
            let last = snap
                .liquidations
                .as_ref()
                .and_then(|s| s.exchanges.get(&v))
                .and_then(|e| e.last_event_ms);
            let row = ExchangeDebug {
                coverage: v.coverage(),
                last_event_ms: last,
            };
            (v, row)
        })
        .collect();
    json(&DebugDoc {
        timestamp: snap.timestamp.clone(),
        feeds: snap
            .feeds
            .iter()
            .filter(|f| is_liquidation_feed(f.feed))
            .cloned()
            .collect(),
        exchanges,
        tape_len: snap.liquidation_tape.len(),
        websocket_clients: ctx.api.ws_clients(Stream::Liquidations),
    })
}

/// `?limit=&min_usd=&exchange=` of `/recent`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RecentQuery {
    /// 1 to 1000 events (default 50).
    pub limit: Option<String>,
    /// Only events of at least this notional in USD (default 0).
    pub min_usd: Option<String>,
    /// `binance`, `bybit`, `okx` or `bitmex` (default: all).
    pub exchange: Option<String>,
}

/// `GET /api/liquidations/recent`: newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct RecentDoc {
    pub events: Vec<Liquidation>,
}

struct RecentFilter {
    limit: usize,
    min_usd: f64,
    exchange: Option<LiqVenue>,
}

fn recent_filter(q: &RecentQuery) -> Result<RecentFilter, ApiError> {
    let limit = match &q.limit {
        None => DEFAULT_RECENT,
        Some(text) => text
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=TAPE_LEN).contains(n))
            .ok_or_else(|| {
                ApiError::bad_request(format!(
                    "limit must be an integer from 1 to {TAPE_LEN} (got `{text}`)"
                ))
            })?,
    };
    let min_usd = match &q.min_usd {
        None => 0.0,
        Some(text) => text
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite() && *v >= 0.0)
            .ok_or_else(|| {
                ApiError::bad_request(format!(
                    "min_usd must be a number of at least 0 (got `{text}`)"
                ))
            })?,
    };
    let exchange = match &q.exchange {
        None => None,
        Some(text) => Some(
            LiqVenue::ALL
                .into_iter()
                .find(|v| v.as_str() == text)
                .ok_or_else(|| {
                    ApiError::bad_request(format!(
                        "exchange must be one of: binance, bybit, okx, bitmex (got `{text}`)"
                    ))
                })?,
        ),
    };
    Ok(RecentFilter {
        limit,
        min_usd,
        exchange,
    })
}

/// The last N events, newest first, optionally of one exchange and above a size.
#[utoipa::path(get, path = "/api/liquidations/recent", tag = "liquidations",
    params(RecentQuery),
    responses((status = 200, body = RecentDoc), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody)))]
async fn recent(
    State(ctx): State<Ctx>,
    query: Result<Query<RecentQuery>, QueryRejection>,
) -> Response {
    let filter = match query {
        Ok(Query(q)) => recent_filter(&q),
        Err(e) => return malformed(&e),
    };
    let filter = match filter {
        Ok(f) => f,
        Err(e) => return e.into_response(),
    };
    let latest = ctx.api.latest();
    let events = latest
        .snap
        .liquidation_tape
        .iter()
        .filter(|l| {
            l.notional_usd >= filter.min_usd && filter.exchange.is_none_or(|e| l.exchange == e)
        })
        .take(filter.limit)
        .map(|l| Liquidation::clone(l))
        .collect();
    json(&RecentDoc { events })
}

/// Live liquidations: a `snapshot` (recent + summary + feeds), then every event as `liquidation`,
/// coalesced summary `update`s and `status` messages (SPEC §6.1).
#[utoipa::path(get, path = "/ws/liquidations", tag = "liquidations",
    responses((status = 101, description = "WebSocket: snapshot, liquidation, update, status messages"),
        (status = 401, body = ErrorBody)))]
pub(super) async fn ws_liquidations(
    State(ctx): State<Ctx>,
    upgrade: super::ws::upgrade::Upgrade,
) -> Response {
    ctx.api.upgrade(upgrade, Stream::Liquidations)
}
