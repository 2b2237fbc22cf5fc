//! The API gateway (8000), the front door: the §6.0 document, coin names, fear & greed, and both
//! live streams (`/ws/prices`, the market stream; `/ws/liquidations`, as on 8002).

use std::collections::BTreeMap;

use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::routes;

use super::common::{self, Ctx};
use super::error::{ApiError, ErrorBody, json, json_bytes};
use super::liquidation::{__path_ws_liquidations, ws_liquidations};
use super::{Api, Service, Stream};
use crate::model::FearGreed;
use crate::state::snapshot::Snapshot;

/// The gateway's router.
pub fn router(api: Api) -> Router {
    let routes = common::routes()
        .routes(routes!(coins_latest))
        .routes(routes!(coin_names))
        .routes(routes!(fear_greed_index))
        .routes(routes!(ws_prices))
        .routes(routes!(ws_liquidations));
    common::finish(api, Service::Gateway, routes)
}

/// The SPEC §6.0 document (what `kimp snapshot --json` prints), serialised once per snapshot.
#[utoipa::path(get, path = "/api/coins/latest", tag = "gateway",
    responses((status = 200, body = Snapshot), (status = 401, body = ErrorBody)))]
async fn coins_latest(State(ctx): State<Ctx>) -> Response {
    json_bytes(ctx.api.latest().body.clone())
}

/// A coin's names.
#[derive(Debug, Serialize, ToSchema)]
pub struct Names {
    pub ko: Option<String>,
    pub en: Option<String>,
}

/// Symbol → `{ko, en}` for every listed coin.
#[utoipa::path(get, path = "/api/coin-names", tag = "gateway",
    responses((status = 200, body = BTreeMap<String, Names>), (status = 401, body = ErrorBody)))]
async fn coin_names(State(ctx): State<Ctx>) -> Response {
    let latest = ctx.api.latest();
    let names: BTreeMap<&str, Names> = latest
        .snap
        .coins
        .iter()
        .map(|c| {
            let names = Names {
                ko: c.name_ko.clone(),
                en: c.name_en.clone(),
            };
            (c.symbol.as_str(), names)
        })
        .collect();
    json(&names)
}

/// The crypto fear & greed index: value, class, yesterday's value, when it was published.
#[utoipa::path(get, path = "/api/fear_greed_index", tag = "gateway",
    responses((status = 200, body = FearGreed),
        (status = 503, description = "no value yet", body = ErrorBody),
        (status = 401, body = ErrorBody)))]
async fn fear_greed_index(State(ctx): State<Ctx>) -> Response {
    match &ctx.api.latest().snap.fear_greed {
        Some(index) => json(index),
        None => ApiError::unavailable("no fear & greed value yet").into_response(),
    }
}

/// Combined live stream: the market stream (snapshot, updates incl. fear & greed, status).
#[utoipa::path(get, path = "/ws/prices", tag = "gateway",
    responses((status = 101, description = "WebSocket: snapshot, update, status messages"),
        (status = 401, body = ErrorBody)))]
async fn ws_prices(State(ctx): State<Ctx>, upgrade: super::ws::upgrade::Upgrade) -> Response {
    ctx.api.upgrade(upgrade, Stream::Market)
}
