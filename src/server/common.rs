//! What every service shares: `/health`, `/metrics`, `/openapi.json` (generated from the handlers'
//! `#[utoipa::path]` annotations and the response types), JSON 404/405, and the layers — bearer
//! token, request timeout, HTTP counters, CORS, body limit.

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use bytes::Bytes;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::limit::RequestBodyLimitLayer;
use utoipa::openapi::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::{ApiError, ErrorBody, json, json_bytes};
use super::health::{self, Health};
use super::{Api, Service};

/// Request bodies are never needed (every endpoint is a GET); anything larger is refused.
const MAX_BODY: usize = 16 * 1024;
/// `Content-Type` of the `OpenMetrics` text format (what `prometheus-client` writes; Prometheus
/// scrapes it as well as its older text format).
const OPENMETRICS_TEXT: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The state of every router: the API and which service this is.
#[derive(Clone)]
pub struct Ctx {
    pub api: Api,
    pub service: Service,
}

/// An empty router of the service, to add its own routes to.
pub fn routes() -> OpenApiRouter<Ctx> {
    OpenApiRouter::new()
        .routes(routes!(health_handler))
        .routes(routes!(metrics_handler))
}

/// Adds `/openapi.json`, the fallbacks and the layers, and binds the state.
pub fn finish(api: Api, service: Service, openapi: OpenApiRouter<Ctx>) -> Router {
    let (app, doc) = openapi.split_for_parts();
    let doc = document(doc, service, api.settings().token.is_some());
    let ctx = Ctx { api, service };
    let mut app = app
        .route("/openapi.json", get(move || async move { json_bytes(doc) }))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(ctx.clone(), guard))
        .with_state(ctx.clone());
    if let Some(cors) = cors(&ctx.api.settings().cors_origins) {
        app = app.layer(cors);
    }
    app.layer(RequestBodyLimitLayer::new(MAX_BODY))
}

/// The service's `OpenAPI` document, serialised once.
fn document(mut doc: OpenApi, service: Service, token: bool) -> Bytes {
    doc.info.title = format!("kimp {} service", service.as_str());
    doc.info.version = env!("CARGO_PKG_VERSION").to_string();
    doc.info.description = Some(
        "Kimchi premium and liquidation data (SPEC §6). Errors are \
         {\"error\": {\"code\", \"message\"}}. WebSocket messages are \
         {\"type\", \"seq\", \"ts_ms\", \"data\"}: a snapshot first, then update / status / \
         liquidation; seq +1 per message."
            .into(),
    );
    if token {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
    match serde_json::to_vec(&doc) {
        Ok(body) => Bytes::from(body),
        Err(e) => {
            tracing::error!("cannot serialise the OpenAPI document: {e}");
            Bytes::from_static(b"{}")
        }
    }
}

fn cors(origins: &[String]) -> Option<CorsLayer> {
    if origins.is_empty() {
        return None;
    }
    let allow = if origins.iter().any(|o| o == "*") {
        AllowOrigin::any()
    } else {
        AllowOrigin::list(origins.iter().filter_map(|o| HeaderValue::from_str(o).ok()))
    };
    Some(
        CorsLayer::new()
            .allow_origin(allow)
            .allow_methods([Method::GET])
            .allow_headers([header::AUTHORIZATION]),
    )
}

/// Token check (all but `/health`), request timeout, and the HTTP counters.
async fn guard(State(ctx): State<Ctx>, request: Request, next: Next) -> Response {
    let settings = ctx.api.settings();
    let open = request.uri().path() == "/health";
    let response = match &settings.token {
        Some(token) if !open && !authorized(&request, token) => {
            ApiError::unauthorized().into_response()
        }
        _ => match tokio::time::timeout(settings.request_timeout, next.run(request)).await {
            Ok(response) => response,
            Err(_) => ApiError::unavailable("the request timed out").into_response(),
        },
    };
    ctx.api
        .metrics()
        .http(ctx.service, response.status().as_u16());
    response
}

/// `Authorization: Bearer TOKEN`, or `?access_token=TOKEN` (browsers cannot set headers on a
/// WebSocket).
fn authorized(request: &Request, token: &str) -> bool {
    let header = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    let query = request.uri().query().and_then(|q| {
        q.split('&')
            .find_map(|pair| pair.strip_prefix("access_token="))
    });
    header.or(query).is_some_and(|given| same(given, token))
}

/// Constant-time comparison (no early exit on the first differing byte).
fn same(given: &str, token: &str) -> bool {
    let (a, b) = (given.as_bytes(), token.as_bytes());
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    diff == 0 && a.len() == b.len()
}

async fn not_found(request: Request) -> ApiError {
    ApiError::not_found(request.uri().path())
}

async fn method_not_allowed(method: Method) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!("{method} is not allowed here; the API is read-only (GET)"),
    )
}

/// Whether the service's feeds are usable.
#[utoipa::path(
    get,
    path = "/health",
    tag = "service",
    responses(
        (status = 200, description = "feeds usable (`ok`, or `degraded` with reasons)", body = Health),
        (status = 503, description = "feeds not usable, with reasons", body = Health),
    )
)]
async fn health_handler(State(ctx): State<Ctx>) -> Response {
    let latest = ctx.api.latest();
    let health = health::check(ctx.service, &latest.snap);
    let status = if health.status == health::Status::Unavailable {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::OK
    };
    (status, json(&health)).into_response()
}

/// `OpenMetrics` text: feed counters, HTTP and WebSocket counters.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "service",
    responses(
        (status = 200, description = "OpenMetrics text format 1.0.0 (ends with `# EOF`)", content_type = "application/openmetrics-text", body = String),
        (status = 401, description = "token required", body = ErrorBody),
    )
)]
async fn metrics_handler(State(ctx): State<Ctx>) -> Response {
    let latest = ctx.api.latest();
    let text = ctx.api.metrics().render(ctx.service, &latest.snap);
    ([(header::CONTENT_TYPE, OPENMETRICS_TEXT)], text).into_response()
}

#[cfg(test)]
mod tests {
    #[test]
    fn token_comparison() {
        assert!(super::same("abc", "abc"));
        assert!(!super::same("abd", "abc"));
        assert!(!super::same("ab", "abc"));
        assert!(!super::same("abcd", "abc"));
    }
}
