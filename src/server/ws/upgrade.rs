//! The WebSocket handshake (RFC 6455 §4.2), done here instead of by axum's `WebSocketUpgrade` so
//! that a connection is a plain [`tokio_tungstenite::WebSocketStream`], whose raw-frame API lets
//! large messages go out as fragments (see [`super::send_text`]).
//!
//! Why: tungstenite serialises each frame into one write buffer that keeps its capacity. Sent as
//! one frame, a 100 KB snapshot leaves every connection holding 100 KB for good — 1 GB for
//! 10,000 idle clients. In fragments of at most [`super::FRAGMENT`] bytes the buffer stays that
//! small, and the shared tail of every message is sent from the hub's copy without being copied
//! per connection first. [`Coalesce`] then gathers a batch's frames into one write and frees
//! what it used once the batch is out.

use std::pin::Pin;
use std::task::{Context, Poll, ready};

use axum::body::Body;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use hyper::upgrade::{OnUpgrade, Upgraded};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};

use crate::server::ApiError;

/// A server-side WebSocket connection.
pub type Socket = WebSocketStream<Coalesce<TokioIo<Upgraded>>>;

/// Bytes [`Coalesce`] collects before it writes without waiting for a flush.
const MAX_PENDING: usize = 64 * 1024;
/// Capacity [`Coalesce`] keeps between writes; a larger buffer is freed once written.
const KEEP: usize = 4 * 1024;

/// The socket under tungstenite: collects the frames of a batch (tungstenite hands each frame
/// over at once, its own buffer holding one fragment) and writes them with one system call on
/// flush — then frees the buffer if it grew, so an idle connection holds next to nothing.
pub struct Coalesce<T> {
    io: T,
    buf: Vec<u8>,
    written: usize,
}

impl<T> Coalesce<T> {
    pub fn new(io: T) -> Self {
        Coalesce {
            io,
            buf: Vec::new(),
            written: 0,
        }
    }
}

impl<T: AsyncWrite + Unpin> Coalesce<T> {
    /// Writes everything collected.
    fn poll_drain(&mut self, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        while self.written < self.buf.len() {
            let n = ready!(Pin::new(&mut self.io).poll_write(cx, &self.buf[self.written..]))?;
            if n == 0 {
                return Poll::Ready(Err(std::io::ErrorKind::WriteZero.into()));
            }
            self.written += n;
        }
        self.written = 0;
        if self.buf.capacity() > KEEP {
            self.buf = Vec::new();
        } else {
            self.buf.clear();
        }
        Poll::Ready(Ok(()))
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Coalesce<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        out: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, out)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Coalesce<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        if self.buf.len() >= MAX_PENDING {
            ready!(self.poll_drain(cx))?;
        }
        self.buf.extend_from_slice(data);
        Poll::Ready(Ok(data.len()))
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        ready!(self.poll_drain(cx))?;
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        ready!(self.poll_drain(cx))?;
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

/// A valid WebSocket upgrade request, ready to be accepted.
pub struct Upgrade {
    key: HeaderValue,
    on_upgrade: OnUpgrade,
}

/// Whether the comma-separated header `name` lists `token` (case-insensitive).
fn lists(headers: &HeaderMap, name: header::HeaderName, token: &str) -> bool {
    headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| t.trim().eq_ignore_ascii_case(token))
}

impl<S: Send + Sync> FromRequestParts<S> for Upgrade {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        let headers = &parts.headers;
        if !lists(headers, header::CONNECTION, "upgrade")
            || !lists(headers, header::UPGRADE, "websocket")
        {
            return Err(ApiError::new(
                StatusCode::UPGRADE_REQUIRED,
                "websocket_required",
                "this is a WebSocket endpoint: connect with a WebSocket client",
            ));
        }
        if headers.get(header::SEC_WEBSOCKET_VERSION) != Some(&HeaderValue::from_static("13")) {
            return Err(ApiError::bad_request("Sec-WebSocket-Version must be 13"));
        }
        let key = headers
            .get(header::SEC_WEBSOCKET_KEY)
            .cloned()
            .ok_or_else(|| ApiError::bad_request("Sec-WebSocket-Key is missing"))?;
        let on_upgrade = parts.extensions.remove::<OnUpgrade>().ok_or_else(|| {
            ApiError::new(
                StatusCode::UPGRADE_REQUIRED,
                "not_upgradable",
                "this connection cannot be upgraded to a WebSocket",
            )
        })?;
        Ok(Upgrade { key, on_upgrade })
    }
}

impl Upgrade {
    /// Answers 101 and, once the connection is switched, runs `serve` on the socket (`spawn`
    /// starts the future, e.g. in a tracked task).
    pub fn accept<F, Fut>(
        self,
        config: WebSocketConfig,
        spawn: impl FnOnce(std::pin::Pin<Box<dyn Future<Output = ()> + Send>>),
        serve: F,
    ) -> Response
    where
        F: FnOnce(Socket) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let accept = derive_accept_key(self.key.as_bytes());
        let on_upgrade = self.on_upgrade;
        spawn(Box::pin(async move {
            match on_upgrade.await {
                Ok(upgraded) => {
                    let io = Coalesce::new(TokioIo::new(upgraded));
                    let socket =
                        WebSocketStream::from_raw_socket(io, Role::Server, Some(config)).await;
                    serve(socket).await;
                }
                Err(error) => tracing::debug!(%error, "WebSocket upgrade failed"),
            }
        }));
        let mut response = Response::new(Body::empty());
        *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
        let headers = response.headers_mut();
        headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
        headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
        if let Ok(value) = HeaderValue::from_str(&accept) {
            headers.insert(header::SEC_WEBSOCKET_ACCEPT, value);
        }
        response
    }
}
